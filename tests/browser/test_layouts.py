"""Every screen size a class meets, from a small phone to a projector: the
messages, what to do next and the input are always in view, and a summary
never arrives out of sight.  The screenshots are the ones docs/ shows."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SIZES = [(360, 640), (390, 844), (1024, 768), (1366, 768), (1920, 1080)]
SEVEN = ("佐藤花子", "鈴木一郎", "田中次郎", "山田一子", "木村二郎", "小林三枝", "中村四郎")
SUMMARY = "無事がまだ確認できていません"


def in_view(page: Page, *selectors: str) -> None:
    for selector in selectors:
        expect(page.locator(selector).last).to_be_in_viewport()


def fits(page: Page, width: int, height: int, least_messages_px: int) -> None:
    """The page at this size: no sideways scrolling; the messages at least
    ``least_messages_px`` high; the next step, the input and the newest
    message (the summary's claim buttons) on screen without scrolling."""
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(300)  # the layout and the chat's stick-to-bottom settle
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "sideways scrolling"
    shown = page.evaluate("document.querySelector('.messages').getBoundingClientRect().height")
    assert shown >= least_messages_px, f"messages only {shown}px high at {width}x{height}"
    in_view(page, "#next-text", "#composer-text", ".composer .send", ".messages .msg")
    # The newest message is the summary's 「○○さんを確認します」 buttons, right
    # after the summary's words.
    expect(page.locator(".messages .msg").filter(has_text=SUMMARY).last).to_be_visible()


def least(height: int) -> int:
    return 140 if height < 700 else 250


def test_it_fits_every_size_at_one_screen_with_seven_members(stack, contexts, screenshot):
    page = contexts({"width": 1366, "height": 768})
    page.goto(stack.url + "/")
    page.locator("button[data-lesson=basics]").click()
    messages = page.locator(".messages")
    expect(messages).to_contain_text("こんにちは。「つながり」です")
    for name in SEVEN[3:]:
        page.get_by_label("追加する人の名前").fill(name)
        page.get_by_role("button", name="追加する").click()
        expect(page.get_by_role("radio", name=name)).to_be_checked()
    for name in SEVEN[1:]:
        page.get_by_role("radio", name=name).check()
        messages.get_by_role("button", name="参加する", exact=True).last.click()
        expect(messages).to_contain_text(f"{name}さん、参加ありがとうございます")
    page.get_by_role("radio", name=SEVEN[0]).check()
    page.get_by_role("textbox", name="メッセージ", exact=True).fill("/確認")
    page.get_by_role("button", name="送信").click()
    for name in SEVEN[:4]:
        page.get_by_role("radio", name=name).check()
        messages.get_by_role("button", name="OK", exact=True).last.click()
        expect(messages).to_contain_text(f"{name}さん、ありがとうございます。確認しました。")

    # On a phone, the 23-hour step is the button right above the chat.
    page.set_viewport_size({"width": 360, "height": 640})
    next_do = page.locator("#next-do")
    expect(next_do).to_have_text("23時間進める")
    expect(next_do).to_be_in_viewport()
    next_do.click()
    expect(messages.locator(".msg").filter(has_text=SUMMARY)).to_be_visible()
    for width, height in SIZES:
        fits(page, width, height, least(height))
        screenshot(page, f"simulator-{width}x{height}", docs=True)


def test_it_fits_the_projector_and_the_phones_in_class(stack, contexts, screenshot):
    stack.enable_class(pin="4321")
    projector = contexts({"width": 1366, "height": 768})
    projector.goto(stack.url + "/class")
    phones = []
    for number, name in enumerate(SEVEN[1:], start=30):
        phone = contexts({"width": 390, "height": 844}, phone_address=f"192.168.1.{number}", mobile=True)
        phone.goto(f"{stack.url}/class/join?pin=4321")
        phone.get_by_label("お名前").fill(name)
        phone.get_by_role("button", name="教室に入る").click()
        phones.append(phone)
    projector.get_by_role("button", name="「参加する」と「OK」").click()
    messages = projector.locator(".messages")
    expect(messages).to_contain_text("まとめ役さんがリーダーになりました")
    projector.get_by_role("textbox", name="メッセージ", exact=True).fill("/確認")
    projector.get_by_role("button", name="送信").click()
    expect(messages.locator(".flex-bubble").filter(has_text="無事ですか？")).to_be_visible()
    projector.locator("#next-do").click()  # 23時間進める
    expect(messages.locator(".msg").filter(has_text=SUMMARY)).to_be_visible()

    for width, height in SIZES[2:]:
        projector.set_viewport_size({"width": width, "height": height})
        projector.wait_for_timeout(300)
        in_view(projector, "#class-pin", "#next-text", ".messages .msg", "#composer-text")
        shown = projector.evaluate("document.querySelector('.messages').getBoundingClientRect().height")
        assert shown >= 250, f"the class's messages only {shown}px high at {width}x{height}"
        screenshot(projector, f"class-projector-{width}x{height}", docs=True)
    phone = phones[0]
    expect(phone.locator(".messages .msg").filter(has_text=SUMMARY).last).to_be_visible()
    for width, height in SIZES[:2]:
        fits(phone, width, height, least(height))
        in_view(phone, "#next-do")  # 読みました
        screenshot(phone, f"class-phone-{width}x{height}", docs=True)
