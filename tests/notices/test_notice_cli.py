"""flask org ... and flask notice send: a notice to every group of an
organisation, costed first, written once, sent at LINE's rate, and finished
by the scheduler whatever happens to the command."""

from __future__ import annotations

import _thread
from collections import Counter

from jobs import notice_sender
from jobs.notice_sender import TokenBucket
from models import Group, Organisation, Outbox, naive
from services import clock
from services.notices import plan_notice, write_notice
from tests.support import HANAKO, ICHIRO

TEXT = "明日10時から、公民館で防災訓練があります。"
HEADER = "【みどり市社会福祉協議会からのお知らせ】"


def cli(world, *args: str):
    return world.app.test_cli_runner().invoke(args=list(args))


def make_org(world, slug: str = "midori", name: str = "みどり市社会福祉協議会") -> Organisation:
    result = cli(world, "org", "create", "--slug", slug, "--name", name, "--kind", "council")
    assert result.exit_code == 0, result.output
    return Organisation.get(Organisation.slug == slug)


def org_groups(world, org, count: int, members: int = 2, area: str | None = None) -> list[str]:
    """Groups the bot is in, belonging to ``org``, made without webhooks
    (so the emulator's rate limit is spent on the notice alone)."""
    hook, world.line.webhook_url = world.line.webhook_url, None
    people = [world.user(f"住民{i}") for i in range(members)]
    ids = []
    for i in range(count):
        group_id = world.line.create_group(f"{org.slug}-{i}")
        for user_id in people:
            world.line.add_member(group_id, user_id)
        world.line.invite_bot(group_id)
        Group.create(
            line_group_id=group_id,
            organisation=org,
            joined_at=naive(clock.now()),
            member_count=members,
            area_code=area,
        )
        ids.append(group_id)
    world.line.webhook_url = hook
    return ids


def pushes_per_group(world, group_ids) -> list[int]:
    return [sum(1 for item in world.bot_items(g) if item["via"] == "push") for g in group_ids]


def push_statuses(world) -> Counter:
    return Counter(r["status"] for r in world.line.requests_log() if r["path"] == "/v2/bot/message/push")


def send(world, *extra: str, text: str = TEXT, org: str = "midori"):
    return cli(world, "notice", "send", "--org", org, "--text", text, "--yes", *extra)


def test_it_manages_organisations_and_their_groups(make_world):
    world = make_world()
    make_org(world)
    assert cli(world, "org", "create", "--slug", "midori", "--name", "x").exit_code == 1  # exists
    assert cli(world, "org", "create", "--slug", "Bad Slug", "--name", "x").exit_code == 2

    group_id = world.group(HANAKO, ICHIRO)
    world.join(group_id, HANAKO)
    world.lead(group_id)
    world.say(group_id, HANAKO, "/地域 厚木市")
    result = cli(world, "org", "add-group", "--org", "midori", "--group", group_id)
    assert result.exit_code == 0 and f"added {group_id} to midori" in result.output
    assert Group.get(Group.line_group_id == group_id).organisation.slug == "midori"
    assert cli(world, "org", "add-group", "--org", "midori", "--group", "Cnope").exit_code == 1

    assert "midori\tcouncil\t1 group(s)\tみどり市社会福祉協議会" in cli(world, "org", "list").output
    listing = cli(world, "org", "list", "--org", "midori").output
    assert f"{group_id}\tactive\t2 member(s)\t神奈川県厚木市" in listing


def test_it_prints_the_cost_and_sends_each_group_one_push_even_when_run_twice(make_world):
    world = make_world()
    org = make_org(world)
    groups = org_groups(world, org, 5)
    other = org_groups(world, make_org(world, "kita", "北町内会連合会"), 1)

    result = send(world)
    assert result.exit_code == 0, result.output
    assert "notice from みどり市社会福祉協議会 to 5 group(s) (all areas)" in result.output
    assert "new: 5 group(s), cost 10 message(s)" in result.output
    assert "this month: 0 of 30000 used (NOTICE_MONTHLY_BUDGET), 30000 left" in result.output
    assert "sent 5, failed 0" in result.output
    assert pushes_per_group(world, groups) == [1] * 5
    assert pushes_per_group(world, other) == [0]
    assert world.last_text(groups[0]) == f"{HEADER}\n{TEXT}"
    assert world.line.usage()["total"] == 10

    again = send(world)
    assert again.exit_code == 0
    assert "already sent: 5 group(s)" in again.output and "nothing to send" in again.output
    assert pushes_per_group(world, groups) == [1] * 5
    assert Outbox.select().where(Outbox.purpose == "notice").count() == 5

    other_text = send(world, text="別のお知らせです。")  # a different notice is a new one
    assert "this month: 10 of 30000 used" in other_text.output
    assert pushes_per_group(world, groups) == [2] * 5


