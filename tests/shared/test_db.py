"""Pooled connections against the real PostgreSQL: a connection the server dropped while it
sat in the pool is never handed out."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import make_engine
from stack.runner import Endpoints
from tests.waits import timed_out


async def test_a_pooled_connection_dropped_by_the_server_while_idle_is_replaced_unseen(
    stack: Endpoints,
) -> None:
    # Every checkout after any idle time is checked (in service, after 2 s idle).
    engine = make_engine(stack.database_url, pool_size=1, idle_ping_seconds=0.0)
    admin = make_engine(stack.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            first = await conn.scalar(sa.select(sa.func.pg_backend_pid()))
        assert isinstance(first, int)
        async with admin.connect() as conn:
            assert await conn.scalar(sa.select(sa.func.pg_terminate_backend(first)))
        await _until_gone(admin, first)
        async with engine.connect() as conn:
            second = await conn.scalar(sa.select(sa.func.pg_backend_pid()))
        assert second != first
    finally:
        await engine.dispose()
        await admin.dispose()


async def _until_gone(admin: AsyncEngine, pid: int, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while True:
        async with admin.connect() as conn:
            left = await conn.scalar(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
        if not left:
            return
        if time.monotonic() >= deadline:
            raise timed_out(
                f"backend {pid} to end after pg_terminate_backend",
                within,
                f"saw {left} row(s) for it in pg_stat_activity",
            )
        await asyncio.sleep(0.1)
