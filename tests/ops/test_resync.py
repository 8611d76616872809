"""`dvc resync`: a unit's current statuses published again, under the sequences they had."""

from __future__ import annotations

from testkit import Testbed
from tests.ops.conftest import Dvc, registered
from tests.support import Pipeline, Producer, TopicLog, poll

TERMINAL = {"approved", "refused", "returned", "rejected"}


async def test_resync_of_a_unit_republishes_each_current_status_under_its_sequence(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer, dvc: Dvc
) -> None:
    unit = await registered(bed, pipeline, status, producer)
    vouchers = [unit.voucher(total_amount=a) for a in (1_500_000, 2_500_000)]
    for v in vouchers:
        await pipeline.send(v, producer)
    ids = [v.payload["dossier_id"] for v in vouchers]
    for dossier_id in ids:
        await status.statuses(dossier_id, TERMINAL)
    [(registration_id,)] = pipeline.query(
        "SELECT dossier_id FROM registration.dossiers WHERE unit_code = %s", unit.code
    )
    allocations = [
        r[0]
        for r in pipeline.query(
            "SELECT allocation_id FROM control.allocations WHERE unit_code = %s", unit.code
        )
    ]
    dossiers = [*ids, registration_id, *allocations]
    before = {d: list(status.by_dossier[d]) for d in dossiers}

    done = dvc("resync", "--unit", unit.code)
    assert done.returncode == 0, done.stderr
    assert f"Published {len(dossiers)} status(es)" in done.stdout

    await status.wait_for(
        lambda: [d for d in dossiers if len(status.by_dossier[d]) != len(before[d]) + 1],
        lambda waiting: not waiting,
        what="one status more for each dossier of the unit (the dossiers without it)",
    )
    for d in dossiers:
        events = status.by_dossier[d]
        again, last = events[-1], before[d][-1]
        assert again == last, d  # the same payload: status, sequence, reasons, decided_by
        statuses_by_sequence = {(e["sequence"], e["status"]) for e in events}
        assert len({s for s, _ in statuses_by_sequence}) == len(statuses_by_sequence)
    for dossier_id in ids:
        terminal = {e["status"] for e in status.by_dossier[dossier_id] if e["status"] in TERMINAL}
        assert terminal == {"approved"}

        def resent(d: str = dossier_id) -> list[tuple[object, ...]]:
            return pipeline.query(
                "SELECT 1 FROM notify.deliveries WHERE dossier_id = %s AND channel = 'webhook' "
                "AND dedupe_key LIKE %s",
                d,
                "%|resync:%",
            )

        await poll(resent, what=f"a resync webhook delivery of {dossier_id}")
        emails = pipeline.query(
            "SELECT count(*) FROM notify.deliveries WHERE dossier_id = %s AND channel = 'email'",
            dossier_id,
        )
        assert emails == [(3,)]  # the unit's address and its two signers, once each


async def test_resync_of_one_dossier_and_of_nothing(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer, dvc: Dvc
) -> None:
    unit = await registered(bed, pipeline, status, producer)
    voucher = unit.voucher(total_amount=1_000_000)
    dossier_id = voucher.payload["dossier_id"]
    await pipeline.send(voucher, producer)
    await status.statuses(dossier_id, TERMINAL)
    count = len(status.by_dossier[dossier_id])

    assert dvc("resync", "--dossier", dossier_id).returncode == 0
    await status.wait_for(
        lambda: len(status.by_dossier[dossier_id]),
        lambda n: n == count + 1,
        what=f"{count + 1} statuses of {dossier_id} after its resync (its statuses)",
    )
    assert status.by_dossier[dossier_id][-1] == status.by_dossier[dossier_id][-2]

    unknown = dvc("resync", "--unit", "1999999")
    assert unknown.returncode == 1
    assert "1999999" in unknown.stderr


async def test_lag_and_outbox_show_each_group_and_service(pipeline: Pipeline, dvc: Dvc) -> None:
    lag = dvc("lag")
    assert lag.returncode == 0, lag.stderr
    assert f"vouchers-{pipeline.ns.prefix}" in lag.stdout
    assert pipeline.ns.topics.vouchers in lag.stdout
    outbox = dvc("outbox")
    assert outbox.returncode == 0, outbox.stderr
    for service in ("registration", "vouchers", "control", "notify"):
        assert service in outbox.stdout
