"""`dvc reconcile`: the books balance, and a change made behind the services' back is named."""

from __future__ import annotations

from testkit import Testbed
from tests.ops.conftest import Dvc, registered
from tests.support import Pipeline, Producer, TopicLog, set_field, tampered


async def test_a_clean_unit_agrees_and_a_line_changed_through_sql_is_named(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer, dvc: Dvc
) -> None:
    unit = await registered(bed, pipeline, status, producer)
    for amount in (2_000_000, 3_000_000):
        voucher = unit.voucher(total_amount=amount)
        await pipeline.send(voucher, producer)
        await status.statuses(voucher.payload["dossier_id"], {"approved"})

    # A voucher rejected for a fiscal year that is no year is kept as it was sent: the
    # checks that read stored payloads pass over it.
    bad_year = unit.voucher()
    raw = tampered(bad_year, set_field("fiscal_year", 2**40))
    await producer.send(pipeline.ns.topics.vouchers, raw, unit.code)
    await status.statuses(bad_year.payload["dossier_id"], {"rejected"})

    clean = dvc("reconcile", "--unit", unit.code)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Everything agrees" in clean.stdout

    [(fiscal_year, chapter, sector, source)] = pipeline.query(
        "SELECT fiscal_year, chapter, sector_code, source_code FROM control.budget_lines "
        "WHERE unit_code = %s",
        unit.code,
    )
    pipeline.query(
        "UPDATE control.budget_lines SET committed = committed + 1 WHERE unit_code = %s "
        "RETURNING committed",
        unit.code,
    )
    try:
        broken = dvc("reconcile", "--unit", unit.code, "--fiscal-year", str(fiscal_year))
        assert broken.returncode == 1
        line = f"{unit.code}/{fiscal_year}/{chapter}/{sector}/{source}"
        assert line in broken.stdout
        assert "5000001" in broken.stdout  # committed as changed
        assert "5000000" in broken.stdout  # what its commitments add up to
    finally:
        pipeline.query(
            "UPDATE control.budget_lines SET committed = committed - 1 WHERE unit_code = %s "
            "RETURNING committed",
            unit.code,
        )
    assert dvc("reconcile", "--unit", unit.code).returncode == 0


async def test_a_decision_that_differs_between_vouchers_and_control_is_named(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer, dvc: Dvc
) -> None:
    unit = await registered(bed, pipeline, status, producer)
    voucher = unit.voucher(total_amount=1_000_000)
    dossier_id = voucher.payload["dossier_id"]
    await pipeline.send(voucher, producer)
    await status.statuses(dossier_id, {"approved"})
    pipeline.query(
        "UPDATE control.vouchers SET status = 'refused' WHERE dossier_id = %s RETURNING 1",
        dossier_id,
    )
    try:
        broken = dvc("reconcile", "--unit", unit.code)
        assert broken.returncode == 1
        assert dossier_id in broken.stdout
        assert "control says refused" in broken.stdout
    finally:
        pipeline.query(
            "UPDATE control.vouchers SET status = 'approved' WHERE dossier_id = %s RETURNING 1",
            dossier_id,
        )