def test_it_sends_only_to_the_areas_named(make_world):
    world = make_world()
    org = make_org(world)
    atsugi = org_groups(world, org, 2, area="1421200")
    kohoku = org_groups(world, org, 1, area="1410900")
    org_groups(world, org, 1)  # no area
    result = send(world, "--area", "1421200", "--area", "1410900")
    assert "to 3 group(s) (1410900 神奈川県横浜市港北区, 1421200 神奈川県厚木市)" in result.output
    assert pushes_per_group(world, atsugi + kohoku) == [1, 1, 1]
    assert world.line.usage()["total"] == 6
    assert send(world, "--area", "9999999").exit_code == 2


def test_it_refuses_a_notice_the_months_quota_cannot_pay_for_unless_forced(make_world):
    world = make_world(monthly_limit=7)
    org = make_org(world)
    groups = org_groups(world, org, 5)

    refused = send(world)
    assert refused.exit_code == 1
    assert "this month: 0 of 7 used (LINE's monthly limit), 7 left" in refused.output
    assert "refused: the notice costs 10 but only 7 message(s) are left" in refused.output
    assert Outbox.select().count() == 0 and world.line.usage()["total"] == 0

    forced = send(world, "--force")
    assert forced.exit_code == 0, forced.output
    # LINE stops at its limit; the rest waits for the scheduler (an hour's backoff).
    assert "sent 3, failed 0" in forced.output and "left for the scheduler 2" in forced.output
    assert sorted(pushes_per_group(world, groups)) == [0, 0, 1, 1, 1]


def test_it_keeps_to_the_rate_limit(make_world):
    world = make_world(rate_limit_per_second=20)
    org = make_org(world)
    groups = org_groups(world, org, 30)
    result = send(world, "--rate", "20")
    assert result.exit_code == 0, result.output
    # LINE's own token bucket (emulated at 20/s) is the judge: not a single 429.
    assert push_statuses(world) == {200: 30}
    times = sorted(r["at"] for r in world.line.requests_log() if r["path"] == "/v2/bot/message/push")
    assert times[-1] - times[0] >= 29 / 20 * 0.9  # spread out, not a burst
    assert pushes_per_group(world, groups) == [1] * 30


def test_it_backs_off_on_429_and_still_sends_each_group_once(make_world):
    world = make_world(rate_limit_per_second=10)
    org = make_org(world)
    groups = org_groups(world, org, 15)
    result = send(world, "--rate", "1000")  # faster than LINE allows
    assert result.exit_code == 0, result.output
    statuses = push_statuses(world)
    assert statuses[429] > 0 and statuses[200] == 15
    assert pushes_per_group(world, groups) == [1] * 15


def test_it_leaves_what_ctrl_c_stopped_to_the_sweep(make_world, monkeypatch):
    world = make_world()
    org = make_org(world)
    groups = org_groups(world, org, 12)
    calls = 0
    real_deliver = notice_sender.deliver

    def deliver_then_ctrl_c(*args):
        nonlocal calls
        calls += 1
        if calls == 3:
            _thread.interrupt_main()  # what Ctrl-C does
        return real_deliver(*args)

    monkeypatch.setattr(notice_sender, "deliver", deliver_then_ctrl_c)
    result = send(world, "--rate", "50", "--workers", "1")
    assert result.exit_code == 130
    sent = Outbox.select().where(Outbox.state == "sent").count()
    assert 3 <= sent < 12
    monkeypatch.undo()

    world.tick()  # released at once: the next tick sends the rest
    assert Outbox.select().where(Outbox.state == "sent").count() == 12
    assert pushes_per_group(world, groups) == [1] * 12


def test_it_leaves_the_rows_of_a_sender_that_died_to_the_sweep(make_world):
    world = make_world()
    org = make_org(world)
    groups = org_groups(world, org, 4)
    plan = plan_notice("midori", (), TEXT, clock.now(), world.settings.tz)
    assert write_notice(plan, clock.now()) == 4  # ... and the process is killed here
    again = plan_notice("midori", (), TEXT, clock.now(), world.settings.tz)
    assert (again.to_write, again.unfinished, again.total_cost) == (
        0,
        4,
        8,
    )  # still counted against the quota
    world.tick()
    assert pushes_per_group(world, groups) == [0] * 4  # still leased to the dead sender
    world.advance(61)
    world.tick()
    assert pushes_per_group(world, groups) == [1] * 4
    assert "already sent: 4 group(s)" in send(world).output


def test_it_exits_non_zero_when_a_group_cannot_be_reached(make_world):
    world = make_world()
    org = make_org(world)
    groups = org_groups(world, org, 3)
    hook, world.line.webhook_url = world.line.webhook_url, None
    world.line.remove_bot(groups[1])  # LINE now answers 400 for it
    world.line.webhook_url = hook
    result = send(world)
    assert result.exit_code == 1
    assert "sent 2, failed 1" in result.output
    assert Outbox.get(Outbox.to == groups[1]).last_status == 400


def test_it_spaces_requests_evenly_with_its_token_bucket():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(100, monotonic=lambda: now[0], sleep=sleep)
    for _ in range(5):
        bucket.take()
    assert slept == [0.01, 0.01, 0.01, 0.01]  # the first is free, then 1/rate apart
    now[0] += 1.0  # idle time does not build a burst beyond one token
    bucket.take()
    bucket.take()
    assert slept[-1] == 0.01
