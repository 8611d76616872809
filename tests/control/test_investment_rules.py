"""Control of investment capital, rule by rule and at each boundary (no I/O: runs in
`make test-fast`)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.control.config import ControlSettings
from services.control.domain import LineState
from services.control.investment import (
    InvestmentLedger,
    InvestmentRules,
    Position,
    decide,
    plan_key,
    position_key,
)
from shared.contract import CapitalPlanRecorded, InvestmentSubmitted, bounds

pytestmark = pytest.mark.fast

RULES = InvestmentRules()
VALUE = 8_000_000_000
PROJECT = "7012345"
CONTRACT = {"number": "02/2026/HĐXD", "date": "2026-02-15", "value": VALUE, "counterparty": "ABC"}


def _attachment(kind: str) -> dict[str, Any]:
    return {"kind": kind, "name": f"{kind}.pdf", "sha256": "0" * 64, "size": 1}


def _request(kind: str = "payment", **changes: Any) -> InvestmentSubmitted:
    attachments = ["contract", "acceptance_record"] if kind == "payment" else ["contract"]
    payload: dict[str, Any] = {
        "dossier_id": "VDT-0011-2026-000001",
        "request_type": kind,
        "voucher_no": "07",
        "voucher_date": "2026-12-10",
        "fiscal_year": 2026,
        "unit_code": PROJECT,
        "treasury_code": "0011",
        "account_no": f"9527.2.{PROJECT}",
        "chapter": "422",
        "sector_code": "292",
        "source_code": "14",
        "contract": CONTRACT,
        "completed_value": 0,
        "amount": 100_000_000,
        "advance_recovery": 0,
        "payee": {"name": "ABC", "account_no": "0011000654321", "bank_code": "01201001"},
        "attachments": [_attachment(k) for k in attachments],
    }
    payload.update(changes)
    return InvestmentSubmitted.model_validate(payload)


def _codes(
    r: InvestmentSubmitted,
    *,
    position: Position | None = None,
    available: int | None = 10**13,
    superseded_returned: bool = False,
) -> tuple[str, list[str]]:
    line = None if available is None else LineState(available, 0)
    d = decide(
        r,
        line=line,
        position=position or Position(value=VALUE),
        superseded_returned=superseded_returned,
        rules=RULES,
    )
    return d.status, [x.code for x in d.reasons]


def _advanced(advanced: int, recovered: int = 0, paid: int = 0) -> Position:
    return Position(value=VALUE, advanced=advanced, recovered=recovered, paid=paid)


HALF = VALUE // 2
GUARANTEED = [_attachment("contract"), _attachment("guarantee")]

CASES: list[tuple[str, InvestmentSubmitted, Position, tuple[str, list[str]]]] = [
    # Advances: at most 50% of the contract value, cumulatively.
    (
        "an advance of exactly 50% passes",
        _request("advance", amount=100_000_000),
        _advanced(HALF - 100_000_000),
        ("approved", []),
    ),
    (
        "one đồng more than 50% is refused",
        _request("advance", amount=100_000_001),
        _advanced(HALF - 100_000_000),
        ("refused", ["ADVANCE_LIMIT_EXCEEDED"]),
    ),
    (
        "an advance at the guarantee threshold needs no guarantee",
        _request("advance", amount=RULES.guarantee_threshold),
        _advanced(0),
        ("in_review", []),
    ),
    (
        "an advance above the guarantee threshold with one goes on",
        _request("advance", amount=RULES.guarantee_threshold + 1, attachments=GUARANTEED),
        _advanced(0),
        ("in_review", []),
    ),
    (
        "an advance above the guarantee threshold without one is returned",
        _request("advance", amount=RULES.guarantee_threshold + 1),
        _advanced(0),
        ("returned", ["ATTACHMENT_MISSING"]),
    ),
    (
        "an advance that would take payments and open advances past the value is refused",
        _request("advance", amount=300_000_000),
        _advanced(0, paid=VALUE - 200_000_000),
        ("refused", ["CONTRACT_EXCEEDED"]),
    ),
    # Payments: never beyond the accepted work, the contract, or the open advance.
    (
        "a payment equal to the accepted value passes",
        _request(completed_value=3_000_000_000, amount=500_000_000),
        _advanced(0, paid=2_500_000_000),
        ("approved", []),
    ),
    (
        "one đồng past the accepted value is refused",
        _request(completed_value=3_000_000_000, amount=500_000_001),
        _advanced(0, paid=2_500_000_000),
        ("refused", ["COMPLETED_VALUE_EXCEEDED"]),
    ),
    (
        "payments plus advances not yet recovered above the value are refused",
        _request(completed_value=VALUE, amount=500_000_000, advance_recovery=100_000_000),
        _advanced(1_000_000_000, recovered=0, paid=6_700_000_000),
        ("refused", ["CONTRACT_EXCEEDED", "ADVANCE_RECOVERY_INSUFFICIENT"]),
    ),
    (
        "a recovery above the open advance is refused",
        _request(completed_value=1_000_000_000, amount=500_000_000, advance_recovery=300_000_001),
        _advanced(500_000_000, recovered=200_000_000),
        ("refused", ["ADVANCE_EXCEEDED"]),
    ),
    (
        "at exactly 80% accepted, an advance still open is refused",
        _request(
            completed_value=VALUE * 80 // 100, amount=500_000_000, advance_recovery=200_000_000
        ),
        _advanced(400_000_000, paid=1_000_000_000),
        ("refused", ["ADVANCE_RECOVERY_INSUFFICIENT"]),
    ),
    (
        "at exactly 80% accepted, recovering all that is open passes",
        _request(
            completed_value=VALUE * 80 // 100, amount=500_000_000, advance_recovery=400_000_000
        ),
        _advanced(400_000_000, paid=1_000_000_000),
        ("approved", []),
    ),
    (
        "one đồng below 80% accepted, a partial recovery passes",
        _request(
            completed_value=VALUE * 80 // 100 - 1, amount=500_000_000, advance_recovery=200_000_000
        ),
        _advanced(400_000_000, paid=1_000_000_000),
        ("approved", []),
    ),
    # Completeness comes first, and a payment needs its acceptance record.
    (
        "a payment without an acceptance record is returned",
        _request(completed_value=10**9, attachments=[_attachment("contract")]),
        _advanced(0),
        ("returned", ["ACCEPTANCE_RECORD_MISSING"]),
    ),
    (
        "no contract is returned before any refusal",
        _request(contract=None, completed_value=0, amount=10**9 - 1),
        _advanced(0),
        ("returned", ["CONTRACT_REQUIRED"]),
    ),
    (
        "a contract not attached is returned",
        _request("advance", attachments=[]),
        _advanced(0),
        ("returned", ["CONTRACT_REQUIRED"]),
    ),
    # Review, on `amount`, after the refusals.
    (
        "an amount at the review threshold is held for review",
        _request(completed_value=2 * 10**9, amount=RULES.review_threshold),
        _advanced(0),
        ("in_review", []),
    ),
]


@pytest.mark.parametrize(
    ("request_", "position", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_rule(
    request_: InvestmentSubmitted, position: Position, expected: tuple[str, list[str]]
) -> None:
    assert _codes(request_, position=position) == expected


def test_a_superseding_dossier_still_incomplete_is_refused_not_returned() -> None:
    r = _request(attachments=[_attachment("contract")], completed_value=10**9)
    assert _codes(r, superseded_returned=True) == ("refused", ["ACCEPTANCE_RECORD_MISSING"])


def test_the_money_leaving_the_plan_is_the_amount_less_the_recovery() -> None:
    r = _request(completed_value=10**9, amount=500_000_000, advance_recovery=200_000_000)
    position = _advanced(400_000_000)
    assert _codes(r, position=position, available=300_000_000) == ("approved", [])
    assert _codes(r, position=position, available=299_999_999) == (
        "refused",
        ["CAPITAL_PLAN_EXCEEDED"],
    )


def test_an_advance_leaves_the_plan_whole() -> None:
    r = _request("advance", amount=300_000_000)
    assert _codes(r, available=300_000_000) == ("approved", [])
    assert _codes(r, available=299_999_999) == ("refused", ["CAPITAL_PLAN_EXCEEDED"])


def test_no_plan_line_is_refused() -> None:
    assert _codes(_request("advance"), available=None) == ("refused", ["CAPITAL_PLAN_UNKNOWN"])


def test_an_advance_ignores_completed_value_and_recovery() -> None:
    r = _request("advance", completed_value=None, advance_recovery=999)
    assert r.plan_amount == r.amount
    assert _codes(r) == ("approved", [])


def test_the_ledger_carries_approvals_into_the_next_decision() -> None:
    advance = _request("advance", amount=800_000_000)
    first = _request(completed_value=2_000_000_000, amount=1_000_000_000 - 1, advance_recovery=0)
    second = _request(
        completed_value=VALUE * 80 // 100,
        amount=900_000_000,
        advance_recovery=800_000_000,
    )
    ledger = InvestmentLedger(lines={plan_key(advance): LineState(2_000_000_000, 0)})
    for r in (advance, first, second):
        decision = ledger.decide(r, superseded_returned=False, rules=RULES)
        ledger.take(r, decision)
    key = position_key(advance)
    assert key is not None
    assert ledger.positions[key] == Position(
        value=VALUE,
        advanced=800_000_000,
        recovered=800_000_000,
        paid=1_899_999_999,
        last_completed_value=VALUE * 80 // 100,
    )
    assert ledger.lines[plan_key(advance)].committed == 800_000_000 + 999_999_999 + 100_000_000


def test_the_ledger_refuses_what_the_plan_cannot_hold_after_earlier_approvals() -> None:
    r = _request("advance", amount=100_000_000)
    ledger = InvestmentLedger(lines={plan_key(r): LineState(250_000_000, 0)})
    outcomes = []
    for _ in range(3):
        decision = ledger.decide(r, superseded_returned=False, rules=RULES)
        ledger.take(r, decision)
        outcomes.append(decision.status)
    assert outcomes == ["approved", "approved", "refused"]
    assert dict(ledger.plan_deltas) == {plan_key(r): 200_000_000}


def test_the_limits_are_configuration() -> None:
    rules = ControlSettings(
        investment_advance_max_percent=30,
        investment_guarantee_threshold_vnd=5,
        investment_recovery_full_percent=70,
        review_threshold_vnd=7,
    ).investment_rules()
    assert rules == InvestmentRules(
        advance_max_percent=30, guarantee_threshold=5, recovery_full_percent=70, review_threshold=7
    )


def test_the_documented_capital_plan_and_request_parse_with_their_bounds() -> None:
    plan = CapitalPlanRecorded.model_validate(
        {
            "plan_id": "KHV-2026-0011-000007",
            "unit_code": PROJECT,
            "fiscal_year": 2026,
            "source_code": "14",
            "kind": "initial",
            "amount": 12_000_000_000,
        }
    )
    assert plan.amount == 12_000_000_000
    r = _request(
        completed_value=5_000_000_000, amount=3_000_000_000, advance_recovery=1_200_000_000
    )
    assert r.plan_amount == 1_800_000_000
    with pytest.raises(ValidationError, match=r"contract\.number"):
        _request(contract={**CONTRACT, "number": "9" * (bounds.MAX_NUMBER_CHARS + 1)})
    with pytest.raises(ValidationError, match="amount"):
        _request(amount=bounds.MAX_AMOUNT_VND + 1)
    with pytest.raises(ValidationError, match="attachments"):
        _request(attachments=[_attachment("contract")] * (bounds.MAX_ATTACHMENTS + 1))
