"""No interleaving or redelivery ever pays a capital plan line above its amount, or a
contract above its value."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from shared.contract import Contract, Envelope, make_envelope, to_json_dict
from shared.contract.internal import VOUCHER_RECEIVED, VoucherReceived
from testkit import ICT, Testbed, UnitKit, new_contract
from testkit.investment import build_investment, capital_plan
from tests.control.conftest import WORKERS, batches, both_workers_consuming
from tests.support import Pipeline, Producer, TopicLog, poll, topic_size

PRICE = 50_000_000


def _received(project: UnitKit, contract: Contract, at: dt.datetime) -> Envelope:
    """A payment as the vouchers service hands it to control (signatures already checked)."""
    request = to_json_dict(
        build_investment(
            project,
            "payment",
            contract=contract,
            amount=PRICE,
            when=at,
            completed_value=contract.value,
        )
    )
    handed = VoucherReceived(
        dossier_id=request["dossier_id"],
        unit_code=project.code,
        treasury_code=project.treasury_code,
        received_at=at,
        deadline=at + dt.timedelta(days=2),
        voucher=request,
        dossier_kind="investment",
    )
    return make_envelope(
        handed.model_dump(mode="json"),
        event_type=VOUCHER_RECEIVED,
        event_id=project.ids.event_id(),
        occurred_at=at,
        source="vouchers",
    )


async def _plan(p: Pipeline, project: UnitKit, amount: int, producer: Producer) -> None:
    async with TopicLog(p.stack.kafka_bootstrap_servers, p.ns.topics.status) as status:
        plan = capital_plan(project, source_code="14", amount=amount)
        await producer.send(p.ns.topics.allocations, plan, project.code)
        events = await status.statuses(plan.payload["plan_id"], {"approved", "refused"})
        assert events[-1]["status"] == "approved"


def _decisions(log: TopicLog, dossiers: set[str]) -> dict[str, set[tuple[str, str]]]:
    """Distinct decisions per dossier (a decision republished after a crash counts once)."""
    found: dict[str, set[tuple[str, str]]] = {d: set() for d in dossiers}
    for record in log.records:
        envelope = Envelope.model_validate_json(record.value)
        if envelope.payload["dossier_id"] in found:
            found[envelope.payload["dossier_id"]].add(
                (envelope.event_id, envelope.payload["status"])
            )
    return found


def _books(p: Pipeline, project: UnitKit) -> dict[str, Any]:
    [line] = p.query(
        "SELECT allocated, committed FROM control.capital_plan_lines WHERE unit_code = %s",
        project.code,
    )
    positions = p.query(
        "SELECT contract_number, value, advanced, recovered, paid FROM "
        "control.contract_positions WHERE unit_code = %s ORDER BY 1",
        project.code,
    )
    return {"line": line, "positions": positions}


async def test_two_workers_racing_for_one_plan_line_pay_exactly_what_it_holds(
    bed: Testbed, controls: Pipeline
) -> None:
    project = bed.unit(project=True)
    now = dt.datetime.now(ICT)
    # Ten contracts of 40 payments' worth each: the plan line, holding 100, is what binds.
    contracts = [new_contract(project, value=40 * PRICE, on=now.date()) for _ in range(10)]
    contracts = [c.model_copy(update={"number": f"{i}/2026/HĐXD"}) for i, c in enumerate(contracts)]
    async with Producer(controls.stack.kafka_bootstrap_servers) as producer:
        await _plan(controls, project, 100 * PRICE, producer)
        await both_workers_consuming(controls, bed, producer)
        applied = {name: batches(controls, name) for name in WORKERS}
        work = [_received(project, contracts[i % 10], now) for i in range(200)]
        dossiers = {e.payload["dossier_id"] for e in work}
        async with TopicLog(
            controls.stack.kafka_bootstrap_servers, controls.ns.topics.decisions
        ) as log:
            # Keys spread over every partition, so both workers decide on the line at once.
            await producer.send_many(
                controls.ns.topics.control, [(e, f"{project.code}-{i}") for i, e in enumerate(work)]
            )
            await log.wait_for(
                lambda: sum(1 for d in dossiers if d in log.by_dossier),
                lambda n: n == 200,
                what="200 decisions (dossiers decided)",
                within=300,
            )
            decisions = _decisions(log, dossiers)
    outcomes = Counter(status for found in decisions.values() for _, status in found)
    assert outcomes == {"approved": 100, "refused": 100}
    books = _books(controls, project)
    assert books["line"] == (100 * PRICE, 100 * PRICE)
    assert sum(paid for *_, paid in books["positions"]) == 100 * PRICE
    assert all(paid <= value for _, value, _, _, paid in books["positions"])
    # Both workers applied batches of the race: the line really was contended.
    assert all(batches(controls, name) > applied[name] for name in WORKERS), applied


async def test_replaying_investment_requests_from_offset_zero_changes_nothing(
    bed: Testbed, controls: Pipeline
) -> None:
    project = bed.unit(project=True)
    now = dt.datetime.now(ICT)
    contract = new_contract(project, value=1000 * PRICE, on=now.date())
    async with Producer(controls.stack.kafka_bootstrap_servers) as producer:
        await _plan(controls, project, 500 * PRICE, producer)
        work = [_received(project, contract, now) for _ in range(100)]
        dossiers = {e.payload["dossier_id"] for e in work}
        async with TopicLog(
            controls.stack.kafka_bootstrap_servers, controls.ns.topics.decisions
        ) as log:
            await producer.send_many(controls.ns.topics.control, [(e, project.code) for e in work])
            await log.wait_for(
                lambda: sum(1 for d in dossiers if d in log.by_dossier),
                lambda n: n == 100,
                what="100 decisions (dossiers decided)",
                within=180,
            )
            before = _books(controls, project)
            # Every message again, as redelivered copies, and a new worker group reading the
            # topics from offset zero.
            await producer.send_many(controls.ns.topics.control, [(e, project.code) for e in work])
            replay = controls.start(
                "control-replay", "control", INSTANCE_SUFFIX=f"{controls.ns.prefix}-replay"
            )
            marker = _received(project, contract, now)
            await producer.send(controls.ns.topics.control, marker, project.code)
            await log.wait_for(
                lambda: len(log.by_dossier.get(marker.payload["dossier_id"], [])),
                lambda n: n > 0,
                what="the decision of the marker request sent after the replay (its decisions)",
                within=180,
            )
            topics = (controls.ns.topics.control, controls.ns.topics.allocations)
            everything = sum(
                [await topic_size(controls.stack.kafka_bootstrap_servers, t) for t in topics]
            )
            await poll(
                lambda: replay.metric("control_batch_size_messages_sum"),
                lambda applied: applied >= everything,
                what=f"the replaying worker to apply all {everything} messages "
                "(control_batch_size_messages_sum)",
                within=180,
            )
            replay.stop()
    after = _books(controls, project)
    assert before == {
        "line": (500 * PRICE, 100 * PRICE),
        "positions": [(contract.number, 1000 * PRICE, 0, 0, 100 * PRICE)],
    }
    assert after == {
        "line": (500 * PRICE, 101 * PRICE),
        "positions": [(contract.number, 1000 * PRICE, 0, 0, 101 * PRICE)],
    }
    assert {len(log.by_dossier[d]) for d in dossiers} == {1}
