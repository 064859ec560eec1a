"""Event processing at scale: per-sender ordering and urgency on webhook
events, the job each event and outbox row was enqueued in, and when a
person's LINE name was last read."""

# ruff: noqa: F403, F405
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("webhookevent", "order_key", CharField(max_length=64, null=True)),
        migrator.add_column("webhookevent", "priority", IntegerField(default=1)),
        migrator.add_column("webhookevent", "job_id", CharField(max_length=64, null=True)),
        migrator.add_column("outbox", "job_id", CharField(max_length=64, null=True)),
        migrator.add_column("person", "name_fetched_at", DateTimeField(null=True)),
    )
    # Partial: only the unprocessed rows (same syntax on SQLite and PostgreSQL).
    db.execute_sql(
        'CREATE INDEX IF NOT EXISTS "webhookevent_order_key_id" ON "webhookevent" ("order_key", "id") '
        'WHERE ("processed_at" IS NULL)'
    )


def down(migrator, db):
    db.execute_sql('DROP INDEX IF EXISTS "webhookevent_order_key_id"')
    migrator.migrate(
        migrator.drop_column("person", "name_fetched_at"),
        migrator.drop_column("outbox", "job_id"),
        migrator.drop_column("webhookevent", "job_id"),
        migrator.drop_column("webhookevent", "priority"),
        migrator.drop_column("webhookevent", "order_key"),
    )
