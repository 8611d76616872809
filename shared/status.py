"""Building `status.changed` payloads (docs/contract.md §4) and the reasons they carry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from shared.contract import (
    MalformedPayloadError,
    PayloadRejectedError,
    Reason,
    StatusChanged,
)
from shared.contract.bounds import MAX_REPORTED_PROBLEMS, storable
from shared.contract.enums import OPEN_STATUSES, DossierKind, Status

# A field path names a sender's member (unknown ones too, of any length); cut so that a
# status stays small whatever was sent.
_MAX_FIELD = 200
_MAX_TEXT = 1000


def status_changed(
    *,
    kind: DossierKind,
    dossier_id: str,
    unit_code: str,
    status: Status,
    sequence: int,
    reasons: Sequence[Reason] = (),
    deadline: dt.datetime | None = None,
    decided_by: str | None = None,
) -> StatusChanged:
    """A dossier's status; its deadline is told only while the dossier waits for an outcome."""
    return StatusChanged(
        dossier_id=dossier_id,
        dossier_kind=kind,
        unit_code=unit_code,
        status=status,
        sequence=sequence,
        reasons=tuple(reasons),
        deadline=deadline if status in OPEN_STATUSES else None,
        decided_by=decided_by,
    )


class Followed(Protocol):
    """A record whose statuses are published (a dossier, a support request)."""

    @property
    def unit_code(self) -> str: ...

    @property
    def deadline(self) -> dt.datetime | None: ...


def status_of(
    kind: DossierKind,
    record_id: str,
    record: Followed,
    status: Status,
    sequence: int,
    /,
    *,
    reasons: Sequence[Reason] = (),
    decided_by: str | None = None,
) -> StatusChanged:
    """`status_changed` of `record` (kind, id, record, status, sequence: which status it is)."""
    return status_changed(
        kind=kind,
        dossier_id=record_id,
        unit_code=record.unit_code,
        status=status,
        sequence=sequence,
        reasons=reasons,
        deadline=record.deadline,
        decided_by=decided_by,
    )


def reasons_json(reasons: Sequence[Reason]) -> list[dict[str, Any]]:
    """Reasons as stored in a JSONB column."""
    return [r.model_dump(mode="json") for r in reasons]


def rejection_reasons(err: PayloadRejectedError) -> list[Reason]:
    """The reasons a refused payload reports: one per field found wrong, at most
    `MAX_REPORTED_PROBLEMS` and then one saying how many more (a status stays small)."""
    if not isinstance(err, MalformedPayloadError):
        return [Reason(code=err.reason.value, field=None, message=storable(str(err)[:_MAX_TEXT]))]
    problems = err.problems()
    reasons = [
        Reason(code=err.reason.value, field=storable(f[:_MAX_FIELD]), message=m[:_MAX_TEXT])
        for f, m in problems[:MAX_REPORTED_PROBLEMS]
    ]
    if len(problems) > MAX_REPORTED_PROBLEMS:
        more = len(problems) - MAX_REPORTED_PROBLEMS
        reasons.append(
            Reason(
                code=err.reason.value,
                field=None,
                message=f"Còn {more} lỗi khác ({more} more problems)",
            )
        )
    return reasons
