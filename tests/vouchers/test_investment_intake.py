"""Intake of investment requests: the voucher's checks with the request's own amounts, and
its deadlines (no I/O: runs in `make test-fast`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.vouchers.domain import IntakeRules, SignatureFinding
from services.vouchers.investment import check
from shared.contract import InvestmentSubmitted
from shared.contract.deadlines import TZ, WorkingCalendar, investment_deadline
from shared.contract.directory import DirectoryAccount, DirectoryEntry

pytestmark = pytest.mark.fast

PROJECT = "7012345"
ACCOUNT = f"9527.2.{PROJECT}"
RECEIVED = dt.datetime(2026, 12, 10, 9, 15, tzinfo=TZ)
SIG = {"certificate_serial": "1a2b", "algorithm": "RS256", "value": "c2ln"}
# docs/contract.md §14, as written there.
EXAMPLE: dict[str, Any] = {
    "dossier_id": "VDT-0011-2026-000123",
    "request_type": "payment",
    "voucher_no": "07",
    "voucher_date": "2026-12-10",
    "fiscal_year": 2026,
    "unit_code": PROJECT,
    "treasury_code": "0011",
    "account_no": ACCOUNT,
    "chapter": "422",
    "sector_code": "292",
    "source_code": "14",
    "contract": {
        "number": "02/2026/HĐXD",
        "date": "2026-02-15",
        "value": 8_000_000_000,
        "counterparty": "Công ty CP Xây dựng Lai Châu",
    },
    "completed_value": 5_000_000_000,
    "amount": 3_000_000_000,
    "advance_recovery": 1_200_000_000,
    "payee": {
        "name": "Công ty CP Xây dựng Lai Châu",
        "tax_code": "6200123456",
        "account_no": "0011000654321",
        "bank_code": "01201001",
    },
    "attachments": [
        {"kind": "contract", "name": "hd02.pdf", "sha256": "0" * 64, "size": 402113},
        {"kind": "acceptance_record", "name": "nt05.pdf", "sha256": "0" * 64, "size": 99120},
    ],
    "signatures": [{"role": "chief_accountant", **SIG}, {"role": "account_holder", **SIG}],
}
ENTRY = DirectoryEntry(
    unit_code=PROJECT,
    name="Dự án đường tỉnh 129",
    treasury_code="0011",
    chapter="422",
    status="active",
    accounts=(DirectoryAccount(account_no=ACCOUNT, kind="budget_estimate"),),
    version=1,
    updated_at=RECEIVED,
)
GOOD = {i: SignatureFinding(index=i, certificate_problem=None, verified=True) for i in (0, 1)}


def found(entry: DirectoryEntry | None = ENTRY, **changes: Any) -> set[tuple[str, str | None]]:
    r = InvestmentSubmitted.model_validate({**EXAMPLE, **changes})
    reasons = check(r, entry=entry, findings=GOOD, received_at=RECEIVED, rules=IntakeRules())
    return {(x.code, x.field) for x in reasons}


def test_the_contract_example_passes_intake() -> None:
    assert found() == set()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"unit_code": "1012345"}, {("CODE_INVALID", "unit_code")}),
        ({"sector_code": "290"}, {("CODE_INVALID", "sector_code")}),
        ({"amount": 0, "advance_recovery": 0}, {("MALFORMED", "amount")}),
        ({"completed_value": None}, {("MALFORMED", "completed_value")}),
        ({"advance_recovery": 3_000_000_001}, {("MALFORMED", "advance_recovery")}),
        ({"payee": None}, {("PAYEE_MISSING", "payee")}),
        ({"signatures": []}, {("SIGNATURE_MISSING", "signatures")}),
        ({"fiscal_year": 2024}, {("FISCAL_YEAR_CLOSED", "fiscal_year")}),
        ({"treasury_code": "0012"}, {("TREASURY_MISMATCH", "treasury_code")}),
    ],
    ids=lambda v: ",".join(sorted(v)) if isinstance(v, dict) else "",
)
def test_each_intake_reason(changes: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    entry = ENTRY.model_copy(update={"unit_code": changes.get("unit_code", PROJECT)})
    assert found(entry, **changes) == expected


def test_an_advance_needs_neither_completed_value_nor_recovery() -> None:
    assert found(request_type="advance", completed_value=None, advance_recovery=None) == set()


def test_an_unregistered_project_is_unknown() -> None:
    assert found(None) == {("UNIT_UNKNOWN", "unit_code")}


@pytest.mark.parametrize(
    ("received", "advance", "due"),
    [
        # Thursday 10 Dec 2026: an advance by Friday, a payment by Monday.
        (dt.datetime(2026, 12, 10, 9, 0, tzinfo=TZ), True, dt.date(2026, 12, 11)),
        (dt.datetime(2026, 12, 10, 9, 0, tzinfo=TZ), False, dt.date(2026, 12, 14)),
        # Monday 28 Dec: no year-end extension (a voucher would get 2 working days).
        (dt.datetime(2026, 12, 28, 9, 0, tzinfo=TZ), True, dt.date(2026, 12, 29)),
        (dt.datetime(2026, 12, 28, 9, 0, tzinfo=TZ), False, dt.date(2026, 12, 30)),
    ],
)
def test_deadlines(received: dt.datetime, advance: bool, due: dt.date) -> None:
    deadline = investment_deadline(received, advance=advance, calendar=WorkingCalendar())
    assert deadline == dt.datetime.combine(due, dt.time(16, 30), tzinfo=TZ)
