"""`dvc trace`: one timeline of a dossier, from every service's rows and every topic it crossed.

The dossier's unit code (every topic's key) and its first and last times come from the
database; the messages are then read from one partition per topic, between the offsets of
those times (with a margin), never from the whole topic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from sqlalchemy.engine import Connection

from ops.console import from_ms
from ops.errors import NotFound
from ops.kafka import Record, offsets_since, partition_of, partitions, scan
from shared.settings import TopicSettings

MARGIN = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Step:
    at: dt.datetime
    where: str
    what: str
    detail: str = ""


@dataclass(frozen=True)
class Dossier:
    dossier_id: str
    kind: str
    unit_code: str


_FIND = sa.text(
    """
    SELECT 'voucher' AS kind, unit_code FROM vouchers.dossiers WHERE dossier_id = :id
    UNION ALL
    SELECT 'registration', unit_code FROM registration.dossiers WHERE dossier_id = :id
    UNION ALL
    SELECT 'allocation', unit_code FROM control.allocations WHERE allocation_id = :id
    LIMIT 1
    """
)


def find(conn: Connection, dossier_id: str) -> Dossier:
    row = conn.execute(_FIND, {"id": dossier_id}).first()
    if row is None:
        raise NotFound(f"No dossier {dossier_id!r} in vouchers, registrations or allocations.")
    return Dossier(dossier_id, row.kind, row.unit_code)


def _reasons(reasons: object) -> str:
    if not isinstance(reasons, list) or not reasons:
        return ""
    return " " + ", ".join(str(r.get("code")) for r in reasons if isinstance(r, dict))


def _history(conn: Connection, schema: str, d: Dossier) -> list[Step]:
    rows = conn.execute(
        sa.text(
            f"SELECT sequence, status, reasons, decided_by, at FROM {schema}.dossier_history "
            "WHERE dossier_id = :id ORDER BY sequence"
        ),
        {"id": d.dossier_id},
    )
    return [
        Step(
            r.at,
            f"{schema}.dossier_history",
            f"status {r.status}",
            f"sequence {r.sequence}{_reasons(r.reasons)}"
            + (f", by {r.decided_by}" if r.decided_by else ""),
        )
        for r in rows
    ]


def _voucher_rows(conn: Connection, d: Dossier) -> list[Step]:
    steps: list[Step] = []
    v = conn.execute(
        sa.text(
            "SELECT submitted_at, received_at, deadline, payload->>'total_amount' AS total "
            "FROM vouchers.dossiers WHERE dossier_id = :id"
        ),
        {"id": d.dossier_id},
    ).one()
    steps.append(Step(v.submitted_at, "vouchers.dossiers", "submitted", f"total {v.total} VND"))
    steps += _history(conn, "vouchers", d)
    c = conn.execute(
        sa.text(
            "SELECT status, reasons, review_since, decided_at, decided_by "
            "FROM control.vouchers WHERE dossier_id = :id"
        ),
        {"id": d.dossier_id},
    ).first()
    if c is not None:
        if c.review_since is not None:
            steps.append(Step(c.review_since, "control.vouchers", "held for review"))
        if c.decided_at is not None:
            committed = conn.execute(
                sa.text(
                    "SELECT coalesce(sum(amount), 0) FROM control.commitments "
                    "WHERE dossier_id = :id"
                ),
                {"id": d.dossier_id},
            ).scalar()
            steps.append(
                Step(
                    c.decided_at,
                    "control.vouchers",
                    f"control decision {c.status}",
                    f"by {c.decided_by}{_reasons(c.reasons)}, committed {committed} VND",
                )
            )
    return steps


def _registration_rows(conn: Connection, d: Dossier) -> list[Step]:
    r = conn.execute(
        sa.text(
            "SELECT request_type, received_at FROM registration.dossiers WHERE dossier_id = :id"
        ),
        {"id": d.dossier_id},
    ).one()
    return [
        Step(r.received_at, "registration.dossiers", "submitted", f"request {r.request_type}"),
        *_history(conn, "registration", d),
    ]


def _allocation_rows(conn: Connection, d: Dossier) -> list[Step]:
    a = conn.execute(
        sa.text(
            "SELECT status, sequence, reasons, recorded_at, payload->>'kind' AS kind, "
            "payload->>'amount' AS amount FROM control.allocations WHERE allocation_id = :id"
        ),
        {"id": d.dossier_id},
    ).one()
    return [
        Step(
            a.recorded_at,
            "control.allocations",
            f"allocation {a.status}",
            f"{a.kind} {a.amount} VND, sequence {a.sequence}{_reasons(a.reasons)}",
        )
    ]


def _deliveries(conn: Connection, d: Dossier) -> list[Step]:
    rows = conn.execute(
        sa.text(
            "SELECT channel, kind, recipient, status, attempts, created_at, sent_at, last_error "
            "FROM notify.deliveries WHERE dossier_id = :id ORDER BY id"
        ),
        {"id": d.dossier_id},
    )
    steps = []
    for r in rows:
        detail = f"{r.status}, {r.attempts} attempt(s)"
        if r.last_error:
            detail += f", last error: {r.last_error[:80]}"
        steps.append(
            Step(
                r.sent_at or r.created_at,
                "notify.deliveries",
                f"{r.channel} {r.kind} to {r.recipient}",
                detail,
            )
        )
    return steps


def rows(conn: Connection, d: Dossier) -> list[Step]:
    """Every service's rows about the dossier, as steps."""
    own = {
        "voucher": _voucher_rows,
        "registration": _registration_rows,
        "allocation": _allocation_rows,
    }[d.kind]
    return [*own(conn, d), *_deliveries(conn, d)]


