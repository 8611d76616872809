"""The demo's mix of vouchers: mostly valid, some rejected at intake, returned, refused by
spending control, held for an officer, or advances settled later."""

from __future__ import annotations

import random
from collections.abc import Sequence

import orjson

from shared.contract import Envelope, PaymentMethod, ReasonCode, SpendingType
from testkit import CASH_ECONOMIC_CODES, UnitKit, invalid_voucher

INTAKE_FAULTS = (
    ReasonCode.TOTAL_MISMATCH,
    ReasonCode.PAYEE_MISSING,
    ReasonCode.SIGNATURE_INVALID,
    ReasonCode.CERTIFICATE_INVALID,
    ReasonCode.CODE_INVALID,
)


def workload(
    units: Sequence[UnitKit], rng: random.Random, count: int
) -> tuple[list[tuple[Envelope | bytes, str]], list[Envelope]]:
    """The vouchers to submit, and the advances whose settlements follow once approved."""
    work: list[tuple[Envelope | bytes, str]] = []
    advances: list[Envelope] = []
    for i in range(count):
        unit = units[i % len(units)]
        roll = rng.random()
        if roll < 0.05:
            faulty = invalid_voucher(unit, INTAKE_FAULTS[i % len(INTAKE_FAULTS)])
            work.append((faulty.raw, unit.code))
            continue
        if roll < 0.08:
            envelope = unit.voucher(total_amount=80_000_000, contract=False)
        elif roll < 0.10:
            envelope = unit.voucher(
                payment_method=PaymentMethod.CASH,
                economic_codes=("6551",),
                total_amount=5_000_000,
            )
        elif roll < 0.13:
            envelope = unit.voucher(total_amount=rng.choice((1_200_000_000, 2_500_000_000)))
        elif roll < 0.18:
            envelope = unit.voucher(spending_type=SpendingType.ADVANCE, total_amount=30_000_000)
            advances.append(envelope)
        elif roll < 0.22:
            envelope = unit.voucher(
                payment_method=PaymentMethod.CASH, economic_codes=tuple(CASH_ECONOMIC_CODES)
            )
        else:
            envelope = unit.voucher()
        work.append((envelope, unit.code))
    return work, advances


def dossier_of(message: Envelope | bytes) -> str:
    if isinstance(message, Envelope):
        return str(message.payload["dossier_id"])
    try:
        found = orjson.loads(message).get("payload", {}).get("dossier_id")
    except (orjson.JSONDecodeError, AttributeError):
        found = None
    return str(found) if found else f"raw:{hash(message)}"
