"""The simulator page in real Chromium: a whole check-in round, the phone
layout's tap targets and labels, and 練習モード."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

HANAKO, ICHIRO, JIRO = "佐藤花子", "鈴木一郎", "田中次郎"
PHONE = {"width": 375, "height": 812}


def create_group(page: Page, *names: str) -> None:
    page.get_by_label("メンバーの名前（1行に1人）").fill("\n".join(names))
    page.get_by_role("button", name="グループを作る").click()
    expect(page.locator("#messages")).to_contain_text("こんにちは。「つながり」です")


def act_as(page: Page, name: str) -> None:
    page.get_by_role("group", name="いま操作している人").get_by_role("radio", name=name).check()


def say(page: Page, text: str) -> None:
    """Type into the message box and press Enter, as on a phone."""
    box = page.get_by_role("textbox", name="メッセージ", exact=True)
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def tap_newest(page: Page, label: str) -> None:
    page.locator("#messages").get_by_role("button", name=label, exact=True).last.click()


def test_it_runs_a_whole_check_in_round(stack, page, screenshot):
    messages = page.locator("#messages")
    page.goto(stack.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    create_group(page, HANAKO, ICHIRO, JIRO)
    expect(page.get_by_role("heading", name="みどり町内会（4）")).to_be_visible()

    for name in (HANAKO, ICHIRO, JIRO):
        act_as(page, name)
        tap_newest(page, "参加する")
        expect(messages).to_contain_text(f"{name}さん、参加ありがとうございます")

    act_as(page, HANAKO)
    say(page, "/リーダー")
    expect(messages).to_contain_text("佐藤花子さんがリーダーになりました")
    say(page, "/確認")
    prompt = messages.locator(".flex-bubble").filter(has_text="無事ですか？")
    expect(prompt).to_be_visible()
    ok = prompt.get_by_role("button", name="OK", exact=True)
    # The big green OK button, drawn from the Flex message's own colour, and readable.
    assert ok.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(6, 199, 85)"
    assert ok.bounding_box()["height"] >= 44

    for name in (HANAKO, ICHIRO):
        act_as(page, name)
        tap_newest(page, "OK")
        expect(messages).to_contain_text(f"{name}さん、ありがとうございます。確認しました。")
    # Each tap shows in the chat as that member's message (displayText), as on LINE:
    # 鈴木一郎's own on the right in green, 佐藤花子's on the left with her name.
    mine = messages.locator(".msg.mine").filter(has_text="OK")
    expect(mine).to_have_count(1)
    assert mine.locator(".bubble").evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(141, 224, 85)"
    expect(messages.locator(".msg.theirs").filter(has_text=HANAKO).filter(has_text="OK")).not_to_have_count(0)

    page.get_by_role("button", name="23時間進める").click()
    summary = messages.locator(".msg").filter(has_text="田中次郎さんの無事がまだ確認できていません")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("（2人の方は確認できました）")
    expect(page.locator("#clock-ahead")).to_contain_text("23時間")
    # The summary was a push to three members: three messages this month.
    expect(page.locator("#usage-total")).to_have_text("3")
    expect(page.locator("#plans")).to_contain_text("収まります（あと197通）")
    assert stack.platform.usage()["total"] == 3

    summary.scroll_into_view_if_needed()
    screenshot(page, "simulator-round-wide")
    page.set_viewport_size(PHONE)
    summary.scroll_into_view_if_needed()
    screenshot(page, "simulator-round-phone")


# Interactive elements a visitor can reach; the radios are checked
# separately because the chip around each one is its tap target.
CONTROLS = "button:not([hidden]), input:not([type=hidden]), select, textarea, summary, a[href]"

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

# WCAG contrast of each element's text against the first opaque background
# behind it (its own or an ancestor's).
CONTRAST = """
(selector) => {
  const rgb = (css) => (css.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] === 1) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  return [...document.querySelectorAll(selector)]
    .filter((el) => el.getClientRects().length > 0 && el.textContent.trim())
    .map((el) => {
      const style = getComputedStyle(el);
      const [a, b] = [lum(rgb(style.color)), lum(background(el))];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
      const large = size >= 24 || (bold && size >= 18.66);
      return { what: el.outerHTML.slice(0, 80), ratio, needed: large ? 3 : 4.5 };
    })
    .filter((r) => r.ratio < r.needed);
}
"""


def test_it_fits_a_phone_with_big_labelled_controls(stack, browser, screenshot):
    context = browser.new_context(viewport=PHONE, locale="ja-JP", has_touch=True, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(stack.url + "/")
        assert page.locator('meta[name="viewport"]').get_attribute("content").startswith("width=device-width")
        create_group(page, HANAKO, ICHIRO, JIRO)
        act_as(page, ICHIRO)
        tap_newest(page, "参加する")
        expect(page.locator("#messages")).to_contain_text("鈴木一郎さん、参加ありがとうございます")
        page.get_by_role("button", name="練習モード").click()
        page.locator("details summary").click()  # open 新しいグループを作る too

        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 18
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "sideways scrolling"

        controls = page.evaluate(LABEL_AND_SIZE, CONTROLS)
        assert len(controls) > 15
        unlabelled = [c["what"] for c in controls if not c["name"]]
        assert unlabelled == []
        small = [c for c in controls if c["height"] < 44 or c["width"] < 44]
        assert small == []

        radios = page.get_by_role("group", name="いま操作している人").get_by_role("radio")
        expect(radios).to_have_count(3)
        for radio in radios.all():
            box = radio.bounding_box()
            assert box["height"] >= 44 and box["width"] >= 44

        low = page.evaluate(
            CONTRAST,
            "button, label, legend, p, h1, h2, .bubble, .name, .flex-text, .divider, .plan span, .plan strong",
        )
        assert low == []
        screenshot(page, "simulator-phone-controls", full_page=True)
    finally:
        context.close()


def test_it_guides_a_learner_through_practice_mode(stack, page, screenshot):
    page.goto(stack.url + "/")
    toggle = page.get_by_role("button", name="練習モード")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    next_step = page.locator("#practice-next")
    current = page.locator("#practice li.current")
    expect(current).to_have_attribute("data-step", "group")
    expect(next_step).to_contain_text("「グループを作る」を押して")

    create_group(page, HANAKO, ICHIRO, JIRO)  # the page reloads; 練習モード stays on
    expect(current).to_have_attribute("data-step", "join")
    expect(next_step).to_contain_text("「参加する」を押しましょう")
    # The step points at the buttons to press.
    assert (
        page.locator("#messages button[data-a=join]").first.evaluate("b => getComputedStyle(b).outlineStyle")
        == "solid"
    )

    act_as(page, HANAKO)
    tap_newest(page, "参加する")
    expect(next_step).to_contain_text("（まだの人：鈴木一郎さん、田中次郎さん）")
    expect(current).to_have_attribute("data-step", "join")
    for name in (ICHIRO, JIRO):
        act_as(page, name)
        tap_newest(page, "参加する")
    expect(current).to_have_attribute("data-step", "check")
    expect(next_step).to_contain_text("「/リーダー」と送って")

    act_as(page, HANAKO)
    say(page, "/リーダー")
    expect(next_step).to_contain_text("/確認 と入れて")
    say(page, "/確認")
    expect(current).to_have_attribute("data-step", "ok")
    for name in (HANAKO, ICHIRO):
        act_as(page, name)
        tap_newest(page, "OK")
    expect(current).to_have_attribute("data-step", "advance")
    expect(page.locator("#practice li[data-step=ok]")).to_have_class("done")

    page.get_by_role("button", name="23時間進める").click()
    expect(current).to_have_attribute("data-step", "read")
    expect(next_step).to_contain_text("まとめが届きました")
    expect(page.locator("#usage-total")).to_have_text("3")
    screenshot(page, "simulator-practice-wide")
    # A reload keeps the place: the step, and where the clock jumped.
    page.reload()
    expect(current).to_have_attribute("data-step", "read")
    expect(page.locator("#messages .divider")).to_contain_text("まで時計を進めました")
    page.get_by_role("button", name="読みました").click()
    expect(page.locator("#practice li.current")).to_have_count(0)
    expect(next_step).to_contain_text("練習はおしまいです")
    expect(page.locator("#practice li.done")).to_have_count(6)
