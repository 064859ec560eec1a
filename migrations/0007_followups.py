"""After the summary: follow-ups (who goes to the door, and what came of it),
people on the 名簿 without LINE, where a summary's names go, and the routine
occurrence a still-open round absorbed."""

# ruff: noqa: F403, F405
from peewee import *


def up(migrator, db):
    class Group(Model):
        class Meta:
            database = db
            table_name = "group"

    class Round(Model):
        class Meta:
            database = db
            table_name = "round"

    class Member(Model):
        class Meta:
            database = db
            table_name = "member"

    migrator.migrate(
        migrator.add_column("group", "names_to", CharField(max_length=8, default="group")),
        migrator.add_column("round", "skipped_routine_at", DateTimeField(null=True)),
    )

    class OfflineMember(Model):
        group = ForeignKeyField(Group, on_delete="CASCADE")
        name = CharField(max_length=40)
        active = BooleanField(default=True)
        added_at = DateTimeField()
        added_by = ForeignKeyField(Member, null=True, on_delete="SET NULL")
        removed_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "offlinemember"

    db.create_tables([OfflineMember])

    class FollowUp(Model):
        round = ForeignKeyField(Round, on_delete="CASCADE")
        group = ForeignKeyField(Group, on_delete="CASCADE")
        member = ForeignKeyField(Member, null=True, on_delete="CASCADE")
        offline_member = ForeignKeyField(OfflineMember, null=True, on_delete="CASCADE")
        name = CharField(max_length=60)
        kind = CharField(max_length=12)
        state = CharField(max_length=10, default="open", index=True)
        shown_to = CharField(max_length=8, default="group")
        created_at = DateTimeField()
        remind_at = DateTimeField(null=True, index=True)
        reminded_at = DateTimeField(null=True)
        claimed_by = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
        claimed_at = DateTimeField(null=True)
        outcome = CharField(max_length=12, null=True)
        outcome_by = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
        outcome_at = DateTimeField(null=True)
        unreachable_at = DateTimeField(null=True)
        superseded_by = ForeignKeyField("self", null=True, on_delete="SET NULL", backref="+")

        class Meta:
            database = db
            table_name = "followup"
            indexes = ((("round", "member"), True), (("round", "offline_member"), True))

    db.create_tables([FollowUp])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "followup"')
    db.execute_sql('DROP TABLE IF EXISTS "offlinemember"')
    migrator.migrate(
        migrator.drop_column("round", "skipped_routine_at"),
        migrator.drop_column("group", "names_to"),
    )
