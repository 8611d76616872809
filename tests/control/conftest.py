"""The whole intake-to-decision pipeline as real processes: registration (auto approval),
vouchers and control, on topics of their own; a way to feed control directly; and two control
workers in one consumer group, for the races."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.contract import Envelope, make_envelope, to_json_dict
from shared.contract.internal import VOUCHER_RECEIVED, VoucherReceived
from stack.runner import Endpoints
from testkit import UnitKit
from testkit.vouchers import VoucherOptions, build_voucher
from tests.support import Pipeline, new_pipeline


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
