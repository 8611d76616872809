"""The duplicate rule (docs/contract.md §4), the same for vouchers, registrations, allocations
and capital plans."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contract import Reason, ReasonCode, Status
from shared.contract.duplicates import Refuse, Republish, StoredRow, resubmission

pytestmark = pytest.mark.fast

LATE = Reason(code=ReasonCode.BUDGET_EXCEEDED.value, field=None, message="vượt dự toán")


def stored(status: str, sequence: int, last_sequence: int, reasons: list[Reason]) -> StoredRow:
    row: dict[str, Any] = {
        "content_hash": "abc",
        "status": status,
        "sequence": sequence,
        "last_sequence": last_sequence,
        "reasons": [r.model_dump(mode="json") for r in reasons],
        "payload": {"ignored": True},
    }
    return StoredRow.of(row)


@pytest.mark.parametrize(
    ("status", "sequence", "last_sequence", "reasons"),
    [
        (Status.IN_REVIEW, 2, 2, []),
        (Status.APPROVED, 3, 5, []),
        (Status.REFUSED, 3, 3, [LATE]),
        (Status.REJECTED, 1, 4, [LATE]),
    ],
    ids=["in review", "approved after two modified resends", "refused", "rejected"],
)
def test_the_same_content_republishes_the_current_status_under_its_own_sequence(
    status: Status, sequence: int, last_sequence: int, reasons: list[Reason]
) -> None:
    decision = resubmission(
        stored(status.value, sequence, last_sequence, reasons), record_id="HS-1", content_hash="abc"
    )
    assert decision == Republish(status, sequence, tuple(reasons))


@pytest.mark.parametrize(
    ("last_sequence", "refused_as", "field", "wording"),
    [
        (2, Status.REJECTED, "dossier_id", "Hồ sơ HS-1 đã nộp với nội dung khác"),
        (7, Status.REJECTED, "dossier_id", "(dossier id already used for other content)"),
        (1, Status.REFUSED, "allocation_id", "HS-1 đã ghi nhận với nội dung khác"),
        (3, Status.REFUSED, "plan_id", "(id already used for other content)"),
    ],
    ids=["voucher", "after earlier modified resends", "allocation", "capital plan"],
)
def test_other_content_is_refused_under_the_next_sequence_naming_the_id_field(
    last_sequence: int, refused_as: Status, field: str, wording: str
) -> None:
    decision = resubmission(
        stored(Status.APPROVED.value, 2, last_sequence, []),
        record_id="HS-1",
        content_hash="abd",
        field=field,
        refused_as=refused_as,
    )
    assert isinstance(decision, Refuse)
    assert (decision.status, decision.next_sequence) == (refused_as, last_sequence + 1)
    assert (decision.reason.code, decision.reason.field) == ("DUPLICATE_MODIFIED", field)
    assert wording in decision.reason.message


def test_the_default_refusal_is_an_intake_rejection() -> None:
    decision = resubmission(stored("received", 1, 1, []), record_id="HS-1", content_hash="x")
    assert isinstance(decision, Refuse)
    assert decision.status is Status.REJECTED
