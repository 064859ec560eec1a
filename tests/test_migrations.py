"""The release step: migrations create the schema the models describe, and
running them again changes nothing."""

from __future__ import annotations

from models import ALL_MODELS, create_schema, db, init_db


def _drop_everything(url: str) -> None:
    init_db(url)
    with db.connection_context():
        db.drop_tables(ALL_MODELS, safe=True, cascade=url.startswith("postgresql"))
        db.execute_sql('DROP TABLE IF EXISTS "schema_migration"')


def test_it_creates_the_schema_the_models_describe_and_is_idempotent(database_url):
    _drop_everything(database_url)
    assert create_schema() == ["0001_initial", "0002_console"]
    assert create_schema() == []  # a second release applies nothing
    with db.connection_context():
        for model in ALL_MODELS:
            table = model._meta.table_name
            columns = {c.name for c in db.get_columns(table)}
            assert columns == {f.column_name for f in model._meta.sorted_fields}, table
            indexed = {tuple(i.columns) for i in db.get_indexes(table)}
            for fields, _unique in model._meta.indexes:
                wanted = tuple(model._meta.fields[name].column_name for name in fields)
                assert wanted in indexed, (table, wanted)
