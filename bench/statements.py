"""Which statements PostgreSQL spends its time on during a phase (`pg_stat_statements`).

The bench's PostgreSQL loads the extension (`StackSettings.pg_statement_stats`) and counts
planning as well as execution. The counts are reset when the phase starts and read when it
ends; the statements are those of every service (each in a schema of its own, named in the
text). Parsing is not counted by PostgreSQL, so a statement whose text changes with the size
of its batch shows up as many entries, each planned anew: the number of distinct statements
is reported for that reason. PostgreSQL 18 identifies a statement by the names of its tables
without their schemas, so the same statement on each service's own table of the same name
(the outbox relay's take, the inbox claim) is one entry, shown with the text of the first
service that ran it; the totals are not affected.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg

_OWN = "pg_stat_statements"


def enable(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


def reset(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")


def _shape(query: str) -> str:
    """One line, the long lists of parameters folded."""
    text = re.sub(r"\s+", " ", query).strip()
    text = re.sub(r"(\$\d+(::[\w\[\]]+)?, ){3,}\$\d+(::[\w\[\]]+)?", "$…", text)
    text = re.sub(r"(\(\$…\), ){2,}\(\$…\)", "(…), …", text)
    return text


def read(dsn: str, *, vouchers: int, top: int = 12) -> dict[str, Any]:
    """The phase's statements: totals, and the `top` costliest (planning and execution)."""
    query = (
        "SELECT query, calls, rows, total_exec_time, total_plan_time, plans"
        " FROM pg_stat_statements"
        " WHERE query NOT LIKE %s AND calls > 0"
        " ORDER BY total_exec_time + total_plan_time DESC"
    )
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(query, (f"%{_OWN}%",)).fetchall()
    per = max(vouchers, 1)
    entries: list[dict[str, Any]] = [
        {
            "statement": _shape(q),
            "calls": int(calls),
            "rows": int(n),
            "exec_ms": float(exec_ms),
            "plan_ms": float(plan_ms),
            "plans": int(plans),
        }
        for q, calls, n, exec_ms, plan_ms, plans in rows
    ]
    calls = sum(e["calls"] for e in entries)
    exec_ms = sum(e["exec_ms"] for e in entries)
    plan_ms = sum(e["plan_ms"] for e in entries)
    return {
        "vouchers": vouchers,
        "distinct_statements": len(entries),
        "calls": calls,
        "calls_per_voucher": calls / per,
        "exec_ms": exec_ms,
        "plan_ms": plan_ms,
        "ms_per_voucher": (exec_ms + plan_ms) / per,
        "top": entries[:top],
    }
