"""The senders' queue stays cheap with a backlog: PostgreSQL answers from the queue's indexes,
without reading and sorting every due delivery, even in the generic plan it keeps for a
prepared statement and before the table has statistics (a fresh table in a burst).

With the status bound as a parameter, the generic plan could not use the partial indexes:
each batch of 20 mails scanned and sorted the whole backlog, bodies and all (15–60 ms a
batch, half of the database's time in a burst of vouchers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from services.notify.ledger_db import due_statement, rest_statement
from shared.db import libpq_url
from shared.migrations import upgrade_all
from stack.apps import service_migrations
from stack.runner import Endpoints

BACKLOG = 1500
SENT = 2500


@pytest.fixture
def backlog(stack: Endpoints) -> Iterator[psycopg.Connection[Any]]:
    """A transaction (rolled back) holding 1,500 due mails in notices of three, behind 2,500
    sent ones, and plans that are generic."""
    upgrade_all(stack.database_url, service_migrations(("notify",)))
    with psycopg.connect(libpq_url(stack.database_url)) as conn:
        conn.execute(
            "INSERT INTO notify.deliveries (dedupe_key, channel, kind, dossier_id, recipient,"
            " subject, body_text, message_id, status, attempts, next_attempt_at, created_at)"
            " SELECT 'plan-test-' || n, 'email', 'status', 'CT-' || (n / 3), 'r' || n || '@x.vn',"
            " 'subject', repeat('body ', 400), '<plan-' || (n / 3) || '@x>',"
            " CASE WHEN n < %s THEN 'sent' ELSE 'pending' END, 0,"
            " now() - interval '1 minute' + n * interval '1 ms', now()"
            " FROM generate_series(0, %s) AS n",
            (SENT, SENT + BACKLOG - 1),
        )
        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        try:
            yield conn
        finally:
            conn.rollback()


def _plan(conn: psycopg.Connection[Any], name: str, statement: Any) -> list[dict[str, Any]]:
    """Every node of the generic plan of `statement`, prepared as asyncpg prepares it."""
    compiled = statement.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
    conn.execute(sql.SQL("PREPARE {} AS ").format(sql.Identifier(name)) + sql.SQL(str(compiled)))
    values = [compiled.params[key] for key in compiled.positiontup]
    explain = sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE {}({})").format(
        sql.Identifier(name), sql.SQL(", ").join(sql.Literal(v) for v in values)
    )
    row = conn.execute(explain).fetchone()
    assert row is not None
    nodes: list[dict[str, Any]] = []
    pending = [row[0][0]["Plan"]]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending += node.get("Plans", [])
    return nodes


def _shape(nodes: list[dict[str, Any]]) -> str:
    return " > ".join(f"{n['Node Type']}({n.get('Index Name', '')})" for n in nodes)


def test_the_oldest_due_mails_come_from_the_queue_index_without_a_sort(
    backlog: psycopg.Connection[Any],
) -> None:
    now = dt.datetime.now(dt.UTC)
    nodes = _plan(backlog, "due", due_statement("email", now, 20))
    kinds = {n["Node Type"] for n in nodes}
    indexes = {n.get("Index Name") for n in nodes}
    assert "deliveries_due_by_channel" in indexes, _shape(nodes)
    assert "Sort" not in kinds, _shape(nodes)
    assert "Seq Scan" not in kinds, _shape(nodes)


def test_the_rest_of_a_cut_notice_is_found_by_its_message_id(
    backlog: psycopg.Connection[Any],
) -> None:
    now = dt.datetime.now(dt.UTC)
    nodes = _plan(backlog, "rest", rest_statement("<plan-900@x>", now, [2700]))
    indexes = {n.get("Index Name") for n in nodes}
    assert "deliveries_pending_notice" in indexes, _shape(nodes)
    assert "Seq Scan" not in {n["Node Type"] for n in nodes}, _shape(nodes)
