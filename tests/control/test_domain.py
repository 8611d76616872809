"""The budget arithmetic of spending control, under any sequence of events (no I/O)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.control.domain import ControlRules, Ledger, LineKey, LineState, line_key
from shared.contract import VoucherSubmitted

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
