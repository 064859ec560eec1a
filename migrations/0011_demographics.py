"""Self-declared 年代 and 性別 on Person (/年代 70代, /性別 女性; optional, removable), and the nightly claim
of each organisation's statistics refresh (the sweep sets stats_refreshed_at with a conditional UPDATE)."""

# ruff: noqa: F403, F405
from peewee import *


def up(migrator, db):
    # Guarded: a schema made from the models (the tests' reset) has them already.
    def missing(table, column):
        return column not in {c.name for c in db.get_columns(table)}

    if missing("person", "age_band"):
        migrator.migrate(migrator.add_column("person", "age_band", CharField(null=True, max_length=4)))
    if missing("person", "sex"):
        migrator.migrate(migrator.add_column("person", "sex", CharField(null=True, max_length=12)))
    if missing("organisation", "stats_refreshed_at"):
        migrator.migrate(migrator.add_column("organisation", "stats_refreshed_at", DateTimeField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("organisation", "stats_refreshed_at"))
    migrator.migrate(migrator.drop_column("person", "sex"))
    migrator.migrate(migrator.drop_column("person", "age_band"))
