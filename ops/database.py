"""PostgreSQL for `dvc`: one synchronous engine (psycopg), checked when it is first used."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from ops.errors import DatabaseUnreachable
from shared.db import sync_url


def where(database_url: str) -> str:
    """The address of the database, without its password, for messages."""
    url = make_url(database_url)
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def make_engine(database_url: str) -> Engine:
    return sa.create_engine(
        sync_url(database_url),
        poolclass=sa.pool.NullPool,
        connect_args={"application_name": "dvc", "connect_timeout": 5},
    )


def unreachable(err: sa.exc.OperationalError, database_url: str) -> DatabaseUnreachable:
    """The operator's message for a server that did not answer (first line of the driver's)."""
    detail = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
    return DatabaseUnreachable(where(database_url), detail)


@contextmanager
def connect(engine: Engine, *, database_url: str) -> Iterator[Connection]:
    """A connection in a transaction; an unreachable server becomes `DatabaseUnreachable`."""
    try:
        conn = engine.connect()
    except sa.exc.OperationalError as err:
        raise unreachable(err, database_url) from None
    with conn, conn.begin():
        yield conn


def table_exists(conn: Connection, schema: str, table: str) -> bool:
    found = conn.execute(
        sa.text("SELECT to_regclass(:name) IS NOT NULL"), {"name": f'"{schema}"."{table}"'}
    ).scalar()
    return bool(found)
