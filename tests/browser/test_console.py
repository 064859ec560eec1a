"""The operator console in real Chromium against the real local stack (bot,
LINE emulator, worker and sweep threads): every page with axe-core finding
no violations, login, CSRF refusal, the rate limit, tenancy, the queue claim
race between two operators, the live Today page, and a notice sent from the
console through the outbox.  Screenshots (phone and laptop) go to
tests/artifacts/console/; docs/console/ has a chosen few."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

# Written by every run; a chosen few are copied to docs/console/ by hand.
SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "console"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TEXT = "本日15時から、公民館を避難所として開設しています。"


@pytest.fixture
def console(stack):
    """The stack with two organisations' data; the Today page refreshes
    every second instead of ten."""
    from services import clock
    from tests.console import seed

    stack.app.config["CONSOLE_LIVE_SECONDS"] = 1
    stack.orgs = seed.two_organisations(clock.now())
    return stack


@pytest.fixture
def axe():
    from axe_playwright_python.sync_playwright import Axe

    checker = Axe()

    def check(page: Page, where: str) -> None:
        results = checker.run(page)
        assert results.violations_count == 0, f"{where}: {results.generate_report()}"

    return check


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def login(page: Page, url: str, email: str, password: str | None = None) -> None:
    from tests.console.seed import PASSWORD

    page.goto(url + "/console/login")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(password or PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", level=1, name="今日の状況")).to_be_visible()


def new_page(browser, viewport=LAPTOP) -> Page:
    context = browser.new_context(viewport=viewport, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def test_it_shows_every_page_without_accessibility_violations(console, page, axe, browser):
    url = console.url
    page.set_viewport_size(LAPTOP)
    page.goto(url + "/console/login")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    axe(page, "login")
    shoot(page, "login-laptop")
    login(page, url, "admin@midori.example.jp")
    midori = console.orgs["midori"]
    pages = [
        ("today", "/console/", "今日の状況"),
        ("queue", "/console/queue", "対応キュー"),
        ("queue-done", "/console/queue?state=done", "対応キュー"),
        ("queue-item", f"/console/queue/{midori['items'][0]}", "対応 No."),
        ("groups", "/console/groups", "グループ"),
        ("groups-filtered", "/console/groups?last_answer=7&paused=no&q=厚木", "グループ"),
        ("group", f"/console/groups/{midori['groups'][0]}", "グループ"),
        ("watches", "/console/watches", "見守り（1対1）"),
        ("notices", "/console/notices", "お知らせ"),
        ("notice", f"/console/notices/{midori['notice']}", "お知らせの送信状況"),
        ("statistics", "/console/statistics", "統計"),
        ("organisation", "/console/organisation", "団体情報"),
        ("operators", "/console/operators", "担当者"),
        ("audit", "/console/audit", "操作記録"),
        ("password", "/console/password", "パスワード変更"),
    ]
    for name, path, heading in pages:
        page.goto(url + path)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        axe(page, name)
        shoot(page, f"{name}-laptop")
    # The flows' own pages: claiming, the outcome form, a sign-up link, a preview.
    page.goto(url + f"/console/queue/{midori['items'][0]}")
    page.get_by_role("button", name="引き受ける").click()
    expect(page.get_by_role("group", name="対応結果")).to_be_visible()
    axe(page, "queue-item-claimed")
    shoot(page, "queue-item-claimed-laptop")
    page.goto(url + "/console/operators")
    page.get_by_label("メールアドレス").fill("newcomer@midori.example.jp")
    page.get_by_role("button", name="招待リンクを作る").click()
    link = page.get_by_label("招待リンク").input_value()
    axe(page, "operator-link")
    page.goto(url + "/console/notices")
    page.get_by_label("本文").fill(TEXT)
    page.get_by_role("button", name="送信前の確認へ").click()
    expect(page.get_by_role("heading", level=1, name="送信前の確認")).to_be_visible()
    axe(page, "notice-preview")
    shoot(page, "notice-preview-laptop")

    signup = new_page(browser)
    signup.goto(link)
    expect(signup.get_by_role("heading", level=1, name="パスワードの設定")).to_be_visible()
    axe(signup, "signup")
    signup.context.close()

    # A page that is not there (in its own context: the 404 is the point).
    lost = new_page(browser)
    login(lost, url, "staff@midori.example.jp")
    lost.goto(url + "/console/groups/999999")
    expect(lost.get_by_role("heading", level=1)).to_have_text("見つかりません")
    axe(lost, "not found")
    lost.context.close()

    phone = new_page(browser, PHONE)
    login(phone, url, "staff@midori.example.jp")
    for name, path, heading in pages:
        if name in ("today", "queue", "group", "notices", "statistics", "groups"):
            phone.goto(url + path)
            expect(phone.get_by_role("heading", level=1)).to_contain_text(heading)
            axe(phone, f"{name} (phone)")
            shoot(phone, f"{name}-phone")
    phone.context.close()


def test_it_refuses_a_form_whose_csrf_token_is_missing(console, browser):
    page = new_page(browser)  # its own: the 400 is the point, not a page error
    login(page, console.url, "staff@midori.example.jp")
    item = console.orgs["midori"]["items"][0]
    page.goto(console.url + f"/console/queue/{item}")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    with page.expect_response(re.compile(r"/claim$")) as answer:
        page.get_by_role("button", name="引き受ける").click()
    assert answer.value.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("もう一度お試しください")
    from models import QueueItem

    assert QueueItem.get_by_id(item).state == "open"


def test_it_stops_logins_after_five_failures(console, browser):
    page = new_page(browser)  # its own: the 401s and the 429 are the point
    page.goto(console.url + "/console/login")
    statuses = []
    for _ in range(6):
        page.get_by_label("メールアドレス").fill("staff@midori.example.jp")
        page.get_by_label("パスワード").fill("not the password")
        with page.expect_response(re.compile(r"/console/login$")) as answer:
            page.get_by_role("button", name="ログイン").click()
        statuses.append(answer.value.status)
    assert statuses == [401] * 5 + [429]
    expect(page.get_by_role("alert")).to_contain_text("15分ほどたってから")
    # The right password is refused too, until the window has passed.
    page.get_by_label("パスワード").fill("correct horse battery staple")
    with page.expect_response(re.compile(r"/console/login$")) as answer:
        page.get_by_role("button", name="ログイン").click()
    assert answer.value.status == 429


def test_it_answers_404_for_another_organisations_ids_in_the_browser(console, page):
    """The kita operator's browser session, every route with an id, midori's ids."""
    from tests.console.test_console_tenancy import ID_PARAMS

    login(page, console.url, "admin@kita.example.jp")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    midori = console.orgs["midori"]
    tried = 0
    for rule in console.app.url_map.iter_rules():
        if not rule.endpoint.startswith("console.") or not rule.arguments:
            continue
        if not set(rule.arguments) <= set(ID_PARAMS):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", str(ID_PARAMS[name](midori)))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = page.request.get(console.url + path)
            else:
                response = page.request.post(
                    console.url + path, form={"csrf_token": token, "outcome": "reached", "role": "staff"}
                )
            assert response.status == 404, (method, path, response.status)
            tried += 1
    assert tried >= 10
    page.goto(console.url + "/console/groups")
    for group_id in midori["groups"]:
        expect(page.locator(f'a[href="/console/groups/{group_id}"]')).to_have_count(0)


def test_it_gives_a_queue_item_to_only_one_of_two_operators(console, browser):
    item = console.orgs["midori"]["items"][0]
    first, second = new_page(browser), new_page(browser)
    login(first, console.url, "admin@midori.example.jp")
    login(second, console.url, "staff@midori.example.jp")
    for page in (first, second):
        page.goto(console.url + f"/console/queue/{item}")
        expect(page.get_by_role("button", name="引き受ける")).to_be_visible()
    # Both pressed it: the second finds it taken.
    first.get_by_role("button", name="引き受ける").click()
    second.get_by_role("button", name="引き受ける").click()
    expect(first.get_by_role("status")).to_contain_text("引き受けました")
    expect(second.get_by_role("status")).to_contain_text("すでにほかの方が引き受けています")
    expect(second.get_by_role("button", name="結果を記録する")).to_have_count(0)
    first.get_by_label("電話でつながった").check()
    first.get_by_label("メモ（任意）").fill("ご本人と話せました。")
    first.get_by_role("button", name="結果を記録する").click()
    expect(first.get_by_role("status")).to_contain_text("電話でつながった")
    second.goto(console.url + "/console/queue?state=done")
    expect(second.get_by_role("table")).to_contain_text(f"No.{item}")
    for page in (first, second):
        page.context.close()


def test_it_updates_today_without_reloading(console, page):
    from models import Member, Round
    from services import clock
    from tests.console import seed

    login(page, console.url, "staff@midori.example.jp")
    help_count = page.locator("[data-count=help]")
    expect(help_count).to_have_text("2")
    page.evaluate("window.stillTheSamePage = true")
    shared = console.orgs["midori"]["groups"][0]
    open_round = Round.get((Round.group == shared) & (Round.status == "open"))
    jiro = Member.get((Member.group == shared) & (Member.is_leader == False))  # noqa: E712
    third = [m for m in Member.select().where(Member.group == shared) if not m.answers.count()][0]
    seed.answer(open_round, third, timedelta(minutes=1), "help")
    del jiro
    expect(help_count).to_have_text("3", timeout=10_000)
    expect(page.locator("#live")).to_contain_text("対応を待っている方（3件）")
    assert page.evaluate("window.stillTheSamePage") is True  # no reload happened
    assert clock.now()


def test_it_sends_a_notice_from_the_console_through_the_outbox(console, page, axe):
    from models import Group, Organisation, Outbox, naive
    from services import clock

    platform = console.platform
    midori = Organisation.get(Organisation.slug == "midori")
    hook, platform.webhook_url = platform.webhook_url, None  # make groups without the bot's webhook
    people = [platform.add_user(name) for name in ("住民一", "住民二", "住民三")]
    line_groups = []
    for i in range(3):
        line_group = platform.create_group(f"みどり{i}")
        for user in people:
            platform.add_member(line_group, user)
        platform.invite_bot(line_group)
        Group.create(
            line_group_id=line_group,
            organisation=midori,
            joined_at=naive(clock.now()),
            member_count=3,
            area_code="1421200",
        )
        line_groups.append(line_group)
    platform.webhook_url = hook

    login(page, console.url, "admin@midori.example.jp")
    page.get_by_role("link", name="お知らせ").click()
    page.get_by_label("本文").fill(TEXT)
    page.get_by_label("神奈川県厚木市").check() if page.get_by_label(
        "神奈川県厚木市"
    ).count() else page.get_by_label("厚木市").check()
    page.get_by_role("button", name="送信前の確認へ").click()
    facts = page.locator("dl.facts")
    # The seed's two groups (4 and 3 LINE members) and these three (3 each).
    expect(facts).to_contain_text("5グループ")
    expect(facts).to_contain_text("16通")
    expect(facts).to_contain_text("30,000通")
    page.get_by_role("button", name="5グループに送信する").click()
    expect(page.get_by_role("heading", level=1, name="お知らせの送信状況")).to_be_visible()
    # The seed's groups are not in the emulator: LINE refuses them for good.
    expect(page.locator("#progress-text")).to_contain_text("送信が終わりました", timeout=20_000)
    expect(page.locator("[data-count=sent]")).to_have_text("3")
    expect(page.locator("[data-count=failed]")).to_have_text("2")
    axe(page, "notice progress")
    shoot(page, "notice-progress-laptop")
    for line_group in line_groups:
        pushes = [item for item in platform.timeline(line_group) if item["via"] == "push"]
        assert len(pushes) == 1 and TEXT in pushes[0]["message"]["text"]
    rows = Outbox.select().where(Outbox.purpose == "notice")
    assert rows.count() == 5 and {r.dedup_key.split(":")[0] for r in rows} == {"notice"}

    # The same notice again sends nothing twice.
    page.goto(console.url + "/console/notices")
    page.get_by_label("本文").fill(TEXT)
    page.get_by_label("厚木市").check()
    page.get_by_role("button", name="送信前の確認へ").click()
    expect(page.get_by_role("status")).to_contain_text("すでに送信済み")
    assert Outbox.select().where(Outbox.purpose == "notice").count() == 5
    del line_groups
