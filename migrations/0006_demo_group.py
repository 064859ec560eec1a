"""A simulated group's own clock and lesson (the simulator only; frozen)."""

# ruff: noqa: F403, F405
from peewee import *


def up(migrator, db):
    class DemoGroup(Model):
        line_group_id = CharField(unique=True, max_length=64)
        offset_seconds = IntegerField(default=0)
        lesson = CharField(null=True, max_length=40)
        teacher_user_id = CharField(null=True, max_length=64)
        marks = TextField(default="{}")
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "demogroup"

    db.create_tables([DemoGroup])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "demogroup"')
