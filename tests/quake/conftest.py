"""Fixtures for the earthquake tests: a fake JMA server, and the world
(bot + LINE emulator + RQ) listening to it."""

from __future__ import annotations

import pytest

from tests.fake_jma import FakeJma
from tests.support import World


@pytest.fixture
def fake_jma():
    fake = FakeJma()
    yield fake
    fake.close()


@pytest.fixture
def quake_world(settings, redis_conn, fake_jma):
    world = World(settings.with_(jma_feed_url=fake_jma.feed_url), redis_conn)
    yield world
    world.close()
