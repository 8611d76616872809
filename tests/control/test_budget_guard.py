"""No interleaving, redelivery or crash ever commits more than a budget line holds."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from shared.contract import Envelope
from testkit import ICT, Testbed, UnitKit
from tests.control.conftest import WORKERS, batches, both_workers_consuming, received
from tests.support import Pipeline, Producer, TopicLog, poll, topic_size


async def _allocate(p: Pipeline, unit: UnitKit, amount: int, producer: Producer) -> None:
    async with TopicLog(p.stack.kafka_bootstrap_servers, p.ns.topics.status) as status:
        for allocation in unit.allocations(amount=amount):
            assert (await p.allocate(allocation, status, producer))["status"] == "approved"


async def _feed(p: Pipeline, work: list[Envelope], producer: Producer, *, spread: bool) -> None:
    """Hand vouchers to control; `spread` keys them over every partition, so that both
    workers take decisions on the same budget line at the same time."""
    messages = [
        (e, f"{e.payload['unit_code']}-{i}" if spread else e.payload["unit_code"])
        for i, e in enumerate(work)
    ]
    await producer.send_many(p.ns.topics.control, messages)


def _count(log: TopicLog, dossiers: set[str]) -> int:
    return sum(1 for d in dossiers if d in log.by_dossier)


def _decisions(log: TopicLog, dossiers: set[str]) -> dict[str, set[tuple[str, str]]]:
    """Distinct decisions per dossier (a decision republished after a crash counts once)."""
    found: dict[str, set[tuple[str, str]]] = {d: set() for d in dossiers}
    for record in log.records:
        envelope = Envelope.model_validate_json(record.value)
        dossier = envelope.payload["dossier_id"]
        if dossier in found:
            found[dossier].add((envelope.event_id, envelope.payload["status"]))
    return found


async def test_two_workers_racing_for_one_line_commit_exactly_what_it_holds(
    bed: Testbed, controls: Pipeline
) -> None:
    unit = bed.unit(budget_line_count=1)
    price = 1_000_000
    async with Producer(controls.stack.kafka_bootstrap_servers) as producer:
        await _allocate(controls, unit, 1000 * price, producer)
        await both_workers_consuming(controls, bed, producer)
        applied = {name: batches(controls, name) for name in WORKERS}
        now = dt.datetime.now(ICT)
        work = [received(unit, at=now, total_amount=price) for _ in range(2000)]
        dossiers = {e.payload["dossier_id"] for e in work}
        async with TopicLog(
            controls.stack.kafka_bootstrap_servers, controls.ns.topics.decisions
        ) as log:
            await _feed(controls, work, producer, spread=True)
            await log.wait_for(
                lambda: _count(log, dossiers),
                lambda n: n == 2000,
                what="2000 decisions (decided)",
                within=300,
            )
            decisions = _decisions(log, dossiers)
    outcomes = Counter(status for found in decisions.values() for _, status in found)
    assert outcomes == {"approved": 1000, "refused": 1000}
    [(allocated, committed)] = controls.query(
        "SELECT allocated, committed FROM control.budget_lines WHERE unit_code = %s", unit.code
    )
    assert allocated == committed == 1000 * price
    # Both workers applied batches: the line really was contended.
    for name in WORKERS:
        assert batches(controls, name) > applied[name], (name, applied)


async def test_replaying_the_control_topic_from_offset_zero_changes_nothing(
    bed: Testbed, controls: Pipeline, tmp_path: Path
) -> None:
    unit = bed.unit(budget_line_count=1)
    async with Producer(controls.stack.kafka_bootstrap_servers) as producer:
        await _allocate(controls, unit, 500_000_000, producer)
        now = dt.datetime.now(ICT)
        work = [received(unit, at=now, total_amount=2_000_000) for _ in range(200)]
        dossiers = {e.payload["dossier_id"] for e in work}
        async with TopicLog(
            controls.stack.kafka_bootstrap_servers, controls.ns.topics.decisions
        ) as log:
            await _feed(controls, work, producer, spread=False)
            await log.wait_for(
                lambda: _count(log, dossiers),
                lambda n: n == 200,
                what="200 decisions (decided)",
                within=180,
            )
            before = controls.query(
                "SELECT allocated, committed FROM control.budget_lines WHERE unit_code = %s",
                unit.code,
            )
            # Every message again, as redelivered copies, and a new worker group reading the
            # topic from offset zero.
            await producer.send_many(controls.ns.topics.control, [(e, unit.code) for e in work])
            replay = controls.start(
                "control-replay", "control", INSTANCE_SUFFIX=f"{controls.ns.prefix}-replay"
            )
            marker = received(unit, at=now, total_amount=1_000_000)
            await producer.send(controls.ns.topics.control, marker, unit.code)
            await log.wait_for(
                lambda: len(log.by_dossier.get(marker.payload["dossier_id"], [])),
                lambda n: n > 0,
                what="the decision of the marker voucher sent after the replay (its decisions)",
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
    after = controls.query(
        "SELECT allocated, committed FROM control.budget_lines WHERE unit_code = %s", unit.code
    )
    assert before == [(500_000_000, 200 * 2_000_000)]
    assert after == [(500_000_000, 200 * 2_000_000 + 1_000_000)]
    assert {len(log.by_dossier[d]) for d in dossiers} == {1}


async def test_a_worker_killed_mid_run_leaves_one_decision_per_voucher_and_balanced_books(
    bed: Testbed, controls: Pipeline
) -> None:
    units = [bed.unit(budget_line_count=2) for _ in range(10)]
    async with Producer(controls.stack.kafka_bootstrap_servers) as producer:
        for unit in units:
            await _allocate(controls, unit, 400_000_000, producer)
        now = dt.datetime.now(ICT)
        work = [
            received(units[i % 10], at=now, total_amount=1_000_000 * (1 + i % 7))
            for i in range(10_000)
        ]
        dossiers = {e.payload["dossier_id"] for e in work}
        async with TopicLog(
            controls.stack.kafka_bootstrap_servers, controls.ns.topics.decisions
        ) as log:
            await _feed(controls, work, producer, spread=False)
            await log.wait_for(
                lambda: _count(log, dossiers),
                lambda n: n >= 2500,
                what="2500 of 10000 decisions before the kill (decided)",
                within=300,
            )
            victim = controls.services["control"]
            victim.kill()
            killed_at = _count(log, dossiers)
            victim.start()
            await log.wait_for(
                lambda: _count(log, dossiers),
                lambda n: n == 10_000,
                what="all 10000 decisions after the restart (decided)",
                within=600,
            )
            decisions = _decisions(log, dossiers)
    assert killed_at < 10_000
    assert all(len(found) == 1 for found in decisions.values()), [
        (d, f) for d, f in decisions.items() if len(f) != 1
    ][:5]
    codes = [u.code for u in units]
    unbalanced = controls.query(
        "SELECT l.unit_code, l.sector_code, l.source_code, l.committed, "
        "coalesce(sum(c.amount), 0) "
        "FROM control.budget_lines l LEFT JOIN control.commitments c USING "
        "(unit_code, fiscal_year, chapter, sector_code, source_code) "
        "WHERE l.unit_code = ANY(%s) "
        "GROUP BY l.unit_code, l.fiscal_year, l.chapter, l.sector_code, l.source_code "
        "HAVING l.committed <> coalesce(sum(c.amount), 0) OR l.committed > l.allocated",
        codes,
    )
    assert unbalanced == []
    approved = {d for d, found in decisions.items() if next(iter(found))[1] == "approved"}
    committed = controls.query(
        "SELECT count(*), sum(amount) FROM (SELECT dossier_id, sum(amount) AS amount FROM "
        "control.commitments WHERE unit_code = ANY(%s) GROUP BY 1) t",
        codes,
    )
    total = sum(
        e.payload["voucher"]["total_amount"] for e in work if e.payload["dossier_id"] in approved
    )
    assert committed == [(len(approved), total)]
    assert 0 < len(approved) < 10_000
