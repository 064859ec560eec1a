"""JMA hardening: the lease that keeps a second feed poll from starting while
one runs, and the entries the last feed could not use."""

# ruff: noqa: F403, F405
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("jmafeedstate", "poll_lease_until", DateTimeField(null=True)),
        migrator.add_column("jmafeedstate", "poll_holder", CharField(null=True, max_length=36)),
        migrator.add_column("jmafeedstate", "last_skipped", TextField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("jmafeedstate", "last_skipped"),
        migrator.drop_column("jmafeedstate", "poll_holder"),
        migrator.drop_column("jmafeedstate", "poll_lease_until"),
    )
