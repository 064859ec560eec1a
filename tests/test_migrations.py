"""The release step: migrations create the schema the models describe, and
running them again changes nothing."""

from __future__ import annotations

from peewee import ModelIndex

from models import ALL_MODELS, MIGRATIONS_DIR, create_schema, db, init_db


def _drop_everything(url: str) -> None:
    init_db(url)
    with db.connection_context():
        db.drop_tables(ALL_MODELS, safe=True, cascade=url.startswith("postgresql"))
        db.execute_sql('DROP TABLE IF EXISTS "schema_migration"')


def test_it_creates_the_schema_the_models_describe_and_is_idempotent(database_url):
    _drop_everything(database_url)
    every = sorted(path.stem for path in MIGRATIONS_DIR.glob("[0-9]*.py"))
    assert every[0] == "0001_initial"
    assert create_schema() == every
    assert create_schema() == []  # a second release applies nothing
    with db.connection_context():
        for model in ALL_MODELS:
            table = model._meta.table_name
            columns = {c.name for c in db.get_columns(table)}
            assert columns == {f.column_name for f in model._meta.sorted_fields}, table
            indexes = db.get_indexes(table)
            indexed = {tuple(i.columns) for i in indexes}
            for index in model._meta.indexes:
                if isinstance(index, ModelIndex):  # a partial index, by its name
                    assert index._name in {i.name for i in indexes}, (table, index._name)
                    continue
                fields, _unique = index
                wanted = tuple(model._meta.fields[name].column_name for name in fields)
                assert wanted in indexed, (table, wanted)
