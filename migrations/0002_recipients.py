"""The outbox names its recipient: a group, or one person (a one-to-one chat)."""

# ruff: noqa: F403, F405
from peewee import *


def up(migrator, db):
    class Person(Model):
        class Meta:
            database = db
            table_name = "person"

    migrator.migrate(
        migrator.add_column("outbox", "recipient", CharField(max_length=8, default="group")),
        migrator.add_column(
            "outbox", "person_id", ForeignKeyField(Person, null=True, on_delete="CASCADE", field=Person.id)
        ),
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_column("outbox", "person_id"), migrator.drop_column("outbox", "recipient"))
