"""Use cases of the notify service: statuses in, deliveries written to the ledger.

Deliveries are rendered when they are written, so a retry sends exactly what was decided;
the ledger's unique key per (dossier, status or warning kind, recipient) means a redelivered
status, a republished status or a crash never yields a second delivery.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify import db, domain
from services.notify.deliveries import Deps as Deps
from services.notify.deliveries import details, email_row, local_time, webhook_row, write_deliveries
from shared.consumer import Handler, Incoming, Item
from shared.contract import Envelope, Status, StatusChanged, parse_payload
from shared.contract.deadlines import TZ
from shared.contract.directory import DirectoryEntry
from shared.directory import directory_handler, load_entries
from shared.messaging import Outgoing


def has_notices(status: StatusChanged) -> bool:
    """Whether `status` causes emails (once its unit is known)."""
    value = status.status.value
    return status.dossier_kind.value in ("voucher", "investment", "registration") and (
        value in domain.UNIT_STATUSES or value == Status.IN_REVIEW
    )


def notices_for(
    status: StatusChanged, d: dict[str, Any], entry: DirectoryEntry | None, deps: Deps
) -> list[domain.Notice]:
    """The emails one status causes: to the unit for outcomes, to its office for reviews."""
    if not has_notices(status) or entry is None:
        return []
    context = {
        **details(entry, d, deps),
        "status": status.status.value,
        "reasons": [r.model_dump() for r in status.reasons],
        "decided_by": status.decided_by,
    }
    value = status.status.value
    if value in domain.UNIT_STATUSES:
        template = "notice" if value in domain.NOTICE_STATUSES else Status.APPROVED.value
        return [
            domain.Notice(
                domain.notice_key(status.dossier_id, value, r),
                value,
                status.dossier_id,
                r,
                template,
                context,
            )
            for r in entry.recipients()
        ]
    if value == Status.IN_REVIEW:
        office = deps.offices.office(entry.treasury_code)
        return [
            domain.Notice(
                domain.notice_key(status.dossier_id, value, s.email),
                value,
                status.dossier_id,
                s.email,
                "staff",
                {**context, "kind": value},
            )
            for s in (office.staff if office else ())
        ]
    return []


async def handle_statuses(
    session: AsyncSession, items: Sequence[Item], *, deps: Deps
) -> list[Outgoing]:
    now = deps.clock()
    parsed = [(parse_payload(envelope, StatusChanged), message) for envelope, message in items]
    entries = await load_entries(session, db.directory, {s.unit_code for s, _ in parsed})
    ids = sorted({s.dossier_id for s, _ in parsed})
    known = await db.lock_dossiers(session, ids)
    rows: list[dict[str, Any]] = []
    waiting: list[dict[str, Any]] = []
    for status, message in parsed:
        d = known.get(status.dossier_id)
        if d is None:
            d = known[status.dossier_id] = {
                "dossier_id": status.dossier_id,
                "dossier_kind": status.dossier_kind.value,
                "unit_code": status.unit_code,
                "treasury_code": None,
                "status": "",
                "sequence": 0,
                "deadline": None,
                "first_seen": now,
                "warned": False,
                "overdue_alerted": False,
                "reasons": [],
            }
        entry = entries.get(status.unit_code)
        if status.sequence >= d["sequence"]:
            d.update(
                status=status.status.value,
                sequence=status.sequence,
                deadline=status.deadline or d["deadline"],
                treasury_code=entry.treasury_code if entry else d["treasury_code"],
                reasons=[r.model_dump() for r in status.reasons],
            )
        if entry is None and _unit_to_come(status):
            waiting.append(_awaiting_row(status, now))
        rows += [email_row(deps, n, now) for n in notices_for(status, d, entry, deps)]
        resync = message.header("resync")
        rows += [
            webhook_row(url, status, message.value or b"", now, resync) for url in deps.webhooks
        ]
    await db.save_dossiers(session, list(known.values()))
    await db.keep_awaiting(session, waiting)
    await write_deliveries(session, deps, rows)
    return []


def _unit_to_come(status: StatusChanged) -> bool:
    """Whether the unit of a status with notices is sure to reach the directory: a voucher's
    or investment request's unit is registered (intake checked it), an approved
    registration's entry follows its approval. A registration refused or returned has no
    entry, so no address to write to."""
    if status.dossier_kind.value == "registration":
        return status.status is Status.APPROVED
    return has_notices(status)


def _awaiting_row(status: StatusChanged, now: dt.datetime) -> dict[str, Any]:
    return {
        "dossier_id": status.dossier_id,
        "status": status.status.value,
        "sequence": status.sequence,
        "unit_code": status.unit_code,
        "payload": status.model_dump(mode="json"),
        "received_at": now,
    }


def directory_with_notices(deps: Deps) -> Handler:
    """The directory consumer of notify: keep the entry, then write the notices of statuses
    that arrived before it (a registration's approval and the unit's first entry travel on
    two topics, in no fixed order), in the same transaction."""
    keep = directory_handler(db.directory)

    async def handle(
        session: AsyncSession, envelope: Envelope, message: Incoming
    ) -> list[Outgoing]:
        await keep(session, envelope, message)
        code = DirectoryEntry.model_validate(envelope.payload).unit_code
        entry = (await load_entries(session, db.directory, {code}))[code]
        now = deps.clock()
        rows = [
            email_row(deps, n, now)
            for payload, d in await db.take_awaiting(session, entry.unit_code)
            for n in notices_for(StatusChanged.model_validate(payload), d, entry, deps)
        ]
        await write_deliveries(session, deps, rows)
        return []

    return handle


async def scan_deadlines(session: AsyncSession, *, deps: Deps) -> int:
    """Warn each office once when a dossier under review nears its deadline, and once more
    when it is overdue. Returns how many warnings were written."""
    now = deps.clock()
    rows = await db.due_for_warning(session, until=now + deps.warn)
    units = await load_entries(session, db.directory, {r["unit_code"] for r in rows})
    deliveries: list[dict[str, Any]] = []
    for r in rows:
        kind = domain.warning_due(r["deadline"], now, deps.warn)
        if kind is None or (kind == "deadline_warning" and r["warned"]):
            continue
        entry = units.get(r["unit_code"])
        office = deps.offices.office(r["treasury_code"] or "")
        context = {**details(entry, r, deps), "kind": kind, "status": Status.IN_REVIEW.value}
        template = "staff"
        if r["dossier_kind"] == "support":
            template = "support_staff"
            context.update(kind=f"support_{kind}", request_id=r["dossier_id"])
        deliveries += [
            email_row(
                deps,
                domain.Notice(
                    domain.notice_key(r["dossier_id"], kind, s.email),
                    kind,
                    r["dossier_id"],
                    s.email,
                    template,
                    context,
                ),
                now,
            )
            for s in (office.staff if office else ())
        ]
        await db.mark_warned(session, r["dossier_id"], overdue=kind != "deadline_warning")
    return await write_deliveries(session, deps, deliveries)


async def send_digests(session: AsyncSession, *, deps: Deps) -> int:
    """Each office's daily digest, once a day, from the configured local time."""
    now = deps.clock().astimezone(TZ)
    if now.time() < deps.digest_at:
        return 0
    day = now.date().isoformat()
    rows: list[dict[str, Any]] = []
    for office in deps.offices.offices:
        waiting = await db.waiting_for_review(session, office.treasury_code)
        items = [
            {
                "dossier_id": w["dossier_id"],
                "unit_code": w["unit_code"],
                "deadline_local": local_time(w["deadline"]),
                "overdue": bool(w["deadline"] and w["deadline"] <= now),
            }
            for w in waiting
        ]
        context = {
            "kind": "digest",
            "day": day,
            "office_name": office.name,
            "treasury_code": office.treasury_code,
            "waiting": items,
        }
        rows += [
            email_row(
                deps,
                domain.Notice(
                    domain.notice_key(f"digest-{office.treasury_code}-{day}", "digest", s.email),
                    "digest",
                    f"digest-{office.treasury_code}-{day}",
                    s.email,
                    "digest",
                    context,
                ),
                now,
            )
            for s in office.staff
        ]
    return await write_deliveries(session, deps, rows)
