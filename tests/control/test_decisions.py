"""Spending control decisions, each reason, reviews by officers, advances and allocations."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.contract import PaymentMethod, ReasonCode, SpendingType
from shared.contract.enums import AllocationKind
from testkit import CASH_ECONOMIC_CODES, Testbed, invalid_voucher
from tests.control.conftest import Pipeline
from tests.support import Producer, TopicLog, staff_token

TERMINAL = {"approved", "refused", "returned", "rejected"}


async def _outcome(
    pipeline: Pipeline,
    status: TopicLog,
    producer: Producer,
    envelope: Any,
    until: set[str] | None = None,
) -> dict[str, Any]:
    await pipeline.send(envelope, producer)
    events = await status.statuses(envelope.payload["dossier_id"], until or TERMINAL)
    return events[-1]


async def test_a_valid_voucher_is_approved_and_its_amount_committed(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    unit = bed.unit(budget_line_count=1)
    await pipeline.register(unit, status, producer, allocate=200_000_000)
    voucher = unit.voucher(total_amount=12_500_000)
    final = await _outcome(pipeline, status, producer, voucher)
    events = status.by_dossier[voucher.payload["dossier_id"]]
    assert [(e["status"], e["sequence"]) for e in events] == [("received", 1), ("approved", 2)]
    assert final["decided_by"] == "system"
    [line] = await pipeline.budget(unit.code)
    assert (line["allocated"], line["committed"], line["available"]) == (
        200_000_000,
        12_500_000,
        187_500_000,
    )


CONTROL_FAULTS = [
    (ReasonCode.CONTRACT_REQUIRED, "no_contract", "returned"),
    (ReasonCode.CONTRACT_REQUIRED, "no_contract_attachment", "returned"),
    (ReasonCode.ACCEPTANCE_RECORD_MISSING, "actual_under_contract", "returned"),
    (ReasonCode.CASH_NOT_ALLOWED, "office_supplies", "refused"),
    (ReasonCode.BUDGET_LINE_UNKNOWN, "unallocated_line", "refused"),
    (ReasonCode.BUDGET_EXCEEDED, "over_allocation", "refused"),
    (ReasonCode.CONTRACT_EXCEEDED, "cumulative", "refused"),
    (ReasonCode.ADVANCE_NOT_FOUND, "unknown_advance", "refused"),
    (ReasonCode.ADVANCE_EXCEEDED, "over_advance", "refused"),
]


@pytest.mark.parametrize(
    ("kind", "variant", "expected"),
    CONTROL_FAULTS,
    ids=[f"{k.value}-{v}" for k, v, _ in CONTROL_FAULTS],
)
async def test_each_control_reason_returns_or_refuses_the_voucher(
    kind: ReasonCode,
    variant: str,
    expected: str,
    bed: Testbed,
    pipeline: Pipeline,
    status: TopicLog,
    producer: Producer,
) -> None:
    unit = bed.unit()
    await pipeline.register(unit, status, producer)
    faulty = invalid_voucher(unit, kind, variant=variant)
    for prior in faulty.prior:
        if prior.event_type == "allocation.recorded":
            await pipeline.allocate(prior, status, producer)
        else:
            await _outcome(pipeline, status, producer, prior)
    assert faulty.envelope is not None
    final = await _outcome(pipeline, status, producer, faulty.envelope)
    assert final["status"] == expected
    assert kind.value in [r["code"] for r in final["reasons"]]


async def test_a_settlement_without_its_invoice_is_returned_for_the_attachment(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    unit = bed.unit()
    await pipeline.register(unit, status, producer)
    advance = unit.voucher(spending_type=SpendingType.ADVANCE, total_amount=20_000_000)
    assert (await _outcome(pipeline, status, producer, advance))["status"] == "approved"
    settlement = unit.settlement(advance, invoice=False)
    final = await _outcome(pipeline, status, producer, settlement)
    assert final["status"] == "returned"
    assert [r["code"] for r in final["reasons"]] == ["ATTACHMENT_MISSING"]


async def test_a_dossier_is_returned_once_then_refused_if_still_incomplete(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    unit = bed.unit()
    await pipeline.register(unit, status, producer)
    first = unit.voucher(total_amount=80_000_000, contract=False)
    assert (await _outcome(pipeline, status, producer, first))["status"] == "returned"
    again = unit.voucher(
        total_amount=80_000_000, contract=False, supersedes_dossier_id=first.payload["dossier_id"]
    )
    final = await _outcome(pipeline, status, producer, again)
    assert final["status"] == "refused"
    assert [r["code"] for r in final["reasons"]] == ["CONTRACT_REQUIRED"]
    complete = unit.voucher(
        total_amount=80_000_000, supersedes_dossier_id=first.payload["dossier_id"]
    )
    assert (await _outcome(pipeline, status, producer, complete))["status"] == "approved"


async def test_an_advance_commits_and_its_settlement_does_not_commit_again(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    unit = bed.unit(budget_line_count=1)
    await pipeline.register(unit, status, producer, allocate=100_000_000)
    advance = unit.voucher(spending_type=SpendingType.ADVANCE, total_amount=30_000_000)
    assert (await _outcome(pipeline, status, producer, advance))["status"] == "approved"
    [line] = await pipeline.budget(unit.code)
    assert line["committed"] == 30_000_000
    part = unit.settlement(advance, amount=20_000_000)
    assert (await _outcome(pipeline, status, producer, part))["status"] == "approved"
    rest = unit.settlement(advance, amount=10_000_000)
    assert (await _outcome(pipeline, status, producer, rest))["status"] == "approved"
    [line] = await pipeline.budget(unit.code)
    assert line["committed"] == 30_000_000
    beyond = unit.settlement(advance, amount=1_000_000)
    final = await _outcome(pipeline, status, producer, beyond)
    assert [r["code"] for r in final["reasons"]] == ["ADVANCE_EXCEEDED"]
    assert pipeline.query(
        "SELECT amount, settled FROM control.advances WHERE dossier_id = %s",
        advance.payload["dossier_id"],
    ) == [(30_000_000, 30_000_000)]


async def test_a_reduction_below_what_is_committed_is_refused_and_changes_nothing(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    unit = bed.unit(budget_line_count=1)
    await pipeline.register(unit, status, producer, allocate=100_000_000)
    line = unit.budget_lines[0]
    spent = unit.voucher(total_amount=40_000_000, contract=True)
    assert (await _outcome(pipeline, status, producer, spent))["status"] == "approved"
    supplement = unit.allocation(line, amount=50_000_000, kind=AllocationKind.SUPPLEMENT)
    assert (await pipeline.allocate(supplement, status, producer))["status"] == "approved"
    too_much = unit.allocation(line, amount=120_000_000, kind=AllocationKind.REDUCTION)
    refused = await pipeline.allocate(too_much, status, producer)
    assert refused["status"] == "refused"
    assert refused["dossier_kind"] == "allocation"
    assert [r["code"] for r in refused["reasons"]] == ["ALLOCATION_BELOW_COMMITTED"]
    fits = unit.allocation(line, amount=110_000_000, kind=AllocationKind.REDUCTION)
    assert (await pipeline.allocate(fits, status, producer))["status"] == "approved"
    [state] = await pipeline.budget(unit.code)
    assert (state["allocated"], state["committed"]) == (40_000_000, 40_000_000)


async def test_large_vouchers_wait_for_an_officer_of_their_office(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    unit = bed.unit(budget_line_count=1, treasury_code="0077")
    await pipeline.register(unit, status, producer, allocate=3_000_000_000)
    big = unit.voucher(total_amount=1_200_000_000)
    cash = unit.voucher(
        total_amount=150_000_000,
        payment_method=PaymentMethod.CASH,
        economic_codes=tuple(CASH_ECONOMIC_CODES),
        contract=True,
    )
    small_cash = unit.voucher(
        total_amount=20_000_000,
        payment_method=PaymentMethod.CASH,
        economic_codes=tuple(CASH_ECONOMIC_CODES),
    )
    for voucher in (big, cash):
        held = await _outcome(pipeline, status, producer, voucher, {"in_review"})
        assert held["sequence"] == 2
    assert (await _outcome(pipeline, status, producer, small_cash))["status"] == "approved"
    control = pipeline.services["control"].url
    office = {"Authorization": f"Bearer {staff_token('0077')}"}
    elsewhere = {"Authorization": f"Bearer {staff_token('0078')}"}
    ops = {"Authorization": f"Bearer {staff_token('0077', 'ops')}"}
    big_id, cash_id = big.payload["dossier_id"], cash.payload["dossier_id"]
    async with httpx.AsyncClient(base_url=control) as http:
        queue = (await http.get("/reviews", headers=office)).json()
        anonymous = await http.post(f"/reviews/{big_id}/decision", json={"decision": "approve"})
        foreign = await http.post(
            f"/reviews/{big_id}/decision", json={"decision": "approve"}, headers=elsewhere
        )
        by_ops = await http.post(
            f"/reviews/{big_id}/decision", json={"decision": "approve"}, headers=ops
        )
        approved = await http.post(
            f"/reviews/{big_id}/decision", json={"decision": "approve"}, headers=office
        )
        again = await http.post(
            f"/reviews/{big_id}/decision", json={"decision": "approve"}, headers=office
        )
        returned = await http.post(
            f"/reviews/{cash_id}/decision",
            headers=office,
            json={
                "decision": "return",
                "reasons": [
                    {
                        "code": "CASH_WITHDRAWAL_NOT_REGISTERED",
                        "message": "Chưa đăng ký rút tiền mặt trước một ngày",
                    }
                ],
            },
        )
    assert [q["dossier_id"] for q in queue] == [big_id, cash_id]
    # Another office's voucher is not shown to exist (404); a role that cannot decide: 403.
    assert (anonymous.status_code, foreign.status_code, by_ops.status_code) == (401, 404, 403)
    assert approved.json()["status"] == "approved"
    assert again.status_code == 409
    assert returned.json()["status"] == "returned"
    final = (await status.statuses(big_id, {"approved"}))[-1]
    assert (final["sequence"], final["decided_by"]) == (3, "kbnn.0077.controller")
    assert (await status.statuses(cash_id, {"returned"}))[-1]["reasons"][0]["code"] == (
        "CASH_WITHDRAWAL_NOT_REGISTERED"
    )
    [line] = await pipeline.budget(unit.code)
    assert line["committed"] == 1_220_000_000


async def test_an_officers_approval_rechecks_the_budget_at_decision_time(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    unit = bed.unit(budget_line_count=1)
    await pipeline.register(unit, status, producer, allocate=1_500_000_000)
    first, second = (unit.voucher(total_amount=1_000_000_000) for _ in range(2))
    for voucher in (first, second):
        await _outcome(pipeline, status, producer, voucher, {"in_review"})
    office = {"Authorization": f"Bearer {staff_token(unit.treasury_code, 'head')}"}
    async with httpx.AsyncClient(base_url=pipeline.services["control"].url) as http:
        one = await http.post(
            f"/reviews/{first.payload['dossier_id']}/decision",
            json={"decision": "approve"},
            headers=office,
        )
        two = await http.post(
            f"/reviews/{second.payload['dossier_id']}/decision",
            json={"decision": "approve"},
            headers=office,
        )
    assert one.json()["status"] == "approved"
    assert two.json()["status"] == "refused"
    final = (await status.statuses(second.payload["dossier_id"], {"refused"}))[-1]
    assert [r["code"] for r in final["reasons"]] == ["BUDGET_EXCEEDED"]
    [line] = await pipeline.budget(unit.code)
    assert line["committed"] == 1_000_000_000
