"""The summary's 「○○さんを確認します」 buttons in the simulator, in real
Chromium at a phone's size: a neighbour taps one, the group reads who is
going, and the outcome buttons record how it went."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_simulator import act_as, say, start_lesson, tap_newest

pytestmark = pytest.mark.browser

HANAKO, ICHIRO, JIRO = "佐藤花子", "鈴木一郎", "田中次郎"
PHONE = {"width": 390, "height": 844}


def test_a_neighbour_claims_from_the_summary_and_records_the_outcome(stack, browser, screenshot):
    context = browser.new_context(viewport=PHONE, locale="ja-JP", has_touch=True, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    messages = page.locator(".messages")
    try:
        start_lesson(page, stack.url, "basics")  # 佐藤花子 leads; 鈴木一郎 and 田中次郎 join
        for name in (ICHIRO, JIRO):
            act_as(page, name)
            tap_newest(page, "参加する")
            expect(messages).to_contain_text(f"{name}さん、参加ありがとうございます")
        act_as(page, HANAKO)
        say(page, "/確認")
        expect(messages.locator(".flex-bubble").filter(has_text="無事ですか？")).to_be_visible()
        tap_newest(page, "OK")
        act_as(page, ICHIRO)
        say(page, "元気です")  # in his own words
        expect(messages).to_contain_text("鈴木一郎さん、ありがとうございます。確認しました。")

        page.get_by_role("button", name="23時間進める").first.click()
        expect(messages).to_contain_text("田中次郎さんの無事がまだ確認できていません")
        claim = messages.get_by_role("button", name="田中次郎さんを確認します", exact=True)
        expect(claim).to_be_visible()
        box = claim.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "sideways scrolling"

        claim.click()
        expect(messages).to_contain_text("鈴木一郎さんが田中次郎さんを確認します")
        safe = messages.get_by_role("button", name="無事でした", exact=True).last
        expect(safe).to_be_visible()
        expect(messages.get_by_role("button", name="連絡がつかない", exact=True)).to_be_visible()
        screenshot(page, "simulator-follow-up-phone")

        act_as(page, HANAKO)  # the second to tap is told who has it
        tap_newest(page, "田中次郎さんを確認します")
        expect(messages).to_contain_text("田中次郎さんは、鈴木一郎さんが確認に向かっています")

        act_as(page, ICHIRO)
        tap_newest(page, "無事でした")
        expect(messages).to_contain_text(
            "鈴木一郎さんが田中次郎さんの無事を確認しました。ありがとうございました。"
        )
        # The tap shows in the chat as his message, as LINE shows displayText.
        expect(messages.locator(".msg.mine").filter(has_text="田中次郎さんは無事でした")).to_have_count(1)
        assert errors == []
    finally:
        context.close()
