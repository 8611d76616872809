"""`dvc resync`: publish the current status of dossiers again, for a portal that lost events.

Each dossier's status is rebuilt from the row of the service that owns it, exactly as that
service publishes it (same payload: status, `sequence`, reasons, deadline, decided_by), in a
new envelope (new `event_id`). A portal that already has that `sequence` ignores it; one that
lost it catches up. The header `resync` names the run, so notify posts webhooks again while
its emails (one per dossier, status and recipient) stay unsent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlalchemy.engine import Connection

from ops.errors import NotFound
from shared.contract import Reason, encode, make_envelope
from shared.contract.enums import DossierKind, Status
from shared.messaging import Outgoing
from shared.status import status_changed

_SELECT = """
SELECT 'voucher' AS kind, 'vouchers' AS source, dossier_id, unit_code, status, sequence,
       reasons, deadline, decided_by, received_at AS since
FROM vouchers.dossiers WHERE {voucher}
UNION ALL
SELECT 'registration', 'registration', dossier_id, unit_code, status, sequence,
       reasons, deadline, decided_by, received_at
FROM registration.dossiers WHERE {registration}
UNION ALL
SELECT 'allocation', 'control', allocation_id, unit_code, status, sequence,
       reasons, NULL, 'system', recorded_at
FROM control.allocations WHERE {allocation}
ORDER BY since, dossier_id
"""


@dataclass(frozen=True)
class Current:
    kind: str
    source: str
    dossier_id: str
    unit_code: str
    status: str
    sequence: int
    reasons: list[dict[str, Any]]
    deadline: dt.datetime | None
    decided_by: str | None


def select(
    conn: Connection, *, unit: str | None, since: dt.datetime | None, dossier: str | None
) -> list[Current]:
    """The dossiers to re-sync: one dossier, or a unit's (received since `since`)."""
    if dossier is not None:
        where = {k: "dossier_id = :dossier" for k in ("voucher", "registration")}
        where["allocation"] = "allocation_id = :dossier"
    else:
        where = {
            "voucher": "unit_code = :unit AND (CAST(:since AS timestamptz) IS NULL "
            "OR received_at >= :since)",
            "registration": "unit_code = :unit AND (CAST(:since AS timestamptz) IS NULL "
            "OR received_at >= :since)",
            "allocation": "unit_code = :unit AND (CAST(:since AS timestamptz) IS NULL "
            "OR recorded_at >= :since)",
        }
    rows = conn.execute(
        sa.text(_SELECT.format(**where)), {"unit": unit, "since": since, "dossier": dossier}
    )
    found = [
        Current(
            r.kind,
            r.source,
            r.dossier_id,
            r.unit_code,
            r.status,
            r.sequence,
            list(r.reasons or []),
            r.deadline,
            r.decided_by,
        )
        for r in rows
    ]
    if not found:
        what = f"dossier {dossier!r}" if dossier else f"unit {unit!r}"
        raise NotFound(f"Nothing to re-sync: no {what} in vouchers, registrations or allocations.")
    return found


def message(c: Current, *, topic: str, now: dt.datetime) -> Outgoing:
    payload = status_changed(
        kind=DossierKind(c.kind),
        dossier_id=c.dossier_id,
        unit_code=c.unit_code,
        status=Status(c.status),
        sequence=c.sequence,
        reasons=[Reason.model_validate(r) for r in c.reasons],
        deadline=c.deadline,
        decided_by=c.decided_by,
    )
    envelope = make_envelope(payload, event_id=str(uuid.uuid4()), occurred_at=now, source=c.source)
    return Outgoing(topic=topic, key=c.unit_code.encode(), value=encode(envelope))


async def publish(
    producer: AIOKafkaProducer,
    dossiers: list[Current],
    *,
    topic: str,
    run_id: str,
    now: dt.datetime,
    advanced: Callable[[int], None] = lambda n: None,
) -> int:
    """Send every status, then wait for all acknowledgements; how many were sent."""
    pending = []
    for c in dossiers:
        m = message(c, topic=topic, now=now)
        pending.append(
            await producer.send(m.topic, m.value, key=m.key, headers=[("resync", run_id.encode())])
        )
    for future in pending:
        await future
        advanced(1)
    return len(pending)
