"""Friendship with the bot: LINE lets the bot push to its friends only, so
follow and unfollow are recorded on the person."""

from __future__ import annotations

from models import Person
from tests.support import HANAKO


def test_it_records_a_follow_and_an_unfollow(world):
    user_id = world.user(HANAKO)
    world.line.follow(user_id)
    world.work()
    person = Person.get(Person.line_user_id == user_id)
    assert person.friend and person.display_name == HANAKO and person.friend_changed_at is not None
    world.line.unfollow(user_id)
    world.work()
    assert not Person.get_by_id(person.id).friend
    world.line.follow(user_id)  # unblocked
    world.work()
    assert Person.get_by_id(person.id).friend
