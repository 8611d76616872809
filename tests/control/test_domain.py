"""Spending control's rules, table by table, and its budget arithmetic under any sequence of
events (no I/O: runs in `make test-fast`)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.control.config import ControlSettings
from services.control.domain import (
    AdvanceState,
    ControlRules,
    LineKey,
    LineState,
    line_key,
)
from services.control.ledger import Ledger
from shared.contract import VoucherSubmitted

pytestmark = pytest.mark.fast

UNIT = "1012345"
LINES = (("072", "13"), ("073", "12"), ("081", "14"))
RULES = ControlRules()
BASE: dict[str, Any] = {
    "form": "C2-02a/NS",
    "voucher_no": "1",
    "voucher_date": "2026-12-28",
    "fiscal_year": 2026,
    "unit_code": UNIT,
    "treasury_code": "0011",
    "account_no": f"9523.2.{UNIT}",
    "chapter": "422",
    "spending_type": "actual",
    "payment_method": "transfer",
    "payee": {"name": "Công ty ABC", "account_no": "0011000123456", "bank_code": "01201001"},
    "attachments": [{"kind": "invoice", "name": "hd.pdf", "sha256": "0" * 64, "size": 1}],
}


def _voucher(
    n: int, parts: list[tuple[int, int]], *, spending: str = "actual", settles: str | None = None
) -> VoucherSubmitted:
    lines = [
        {
            "description": "Chi",
            "economic_code": "6551",
            "sector_code": LINES[i][0],
            "source_code": LINES[i][1],
            "amount": amount,
        }
        for i, amount in parts
    ]
    return VoucherSubmitted.model_validate(
        {
            **BASE,
            "dossier_id": f"CT-0011-2026-{n:08d}",
            "lines": lines,
            "total_amount": sum(a for _, a in parts),
            "spending_type": spending,
            "form": "C2-03/NS" if settles else "C2-02a/NS",
            "advance_dossier_id": settles,
        }
    )


def _key(i: int) -> LineKey:
    return line_key(_voucher(0, [(0, 1)]), *LINES[i])


amounts = st.integers(min_value=1, max_value=40).map(lambda m: m * 1_000_000)
events = st.one_of(
    st.tuples(st.just("allocate"), st.integers(0, 2), amounts),
    st.tuples(st.just("reduce"), st.integers(0, 2), amounts),
    st.tuples(
        st.just("voucher"),
        st.sampled_from(["actual", "advance"]),
        st.lists(st.tuples(st.integers(0, 2), amounts), min_size=1, max_size=3),
    ),
    st.tuples(st.just("settle"), st.integers(0, 5), amounts),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(events, max_size=60))
def test_committed_never_exceeds_allocated_and_the_books_balance(
    history: list[tuple[Any, ...]],
) -> None:
    ledger = Ledger()
    approved_spending = 0
    approved_settlements = 0
    advances: list[str] = []
    for n, event in enumerate(history, start=1):
        kind = event[0]
        if kind in ("allocate", "reduce"):
            key, amount = _key(event[1]), event[2]
            state = ledger.lines.setdefault(key, LineState(0, 0))
            delta = amount if kind == "allocate" else -amount
            if state.allocated + delta >= state.committed:
                state.allocated += delta
            continue
        if kind == "voucher":
            v = _voucher(n, event[2], spending=event[1])
        else:
            target = advances[event[1] % len(advances)] if advances else "CT-0011-2026-99999999"
            v = _voucher(n, [(0, event[2])], settles=target)
        decision = ledger.decide(v, superseded_returned=False, rules=RULES)
        ledger.take(v, decision)
        if decision.status == "approved":
            if v.advance_dossier_id:
                approved_settlements += v.total_amount
            else:
                approved_spending += v.total_amount
                if v.spending_type.value == "advance":
                    advances.append(v.dossier_id)
        for state in ledger.lines.values():
            assert 0 <= state.committed <= state.allocated
        for advance in ledger.advances.values():
            assert 0 <= advance.settled <= advance.amount
    committed = {key: 0 for key in ledger.lines}
    for _, key, amount in ledger.commitments:
        committed[key] += amount
    assert committed == {key: s.committed for key, s in ledger.lines.items()}
    assert sum(committed.values()) == approved_spending
    assert sum(a.settled for a in ledger.advances.values()) == approved_settlements


def test_a_settlement_does_not_commit_and_cannot_pass_the_open_advance() -> None:
    ledger = Ledger(lines={_key(0): LineState(100_000_000, 0)})
    advance = _voucher(1, [(0, 30_000_000)], spending="advance")
    ledger.take(advance, ledger.decide(advance, superseded_returned=False, rules=RULES))
    settle = _voucher(2, [(0, 30_000_000)], settles=advance.dossier_id)
    done = ledger.decide(settle, superseded_returned=False, rules=RULES)
    ledger.take(settle, done)
    again = ledger.decide(
        _voucher(3, [(0, 1_000_000)], settles=advance.dossier_id),
        superseded_returned=False,
        rules=RULES,
    )
    assert done.status == "approved"
    assert ledger.lines[_key(0)].committed == 30_000_000
    assert (again.status, again.reasons[0].code) == ("refused", "ADVANCE_EXCEEDED")


# The outcomes of spending control, one row each. Lines 0 and 1 hold 100 million VND,
# 70 million of line 0 already committed; the unit has an approved advance of 30 million,
# 10 million of it settled; its contract 15/2026 (value 240 million) has 200 million paid.
ADVANCE_ID = "CT-0011-2026-00000001"
CONTRACT: dict[str, Any] = {
    "number": "15/2026/HĐ",
    "date": "2026-03-02",
    "value": 240_000_000,
    "counterparty": "X",
}
INVOICE = {"kind": "invoice", "name": "hd.pdf", "sha256": "0" * 64, "size": 1}
CONTRACT_FILE = {**INVOICE, "kind": "contract"}
ACCEPTANCE = {**INVOICE, "kind": "acceptance_record"}
COMPLETE = [CONTRACT_FILE, ACCEPTANCE]


def _ledger() -> Ledger:
    return Ledger(
        lines={_key(0): LineState(100_000_000, 70_000_000), _key(1): LineState(100_000_000, 0)},
        advances={ADVANCE_ID: AdvanceState(ADVANCE_ID, UNIT, 30_000_000, 10_000_000)},
        contracts={(UNIT, CONTRACT["number"], CONTRACT["date"]): 200_000_000},
    )


def _case(
    amount: int = 10_000_000, *, line: int = 0, economic: str = "6551", **changes: Any
) -> VoucherSubmitted:
    payload: dict[str, Any] = {
        **BASE,
        "dossier_id": "CT-0011-2026-00000099",
        "lines": [
            {
                "description": "Chi",
                "economic_code": economic,
                "sector_code": LINES[line][0],
                "source_code": LINES[line][1],
                "amount": amount,
            }
        ],
        "total_amount": amount,
        **changes,
    }
    if payload["payment_method"] == "cash":
        payload["payee"] = None
        payload["cash_recipient"] = {"full_name": "Nguyễn Văn A", "id_number": "012345678901"}
    return VoucherSubmitted.model_validate(payload)


def _cash(amount: int, economic: str = "6001", **changes: Any) -> VoucherSubmitted:
    return _case(amount, economic=economic, payment_method="cash", **changes)


def _settlement(amount: int, advance: str = ADVANCE_ID, **changes: Any) -> VoucherSubmitted:
    return _case(amount, form="C2-03/NS", advance_dossier_id=advance, **changes)


def _under_contract(amount: int, *files: dict[str, Any], **changes: Any) -> VoucherSubmitted:
    return _case(amount, **{"contract": CONTRACT, "attachments": list(files), **changes})


OUTCOMES: list[tuple[str, VoucherSubmitted, str, set[str]]] = [
    ("small transfer within the line", _case(), "approved", set()),
    ("exactly what the line has left", _case(30_000_000), "approved", set()),
    ("one đồng above what is left", _case(30_000_001), "refused", {"BUDGET_EXCEEDED"}),
    ("a line never allocated", _case(line=2), "refused", {"BUDGET_LINE_UNKNOWN"}),
    ("50 million without a contract", _case(50_000_000, line=1), "approved", set()),
    (
        "above 50 million without a contract",
        _case(50_000_001, line=1),
        "returned",
        {"CONTRACT_REQUIRED"},
    ),
    (
        "a contract but not its attachment",
        _under_contract(51_000_000, ACCEPTANCE, line=1),
        "returned",
        {"CONTRACT_REQUIRED"},
    ),
    (
        "actual payment under a contract without acceptance record",
        _under_contract(20_000_000, CONTRACT_FILE),
        "returned",
        {"ACCEPTANCE_RECORD_MISSING"},
    ),
    (
        "above the threshold, no contract file nor acceptance record",
        _under_contract(51_000_000, line=1),
        "returned",
        {"CONTRACT_REQUIRED", "ACCEPTANCE_RECORD_MISSING"},
    ),
    (
        "an advance under a contract needs no acceptance record",
        _under_contract(20_000_000, CONTRACT_FILE, spending_type="advance"),
        "approved",
        set(),
    ),
    (
        "payments up to the contract value",
        _under_contract(40_000_000, *COMPLETE, line=1),
        "approved",
        set(),
    ),
    (
        "payments beyond the contract value",
        _under_contract(40_000_001, *COMPLETE, line=1),
        "refused",
        {"CONTRACT_EXCEEDED"},
    ),
    (
        "another contract of the unit starts from nothing paid",
        _under_contract(60_000_000, *COMPLETE, line=1, contract={**CONTRACT, "number": "16/2026"}),
        "approved",
        set(),
    ),
    ("cash for salaries (6001)", _cash(5_000_000, "6001"), "approved", set()),
    ("cash under item 6400 (6401)", _cash(5_000_000, "6401"), "approved", set()),
    ("cash for office supplies (6551)", _cash(5_000_000, "6551"), "refused", {"CASH_NOT_ALLOWED"}),
    ("cash under item 6450", _cash(5_000_000, "6451"), "refused", {"CASH_NOT_ALLOWED"}),
    ("cash under item 5990", _cash(5_000_000, "5991"), "refused", {"CASH_NOT_ALLOWED"}),
    ("settlement within the open advance", _settlement(20_000_000), "approved", set()),
    (
        "settlement above the open advance",
        _settlement(20_000_001),
        "refused",
        {"ADVANCE_EXCEEDED"},
    ),
    (
        "settlement of an unknown advance",
        _settlement(1_000_000, "CT-0011-2026-00000077"),
        "refused",
        {"ADVANCE_NOT_FOUND"},
    ),
    (
        "settlement without its invoice",
        _settlement(1_000_000, attachments=[]),
        "returned",
        {"ATTACHMENT_MISSING"},
    ),
    (
        "a settlement needs no budget left: it committed as an advance",
        _settlement(5_000_000, line=2),
        "approved",
        set(),
    ),
    (
        "incomplete comes before refused",
        _case(70_000_000, line=2),
        "returned",
        {"CONTRACT_REQUIRED"},
    ),
    (
        "every refusal is reported together",
        _cash(10_000_000, "6551", line=2),
        "refused",
        {"CASH_NOT_ALLOWED", "BUDGET_LINE_UNKNOWN"},
    ),
]


@pytest.mark.parametrize(
    ("v", "status", "codes"), [c[1:] for c in OUTCOMES], ids=[c[0] for c in OUTCOMES]
)
def test_each_control_outcome_and_its_reasons(
    v: VoucherSubmitted, status: str, codes: set[str]
) -> None:
    decision = _ledger().decide(v, superseded_returned=False, rules=RULES)
    assert (decision.status, {r.code for r in decision.reasons}) == (status, codes)


def _roomy() -> Ledger:
    return Ledger(lines={_key(0): LineState(5_000_000_000, 0)})


CASH = {"payment_method": "cash", "economic": "6001"}


def _big(amount: int, **changes: Any) -> VoucherSubmitted:
    contract = {**CONTRACT, "value": 5_000_000_000}
    return _case(amount, **{"contract": contract, "attachments": COMPLETE, **changes})


REVIEWS: list[tuple[str, VoucherSubmitted, ControlRules, str]] = [
    ("just below 1 billion", _big(999_999_999), RULES, "approved"),
    ("1 billion", _big(1_000_000_000), RULES, "in_review"),
    ("above 1 billion", _big(1_200_000_000), RULES, "in_review"),
    ("cash just below 100 million", _big(99_999_999, **CASH), RULES, "approved"),
    ("cash of 100 million", _big(100_000_000, **CASH), RULES, "in_review"),
    ("a transfer of 100 million", _big(100_000_000), RULES, "approved"),
    (
        "a lower threshold",
        _big(300_000_000),
        ControlRules(review_threshold=300_000_000),
        "in_review",
    ),
    (
        "a higher cash threshold",
        _big(150_000_000, **CASH),
        ControlRules(cash_review_threshold=200_000_000),
        "approved",
    ),
    (
        "a higher contract threshold",
        _case(80_000_000, attachments=[]),
        ControlRules(contract_threshold=100_000_000),
        "approved",
    ),
    (
        "the contract threshold is configuration",
        _case(20_000_000, attachments=[]),
        ControlRules(contract_threshold=10_000_000),
        "returned",
    ),
    (
        "required attachments are configuration",
        _case(1_000_000, attachments=[]),
        ControlRules(required_attachments={"C2-02a/NS": frozenset({"payee_list"})}),
        "returned",
    ),
    (
        "cash items are configuration",
        _case(1_000_000, payment_method="cash", economic="6551"),
        ControlRules(cash_items=(6500, 6550)),
        "approved",
    ),
    (
        "refused before review",
        _big(1_000_000_000, payment_method="cash", economic="6551"),
        RULES,
        "refused",
    ),
]


@pytest.mark.parametrize(
    ("v", "rules", "status"), [c[1:] for c in REVIEWS], ids=[c[0] for c in REVIEWS]
)
def test_thresholds_and_lists_come_from_configuration(
    v: VoucherSubmitted, rules: ControlRules, status: str
) -> None:
    assert _roomy().decide(v, superseded_returned=False, rules=rules).status == status


@pytest.mark.parametrize(
    ("v", "status", "codes"),
    [
        (_case(50_000_001, line=1), "refused", {"CONTRACT_REQUIRED"}),
        (_under_contract(20_000_000, CONTRACT_FILE), "refused", {"ACCEPTANCE_RECORD_MISSING"}),
        (_settlement(1_000_000, attachments=[]), "refused", {"ATTACHMENT_MISSING"}),
        (_case(), "approved", set()),
        (_case(30_000_001), "refused", {"BUDGET_EXCEEDED"}),
    ],
    ids=["no contract", "no acceptance record", "no invoice", "complete now", "over budget"],
)
def test_additions_are_asked_for_only_once(
    v: VoucherSubmitted, status: str, codes: set[str]
) -> None:
    """A dossier superseding a returned one that is still incomplete is refused, not returned."""
    decision = _ledger().decide(v, superseded_returned=True, rules=RULES)
    assert (decision.status, {r.code for r in decision.reasons}) == (status, codes)


@pytest.mark.parametrize(
    ("v", "status"),
    [
        (_big(1_200_000_000), "approved"),
        (_big(1_200_000_000, payment_method="cash", economic="6001"), "approved"),
        (_big(6_000_000_000), "refused"),
        (_case(80_000_000, attachments=[]), "approved"),
    ],
    ids=["held amount", "held cash", "budget gone meanwhile", "officer accepts without contract"],
)
def test_an_officers_approval_rechecks_the_money_not_the_thresholds(
    v: VoucherSubmitted, status: str
) -> None:
    decision = _roomy().decide(v, superseded_returned=False, rules=RULES, by_officer=True)
    assert decision.status == status


def test_an_approval_commits_each_line_its_amount_and_pays_the_contract() -> None:
    v = _under_contract(30_000_000, *COMPLETE, line=1)
    two_lines = v.model_copy(update={"lines": (*v.lines, *_case(5_000_000, line=0).lines)})
    two_lines = two_lines.model_copy(update={"total_amount": 35_000_000})
    decision = _ledger().decide(two_lines, superseded_returned=False, rules=RULES)
    assert decision.status == "approved"
    assert dict(decision.commits) == {_key(1): 30_000_000, _key(0): 5_000_000}
    assert decision.contract_payment == 35_000_000
    assert decision.settles is None


def test_a_settlement_settles_its_advance_and_commits_nothing() -> None:
    decision = _ledger().decide(_settlement(20_000_000), superseded_returned=False, rules=RULES)
    assert (decision.status, dict(decision.commits)) == ("approved", {})
    assert decision.settles == (ADVANCE_ID, 20_000_000)


def test_vouchers_decided_in_one_batch_see_each_others_commitments() -> None:
    ledger = _ledger()
    first, second = _case(20_000_000), _case(20_000_000)
    ledger.take(first, ledger.decide(first, superseded_returned=False, rules=RULES))
    decision = ledger.decide(second, superseded_returned=False, rules=RULES)
    assert (decision.status, decision.reasons[0].code) == ("refused", "BUDGET_EXCEEDED")
    assert ledger.line_deltas == {_key(0): 20_000_000}


def test_an_approved_advance_becomes_settleable_in_the_same_batch() -> None:
    ledger = _ledger()
    advance = _case(20_000_000, spending_type="advance", dossier_id="CT-0011-2026-00000050")
    ledger.take(advance, ledger.decide(advance, superseded_returned=False, rules=RULES))
    settle = _settlement(20_000_000, "CT-0011-2026-00000050")
    assert ledger.decide(settle, superseded_returned=False, rules=RULES).status == "approved"
    assert [a.dossier_id for a in ledger.new_advances] == ["CT-0011-2026-00000050"]


@pytest.mark.parametrize(
    ("items", "attachments", "rules"),
    [
        ("6000-6400", "C2-03/NS:invoice", ((6000, 6400), {"C2-03/NS": {"invoice"}})),
        ("6000", "", ((6000, 6000), {})),
        (
            "6000-6500",
            "C2-03/NS:invoice|payee_list; C2-02a/NS:contract",
            ((6000, 6500), {"C2-03/NS": {"invoice", "payee_list"}, "C2-02a/NS": {"contract"}}),
        ),
    ],
)
def test_settings_give_the_control_rules(
    items: str, attachments: str, rules: tuple[tuple[int, int], dict[str, set[str]]]
) -> None:
    parsed = ControlSettings(cash_allowed_items=items, required_attachments=attachments).rules()
    assert parsed.cash_items == rules[0]
    assert {k: set(v) for k, v in parsed.required_attachments.items()} == rules[1]


@pytest.mark.parametrize(
    ("items", "attachments", "complaint"),
    [
        ("cash", "", "CASH_ALLOWED_ITEMS"),
        ("6000-64OO", "", "CASH_ALLOWED_ITEMS"),
        ("6000-6400", "C2-03/NS", "REQUIRED_ATTACHMENTS"),
    ],
)
def test_settings_that_cannot_be_read_say_which_variable(
    items: str, attachments: str, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        ControlSettings(cash_allowed_items=items, required_attachments=attachments).rules()
