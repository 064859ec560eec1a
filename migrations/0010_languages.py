"""The language a group and a person read (/言語): NULL is 日本語."""

# ruff: noqa: F403, F405
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("group", "language", CharField(max_length=16, null=True)),
        migrator.add_column("person", "language", CharField(max_length=16, null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("person", "language"),
        migrator.drop_column("group", "language"),
    )
