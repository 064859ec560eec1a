"""models.insert_rows, the bulk insert a quake's thousands of rounds and
prompts go through: what it stores is what peewee's insert_many stores, on
SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from domain import postback as codec
from domain.kinds import RoundKind, RoundStatus
from messages import group as group_messages
from messages.i18n import LANGUAGE_CODES, using
from models import INSERT_ROWS_CHUNK, Group, Round, db, insert_rows

NOW = datetime(2026, 12, 1, 4, 0)


def _group_rows(n: int, start: int = 0) -> list[dict]:
    return [{"line_group_id": f"C{number:032x}", "joined_at": NOW} for number in range(start, start + n)]


def _stored(model, order_by) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "id"} for row in model.select().order_by(order_by).dicts()]


def test_it_stores_what_insert_many_stores_defaults_included(database_url):
    with db.connection_context():
        insert_rows(Group, _group_rows(3))
        ours = _stored(Group, Group.line_group_id)
        Group.delete().execute()
        Group.insert_many(_group_rows(3)).execute()
        assert ours == _stored(Group, Group.line_group_id)
    # Defaults applied as peewee applies them (active, paused, threshold...).
    assert ours[0]["active"] is True and ours[0]["paused"] is False
    assert ours[0]["quake_threshold"] == "5-"


def test_it_takes_a_related_row_or_its_id_and_returns_what_it_inserted(database_url):
    with db.connection_context():
        insert_rows(Group, _group_rows(2))
        first, second = Group.select().order_by(Group.id)
        rows = [
            {"group": first, "opened_at": NOW, "summary_due_at": NOW, "event_id": "E1"},
            {"group": second.id, "opened_at": NOW, "summary_due_at": NOW, "event_id": "E1"},
        ]
        returned = insert_rows(Round, rows, returning=(Round.id, Round.group))
        assert sorted(group_id for _, group_id in returned) == [first.id, second.id]
        assert {round_id for round_id, _ in returned} == {r.id for r in Round.select()}
        stored = Round.get(Round.group == first.id)
        assert (stored.kind, stored.status) == (RoundKind.ROUTINE, RoundStatus.OPEN)


def test_it_skips_only_the_conflicting_rows_when_told_and_returns_the_others(database_url):
    with db.connection_context():
        insert_rows(Group, _group_rows(3))
        groups = list(Group.select().order_by(Group.id))
        insert_rows(
            Round, [{"group": groups[0].id, "opened_at": NOW, "summary_due_at": NOW, "event_id": "E"}]
        )
        again = [{"group": g.id, "opened_at": NOW, "summary_due_at": NOW, "event_id": "E"} for g in groups]
        returned = insert_rows(Round, again, ignore_conflicts=True, returning=(Round.group,))
        assert sorted(returned) == [(groups[1].id,), (groups[2].id,)]
        assert Round.select().count() == 3
        with pytest.raises(Exception), db.atomic():  # noqa: B017 - IntegrityError of either driver
            insert_rows(Round, again)


def test_it_writes_more_rows_than_one_statement_holds(database_url):
    n = INSERT_ROWS_CHUNK * 2 + 7
    with db.connection_context():
        returned = insert_rows(Group, _group_rows(n), returning=(Group.line_group_id,))
        assert len(returned) == n
        assert Group.select().count() == n


def test_it_refuses_rows_of_different_shapes_and_inserts_nothing_for_none(database_url):
    with db.connection_context():
        assert insert_rows(Group, []) == []
        rows = _group_rows(2)
        del rows[1]["joined_at"]
        with pytest.raises((ValueError, KeyError)), db.atomic():
            insert_rows(Group, rows)
        assert Group.select().count() == 0


@pytest.mark.parametrize("language", LANGUAGE_CODES)
@pytest.mark.parametrize("kind", [RoundKind.ROUTINE, RoundKind.EMERGENCY, RoundKind.DRILL])
def test_it_builds_a_prompt_from_its_template_exactly_as_one_by_one(kind, language):
    with using(language):
        template = group_messages.prompt_json(kind, "岩手県二戸市で震度4の地震がありました。")
        for round_id in (1, 42, 123_456, codec.MAX_ID):
            assert json.loads(template(round_id)) == group_messages.prompt(
                round_id, kind, "岩手県二戸市で震度4の地震がありました。"
            )


def test_it_builds_each_prompt_when_the_headline_holds_the_template_marker():
    headline = f"r={codec.MAX_ID}"
    with using("en"):
        template = group_messages.prompt_json(RoundKind.EMERGENCY, headline)
        expected = group_messages.prompt(7, RoundKind.EMERGENCY, headline)
    assert json.loads(template(7)) == expected  # in English, outside the block too
