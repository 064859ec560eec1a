"""The simulator shows a group in the language its leader chose (/言語):
the bot's messages and the page around them, in real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_simulator import HANAKO, ICHIRO, act_as, say, start_lesson, tap_newest

pytestmark = pytest.mark.browser


def test_it_shows_a_group_in_english_after_its_leader_chooses_it(stack, page):
    messages = page.locator(".messages")
    start_lesson(page, stack.url, "basics")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    act_as(page, HANAKO)
    say(page, "/言語 English")
    expect(messages).to_contain_text("From now on, this group gets messages in English.")

    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="This group's clock")).to_be_visible()
    expect(page.get_by_role("button", name="+23 hours")).to_be_visible()
    page.get_by_role("group", name="Acting as").get_by_role("radio", name=ICHIRO).check()
    tap_newest(page, "参加する")  # the greeting was sent in 日本語: its button still works
    expect(messages).to_contain_text(f"Thank you for joining, {ICHIRO}.")

    page.get_by_role("group", name="Acting as").get_by_role("radio", name=HANAKO).check()
    page.get_by_role("textbox", name="Message", exact=True).fill("/check")
    page.get_by_role("textbox", name="Message", exact=True).press("Enter")
    prompt = messages.locator(".flex-bubble").filter(has_text="Are you safe?")
    expect(prompt).to_be_visible()
    page.get_by_role("group", name="Acting as").get_by_role("radio", name=ICHIRO).check()
    prompt.get_by_role("button", name="OK", exact=True).click()
    expect(messages).to_contain_text(f"Thank you, {ICHIRO}. Noted.")
    page.get_by_role("button", name="+23 hours").first.click()
    expect(messages.locator(".msg").filter(has_text="We do not know yet whether")).to_be_visible()
