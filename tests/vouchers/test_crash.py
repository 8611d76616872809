"""A vouchers worker killed in the middle of a run loses nothing and repeats no outcome."""

from __future__ import annotations

import itertools
from collections import Counter

import psycopg

from shared.contract import Envelope, ReasonCode
from testkit import Testbed, invalid_voucher
from tests.support import Producer, TopicLog
from tests.vouchers.conftest import Pipeline

VOUCHERS = 2000


def _workload(bed: Testbed, units: list, count: int) -> list[tuple[Envelope, str]]:  # type: ignore[type-arg]
    faults = itertools.cycle(
        [ReasonCode.TOTAL_MISMATCH, ReasonCode.PAYEE_MISSING, ReasonCode.SIGNATURE_INVALID]
    )
    work = []
    for i in range(count):
        unit = units[i % len(units)]
        if i % 10 == 9:
            envelope = invalid_voucher(unit, next(faults)).envelope
            assert envelope is not None
        else:
            envelope = unit.voucher()
        work.append((envelope, unit.code))
    return work


async def test_sigkill_mid_run_leaves_every_voucher_with_exactly_one_intake_outcome(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    units = [bed.unit() for _ in range(12)]
    for unit in units:
        await pipeline.register(unit, status, producer, allocate=None)
    work = _workload(bed, units, VOUCHERS)
    dossiers = {envelope.payload["dossier_id"] for envelope, _ in work}
    await producer.send_many(pipeline.ns.topics.vouchers, work)

    def decided() -> int:
        # Looked at on every status record: a set intersection, not a loop in Python.
        return len(dossiers.intersection(status.by_dossier))

    await status.wait_for(
        decided,
        lambda n: n >= VOUCHERS // 4,
        what=f"{VOUCHERS // 4} of {VOUCHERS} vouchers decided (decided)",
        within=240,
    )
    pipeline.vouchers.kill()
    killed_at = decided()
    pipeline.vouchers.start()
    await status.wait_for(
        decided,
        lambda n: n == VOUCHERS,
        what=f"all {VOUCHERS} vouchers decided after the restart (decided)",
        within=600,
    )

    outcomes = {d: {(e["status"], e["sequence"]) for e in status.by_dossier[d]} for d in dossiers}
    assert all(len(o) == 1 for o in outcomes.values()), [
        (d, o) for d, o in outcomes.items() if len(o) != 1
    ][:5]
    tally = Counter(next(iter(o))[0] for o in outcomes.values())
    assert tally == {"received": VOUCHERS * 9 // 10, "rejected": VOUCHERS // 10}
    assert killed_at < VOUCHERS, "the worker was killed after the run had finished"
    with psycopg.connect(pipeline.dsn()) as conn:
        stored = conn.execute(
            "SELECT count(*), count(DISTINCT d.dossier_id), min(h.sequence), max(h.sequence) "
            "FROM vouchers.dossiers d JOIN vouchers.dossier_history h USING (dossier_id) "
            "WHERE d.dossier_id = ANY(%s)",
            (list(dossiers),),
        ).fetchone()
    assert stored == (VOUCHERS, VOUCHERS, 1, 1)
