"""Building `status.changed` events (CONTRACT.md §4) for the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from shared.contract import Reason, StatusChanged, encode, make_envelope
from shared.contract.enums import DossierKind, Status
from shared.messaging import Outgoing


def status_changed(
    *,
    topic: str,
    source: str,
    event_id: str,
    occurred_at: dt.datetime,
    dossier_id: str,
    dossier_kind: DossierKind,
    unit_code: str,
    status: Status,
    sequence: int,
    reasons: Sequence[Reason] = (),
    deadline: dt.datetime | None = None,
    decided_by: str | None = None,
) -> Outgoing:
    payload = StatusChanged(
        dossier_id=dossier_id,
        dossier_kind=dossier_kind,
        unit_code=unit_code,
        status=status,
        sequence=sequence,
        reasons=tuple(reasons),
        deadline=deadline,
        decided_by=decided_by,
    )
    envelope = make_envelope(payload, event_id=event_id, occurred_at=occurred_at, source=source)
    return Outgoing(topic=topic, key=unit_code.encode(), value=encode(envelope))
