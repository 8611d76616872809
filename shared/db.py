"""SQLAlchemy 2.0 engines and sessions, built by each service's composition root, not at import."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolProxiedConnection


def _with_driver(url: str, driver: str | None) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(
            f"DATABASE_URL must point at PostgreSQL, not {parsed.get_backend_name()!r}"
        )
    name = f"postgresql+{driver}" if driver else "postgresql"
    return parsed.set(drivername=name).render_as_string(hide_password=False)


def async_url(url: str) -> str:
    """The URL with the asyncpg driver, whatever driver `DATABASE_URL` named."""
    return _with_driver(url, "asyncpg")


def sync_url(url: str) -> str:
    """The URL with the psycopg driver, for migrations and tools."""
    return _with_driver(url, "psycopg")


def libpq_url(url: str) -> str:
    """The URL as libpq takes it (`psycopg.connect`, `psql`): no driver name."""
    return _with_driver(url, None)


IDLE_PING_SECONDS = 2.0
"""A pooled connection idle for longer is checked with a round trip before it is handed out."""


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    application_name: str = "dvc",
    idle_ping_seconds: float = IDLE_PING_SECONDS,
) -> AsyncEngine:
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # The most recently returned connection first, so that a steady stream of
        # transactions keeps reusing a few warm connections, and those skip the ping.
        pool_use_lifo=True,
        connect_args={
            "server_settings": {
                "application_name": application_name,
                # Every statement is planned with its parameters and the tables as they are
                # now. A prepared statement's generic plan is made once, for any parameters,
                # and kept: made while a table was small (a new database, the first minutes of
                # a day), it scanned the whole table for a key once the table had grown.
                "plan_cache_mode": "force_custom_plan",
            }
        },
    )
    _ping_when_idle(engine.sync_engine, idle_ping_seconds)
    return engine


def _ping_when_idle(engine: Engine, seconds: float) -> None:
    """Pessimistic disconnect handling for connections idle over `seconds` only.

    SQLAlchemy's `pool_pre_ping` would cost a round trip per transaction. A connection used
    moments ago is as good as a ping; if the server went away since, the first statement on it
    fails as a disconnect, which invalidates the whole pool, and the caller's retry (or the
    client's) finds fresh connections.
    """

    @event.listens_for(engine, "checkin")
    def checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since < seconds:
            return  # just connected, or used moments ago
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool discards the connection and checks out another (or connects anew).
            raise DisconnectionError(f"pooled connection lost: {exc}") from exc


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under `session`, inside the session's transaction (begun here if
    no statement has begun it yet).

    For the few statements every batch runs (the inbox claim, the outbox insert, the relay's
    take): written as SQL and run on the driver, they skip SQLAlchemy's per-statement work,
    about a quarter of a millisecond each. Their errors are asyncpg's own (`is_transient`
    knows them). What they change commits or rolls back with the session.
    """
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    adapted = raw.dbapi_connection
    if adapted is None:
        raise RuntimeError("the session's connection was invalidated")
    # SQLAlchemy's adapter sends BEGIN before its first statement; do the same for ours, or
    # they would run outside the session's transaction.
    if adapted._transaction is None:
        await adapted._start_transaction()
    return driver_of(raw)


def driver_of(raw: PoolProxiedConnection) -> asyncpg.Connection:
    """The asyncpg connection of a pooled connection (`AsyncConnection.get_raw_connection()`)."""
    found = raw.driver_connection
    if not isinstance(found, asyncpg.Connection):
        raise TypeError(f"expected an asyncpg connection from the pool, not {type(found)}")
    return found
