"""Rows of the delivery ledger: an email rendered when it is written (so a retry sends exactly
what was decided), a webhook with the status as it was received; written once per key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify import db, domain, ledger_db
from services.notify.render import Renderer
from shared.contract import StatusChanged
from shared.contract.deadlines import TZ
from shared.contract.directory import DirectoryEntry


@dataclass
class Deps:
    renderer: Renderer
    offices: domain.TreasuryDirectory
    webhooks: Sequence[str]
    clock: Callable[[], dt.datetime]
    warn: dt.timedelta = dt.timedelta(hours=2)
    digest_at: dt.time = dt.time(17, 0)
    observe_created: Callable[[str, str], None] = field(default=lambda channel, kind: None)


def local_time(instant: dt.datetime | None) -> str:
    return instant.astimezone(TZ).strftime("%H:%M %d/%m/%Y") if instant else ""


def _new(now: dt.datetime) -> dict[str, Any]:
    """A delivery not attempted yet, due now."""
    return {
        "status": db.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }


def email_row(deps: Deps, notice: domain.Notice, now: dt.datetime) -> dict[str, Any]:
    rendered = deps.renderer.render(notice.template, notice.context)
    return {
        "dedupe_key": notice.key,
        "channel": "email",
        "kind": notice.kind,
        "dossier_id": notice.dossier_id,
        "recipient": notice.recipient,
        "subject": rendered.subject,
        "body_text": rendered.text,
        "body_html": rendered.html,
        "body": None,
        "message_id": domain.message_id(notice.group),
        **_new(now),
    }


def webhook_row(
    url: str, status: StatusChanged, body: bytes, now: dt.datetime, resync: str | None = None
) -> dict[str, Any]:
    key = f"{status.dossier_id}|{status.status.value}|{status.sequence}|{url}"
    if resync:
        # An operator's re-sync (`dvc resync`) is for portals that lost a status: post it again.
        key += f"|resync:{resync}"
    return {
        "dedupe_key": key,
        "channel": "webhook",
        "kind": status.status.value,
        "dossier_id": status.dossier_id,
        "recipient": url,
        "subject": None,
        "body_text": None,
        "body_html": None,
        "body": body,
        "message_id": None,
        **_new(now),
    }


async def write_deliveries(session: AsyncSession, deps: Deps, rows: list[dict[str, Any]]) -> int:
    """Add deliveries the ledger does not hold yet; how many were new."""
    if not rows:
        return 0
    created = await ledger_db.insert_deliveries(session, rows)
    for channel, kind in created:
        deps.observe_created(channel, kind)
    return len(created)


def details(entry: DirectoryEntry | None, d: dict[str, Any], deps: Deps) -> dict[str, Any]:
    office = deps.offices.office(entry.treasury_code) if entry else None
    return {
        "dossier_id": d["dossier_id"],
        "dossier_kind": d["dossier_kind"],
        "unit_code": d["unit_code"],
        "unit_name": entry.name if entry else d["unit_code"],
        "treasury_code": entry.treasury_code if entry else "",
        "office_name": office.name if office else (entry.treasury_code if entry else ""),
        "received_on": d["first_seen"].astimezone(TZ).strftime("%d/%m/%Y"),
        "deadline_local": local_time(d["deadline"]),
    }
