"""Class mode in real Chromium: the projector and three students' phones
(each its own browser context, on its own network address) in one class,
and a phone without the PIN that can do nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
STUDENTS = ("山田一子", "木村二郎", "小林三枝")
PIN = "4321"


def join(page: Page, base: str, name: str) -> None:
    """What a student does after scanning the QR code (its URL carries the PIN)."""
    page.goto(f"{base}/class/join?pin={PIN}")
    expect(page.get_by_label("先生の画面の番号（4けた）")).to_have_value(PIN)
    page.get_by_label("お名前").fill(name)
    page.get_by_role("button", name="教室に入る").click()
    expect(page.get_by_role("heading", name=f"{name}さん、ようこそ")).to_be_visible()


def tap_newest(page: Page, label: str) -> None:
    page.locator(".messages").get_by_role("button", name=label, exact=True).last.click()


def row_of(projector: Page, name: str):
    return projector.locator("#progress tbody tr").filter(has_text=name)


def test_it_runs_one_class_on_several_phones(stack, contexts, screenshot):
    stack.enable_class(pin=PIN)
    projector = contexts(PROJECTOR)
    projector.goto(stack.url + "/class")
    expect(projector.locator("#class-pin")).to_have_text(PIN)
    expect(projector.get_by_role("img", name="参加用のQRコード")).to_be_visible()
    projector.wait_for_function("document.querySelector('img.qr').naturalWidth > 100")

    phones = {}
    for number, name in enumerate(STUDENTS, start=20):
        phones[name] = contexts(PHONE, phone_address=f"192.168.1.{number}", mobile=True)
        join(phones[name], stack.url, name)
    expect(projector.locator("#student-count")).to_have_text("3")

    projector.get_by_role("button", name="「参加する」と「OK」").click()
    expect(projector.get_by_role("heading", name="れんしゅう町内会（5）")).to_be_visible()
    messages = projector.locator(".messages")
    expect(messages).to_contain_text("まとめ役さんがリーダーになりました")
    for name, phone in phones.items():
        # Every phone follows the class into the lesson's group by itself.
        expect(phone.get_by_role("heading", name="れんしゅう町内会（5）")).to_be_visible()
        expect(phone.locator("#next-text")).to_contain_text("「参加する」ボタンを押しましょう")
        tap_newest(phone, "参加する")
        expect(phone.locator(".messages")).to_contain_text(f"{name}さん、参加ありがとうございます")
        # Each phone acts only as its own person: their tap is theirs, on the right.
        expect(phone.locator(".msg.mine")).to_contain_text("参加します")
    for name in STUDENTS:
        expect(row_of(projector, name).locator("td").first).to_have_text("✓")

    projector.get_by_role("textbox", name="メッセージ", exact=True).fill("/確認")
    projector.get_by_role("button", name="送信").click()
    expect(projector.locator("#next-text")).to_contain_text("まとめ役（この画面）も押しておくと")
    tap_newest(projector, "OK")
    for name in STUDENTS[:2]:
        phone = phones[name]
        expect(phone.locator("#next-text")).to_contain_text("緑の「OK」を押しましょう")
        tap_newest(phone, "OK")
        expect(phone.locator(".messages")).to_contain_text(
            f"{name}さん、ありがとうございます。確認しました。"
        )
    # The third student waits for the class to go on; her phone tells her what to do.
    expect(phones[STUDENTS[2]].locator("#next-text")).to_contain_text("緑の「OK」を押しましょう")
    expect(projector.locator("#next-text")).to_contain_text("まだの人：小林三枝さん")

    # Only the teacher moves the clock; the phones say what is happening.
    expect(phones[STUDENTS[0]].locator("#next-do")).to_be_hidden()
    projector.locator("#next-do").click()  # 23時間進める
    for phone in phones.values():
        summary = phone.locator(".msg").filter(has_text="小林三枝さんの無事がまだ確認できていません")
        expect(summary).to_be_visible()
        expect(summary).to_be_in_viewport()  # the summary does not arrive out of view
    first = phones[STUDENTS[0]]
    expect(first.locator("#next-text")).to_contain_text("読んだら「読みました」を押しましょう")
    first.get_by_role("button", name="読みました").click()
    expect(first.locator("#next-text")).to_contain_text("この練習はおしまいです")
    expect(row_of(projector, STUDENTS[0]).locator("td.done")).to_have_count(5)
    # 小林三枝 missed the OK: her row says so, and she goes on with the class.
    expect(row_of(projector, STUDENTS[2]).locator("td.passed")).to_have_count(1)
    screenshot(projector, "class-lesson-projector", docs=True)
    screenshot(phones[STUDENTS[1]], "class-lesson-phone", docs=True)

    # 最初から: a fresh group for everyone, and every phone follows.
    projector.on("dialog", lambda dialog: dialog.accept())
    projector.get_by_role("button", name="最初から").click()
    for phone in phones.values():
        expect(phone.locator(".messages")).not_to_contain_text("確認しました")
        expect(phone.locator("#lesson-steps li.current")).to_have_attribute("data-step", "join")


def test_it_keeps_out_a_phone_without_the_pin(stack, contexts):
    room = stack.enable_class(pin=PIN)
    projector = contexts(PROJECTOR)
    projector.goto(stack.url + "/class")
    projector.get_by_role("button", name="地震のとき「助けが必要」").click()
    expect(projector.locator(".messages")).to_contain_text("こんにちは。「つながり」です")

    stranger = contexts(PHONE, phone_address="192.168.1.99", mobile=True, http_errors=True)
    stranger.goto(stack.url + "/class/join")
    stranger.get_by_label("先生の画面の番号（4けた）").fill("0000")
    stranger.get_by_label("お名前").fill("だれか")
    stranger.get_by_role("button", name="教室に入る").click()
    expect(stranger.get_by_role("alert")).to_contain_text("番号がちがいます")
    # Nothing but the join page answers it: not the projector, not the chat,
    # not the emulator's API (its demo token is public), not the bot's webhook.
    request = stranger.request
    assert request.get(stack.url + "/class", max_redirects=0).status == 303
    assert request.get(f"{stack.url}/simulator/chats/{room.group_id}/timeline").status == 403
    assert request.post(
        f"{stack.url}/simulator/chats/{room.group_id}/text", data={"user_id": "U1", "text": "x"}
    ).status in (400, 403)
    assert request.get(stack.url + "/line-api/_sim/groups").status == 403
    assert request.post(stack.url + "/callback", data="{}").status == 403
    assert request.get(stack.url + "/").status in (200, 303)  # → the join page
    assert request.get(stack.url + "/simulator/groups/" + room.group_id, max_redirects=0).status == 303
    assert request.post(stack.url + "/class/clock", data={"advance": "23h"}).status == 403
    # Guessing is slowed down: after five wrong PINs, even the right one waits.
    for _ in range(4):
        request.post(stack.url + "/class/join", form={"pin": "1111", "name": "だれか"})
    locked = request.post(stack.url + "/class/join", form={"pin": PIN, "name": "だれか"})
    assert locked.status == 429 and "1分ほど待って" in locked.text()
    assert len(stack.platform.members(room.group_id)) == 1  # only the teacher
