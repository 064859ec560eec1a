"""The simulator at one screen, in real Chromium: each lesson from start to
finish, the start page, an unknown group, the phone's tap targets, labels
and contrast."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

HANAKO, ICHIRO, JIRO = "佐藤花子", "鈴木一郎", "田中次郎"
PHONE = {"width": 375, "height": 812}
LAPTOP = {"width": 1366, "height": 768}


def start_lesson(page: Page, base: str, key: str) -> None:
    page.goto(base + "/")
    page.locator(f"button[data-lesson={key}]").click()
    expect(page.locator(".messages")).to_contain_text("こんにちは。「つながり」です")


def act_as(page: Page, name: str) -> None:
    page.get_by_role("group", name="いま操作している人").get_by_role("radio", name=name).check()


def say(page: Page, text: str) -> None:
    """Type into the message box and press Enter, as on a phone."""
    box = page.get_by_role("textbox", name="メッセージ", exact=True)
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def tap_newest(page: Page, label: str) -> None:
    page.locator(".messages").get_by_role("button", name=label, exact=True).last.click()


def current_step(page: Page):
    return page.locator("#lesson-steps li.current")


def test_it_runs_the_join_and_ok_lesson(stack, page, screenshot):
    messages = page.locator(".messages")
    next_step = page.locator("#next-text")
    start_lesson(page, stack.url, "basics")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", name="れんしゅう町内会（4）")).to_be_visible()
    # The lesson's leader typed /リーダー while the group was made: she is
    # registered, so she is not one of those still to join.
    expect(messages).to_contain_text("佐藤花子さんがリーダーになりました")
    expect(current_step(page)).to_have_attribute("data-step", "join")
    expect(next_step).to_contain_text("（まだの人：鈴木一郎さん、田中次郎さん）")
    # The step points at the buttons to press.
    join = messages.locator("button[data-a=join]").first
    assert join.evaluate("b => getComputedStyle(b).outlineStyle") == "solid"

    for name in (ICHIRO, JIRO):
        act_as(page, name)
        tap_newest(page, "参加する")
        expect(messages).to_contain_text(f"{name}さん、参加ありがとうございます")
    expect(current_step(page)).to_have_attribute("data-step", "check")
    act_as(page, HANAKO)
    say(page, "/確認")
    prompt = messages.locator(".flex-bubble").filter(has_text="無事ですか？")
    expect(prompt).to_be_visible()
    ok = prompt.get_by_role("button", name="OK", exact=True)
    # The big green OK button, drawn from the Flex message's own colour, and readable.
    assert ok.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(6, 199, 85)"
    assert ok.bounding_box()["height"] >= 44
    expect(current_step(page)).to_have_attribute("data-step", "ok")

    for name in (HANAKO, ICHIRO):
        act_as(page, name)
        tap_newest(page, "OK")
        expect(messages).to_contain_text(f"{name}さん、ありがとうございます。確認しました。")
    # Each tap shows in the chat as that member's message (displayText), as on LINE.
    mine = messages.locator(".msg.mine").filter(has_text="OK")
    expect(mine).to_have_count(1)
    assert mine.locator(".bubble").evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(141, 224, 85)"
    # 田中次郎 does not answer: the lesson waits for him, then moves on with the class.
    expect(next_step).to_contain_text("（まだの人：田中次郎さん）")

    page.get_by_role("button", name="23時間進める").first.click()
    summary = messages.locator(".msg").filter(has_text="田中次郎さんの無事がまだ確認できていません")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("（2人の方は確認できました）")
    expect(page.locator("#clock-ahead")).to_contain_text("23時間")
    # The summary was a push to three members: three messages this month.
    expect(page.locator("#usage-total")).to_have_text("3")
    expect(page.locator("#plans")).to_contain_text("収まります（あと197通）")
    expect(current_step(page)).to_have_attribute("data-step", "read")
    expect(next_step).to_contain_text("まとめが届きました")
    screenshot(page, "simulator-basics-wide")

    # A reload keeps the place: the step, and where the clock jumped.
    page.reload()
    expect(current_step(page)).to_have_attribute("data-step", "read")
    expect(page.locator(".messages .divider")).to_contain_text("まで時計を進めました")
    for name in (HANAKO, ICHIRO, JIRO):
        act_as(page, name)
        page.get_by_role("button", name="読みました").click()
    expect(current_step(page)).to_have_count(0)
    expect(next_step).to_contain_text("この練習はおしまいです")
    expect(page.locator("#lesson-steps li.done")).to_have_count(5)


def test_it_runs_the_earthquake_lesson_from_a_real_telegram(stack, page):
    messages = page.locator(".messages")
    start_lesson(page, stack.url, "quake")
    expect(messages).to_contain_text("地域を「岩手県二戸市」にしました")
    for name in (ICHIRO, JIRO):
        act_as(page, name)
        tap_newest(page, "参加する")
        expect(messages).to_contain_text(f"{name}さん、参加ありがとうございます")
    expect(current_step(page)).to_have_attribute("data-step", "quake")
    page.locator("#next-do").click()  # 地震を起こす（訓練）

    # What members read in a real quake — JMA's place and intensity — marked as a drill.
    prompt = messages.locator(".flex-bubble").filter(has_text="【訓練】無事を確認しています")
    expect(prompt).to_be_visible()
    expect(prompt).to_contain_text(
        re.compile(r"\d+月\d+日 \d+時\d+分ごろ、二戸市で震度4の地震がありました。")
    )
    expect(prompt.get_by_role("button", name="助けが必要")).to_be_visible()

    act_as(page, ICHIRO)
    tap_newest(page, "助けが必要")
    expect(messages).to_contain_text("【訓練】佐藤花子さんへ：鈴木一郎さんが「助けが必要」を押しました")
    act_as(page, HANAKO)
    tap_newest(page, "OK（無事）")
    expect(messages).to_contain_text("佐藤花子さん、ありがとうございます。確認しました。")
    expect(current_step(page)).to_have_attribute("data-step", "answer")

    page.get_by_role("button", name="3時間進める").first.click()
    summary = messages.locator(".msg").filter(has_text="田中次郎さんの無事がまだ確認できていません")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("【訓練】")
    expect(summary).to_contain_text("助けが必要な方：鈴木一郎さん")
    expect(current_step(page)).to_have_attribute("data-step", "read")


def test_it_runs_the_leaders_first_day(stack, page):
    messages = page.locator(".messages")
    start_lesson(page, stack.url, "leader")
    for name in (HANAKO, ICHIRO):
        act_as(page, name)
        tap_newest(page, "参加する")
        expect(messages).to_contain_text(f"{name}さん、参加ありがとうございます")
    act_as(page, JIRO)
    say(page, "/リーダー")  # registers him too
    expect(messages).to_contain_text("田中次郎さんがリーダーになりました")
    expect(current_step(page)).to_have_attribute("data-step", "schedule")
    page.get_by_role("button", name="/設定 毎日 9:00", exact=True).click()
    page.get_by_role("button", name="送信").click()
    expect(messages).to_contain_text("確認の予定を「毎日 9:00」にしました")
    for name in (JIRO, HANAKO, ICHIRO):
        act_as(page, name)
        say(page, "/状況")
    expect(messages.locator(".msg").filter(has_text="【いまの状況】")).to_have_count(3)
    expect(current_step(page)).to_have_attribute("data-step", "morning")
    page.locator("#next-do").click()  # 翌朝へ
    expect(messages.locator(".flex-bubble").filter(has_text="無事ですか？")).to_be_visible()
    expect(page.locator("#clock-now")).to_contain_text(" 9:00")
    act_as(page, ICHIRO)
    tap_newest(page, "OK")
    expect(messages).to_contain_text("鈴木一郎さん、ありがとうございます。確認しました。")


def test_it_starts_again_in_a_fresh_group(stack, page):
    start_lesson(page, stack.url, "basics")
    act_as(page, ICHIRO)
    tap_newest(page, "参加する")
    old = page.url
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="最初から").click()
    expect(page).not_to_have_url(old)
    expect(page.locator(".messages")).to_contain_text("こんにちは。「つながり」です")
    expect(page.locator(".messages")).not_to_contain_text("鈴木一郎さん、参加ありがとうございます")
    expect(current_step(page)).to_have_attribute("data-step", "join")
    # The old group is gone from the lists, and its page says so (a 404).
    gone = page.request.get(old)
    assert gone.status == 404 and "そのグループは見つかりません" in gone.text()


def test_it_opens_the_start_page_not_the_newest_group(stack, page):
    start_lesson(page, stack.url, "basics")
    page.goto(stack.url + "/")
    expect(page.get_by_role("heading", name="つながりを試してみましょう")).to_be_visible()
    expect(page.get_by_role("link", name="れんしゅう町内会")).to_be_visible()
    unknown = page.request.get(stack.url + "/?group=Cunknown")
    assert unknown.status == 404 and "そのグループは見つかりません" in unknown.text()


# Interactive elements a visitor can reach; the radios are checked
# separately because the chip around each one is its tap target.
CONTROLS = (
    "button:not([hidden]), input:not([type=hidden]):not([type=radio]), select, textarea, summary, a[href]"
)

LABEL_AND_SIZE = """
(selector) => [...document.querySelectorAll(selector)]
  .filter((el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden")
  .map((el) => {
    const box = el.getBoundingClientRect();
    const labelled = [...(el.labels || [])].map((l) => l.textContent.trim()).join(" ");
    const name = (el.getAttribute("aria-label") || labelled ||
      (["BUTTON", "SUMMARY", "A"].includes(el.tagName) ? el.textContent.trim() : "")).trim();
    return { what: el.outerHTML.slice(0, 80), name, width: box.width, height: box.height };
  })
"""


def test_it_fits_a_phone_with_big_labelled_controls(stack, contexts, screenshot):
    page = contexts(PHONE, mobile=True)
    page.goto(stack.url + "/")
    assert page.locator('meta[name="viewport"]').get_attribute("content").startswith("width=device-width")
    page.locator("button[data-lesson=basics]").click()
    expect(page.locator(".messages")).to_contain_text("こんにちは。「つながり」です")
    act_as(page, ICHIRO)
    tap_newest(page, "参加する")
    expect(page.locator(".messages")).to_contain_text("鈴木一郎さん、参加ありがとうございます")

    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 18
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "sideways scrolling"
    controls = page.evaluate(LABEL_AND_SIZE, CONTROLS)
    assert len(controls) >= 12
    assert [c["what"] for c in controls if not c["name"]] == []
    assert [c for c in controls if c["height"] < 44 or c["width"] < 44] == []
    radios = page.get_by_role("group", name="いま操作している人").get_by_role("radio")
    expect(radios).to_have_count(3)
    for radio in radios.all():
        box = radio.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44
    screenshot(page, "simulator-phone-controls", full_page=True)
