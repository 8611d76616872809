"""A dossier id sent again (docs/contract.md §4): one rule for every kind of dossier.

Same content: the current status is published again under the sequence it was first published
with, and nothing changes. Other content: `DUPLICATE_MODIFIED` under the dossier's next
sequence (`last_sequence + 1`); the original keeps its status and that status's sequence, so a
later identical resend still republishes it under its own number.

Pure: the caller reads what it stored, asks `resubmission`, and records the decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shared.contract.enums import Status
from shared.contract.payloads import Reason
from shared.contract.reasons import ReasonCode


@dataclass(frozen=True)
class Republish:
    """The same content again: publish the current status under its own sequence."""

    status: Status
    sequence: int
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Refuse:
    """Other content under a used id: `status` with `reason`, under `next_sequence`."""

    status: Status
    next_sequence: int
    reason: Reason


def duplicate_modified(record_id: str, *, field: str = "dossier_id") -> Reason:
    """The reason given when an id already used is sent with other content."""
    if field == "dossier_id":
        message = (
            f"Hồ sơ {record_id} đã nộp với nội dung khác "
            "(dossier id already used for other content)"
        )
    else:
        message = f"{record_id} đã ghi nhận với nội dung khác (id already used for other content)"
    return Reason(code=ReasonCode.DUPLICATE_MODIFIED.value, field=field, message=message)


class Stored(Protocol):
    """What a service keeps of a dossier: its dossier row satisfies this as it is."""

    @property
    def content_hash(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def sequence(self) -> int: ...
    @property
    def last_sequence(self) -> int: ...
    @property
    def reasons(self) -> Sequence[Mapping[str, Any]]: ...


@dataclass(frozen=True)
class StoredRow:
    """`Stored` read from a row mapping (a record table without a dossier class)."""

    content_hash: str
    status: str
    sequence: int
    last_sequence: int
    reasons: Sequence[Mapping[str, Any]]

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> StoredRow:
        return cls(**{f: row[f] for f in cls.__dataclass_fields__})


def resubmission(
    stored: Stored,
    *,
    record_id: str,
    content_hash: str,
    field: str = "dossier_id",
    refused_as: Status = Status.REJECTED,
) -> Republish | Refuse:
    """What to publish for `record_id` sent again with `content_hash`, given what is `stored`
    of it (content hash, current status and its sequence, highest sequence used, reasons).
    `refused_as` is the status a modified resend is given: `rejected` at intake, `refused`
    for what the budget system records."""
    if content_hash == stored.content_hash:
        reasons = tuple(Reason.model_validate(r) for r in stored.reasons)
        return Republish(Status(stored.status), stored.sequence, reasons)
    return Refuse(refused_as, stored.last_sequence + 1, duplicate_modified(record_id, field=field))
