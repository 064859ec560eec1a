"""axe-core (bundled with axe-playwright-python: no network) on every page
of the simulator and of class mode, and on every lesson, with no violation
allowed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
LESSONS = ("basics", "quake", "leader")


def test_every_simulator_page_and_lesson_passes_axe(stack, contexts, axe_check):
    page = contexts(LAPTOP)
    page.goto(stack.url + "/")
    axe_check(page, "the start page")
    for key in LESSONS:
        page.goto(stack.url + "/")
        page.locator(f"button[data-lesson={key}]").click()
        messages = page.locator(".messages")
        expect(messages).to_contain_text("こんにちは。「つながり」です")
        # With the lesson under way: the greeting's button, a tap, the bot's answer.
        page.get_by_role("radio", name="鈴木一郎").check()
        messages.get_by_role("button", name="参加する", exact=True).last.click()
        expect(messages).to_contain_text("鈴木一郎さん、参加ありがとうございます")
        expect(page.locator("#next-text")).not_to_be_empty()
        axe_check(page, f"the {key} lesson at a laptop's size")
        page.set_viewport_size(PHONE)
        axe_check(page, f"the {key} lesson at a phone's size")
        page.set_viewport_size(LAPTOP)
        page.goto(f"{stack.url}/simulator/lessons/{key}/handout")
        expect(page.locator(".h-step").first).to_be_visible()
        axe_check(page, f"the {key} handout")

    missing = contexts(LAPTOP, http_errors=True)
    missing.goto(stack.url + "/simulator/groups/Cnothing")
    axe_check(missing, "the page for an unknown group")


def test_every_class_page_passes_axe(stack, contexts, axe_check):
    stack.enable_class(pin="4321")
    projector = contexts(LAPTOP)
    projector.goto(stack.url + "/class")
    axe_check(projector, "the projector before a lesson")

    phone = contexts(PHONE, phone_address="192.168.1.40", mobile=True, http_errors=True)
    phone.goto(stack.url + "/class/join?pin=4321")
    axe_check(phone, "the join page")
    phone.get_by_label("お名前").evaluate("input => input.removeAttribute('maxlength')")
    phone.get_by_label("お名前").fill("あ" * 21)  # too long: the page explains
    phone.get_by_role("button", name="教室に入る").click()
    expect(phone.get_by_role("alert")).to_contain_text("長すぎます")
    axe_check(phone, "the join page with an error")
    phone.get_by_label("お名前").fill("山田一子")
    with phone.expect_navigation():  # axe must run on the page it lands on
        phone.get_by_role("button", name="教室に入る").click()
    axe_check(phone, "a phone waiting for the lesson")

    for key, title in (
        ("quake", "地震のとき「助けが必要」"),
        ("leader", "リーダーの最初の日"),
        ("basics", "「参加する」と「OK」"),
    ):
        projector.get_by_role("button", name=title).click()
        expect(projector.locator(".messages")).to_contain_text("こんにちは。「つながり」です")
        expect(phone.locator(".messages")).to_contain_text("こんにちは。「つながり」です")
        expect(projector.locator("#progress tbody tr")).to_have_count(1)
        axe_check(projector, f"the projector in the {key} lesson")
        axe_check(phone, f"a phone in the {key} lesson")
