"""Investment capital through the real pipeline: a project registers, receives its capital
plan, takes an advance, is paid with recoveries; and every reason of the scheme is produced
by a real submission."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from urllib.parse import quote

import httpx
import pytest

from shared.contract import AllocationKind, AttachmentKind, Contract, Envelope
from shared.contract.deadlines import WorkingCalendar, investment_deadline
from testkit import Testbed, UnitKit, new_contract
from testkit.investment import capital_plan, investment_request
from tests.control.conftest import Pipeline
from tests.support import API_KEY, Producer, TopicLog, staff_token

TERMINAL = {"approved", "refused", "returned", "rejected", "in_review"}
BILLION = 1_000_000_000


async def _outcome(
    pipeline: Pipeline, status: TopicLog, producer: Producer, envelope: Envelope
) -> dict[str, Any]:
    await pipeline.send(envelope, producer)
    events = await status.statuses(envelope.payload["dossier_id"], TERMINAL)
    return events[-1]


async def _plan(
    pipeline: Pipeline, status: TopicLog, producer: Producer, envelope: Envelope
) -> dict[str, Any]:
    await pipeline.send(envelope, producer)
    events = await status.statuses(envelope.payload["plan_id"], {"approved", "refused"})
    return events[-1]


async def _get(pipeline: Pipeline, service: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=pipeline.services[service].url) as http:
        return await http.get(path, headers={"X-API-Key": API_KEY})


def _contract(project: UnitKit, value: int) -> Contract:
    contract = new_contract(project, value=value, on=dt.date.today())
    # Contract numbers of works carry slashes: the route must take them whole.
    return contract.model_copy(update={"number": f"{project.ids.digits(4)}/2026/HĐXD"})


async def test_a_project_is_planned_advanced_and_paid_and_its_books_read_back_exactly(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    project = bed.unit(project=True)
    await pipeline.register(project, status, producer, allocate=None)
    plan = capital_plan(project, source_code="14", amount=5 * BILLION)
    recorded = await _plan(pipeline, status, producer, plan)
    assert (recorded["status"], recorded["dossier_kind"]) == ("approved", "capital_plan")
    contract = _contract(project, 2 * BILLION)
    steps = [
        investment_request(project, "advance", contract=contract, amount=600_000_000),
        investment_request(
            project,
            "payment",
            contract=contract,
            amount=700_000_000,
            completed_value=800_000_000,
            advance_recovery=300_000_000,
        ),
        investment_request(
            project,
            "payment",
            contract=contract,
            amount=800_000_000,
            completed_value=1_600_000_000,
            advance_recovery=300_000_000,
        ),
    ]
    for step in steps:
        final = await _outcome(pipeline, status, producer, step)
        events = status.by_dossier[step.payload["dossier_id"]]
        assert [(e["status"], e["dossier_kind"]) for e in events] == [
            ("received", "investment"),
            ("approved", "investment"),
        ], final
    number = contract.number
    for path in (number, quote(number, safe="")):
        answer = await _get(pipeline, "control", f"/contracts/{project.code}/{path}")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "unit_code": project.code,
            "contract_number": number,
            "value": 2 * BILLION,
            "advanced": 600_000_000,
            "recovered": 600_000_000,
            "open_advance": 0,
            "paid": 1_500_000_000,
            "last_completed_value": 1_600_000_000,
        }
    assert await pipeline.budget(project.code) == [
        {
            "kind": "capital_plan",
            "fiscal_year": plan.payload["fiscal_year"],
            "source_code": "14",
            "allocated": 5 * BILLION,
            "committed": 600_000_000 + 400_000_000 + 500_000_000,
            "available": 5 * BILLION - 1_500_000_000,
        }
    ]
    missing = await _get(pipeline, "control", f"/contracts/{project.code}/99/2026/HĐXD")
    assert missing.status_code == 404


async def test_an_advance_is_due_in_one_working_day_and_a_payment_in_two(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    project = bed.unit(project=True)
    await pipeline.register(project, status, producer, allocate=None)
    await _plan(pipeline, status, producer, capital_plan(project, source_code="14", amount=BILLION))
    contract = _contract(project, BILLION)
    kinds: list[tuple[Literal["advance", "payment"], bool]] = [
        ("advance", True),
        ("payment", False),
    ]
    for kind, advance in kinds:
        request = investment_request(project, kind, contract=contract, amount=10_000_000)
        await _outcome(pipeline, status, producer, request)
        answer = await _get(pipeline, "vouchers", f"/vouchers/{request.payload['dossier_id']}")
        view = answer.json()
        received_at = dt.datetime.fromisoformat(view["received_at"])
        expected = investment_deadline(received_at, advance=advance, calendar=WorkingCalendar())
        assert dt.datetime.fromisoformat(view["deadline"]) == expected
        assert (view["dossier_kind"], view["total_amount"]) == ("investment", 10_000_000)


@pytest.fixture(scope="module")
async def reasons_project(bed: Testbed, pipeline: Pipeline) -> UnitKit:
    """A project with a plan of 3 billion on source 14 and 100 million on source 16."""
    project = bed.unit(project=True)
    async with (
        Producer(pipeline.stack.kafka_bootstrap_servers) as producer,
        TopicLog(pipeline.stack.kafka_bootstrap_servers, pipeline.ns.topics.status) as status,
    ):
        await pipeline.register(project, status, producer, allocate=None)
        for source, amount in (("14", 3 * BILLION), ("16", 100_000_000)):
            plan = capital_plan(project, source_code=source, amount=amount)
            assert (await _plan(pipeline, status, producer, plan))["status"] == "approved"
    return project


def _cases(project: UnitKit) -> dict[str, tuple[list[Envelope], str]]:
    """For each reason: the requests to send (the last one is judged) and its status."""

    def c(value: int = BILLION) -> Contract:
        return _contract(project, value)

    def ask(kind: Any, contract: Contract | None, amount: int, **o: Any) -> Envelope:
        return investment_request(project, kind, contract=contract, amount=amount, **o)

    advanced = c()
    return {
        "CONTRACT_REQUIRED": ([ask("payment", None, 100_000_000)], "returned"),
        "ATTACHMENT_MISSING": ([ask("advance", c(10 * BILLION), BILLION + 1)], "returned"),
        "ACCEPTANCE_RECORD_MISSING": (
            [ask("payment", c(), 100_000_000, attachments=(AttachmentKind.CONTRACT,))],
            "returned",
        ),
        "ADVANCE_LIMIT_EXCEEDED": ([ask("advance", c(), BILLION // 2 + 1)], "refused"),
        "COMPLETED_VALUE_EXCEEDED": (
            [ask("payment", c(), 500_000_000, completed_value=400_000_000)],
            "refused",
        ),
        "CONTRACT_EXCEEDED": (
            [ask("payment", c(), 1_100_000_000, completed_value=2 * BILLION)],
            "refused",
        ),
        "ADVANCE_EXCEEDED": (
            [ask("payment", c(), 300_000_000, advance_recovery=100_000_000)],
            "refused",
        ),
        "ADVANCE_RECOVERY_INSUFFICIENT": (
            [
                ask("advance", advanced, 200_000_000),
                ask(
                    "payment",
                    advanced,
                    300_000_000,
                    completed_value=850_000_000,
                    advance_recovery=100_000_000,
                ),
            ],
            "refused",
        ),
        "CAPITAL_PLAN_EXCEEDED": (
            [ask("advance", c(), 200_000_000, source_code="16")],
            "refused",
        ),
        "CAPITAL_PLAN_UNKNOWN": ([ask("advance", c(), 100_000_000, source_code="12")], "refused"),
    }


@pytest.mark.parametrize(
    "code",
    [
        "CONTRACT_REQUIRED",
        "ATTACHMENT_MISSING",
        "ACCEPTANCE_RECORD_MISSING",
        "ADVANCE_LIMIT_EXCEEDED",
        "COMPLETED_VALUE_EXCEEDED",
        "CONTRACT_EXCEEDED",
        "ADVANCE_EXCEEDED",
        "ADVANCE_RECOVERY_INSUFFICIENT",
        "CAPITAL_PLAN_EXCEEDED",
        "CAPITAL_PLAN_UNKNOWN",
    ],
)
async def test_each_reason_of_the_scheme_comes_from_a_real_submission(
    code: str,
    reasons_project: UnitKit,
    pipeline: Pipeline,
    status: TopicLog,
    producer: Producer,
) -> None:
    requests, expected = _cases(reasons_project)[code]
    for earlier in requests[:-1]:
        assert (await _outcome(pipeline, status, producer, earlier))["status"] == "approved"
    final = await _outcome(pipeline, status, producer, requests[-1])
    assert (final["status"], [r["code"] for r in final["reasons"]]) == (expected, [code])
    assert final["dossier_kind"] == "investment"


async def test_a_plan_reduced_below_what_is_paid_is_refused_and_changes_nothing(
    reasons_project: UnitKit, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    project = reasons_project
    contract = _contract(project, BILLION)
    advance = investment_request(
        project, "advance", contract=contract, amount=60_000_000, source_code="16"
    )
    assert (await _outcome(pipeline, status, producer, advance))["status"] == "approved"
    before = [line for line in await pipeline.budget(project.code) if line["source_code"] == "16"]
    reduction = capital_plan(
        project, source_code="16", amount=50_000_000, kind=AllocationKind.REDUCTION
    )
    answer = await _plan(pipeline, status, producer, reduction)
    assert (answer["status"], [r["code"] for r in answer["reasons"]]) == (
        "refused",
        ["ALLOCATION_BELOW_COMMITTED"],
    )
    after = [line for line in await pipeline.budget(project.code) if line["source_code"] == "16"]
    assert after == before
    assert before[0]["committed"] == 60_000_000


async def test_an_investment_request_passes_the_voucher_intake_checks(
    reasons_project: UnitKit, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    project = reasons_project
    contract = _contract(project, BILLION)
    unsigned = investment_request(
        project, "advance", contract=contract, amount=10_000_000, signed_by=()
    )
    final = await _outcome(pipeline, status, producer, unsigned)
    assert final["status"] == "rejected"
    assert {r["code"] for r in final["reasons"]} == {"SIGNATURE_MISSING"}
    first = investment_request(project, "advance", contract=contract, amount=10_000_000)
    assert (await _outcome(pipeline, status, producer, first))["status"] == "approved"
    changed = investment_request(
        project,
        "advance",
        contract=contract,
        amount=20_000_000,
        dossier_id=first.payload["dossier_id"],
    )
    await pipeline.send(changed, producer)
    events = await status.statuses(first.payload["dossier_id"], {"rejected"})
    assert [(e["status"], e["sequence"]) for e in events] == [
        ("received", 1),
        ("approved", 2),
        ("rejected", 3),
    ]
    assert events[-1]["reasons"][0]["code"] == "DUPLICATE_MODIFIED"


async def test_a_large_advance_waits_for_an_officer_whose_approval_checks_the_money_again(
    reasons_project: UnitKit, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    project = reasons_project
    contract = _contract(project, 4 * BILLION)
    guaranteed = (AttachmentKind.CONTRACT, AttachmentKind.GUARANTEE)
    held = [
        investment_request(
            project, "advance", contract=contract, amount=BILLION + n, attachments=guaranteed
        )
        for n in (0, 1)
    ]
    for request in held:
        assert (await _outcome(pipeline, status, producer, request))["status"] == "in_review"
    # Each fits the 50% limit alone; once the first is approved, the second passes it.
    headers = {"Authorization": f"Bearer {staff_token(project.treasury_code, 'head')}"}
    outcomes = []
    async with httpx.AsyncClient(base_url=pipeline.services["control"].url) as http:
        for request in held:
            answer = await http.post(
                f"/reviews/{request.payload['dossier_id']}/decision",
                json={"decision": "approve"},
                headers=headers,
            )
            assert answer.status_code == 200, answer.text
            outcomes.append(answer.json()["status"])
    assert outcomes == ["approved", "refused"]
    final = (await status.statuses(held[1].payload["dossier_id"], {"refused"}))[-1]
    assert [r["code"] for r in final["reasons"]] == ["ADVANCE_LIMIT_EXCEEDED"]
    answer = await _get(pipeline, "control", f"/contracts/{project.code}/{contract.number}")
    assert (answer.json()["advanced"], answer.json()["open_advance"]) == (BILLION, BILLION)
