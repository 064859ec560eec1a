"""Hypothesis settings for the fuzz tests.

``make test`` runs the "tsunagari" profile: a modest, derandomised number
of examples (the same ones every run, so CI is repeatable).  To search
harder, e.g. after changing the webhook's checks:

    HYPOTHESIS_PROFILE=fuzz .venv/bin/pytest tests/fuzz

which draws ten times as many, fresh each run, and prints a reproduction
blob for any failure.
"""

from __future__ import annotations

import os

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase

from app import create_app

# No shrinking: hypothesis-jsonschema draws through Hypothesis internals
# that replay differently while shrinking (FlakyStrategyDefinition hides the
# failure found), so a failure is reported as it was first drawn.
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
_SLOW_IS_EXPECTED = [
    # Each example posts to the real app and reads the database; the
    # database is emptied by the test itself at each example.
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
    HealthCheck.filter_too_much,
]
hypothesis.settings.register_profile(
    "tsunagari",
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    phases=_PHASES,
    suppress_health_check=_SLOW_IS_EXPECTED,
)
hypothesis.settings.register_profile(
    "fuzz",
    max_examples=300,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_EXPECTED,
)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "tsunagari"))


@pytest.fixture
def client(settings, redis_conn):
    return create_app(settings).test_client()
