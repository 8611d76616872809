"""Building `status.changed` events (docs/contract.md §4) for the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from shared.contract import (
    MalformedPayloadError,
    PayloadRejectedError,
    Reason,
    StatusChanged,
    encode,
    make_envelope,
)
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


def reasons_json(reasons: Sequence[Reason]) -> list[dict[str, Any]]:
    """Reasons as stored in a JSONB column."""
    return [r.model_dump(mode="json") for r in reasons]


def rejection_reasons(err: PayloadRejectedError) -> list[Reason]:
    """The reasons a refused payload reports: one per field pydantic found wrong."""
    if isinstance(err, MalformedPayloadError):
        return [Reason(code=err.reason.value, field=f, message=m) for f, m in err.problems()]
    return [Reason(code=err.reason.value, field=None, message=str(err))]
