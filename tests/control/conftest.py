"""The whole intake-to-decision pipeline as real processes: registration (auto approval),
vouchers and control, on topics of their own; a way to feed control directly; and two control
workers in one consumer group, for the races."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.contract import Envelope, make_envelope, to_json_dict
from shared.contract.internal import VOUCHER_RECEIVED, VoucherReceived
from stack.runner import Endpoints
from testkit import ICT, Testbed, UnitKit
from testkit.vouchers import VoucherOptions, build_voucher
from tests.support import Pipeline, Producer, new_pipeline


def received(unit: UnitKit, *, at: dt.datetime, **options: Any) -> Envelope:
    """`voucher.received` as the vouchers service hands it to control (no signing needed)."""
    opts: VoucherOptions = options  # type: ignore[assignment]
    voucher = to_json_dict(build_voucher(unit, when=at, **opts))
    handed = VoucherReceived(
        dossier_id=voucher["dossier_id"],
        unit_code=unit.code,
        treasury_code=unit.treasury_code,
        received_at=at,
        deadline=at + dt.timedelta(days=1),
        voucher=voucher,
    )
    return make_envelope(
        handed.model_dump(mode="json"),
        event_type=VOUCHER_RECEIVED,
        event_id=unit.ids.event_id(),
        occurred_at=at,
        source="vouchers",
    )


__all__ = ["Pipeline"]

WORKERS = ("control", "control-2")


def batches(p: Pipeline, name: str) -> float:
    """How many batches worker `name` has applied."""
    return p.services[name].metric("control_batch_size_messages_count")


async def both_workers_consuming(p: Pipeline, bed: Testbed, producer: Producer) -> None:
    """Vouchers of a unit with no budget, keyed over every partition, until each worker has
    applied a batch: both have joined the group (started side by side, one may hold every
    partition until the group rebalances) before a race starts."""
    other = bed.unit(budget_line_count=1)
    now = dt.datetime.now(ICT)

    async def warm() -> bool:
        warm_up = [received(other, at=now, total_amount=1_000) for _ in range(24)]
        await producer.send_many(
            p.ns.topics.control, [(e, f"{other.code}-{i}") for i, e in enumerate(warm_up)]
        )
        return all(batches(p, name) > 0 for name in WORKERS)

    for _ in range(30):
        if await warm():
            return
        await asyncio.sleep(2)
    raise AssertionError(
        "waited 60 s for both control workers to apply a batch; saw "
        + ", ".join(f"{n} {batches(p, n)}" for n in WORKERS)
    )


@pytest.fixture(scope="module")
def pipeline(
    stack: Endpoints, ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    p = new_pipeline(stack, ca_file, tmp_path_factory)
    try:
        p.launch("registration", "registration", REGISTRATION_APPROVAL="auto")
        p.launch("vouchers", "vouchers")
        p.launch("control", "control")
        p.wait_ready()
        yield p
    finally:
        p.stop_all()


@pytest.fixture(scope="module")
def controls(
    stack: Endpoints, ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """Two control workers in one consumer group, fed directly on the control topic."""
    p = new_pipeline(stack, ca_file, tmp_path_factory)
    try:
        for name in ("control", "control-2"):
            p.launch(name, "control")
        p.wait_ready()
        yield p
    finally:
        p.stop_all()
