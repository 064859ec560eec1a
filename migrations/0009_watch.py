"""見守り: a watch on a person, its checks, contacts by consent, invitation codes, escalations,
the bot's own LINE account facts; outbox rows name the watch they are about."""

# ruff: noqa: F403, F405
from peewee import *


def up(migrator, db):
    class Organisation(Model):
        class Meta:
            database = db
            table_name = "organisation"

    class Person(Model):
        class Meta:
            database = db
            table_name = "person"

    class CodeAttempt(Model):
        person = ForeignKeyField(Person, on_delete="CASCADE")
        at = DateTimeField(index=True)

        class Meta:
            database = db
            table_name = "codeattempt"

    db.create_tables([CodeAttempt])

    class Watch(Model):
        person = ForeignKeyField(Person, unique=True, on_delete="CASCADE")
        organisation = ForeignKeyField(Organisation, null=True, on_delete="SET NULL")
        name = CharField(null=True, max_length=40)
        schedule = CharField(null=True, max_length=80)
        state = CharField(index=True, max_length=10, default="active")
        next_check_at = DateTimeField(index=True, null=True)
        last_ok_at = DateTimeField(null=True)
        created_at = DateTimeField()
        stopped_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "watch"

    db.create_tables([Watch])

    class Contact(Model):
        watch = ForeignKeyField(Watch, on_delete="CASCADE")
        person = ForeignKeyField(Person, on_delete="CASCADE")
        slot = IntegerField()
        consented_at = DateTimeField()

        class Meta:
            database = db
            table_name = "contact"
            indexes = ((("watch", "person"), True), (("watch", "slot"), True))

    db.create_tables([Contact])

    class WatchCheck(Model):
        watch = ForeignKeyField(Watch, null=True, on_delete="SET NULL")
        kind = CharField(max_length=10, default="routine")
        state = CharField(index=True, max_length=10, default="open")
        opened_at = DateTimeField()
        resend_due_at = DateTimeField(index=True, null=True)
        escalate_due_at = DateTimeField(index=True, null=True)
        resent_at = DateTimeField(null=True)
        answered_at = DateTimeField(null=True)
        closed_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "watchcheck"

    db.create_tables([WatchCheck])

    class Escalation(Model):
        check = ForeignKeyField(WatchCheck, unique=True, on_delete="CASCADE")
        watch = ForeignKeyField(Watch, null=True, on_delete="SET NULL")
        state = CharField(index=True, max_length=12, default="open")
        opened_at = DateTimeField()
        contacts_told = IntegerField(default=0)
        followup_due_at = DateTimeField(index=True, null=True)
        reminded_at = DateTimeField(null=True)
        claimed_by = ForeignKeyField(Person, null=True, on_delete="SET NULL")
        claimed_at = DateTimeField(null=True)
        outcome = CharField(null=True, max_length=12)
        outcome_at = DateTimeField(null=True)
        closed_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "escalation"

    db.create_tables([Escalation])

    class Invitation(Model):
        watch = ForeignKeyField(Watch, on_delete="CASCADE")
        code = CharField(unique=True, max_length=6)
        created_at = DateTimeField()
        expires_at = DateTimeField(index=True)
        used_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "invitation"

    db.create_tables([Invitation])

    class LineAccount(Model):
        basic_id = CharField(null=True, max_length=40)
        quota_limit = IntegerField(null=True)
        refreshed_at = DateTimeField(null=True)
        budget_warning = TextField(null=True)
        budget_warned_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "lineaccount"

    db.create_tables([LineAccount])

    migrator.migrate(
        migrator.add_column(
            "outbox", "watch_id", ForeignKeyField(Watch, field=Watch.id, null=True, on_delete="SET NULL")
        )
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_index("outbox", "outbox_watch_id"))
    migrator.migrate(migrator.drop_column("outbox", "watch_id"))
    migrator.migrate(migrator.drop_table("lineaccount"))
    migrator.migrate(migrator.drop_table("invitation"))
    migrator.migrate(migrator.drop_table("escalation"))
    migrator.migrate(migrator.drop_table("watchcheck"))
    migrator.migrate(migrator.drop_table("contact"))
    migrator.migrate(migrator.drop_table("watch"))
    migrator.migrate(migrator.drop_table("codeattempt"))
