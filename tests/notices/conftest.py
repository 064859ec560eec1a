"""Fixtures for the notice tests: a world whose LINE emulator has the
limits a test asks for (rate_limit_per_second, monthly_limit)."""

from __future__ import annotations

import pytest

from tests.support import World


@pytest.fixture
def make_world(settings, redis_conn):
    worlds = []

    def make(**platform_options) -> World:
        world = World(settings, redis_conn, **platform_options)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.close()
