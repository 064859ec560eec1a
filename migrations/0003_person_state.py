"""A person's friendship with the bot, and their absence (/お休み)."""

# ruff: noqa: F403, F405
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("person", "friend", BooleanField(default=False)),
        migrator.add_column("person", "friend_changed_at", DateTimeField(null=True)),
        migrator.add_column("person", "away_until", DateField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("person", "away_until"),
        migrator.drop_column("person", "friend_changed_at"),
        migrator.drop_column("person", "friend"),
    )
