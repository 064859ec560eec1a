"""Fuzzing POST /callback with bodies made from LINE's webhook schema.

Signed with the real HMAC and posted to the real app on SQLite and
PostgreSQL: a signed body with an events list is always answered 200, and
every event in it ends up as the oracle (tests/fuzz/bodies.py) says —
stored once for processing when valid, stored as done without its JSON when
rejected or ignored, not stored when it has no usable id — whatever else is
in the body.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.webhook_events import DROP, PROCESS, REJECT, check_event, parse_body
from models import WebhookEvent
from tests.fuzz.bodies import (
    HOSTILE_VALUES,
    any_line_events,
    bodies,
    expected,
    hostile_edit,
    now_ms,
    serialise,
    well_formed_events,
)
from tests.test_webhook import post

START_MS = now_ms()
MORE = settings(max_examples=4 * settings().max_examples)


@MORE
@given(
    event=st.one_of(
        well_formed_events(START_MS),
        any_line_events(),
        hostile_edit(well_formed_events(START_MS)),
        hostile_edit(any_line_events()),
        HOSTILE_VALUES,
    )
)
def test_it_judges_each_event_as_lines_schema_does(event):
    # Through the parser as the webhook reads it, then the webhook's checks,
    # against the JSON Schema made from LINE's webhook.yml.
    (parsed,) = parse_body(serialise({"destination": "U" + "0" * 32, "events": [event]}))
    at = now_ms()
    assert check_event(parsed, at).outcome == expected(event, at)


@given(body=bodies(START_MS))
def test_it_answers_200_and_stores_each_valid_event_exactly_once(client, body):
    WebhookEvent.delete().execute()  # the fixture's database is shared by the examples
    at = now_ms()
    response = post(client, serialise(body))
    assert response.status_code == 200

    first: dict[str, dict] = {}  # what each stored id must hold: its first event
    for event in body["events"]:
        if expected(event, at) != DROP:
            first.setdefault(event["webhookEventId"], event)
    rows = {row.webhook_event_id: row for row in WebhookEvent.select()}
    assert sorted(rows) == sorted(first)
    for event_id, event in first.items():
        row, outcome = rows[event_id], expected(event, at)
        if outcome == PROCESS:
            assert (row.processed_at, row.error) == (None, None)
            assert json.loads(row.payload) == event
        else:
            assert row.processed_at is not None and row.payload == "{}"
            assert (row.error or "").startswith("rejected: ") == (outcome == REJECT)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        JSON_VALUES.map(lambda v: json.dumps({"events": v}).encode()),
        st.lists(JSON_VALUES, max_size=5).map(lambda v: json.dumps({"events": v}).encode()),
    )
)
def test_it_never_answers_5xx_to_a_signed_body(client, body):
    assert post(client, body).status_code in (200, 400)
