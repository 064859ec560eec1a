"""The simulator's one-to-one chats (web/people.py) and the two lessons of
見守り, in real Chromium: ひとりの見守り walked to its end in two panes side
by side (a laptop) and stacked (a phone), 近所の人を見に行く to its end in
a group; axe-core finds nothing on either; the docs' screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}


def start_lesson(page: Page, base: str, key: str) -> None:
    page.goto(base + "/")
    page.locator(f"button[data-lesson={key}]").click()


def step(page: Page):
    return page.locator("#lesson-steps li.current")


def say_in(pane, text: str) -> None:
    box = pane.get_by_role("textbox")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def tap_in(pane, label: str) -> None:
    pane.locator(".messages").get_by_role("button", name=label, exact=True).last.click()


def boxes(page: Page) -> list[dict]:
    """The chat panes' boxes, measured at one moment (the page may still be settling)."""
    return page.evaluate(
        "() => [...document.querySelectorAll('.chat')].map((e) => {"
        " const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; })"
    )


def test_it_walks_the_watch_lesson_in_two_chats_side_by_side(stack, contexts, axe_check, screenshot):
    page = contexts(LAPTOP)
    start_lesson(page, stack.url, "watch")
    person, contact = page.locator(".chat").nth(0), page.locator(".chat").nth(1)
    expect(person.get_by_role("heading")).to_have_text("佐藤花子さんと「つながり」")
    expect(contact.get_by_role("heading")).to_have_text("鈴木一郎さんと「つながり」")
    expect(step(page)).to_have_attribute("data-step", "follow")
    expect(page.locator("#next-bar")).to_be_visible()
    # A laptop: the two phones side by side, the whole of each in view.
    left, right = boxes(page)
    assert abs(left["y"] - right["y"]) < 2 and right["x"] >= left["x"] + left["width"]
    assert left["y"] + left["height"] <= LAPTOP["height"] + 1
    axe_check(page, "the one-to-one page before anyone added the bot")

    page.locator("#next-do").click()  # 友だち追加
    expect(person.locator(".messages")).to_contain_text("見守り")
    expect(step(page)).to_have_attribute("data-step", "start")
    tap_in(person, "見守りをはじめる")
    tap_in(person, "毎日 9:00")
    expect(person.locator(".messages")).to_contain_text("毎日 9:00 に確認をお送りします")
    expect(step(page)).to_have_attribute("data-step", "invite")
    say_in(person, "/連絡先")
    expect(person.locator(".messages")).to_contain_text("を送って")
    expect(step(page)).to_have_attribute("data-step", "forward")
    page.locator("#next-do").click()  # 番号を送る: 鈴木一郎 adds the bot and sends it
    expect(step(page)).to_have_attribute("data-step", "accept")
    tap_in(contact, "連絡先になる")
    expect(contact.locator(".messages")).to_contain_text("連絡先になりました")
    expect(person.locator(".messages")).to_contain_text(
        "鈴木一郎さんが、あなたの見守りの連絡先になってくださいました"
    )
    axe_check(page, "the one-to-one page with both chats under way")

    expect(step(page)).to_have_attribute("data-step", "check")
    page.locator("#next-do").click()  # 翌朝へ
    expect(person.locator(".messages")).to_contain_text("佐藤花子さん、お変わりありませんか？")
    expect(page.locator("#clock-now")).to_contain_text("9:00")
    expect(step(page)).to_have_attribute("data-step", "ok")
    tap_in(person, "OK")
    expect(step(page)).to_have_attribute("data-step", "miss")
    page.locator("#next-do").click()  # 翌朝へ, and this time no answer
    expect(step(page)).to_have_attribute("data-step", "resend")
    expect(contact.locator(".messages")).not_to_contain_text("お返事がありません")
    page.locator("#next-do").click()  # 3時間
    expect(person.locator(".messages")).to_contain_text("もう一度お聞きします")
    expect(step(page)).to_have_attribute("data-step", "escalate")
    page.locator("#next-do").click()  # 12時間
    expect(contact.locator(".messages")).to_contain_text("佐藤花子さんからお返事がありません")
    expect(step(page)).to_have_attribute("data-step", "claim")
    screenshot(page, "one-to-one-1366x768", docs=True)
    tap_in(contact, "わたしが確認します")
    expect(step(page)).to_have_count(0)
    expect(page.locator("#next-text")).to_contain_text("この練習はおしまいです")
    expect(page.locator("#lesson-steps li.done")).to_have_count(11)
    axe_check(page, "the one-to-one lesson at its end, at a laptop's size")

    # A phone: the same chats stacked, the person's first; nothing overflows sideways.
    page.set_viewport_size(PHONE)
    top, below = boxes(page)
    assert below["y"] >= top["y"] + top["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    axe_check(page, "the one-to-one lesson at a phone's size")
    screenshot(page, "one-to-one-390x844", docs=True)

    # 最初から: fresh people, empty chats, the first step again.
    page.set_viewport_size(LAPTOP)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="最初から").click()
    expect(step(page)).to_have_attribute("data-step", "follow")
    expect(page.locator(".chat").nth(0).locator(".msg")).to_have_count(0)

    page.goto(f"{stack.url}/simulator/lessons/watch/handout")
    expect(page.locator(".h-step")).to_have_count(11)
    axe_check(page, "the watch handout")


