"""The operator console (issue 11): operators, login attempts, the audit log,
the queue, notices sent from the console, monthly statistics; an
organisation's link code and a group's consent to share names (generated
by ``python -m playhouse.migrations ... generate console models:ALL_MODELS``)."""

# ruff: noqa: F403, F405
from peewee import *


def up(migrator, db):
    class Group(Model):
        class Meta:
            database = db
            table_name = "group"

    class Organisation(Model):
        class Meta:
            database = db
            table_name = "organisation"

    class Person(Model):
        class Meta:
            database = db
            table_name = "person"

    class Operator(Model):
        organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
        email = CharField(unique=True, max_length=254)
        name = CharField(max_length=100, default="")
        role = CharField(max_length=10, default="staff")
        password_hash = CharField(null=True, max_length=200)
        session_token = CharField(unique=True, max_length=64)
        active = BooleanField(default=True)
        signup_token_hash = CharField(unique=True, null=True, max_length=64)
        signup_expires_at = DateTimeField(null=True)
        created_at = DateTimeField()
        last_login_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "operator"

    db.create_tables([Operator])

    class AuditEvent(Model):
        organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
        operator = ForeignKeyField(Operator, null=True, on_delete="SET NULL")
        operator_email = CharField(max_length=254, default="")
        action = CharField(max_length=40)
        target = CharField(max_length=80, default="")
        detail = TextField(default="")
        address = CharField(max_length=64, default="")
        at = DateTimeField()

        class Meta:
            database = db
            table_name = "auditevent"
            indexes = ((("organisation", "at"), False),)

    db.create_tables([AuditEvent])

    class LoginAttempt(Model):
        email = CharField(index=True, max_length=254)
        address = CharField(index=True, max_length=64)
        at = DateTimeField(index=True)

        class Meta:
            database = db
            table_name = "loginattempt"

    db.create_tables([LoginAttempt])

    class NoticeRecord(Model):
        organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
        digest = CharField(unique=True, max_length=64)
        text = TextField()
        areas = CharField(max_length=400, default="")
        groups = IntegerField(default=0)
        cost = IntegerField(default=0)
        operator = ForeignKeyField(Operator, null=True, on_delete="SET NULL")
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "noticerecord"

    db.create_tables([NoticeRecord])

    class QueueItem(Model):
        organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
        group = ForeignKeyField(Group, null=True, on_delete="SET NULL")
        person = ForeignKeyField(Person, null=True, on_delete="SET NULL")
        source_kind = CharField(max_length=24)
        source_id = IntegerField()
        raised_at = DateTimeField()
        state = CharField(max_length=10, default="open")
        claimed_by = ForeignKeyField(Operator, null=True, on_delete="SET NULL")
        claimed_at = DateTimeField(null=True)
        outcome = CharField(null=True, max_length=16)
        note = TextField(default="")
        done_at = DateTimeField(null=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "queueitem"
            indexes = ((("source_kind", "source_id"), True), (("organisation", "state", "raised_at"), False))

    db.create_tables([QueueItem])

    class StatMonth(Model):
        organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
        month = CharField(max_length=7)
        metric = CharField(max_length=40)
        value = FloatField(null=True)
        computed_at = DateTimeField()
        final = BooleanField(default=False)

        class Meta:
            database = db
            table_name = "statmonth"
            indexes = ((("organisation", "month", "metric"), True),)

    db.create_tables([StatMonth])

    # Guarded: a schema made from the models (the tests' reset) has them already.
    def missing(table, column):
        return column not in {c.name for c in db.get_columns(table)}

    if missing("organisation", "link_code"):
        migrator.migrate(
            migrator.add_column("organisation", "link_code", CharField(unique=True, null=True, max_length=16))
        )
    if missing("group", "names_shared"):
        migrator.migrate(migrator.add_column("group", "names_shared", BooleanField(default=False)))
    if "round_group_id_opened_at" not in {i.name for i in db.get_indexes("round")}:
        migrator.migrate(migrator.add_index("round", ("group_id", "opened_at"), False))


def down(migrator, db):
    migrator.migrate(migrator.drop_index("round", "round_group_id_opened_at"))
    migrator.migrate(migrator.drop_index("organisation", "organisation_link_code"))
    migrator.migrate(migrator.drop_column("group", "names_shared"))
    migrator.migrate(migrator.drop_column("organisation", "link_code"))
    migrator.migrate(migrator.drop_table("statmonth"))
    migrator.migrate(migrator.drop_table("queueitem"))
    migrator.migrate(migrator.drop_table("noticerecord"))
    migrator.migrate(migrator.drop_table("loginattempt"))
    migrator.migrate(migrator.drop_table("auditevent"))
    migrator.migrate(migrator.drop_table("operator"))
