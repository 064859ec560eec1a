"""Through the real ``poll()`` against the fake JMA server, on both
databases: whatever one bad entry beside it holds — a date in year 1 or 9999,
an id too long for its column, a link that does not parse, a telegram mutated
from a real sample, a Last-Modified with a NUL — a real 震度7 VXSE53 telegram
in the same feed is recorded and handled (its emergency round is opened), and
the poll itself never raises."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jma_mutations import hostile_text, mutated_telegrams, xml_chars

from jobs import jma_poll
from jobs.jma_poll import claim_poll
from models import JmaFeedState, JmaTelegram, Outbox, Round
from services import clock
from tests.fake_jma import TOYOTA, recent_telegram
from tests.support import HANAKO, ICHIRO

EVENT_ID = "20990101000007"
_names = count()


def _xml_legal(text: str) -> str:
    """What of ``text`` can stand in an XML document (the feed must stay
    readable: a feed that is not XML hides everything, by design)."""
    return "".join(
        c
        for c in text
        if c in "\t\n\r" or (c >= " " and not 0xD800 <= ord(c) <= 0xDFFF and c not in "\ufffe\uffff")
    )


field_text = st.one_of(hostile_text, st.text(xml_chars, max_size=300)).map(_xml_legal)
header_text = st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=70)


@st.composite
def bad_entries(draw) -> dict:
    """A feed entry with hostile fields, or a proper entry whose telegram is
    hostile, or both; and a Last-Modified that may be hostile too."""
    bad_fields = draw(st.booleans())

    def field(proper: str) -> str:
        return draw(st.one_of(st.just(proper), field_text)) if bad_fields else proper

    return {
        "id": field("urn:uuid:bad-entry"),
        "updated": field("2099-01-01T00:00:00+09:00"),
        "title": field("震源・震度に関する情報"),
        # "on-host": a VXSE53 link to the fake, which serves ``telegram`` there.
        "link": draw(st.one_of(st.just("off-host"), field_text))
        if bad_fields and draw(st.booleans())
        else "on-host",
        "telegram": draw(mutated_telegrams()),
        "position": draw(st.integers(0, 1)),  # before or after the 震度7
        "last_modified": draw(
            st.one_of(
                st.none(),
                header_text,
                st.sampled_from(
                    [
                        "Thu, 18 Feb 2021 04:02:00 GMT\x00",
                        "Mon, 01 Jan 0001 00:00:00 GMT",
                        "Fri, 31 Dec 9999 23:59:59 GMT",
                    ]
                ),
            )
        ),
    }


def entry_xml(bad: dict, link: str) -> str:
    entry = ET.Element("entry")
    for tag in ("title", "id", "updated"):
        ET.SubElement(entry, tag).text = bad[tag]
    ET.SubElement(entry, "link", {"type": "application/xml", "href": link})
    return ET.tostring(entry, encoding="unicode")


@pytest.fixture
def toyota_group(quake_world):
    world = quake_world
    group_id = world.group(HANAKO, ICHIRO, name="豊田みどり会")
    world.join(group_id, HANAKO, ICHIRO)
    world.lead(group_id, HANAKO)
    world.say(group_id, HANAKO, "/地域 豊田市")
    return group_id


def reset(world, fake_jma) -> None:
    """Forget the previous example: no quake handled, nothing listed."""
    Round.delete().where(Round.kind == "emergency").execute()
    Outbox.delete().execute()
    JmaTelegram.delete().execute()
    JmaFeedState.update(
        last_modified=None, last_skipped=None, poll_holder=None, poll_lease_until=None
    ).execute()
    world.redis.flushdb()
    fake_jma.entries.clear()
    fake_jma.raw_entries.clear()
    fake_jma.bodies.clear()


@settings(
    max_examples=max(10, settings().max_examples // 3),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(bad=bad_entries())
def test_a_bad_entry_never_keeps_a_shindo_7_beside_it_from_being_handled(
    quake_world, fake_jma, toyota_group, bad
) -> None:
    reset(quake_world, fake_jma)
    assert claim_poll(clock.now(), fake_jma.feed_url) or True  # the feed's row exists
    bad_name = f"2099{next(_names):010d}_0_VXSE53_666666.xml"
    body = bad["telegram"]
    fake_jma.bodies[f"/data/{bad_name}"] = (
        body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    )
    link = {
        "on-host": f"{fake_jma.url}/data/{bad_name}",
        "off-host": f"http://127.0.0.2:9/data/{bad_name}",
    }.get(bad["link"], bad["link"])
    fake_jma.last_modified_header = bad["last_modified"]

    name = f"2099{next(_names):010d}_0_VXSE53_010000.xml"
    origin = clock.now() - timedelta(minutes=2)
    real = fake_jma.publish(name, recent_telegram(origin, event_id=EVENT_ID, city_max_int={TOYOTA: "7"}))
    fake_jma.publish_raw_entry(entry_xml(bad, link), position=bad["position"])

    counts = jma_poll.poll(clock.now(), fake_jma.feed_url)

    state = JmaFeedState.get(JmaFeedState.feed_url == fake_jma.feed_url)
    assert (state.last_status, state.last_error) == (200, None), counts
    assert JmaTelegram.get(JmaTelegram.entry_id == real.id).state == "handled"
    started = Round.select().where((Round.kind == "emergency") & (Round.event_id == EVENT_ID))
    assert [r.intensity for r in started] == ["7"]
    bad_row = JmaTelegram.get_or_none(JmaTelegram.entry_id == bad["id"])
    event(
        "bad entry skipped"
        if state.last_skipped
        else f"bad entry: {bad_row.state if bad_row else 'not wanted'}"
    )