def test_it_walks_the_visit_lesson_to_the_outcome(stack, contexts, axe_check, screenshot):
    page = contexts(LAPTOP)
    start_lesson(page, stack.url, "visit")
    messages = page.locator(".messages")
    expect(messages).to_contain_text("山田和子")  # on the 名簿: no LINE, no OK
    for name in ("鈴木一郎", "田中次郎"):
        page.get_by_role("radio", name=name).check()
        messages.get_by_role("button", name="参加する", exact=True).last.click()
        expect(messages).to_contain_text(f"{name}さん、参加ありがとうございます")
    expect(step(page)).to_have_attribute("data-step", "check")
    page.get_by_role("radio", name="佐藤花子").check()
    box = page.get_by_role("textbox", name="メッセージ", exact=True)
    box.fill("/確認")
    box.press("Enter")
    expect(step(page)).to_have_attribute("data-step", "ok")
    for name in ("佐藤花子", "鈴木一郎", "田中次郎"):
        page.get_by_role("radio", name=name).check()
        messages.get_by_role("button", name="OK", exact=True).last.click()
        expect(messages).to_contain_text(f"{name}さん、ありがとうございます。確認しました。")
    expect(step(page)).to_have_attribute("data-step", "advance")
    page.locator("#next-do").click()  # 23時間
    expect(messages).to_contain_text("山田和子さん（LINEなし）")
    expect(step(page)).to_have_attribute("data-step", "claim")
    axe_check(page, "the visit lesson with the summary's buttons")
    page.get_by_role("radio", name="鈴木一郎").check()
    messages.locator("button[data-a=claim]").last.click()
    expect(messages).to_contain_text("鈴木一郎さんが山田和子さん（LINEなし）を確認します")
    expect(step(page)).to_have_attribute("data-step", "outcome")
    messages.get_by_role("button", name="無事でした", exact=True).last.click()
    expect(messages).to_contain_text("鈴木一郎さんが山田和子さん（LINEなし）の無事を確認しました")
    expect(step(page)).to_have_count(0)
    expect(page.locator("#next-text")).to_contain_text("この練習はおしまいです")
    screenshot(page, "simulator-visit-1366x768", docs=True)
    page.set_viewport_size(PHONE)
    axe_check(page, "the visit lesson at its end, at a phone's size")

    page.goto(f"{stack.url}/simulator/lessons/visit/handout")
    expect(page.locator(".h-step")).to_have_count(6)
    axe_check(page, "the visit handout")


def test_it_opens_a_members_one_to_one_chat_from_a_group(stack, contexts, axe_check):
    page = contexts(PHONE, mobile=True)
    page.goto(stack.url + "/")
    page.get_by_role("button", name="グループを作る").click()
    expect(page.locator(".messages")).to_contain_text("こんにちは。「つながり」です")
    page.get_by_role("link", name="鈴木一郎さんのトーク").click()
    pane = page.locator(".chat")
    expect(pane).to_have_count(1)
    expect(pane.get_by_role("heading")).to_have_text("鈴木一郎さんと「つながり」")
    pane.get_by_role("button", name="友だち追加").click()
    expect(pane.locator(".messages")).to_contain_text("見守り")
    expect(pane.get_by_role("button", name="友だち追加")).to_be_hidden()
    say_in(pane, "/ヘルプ")
    expect(pane.locator(".msg.mine")).to_contain_text("/ヘルプ")
    # Put 佐藤花子's chat beside it: two panes, stacked on the phone.
    page.get_by_label("もう一人のトーク").select_option(label="佐藤花子")
    page.get_by_role("button", name="並べる").click()
    expect(page.locator(".chat")).to_have_count(2)
    expect(page.locator(".chat").nth(1).get_by_role("heading")).to_have_text("佐藤花子さんと「つながり」")
    axe_check(page, "two one-to-one chats outside a lesson, at a phone's size")
