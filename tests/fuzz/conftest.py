"""The fuzz suite's Hypothesis profiles and fixtures.

``make test`` runs the "ci" profile: a modest, derandomised number of
examples (the same ones every run, so CI is repeatable), a few seconds per
property.  To hunt harder, e.g. after changing the webhook's checks or the
JMA parsers:

    HYPOTHESIS_PROFILE=deep .venv/bin/pytest tests/fuzz

which draws a hundred times as many, fresh each run, and prints a
reproduction blob for any failure.

No shrinking in either: hypothesis-jsonschema draws through Hypothesis
internals that replay differently while shrinking (FlakyStrategyDefinition
hides the failure found), so a failure is reported as it was first drawn.
"""

from __future__ import annotations

import os

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase

from app import create_app
from tests.fake_jma import FakeJma
from tests.support import World

_PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
_SLOW_IS_EXPECTED = [
    # Examples post to the real app and read the database; timings on a
    # shared 2-core machine are noise.
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
    HealthCheck.filter_too_much,
]
_COMMON = {"database": None, "deadline": None, "phases": _PHASES, "suppress_health_check": _SLOW_IS_EXPECTED}
hypothesis.settings.register_profile("ci", max_examples=30, derandomize=True, **_COMMON)
hypothesis.settings.register_profile("deep", max_examples=3000, print_blob=True, **_COMMON)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def client(settings, redis_conn):
    return create_app(settings).test_client()


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
