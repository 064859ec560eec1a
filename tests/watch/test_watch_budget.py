"""Money: when the month's messages cannot pay for everything, escalations
go first (resends, then checks, are dropped) and the operator is warned;
an escalation is never dropped.  And the 見守り settings."""

from __future__ import annotations

import logging

import pytest

from config import ConfigError, load_settings
from domain.kinds import CheckState
from models import Escalation, LineAccount, Watch, WatchCheck
from services.watch_budget import Budget, line_account, project, queued_cost
from tests.support import HANAKO, ICHIRO, JIRO

HOUR = 3600


def two_watches(bot) -> None:
    """佐藤花子 (one contact, 鈴木一郎) and 田中次郎 (none), both at 9:00."""
    bot.follow(HANAKO)
    bot.link_contact(HANAKO, ICHIRO)
    bot.follow(JIRO)
    for person in (HANAKO, JIRO):
        bot.say_one_to_one(person, "/見守り 毎日 9:00")


def set_limit(limit: int | None) -> None:
    """LINE's monthly limit, as the hourly job would have read it."""
    LineAccount.update(quota_limit=limit).where(LineAccount.id == line_account().id).execute()


def test_checks_and_resends_give_way_to_escalations(bot, caplog):
    two_watches(bot)
    # Enough for one check and the escalation it may bring (2 per contact), no more.
    set_limit(queued_cost() + 3)
    caplog.set_level(logging.WARNING)
    bot.advance(24 * HOUR)
    bot.sweep()
    assert len(bot.pushes_to(HANAKO, "watch-check")) == 1
    assert bot.pushes_to(JIRO, "watch-check") == []  # dropped: it could not keep the reserve
    assert "1 checks not sent" in LineAccount.get().budget_warning
    bot.advance(3 * HOUR)
    bot.sweep()
    assert bot.pushes_to(HANAKO, "watch-resend") == []  # dropped before anything that matters more
    assert "1 resends not sent" in LineAccount.get().budget_warning
    bot.advance(9 * HOUR)
    bot.sweep()
    assert len(bot.pushes_to(ICHIRO, "watch-escalation")) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("checks not sent" in w for w in warnings) and any("resends not sent" in w for w in warnings)
    assert not any(name in w for w in warnings for name in (HANAKO, ICHIRO, JIRO))  # logs carry counts


def test_an_escalation_is_written_whatever_is_left(bot):
    two_watches(bot)
    bot.advance(24 * HOUR)
    bot.sweep()
    set_limit(0)  # the month ran out after the checks went
    bot.advance(12 * HOUR)
    bot.sweep()
    assert Escalation.select().count() == 2  # 田中次郎 has no contact: recorded, nobody to tell
    assert len(bot.pushes_to(ICHIRO, "watch-escalation")) == 1
    assert WatchCheck.select().where(WatchCheck.state == CheckState.ESCALATED).count() == 2


def test_the_reserve_counts_the_contacts_of_every_check_still_waiting():
    budget = Budget(remaining=10, reserve=4)
    assert budget.checks([1, 0, 3, 0]) == 2  # the third would need 4 + 2 + 0 + 6 in hand
    assert (budget.remaining, budget.reserve) == (8, 6)
    assert budget.resends(5) == 2
    budget.spend(4)
    assert budget.remaining == 2


def test_the_next_day_is_projected_against_what_is_left(bot):
    two_watches(bot)
    set_limit(10)
    projection = project(bot.now, bot.settings)
    assert projection.checks == 2 and projection.reserve == 2 and projection.unresolved == 0
    assert projection.needed == 2 * 2 + 2
    assert projection.limit == 10 and projection.source == "LINE's monthly limit"
    assert not projection.short
    set_limit(queued_cost() + 5)
    assert project(bot.now, bot.settings).short
    set_limit(None)
    projection = project(bot.now, bot.settings)
    assert (
        projection.limit == bot.settings.notice_monthly_budget
        and projection.source == "NOTICE_MONTHLY_BUDGET"
    )


def test_a_watch_that_is_not_running_needs_nothing(bot):
    two_watches(bot)
    bot.say_one_to_one(HANAKO, "/見守り 停止")
    assert project(bot.now, bot.settings).checks == 1
    assert Watch.select().count() == 2


# -- settings ------------------------------------------------------------------------
CREDS = {"LINE_CHANNEL_SECRET": "s" * 32, "LINE_CHANNEL_ACCESS_TOKEN": "token", "SECRET_KEY": "k" * 32}


def test_the_watch_durations_have_defaults_and_the_same_syntax_as_the_summary_delay():
    settings = load_settings(CREDS)
    assert (settings.watch_resend_after, settings.watch_escalate_after, settings.watch_followup_after) == (
        3 * HOUR,
        12 * HOUR,
        3 * HOUR,
    )
    settings = load_settings(
        {**CREDS, "WATCH_RESEND_AFTER": "45s", "WATCH_ESCALATE_AFTER": "90m", "WATCH_FOLLOWUP_AFTER": "600"}
    )
    assert (settings.watch_resend_after, settings.watch_escalate_after, settings.watch_followup_after) == (
        45,
        5400,
        600,
    )


@pytest.mark.parametrize(
    "env, named",
    [
        ({"WATCH_RESEND_AFTER": "soon"}, "WATCH_RESEND_AFTER"),
        ({"WATCH_FOLLOWUP_AFTER": "0"}, "WATCH_FOLLOWUP_AFTER"),
        ({"WATCH_ESCALATE_AFTER": "2h"}, "WATCH_ESCALATE_AFTER"),  # before the 3h resend
        ({"WATCH_RESEND_AFTER": "12h"}, "WATCH_ESCALATE_AFTER"),
    ],
)
def test_a_bad_watch_duration_stops_start_up_naming_it(env, named):
    with pytest.raises(ConfigError, match=named):
        load_settings({**CREDS, **env})
