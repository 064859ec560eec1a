"""The dispatcher's indexes (models.py, after WebhookEvent): what may be
handed out now, and which leases ran out, each over the unprocessed events
only (partial; the same syntax on SQLite and PostgreSQL)."""


def up(migrator, db):
    db.execute_sql(
        'CREATE INDEX IF NOT EXISTS "webhookevent_priority_id" ON "webhookevent" ("priority", "id") '
        'WHERE (("processed_at" IS NULL) AND ("enqueued_at" IS NULL))'
    )
    db.execute_sql(
        'CREATE INDEX IF NOT EXISTS "webhookevent_enqueued_at" ON "webhookevent" ("enqueued_at") '
        'WHERE ("processed_at" IS NULL)'
    )


def down(migrator, db):
    db.execute_sql('DROP INDEX IF EXISTS "webhookevent_enqueued_at"')
    db.execute_sql('DROP INDEX IF EXISTS "webhookevent_priority_id"')
