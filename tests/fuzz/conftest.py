"""The fuzz suite's Hypothesis profiles and fixtures.

``make test`` runs the "ci" profile: a modest number of examples, so each
property takes a few seconds.  For a longer hunt:
``HYPOTHESIS_PROFILE=deep .venv/bin/pytest tests/fuzz``."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.fake_jma import FakeJma
from tests.support import World

_COMMON = {
    "deadline": None,  # timings on a shared 2-core machine are noise
    "database": None,  # no .hypothesis directory in the worktree
    "print_blob": True,  # a failure prints what reproduces it
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
hypothesis_settings.register_profile("ci", max_examples=60, **_COMMON)
hypothesis_settings.register_profile("deep", max_examples=3000, **_COMMON)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