def topics_of(kind: str, t: TopicSettings) -> list[str]:
    inward = {
        "voucher": [t.vouchers, t.control, t.decisions],
        "registration": [t.registrations],
        "allocation": [t.allocations],
    }[kind]
    return [*inward, t.status, t.deadletter]


def _about(d: Dossier, record: Record) -> bool:
    if d.dossier_id.encode() not in record.value:
        return False
    try:
        doc = orjson.loads(record.value)
    except orjson.JSONDecodeError:
        return True  # a dead letter's raw bytes that name the dossier
    payload = doc.get("payload") if isinstance(doc, dict) else None
    if not isinstance(payload, dict):
        return True
    return d.dossier_id in (payload.get("dossier_id"), payload.get("allocation_id"))


def _describe(record: Record) -> tuple[str, str]:
    try:
        doc = orjson.loads(record.value)
        payload = doc["payload"]
        kind = str(doc["event_type"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return "dead letter", f"error: {record.header('error') or '?'}"
    if kind == "status.changed":
        return f"status {payload.get('status')}", f"sequence {payload.get('sequence')}" + _reasons(
            payload.get("reasons")
        )
    if kind == "voucher.decided":
        return f"decision {payload.get('status')}", f"by {payload.get('decided_by')}"
    return kind, f"event {doc.get('event_id')}"


async def messages(
    consumer: AIOKafkaConsumer,
    d: Dossier,
    *,
    topics: list[str],
    first: dt.datetime,
    last: dt.datetime,
    on_total: Callable[[int], None] = lambda n: None,
    advanced: Callable[[int], None] = lambda n: None,
) -> list[Step]:
    """The dossier's messages on `topics`: its unit's partition, between first and last."""
    ranges = {}
    key = d.unit_code.encode()
    for topic in topics:
        tps = await partitions(consumer, topic)
        tp = tps[partition_of(key, len(tps))]
        start = await offsets_since(consumer, [tp], int((first - MARGIN).timestamp() * 1000))
        stop = await offsets_since(consumer, [tp], int((last + MARGIN).timestamp() * 1000))
        ranges[tp] = (start[tp], stop[tp])
    on_total(sum(e - s for s, e in ranges.values()))
    found = await scan(consumer, ranges, keep=lambda r: _about(d, r), advanced=advanced)
    steps = []
    for r in found:
        what, detail = _describe(r)
        where = f"{r.topic} {r.partition}:{r.offset}"
        steps.append(Step(from_ms(r.timestamp_ms), where, what, detail))
    return steps


def timeline(steps: list[Step]) -> list[tuple[Step, float | None]]:
    """Steps in time order, each with the seconds since the one before."""
    ordered = sorted(steps, key=lambda s: s.at)
    return [
        (s, (s.at - ordered[i - 1].at).total_seconds() if i else None)
        for i, s in enumerate(ordered)
    ]
