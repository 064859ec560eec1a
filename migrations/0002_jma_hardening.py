"""JMA hardening (issue 8): the lease that keeps a second feed poll from
starting while one runs, and the entries the last feed could not use.
(Generated with ``python -m playhouse.migrations ... generate``; made
idempotent by hand: a database whose tables were created straight from the
current models, as the test fixtures do, already has these columns.)"""

# ruff: noqa: F403, F405
from peewee import *

COLUMNS = (
    ("poll_lease_until", lambda: DateTimeField(null=True)),
    ("poll_holder", lambda: CharField(null=True, max_length=36)),
    ("last_skipped", lambda: TextField(null=True)),
)


def up(migrator, db):
    present = {column.name for column in db.get_columns("jmafeedstate")}
    for name, field in COLUMNS:
        if name not in present:
            migrator.migrate(migrator.add_column("jmafeedstate", name, field()))


def down(migrator, db):
    present = {column.name for column in db.get_columns("jmafeedstate")}
    for name, _field in reversed(COLUMNS):
        if name in present:
            migrator.migrate(migrator.drop_column("jmafeedstate", name))
