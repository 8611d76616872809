"""`dvc trace`: where a dossier has been, in order, with times."""

from __future__ import annotations

import datetime as dt
from typing import Any

from testkit import Testbed
from tests.ops.conftest import Dvc, registered
from tests.support import Pipeline, Producer, TopicLog, poll


def _first(steps: list[dict[str, Any]], where: str, what: str) -> int:
    for i, step in enumerate(steps):
        if step["where"].startswith(where) and step["what"].startswith(what):
            return i
    raise AssertionError(f"no step {where!r} {what!r} in:\n" + "\n".join(map(str, steps)))


async def test_the_trace_of_an_approved_voucher_runs_from_submission_to_the_units_email(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer, dvc: Dvc
) -> None:
    unit = await registered(bed, pipeline, status, producer)
    voucher = unit.voucher(total_amount=4_000_000)
    dossier_id = voucher.payload["dossier_id"]
    await pipeline.send(voucher, producer)
    await status.statuses(dossier_id, {"approved"})
    await poll(
        lambda: pipeline.query(
            "SELECT 1 FROM notify.deliveries WHERE dossier_id = %s AND channel = 'email' "
            "AND status = 'sent'",
            dossier_id,
        ),
        within=60,
    )

    doc = dvc.json("trace", dossier_id, "--json")

    assert (doc["kind"], doc["unit_code"]) == ("voucher", unit.code)
    steps = doc["steps"]
    t = pipeline.ns.topics
    order = [
        _first(steps, t.vouchers, "voucher.submitted"),
        _first(steps, "vouchers.dossier_history", "status received"),
        _first(steps, "control.vouchers", "control decision approved"),
        _first(steps, t.status, "status approved"),
        _first(steps, "notify.deliveries", "email approved to"),
    ]
    assert order == sorted(order), steps
    times = [dt.datetime.fromisoformat(steps[i]["at"]) for i in order]
    assert times == sorted(times)
    assert all(s["seconds_since_previous"] is None for s in steps[:1])
    assert all(s["seconds_since_previous"] >= 0 for s in steps[1:])

    table = dvc("trace", dossier_id)
    assert table.returncode == 0, table.stderr
    assert "control decision approved" in table.stdout


async def test_an_unknown_dossier_is_exit_1_and_one_line(dvc: Dvc) -> None:
    done = dvc("trace", "CT-0011-2026-99999999")
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert "CT-0011-2026-99999999" in line
