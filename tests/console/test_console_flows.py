"""Console flows through the real app on both databases: logging in, the
rate limit, CSRF refusal, sessions ending, the queue (claim race, outcome,
the group told), the audit log, and `flask operator create`."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from models import AuditEvent, LoginAttempt, Operator, Outbox, QueueItem, connected
from services import clock, console_queue, operators
from tests.console import seed


@pytest.fixture
def orgs(console_app):
    return seed.two_organisations(clock.now())


def test_it_logs_in_with_secure_cookies_and_headers(client, orgs):
    web = client()
    assert web.get("/console/").status_code == 302  # not logged in: to the login page
    assert web.get("/console/").headers["Location"].startswith("/console/login")
    response = web.login("admin@midori.example.jp")
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    page = web.get("/console/")
    assert page.status_code == 200 and "今日の状況" in page.text
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    assert AuditEvent.get(AuditEvent.action == "login").operator_id == orgs["midori"]["admin"]


def test_it_never_follows_a_next_link_off_the_console(client, orgs):
    web = client()
    response = web.http.post(
        "/console/login",
        data={
            "email": "admin@midori.example.jp",
            "password": seed.PASSWORD,
            "csrf_token": web.csrf(),
            "next": "https://evil.example/console/",
        },
    )
    assert response.headers["Location"] == "/console/"


def test_it_refuses_a_form_without_its_csrf_token(client, orgs):
    web = client()
    web.login("staff@midori.example.jp")
    item = orgs["midori"]["items"][0]
    refused = web.post(f"/console/queue/{item}/claim", csrf=False)
    assert refused.status_code == 400 and "もう一度お試しください" in refused.text
    forged = web.post(f"/console/queue/{item}/claim", {"csrf_token": "forged"}, csrf=False)
    assert forged.status_code == 400
    assert QueueItem.get_by_id(item).state == "open"
    login = client().http.post("/console/login", data={"email": "a@b.jp", "password": "x"})
    assert login.status_code == 400


def test_it_answers_429_after_five_failures_for_an_account(client, orgs):
    web = client()
    for _ in range(5):
        assert web.login("staff@midori.example.jp", "wrong password!").status_code == 401
    limited = web.login("staff@midori.example.jp")  # even the right password
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "900"
    assert "しばらく受け付けを止めています" in limited.text
    # Another address does not unlock the account; another account is fine.
    assert web.login("staff@midori.example.jp", address="203.0.113.9").status_code == 429
    assert client().login("admin@midori.example.jp", address="203.0.113.9").status_code == 302


def test_it_answers_429_after_five_failures_from_an_address(client, orgs):
    for i in range(5):
        assert client().login(f"nobody{i}@example.jp", "guess", address="192.0.2.1").status_code == 401
    assert client().login("admin@kita.example.jp", address="192.0.2.1").status_code == 429
    assert client().login("admin@kita.example.jp", address="192.0.2.2").status_code == 302
    assert LoginAttempt.select().count() == 5


def test_it_forgets_failures_after_fifteen_minutes(console_app):
    midori = seed.org()
    seed.operator(midori, "staff@midori.example.jp")
    now = clock.now()
    for _ in range(5):
        assert operators.login("staff@midori.example.jp", "nope", "192.0.2.1", now).operator is None
    assert operators.login("staff@midori.example.jp", seed.PASSWORD, "192.0.2.1", now).limited
    later = now + operators.FAILURE_WINDOW + timedelta(seconds=1)
    assert operators.login("staff@midori.example.jp", seed.PASSWORD, "192.0.2.1", later).operator


def test_it_ends_other_sessions_when_the_password_changes(client, orgs):
    laptop, phone = client(), client()
    laptop.login("staff@midori.example.jp")
    phone.login("staff@midori.example.jp")
    new = "a much longer new passphrase"
    changed = laptop.post("/console/password", {"current": seed.PASSWORD, "password": new, "password2": new})
    assert changed.status_code == 302
    assert laptop.get("/console/").status_code == 200  # logged in again with the new token
    assert phone.get("/console/").status_code == 302  # the old session is over
    assert client().login("staff@midori.example.jp", new).status_code == 302
    short = laptop.post("/console/password", {"current": new, "password": "short", "password2": "short"})
    assert short.status_code == 400 and "12文字以上" in short.text


def test_it_invites_by_a_one_time_link_and_stops_access(client, orgs):
    admin = client()
    admin.login("admin@midori.example.jp")
    page = admin.post(
        "/console/operators", {"email": "New@Midori.example.jp", "name": "山田", "role": "staff"}
    )
    assert page.status_code == 200
    link = page.text.split('value="http://localhost/console/signup/')[1].split('"')[0]
    newcomer = client()
    assert newcomer.get(f"/console/signup/{link}").status_code == 200
    mismatch = newcomer.post(f"/console/signup/{link}", {"password": "x" * 12, "password2": "y" * 12})
    assert mismatch.status_code == 400
    done = newcomer.post(f"/console/signup/{link}", {"password": "x" * 12, "password2": "x" * 12})
    assert done.status_code == 302
    assert newcomer.get(f"/console/signup/{link}").status_code == 404  # once only
    assert newcomer.login("new@midori.example.jp", "x" * 12).status_code == 302
    assert newcomer.get("/console/").status_code == 200

    person = Operator.get(Operator.email == "new@midori.example.jp")
    assert admin.post(f"/console/operators/{person.id}/active", {"active": "0"}).status_code == 302
    assert newcomer.get("/console/").status_code == 302  # stopped: the session ends at once
    assert client().login("new@midori.example.jp", "x" * 12).status_code == 401
    # An admin cannot stop themselves or leave the organisation without an admin.
    me = orgs["midori"]["admin"]
    admin.post(f"/console/operators/{me}/active", {"active": "0"})
    admin.post(f"/console/operators/{me}/role", {"role": "staff"})
    assert Operator.get_by_id(me).active and Operator.get_by_id(me).role == "admin"
    actions = [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]
    assert "operator.invite" in actions and "signup" in actions and "operator.stop" in actions


def test_it_keeps_admin_pages_for_admins(client, orgs):
    staff = client()
    staff.login("staff@midori.example.jp")
    for path in ("/console/operators", "/console/audit"):
        assert staff.get(path).status_code == 403
    assert staff.post("/console/organisation/link-code").status_code == 403


def test_it_gives_each_queue_item_to_one_of_two_operators_racing(console_app, orgs):
    """Two operators claim the same items at the same instant: exactly one
    wins each, whatever the database."""
    midori = orgs["midori"]
    first, second = Operator.get_by_id(midori["admin"]), Operator.get_by_id(midori["staff"])
    now = clock.now()
    group = seed.Group.get_by_id(midori["groups"][0])
    ids = [
        QueueItem.create(
            organisation=midori["org"],
            group=group,
            source_kind="test",
            source_id=i,
            raised_at=seed.naive(now),
            created_at=seed.naive(now),
        ).id
        for i in range(20)
    ]
    wins: dict[int, list[str]] = {i: [] for i in ids}
    barrier = threading.Barrier(2)

    def race(operator, name):
        with connected():
            for item in ids:
                barrier.wait()
                if console_queue.claim(midori["org"], item, operator, now):
                    wins[item].append(name)

    threads = [threading.Thread(target=race, args=(op, n)) for op, n in ((first, "a"), (second, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(w) == 1 for w in wins.values()), wins
    # Only the holder records the outcome; the other cannot.
    item = ids[0]
    holder, other = (first, second) if wins[item] == ["a"] else (second, first)
    assert not console_queue.record_outcome(midori["org"], item, other, "reached", "", now)
    assert console_queue.record_outcome(midori["org"], item, holder, "reached", "", now)
    assert not console_queue.record_outcome(midori["org"], item, holder, "visited", "", now)  # done once
    assert QueueItem.get_by_id(item).outcome == "reached"


def test_it_records_an_outcome_tells_the_group_and_keeps_the_note_out_of_the_audit(client, orgs):
    staff = client()
    staff.login("staff@midori.example.jp")
    item = orgs["midori"]["items"][0]
    assert staff.post(f"/console/queue/{item}/claim").status_code == 302
    other = client()
    other.login("admin@midori.example.jp")
    again = other.post(f"/console/queue/{item}/claim", follow_redirects=True)
    assert "すでにほかの方が引き受けています" in again.text
    assert other.post(f"/console/queue/{item}/outcome", {"outcome": "reached"}).status_code == 302
    assert QueueItem.get_by_id(item).state == "claimed"  # not theirs to close
    note = "ご本人は転んで動けないとのこと。長女さんが向かっている。"
    staff.post(f"/console/queue/{item}/outcome", {"outcome": "unreached", "note": note})
    done = QueueItem.get_by_id(item)
    assert (done.state, done.outcome, done.note) == ("done", "unreached", note)
    told = Outbox.get(Outbox.purpose == "queue-outcome")
    assert told.group_id == done.group_id and told.kind == "push" and told.retry_key
    assert "つながりませんでした" in json.loads(told.messages)[0]["text"]
    assert note not in told.messages
    assert all(note not in (e.detail + e.target) for e in AuditEvent.select())
    assert "outcome=unreached" in AuditEvent.get(AuditEvent.action == "queue.outcome").detail
    assert note not in other.get("/console/audit").text
    assert "対応済み（1）" in staff.get("/console/queue?state=done").text


def test_it_queues_each_help_once(console_app, orgs):
    midori = orgs["midori"]["org"]
    before = QueueItem.select().count()
    assert console_queue.collect(midori, clock.now()) == 0  # already queued by the seed
    assert QueueItem.select().count() == before


def test_it_creates_operators_from_the_command_line(console_app):
    seed.org()
    runner = console_app.test_cli_runner()
    made = runner.invoke(
        args=[
            "operator",
            "create",
            "--org",
            "midori",
            "--email",
            "Chief@Midori.example.jp",
            "--role",
            "admin",
        ],
        input="a long enough password\n",
    )
    assert made.exit_code == 0, made.output
    assert "created chief@midori.example.jp (admin) for midori" in made.output
    assert operators.login("chief@midori.example.jp", "a long enough password", "x", clock.now()).operator
    linked = runner.invoke(
        args=[
            "operator",
            "create",
            "--org",
            "midori",
            "--email",
            "s@midori.example.jp",
            "--link",
            "--url",
            "https://t.example/",
        ]
    )
    assert linked.exit_code == 0 and "https://t.example/console/signup/" in linked.output
    token = linked.output.split("/console/signup/")[1].strip()
    assert operators.operator_for_signup(token, clock.now()).email == "s@midori.example.jp"
    weak = runner.invoke(args=["operator", "create", "--org", "midori", "--email", "w@m.jp"], input="short\n")
    assert weak.exit_code == 1 and "12文字以上" in weak.output
    assert (
        runner.invoke(args=["operator", "create", "--org", "nope", "--email", "x@y.jp", "--link"]).exit_code
        == 1
    )
    listing = runner.invoke(args=["operator", "list", "--org", "midori"]).output
    assert "chief@midori.example.jp\tadmin\tactive" in listing and "no password yet" in listing


def test_it_queues_a_help_answer_the_moment_the_bot_calls_it(console_app):
    now = clock.now()
    midori = seed.org()
    group = seed.group(midori, joined_at=now - timedelta(days=3))
    ichiro = seed.member(group, "鈴木一郎", registered_at=now - timedelta(days=2))
    open_round = seed.round_(group, now - timedelta(hours=1), status="open")
    helped = seed.answer(open_round, ichiro, timedelta(minutes=2), "help")
    assert console_queue.queue_help(helped.id, now) == 1
    assert console_queue.queue_help(helped.id, now) == 0  # once
    item = QueueItem.get()
    assert (item.source_kind, item.source_id, item.person_id, item.state) == (
        "help",
        helped.id,
        ichiro.person_id,
        "open",
    )
    loner = seed.group(None, joined_at=now)  # in no organisation: nobody's queue
    jiro = seed.member(loner, "田中次郎", registered_at=now)
    other = seed.answer(seed.round_(loner, now, status="open"), jiro, timedelta(minutes=1), "help")
    assert console_queue.queue_help(other.id, now) == 0


def test_it_computes_the_statistics_ahead_from_the_command_line(console_app, orgs):
    from models import StatMonth

    result = console_app.test_cli_runner().invoke(args=["console", "refresh-stats"])
    assert result.exit_code == 0, result.output
    assert "kita: 12 month(s) computed" in result.output and "midori: 12 month(s) computed" in result.output
    assert StatMonth.select().where(StatMonth.metric == "members").count() == 24
    again = console_app.test_cli_runner().invoke(args=["console", "refresh-stats", "--org", "kita"])
    assert "kita: 0 month(s) computed" in again.output  # all fresh
