"""Each service's schema is written twice, as Alembic migrations and as the tables of its `db.py`.

These tests apply the migrations to the real PostgreSQL and compare what they built with the
tables the code queries (Alembic's `compare_metadata`: tables, columns, types, nullability,
server defaults, indexes, unique and foreign keys), and the names of their CHECK constraints,
which Alembic does not compare. A column changed on one side only fails here,
before it fails in production.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared.db import sync_url
from shared.migrations import upgrade_all
from stack.apps import SERVICES, service_migrations
from stack.runner import Endpoints


def _in_schema(schema: str) -> Any:
    def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
        if type_ == "schema":
            return name == schema
        if type_ == "table":
            return parent_names.get("schema_name") == schema and name != "alembic_version"
        return True

    return include_name


def _describe(diff: Any) -> list[str]:
    """One line per difference: what Alembic would change in the database to match the code."""
    if isinstance(diff, list):  # changes to one column: (op, schema, table, column, …, db, code)
        return [
            f"{op} {schema}.{table}.{column}: database {db!r}, code {code!r}"
            for op, schema, table, column, _, db, code in diff
        ]
    return [f"{diff[0]} " + ", ".join(repr(part) for part in diff[1:])]


def schema_drift(database_url: str, service: str) -> list[str]:
    """What separates `service`'s migrated schema from its `db.py` metadata (empty: none)."""
    metadata: sa.MetaData = importlib.import_module(f"services.{service}.db").metadata
    engine = sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": True,
                    "include_name": _in_schema(service),
                    "compare_type": True,
                    "compare_server_default": True,
                },
            )
            return [line for d in compare_metadata(context, metadata) for line in _describe(d)]
    finally:
        engine.dispose()


def check_drift(database_url: str, service: str) -> list[str]:
    """CHECK constraints (which Alembic does not compare) present on one side only, by name."""
    metadata: sa.MetaData = importlib.import_module(f"services.{service}.db").metadata
    declared = {
        (table.name, str(c.name))
        for table in metadata.tables.values()
        for c in table.constraints
        if isinstance(c, sa.CheckConstraint)
    }
    engine = sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            built = {
                (table, str(c["name"]))
                for table in inspector.get_table_names(schema=service)
                for c in inspector.get_check_constraints(table, schema=service)
            }
    finally:
        engine.dispose()
    return [f"CHECK {t}.{n} only in the database" for t, n in sorted(built - declared)] + [
        f"CHECK {t}.{n} only in db.py" for t, n in sorted(declared - built)
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_build_exactly_the_tables_the_code_uses(stack: Endpoints, service: str) -> None:
    upgrade_all(stack.database_url, service_migrations((service,)))
    drift = schema_drift(stack.database_url, service) + check_drift(stack.database_url, service)
    assert drift == [], (
        f"The {service} migrations and services/{service}/db.py disagree; write a migration "
        f"or correct db.py. Differences (Alembic's view, database → code):\n"
        + "\n".join(f"  {d}" for d in drift)
    )
