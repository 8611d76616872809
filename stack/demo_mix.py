"""The mix of vouchers in `make run`'s demo: mostly valid, some rejected at intake, some
without the contract their amount needs, cash outside the items that allow it, totals held for
an officer, advances (settled later) and cash payments to people."""

from __future__ import annotations

import random
from collections.abc import Sequence

from shared.contract import Envelope, PaymentMethod, ReasonCode, SpendingType
from testkit import CASH_ECONOMIC_CODES, UnitKit, invalid_voucher

INTAKE_FAULTS = (
    ReasonCode.TOTAL_MISMATCH,
    ReasonCode.PAYEE_MISSING,
    ReasonCode.SIGNATURE_INVALID,
    ReasonCode.CERTIFICATE_INVALID,
    ReasonCode.CODE_INVALID,
)


def voucher_mix(
    units: Sequence[UnitKit], rng: random.Random, count: int
) -> tuple[list[tuple[Envelope | bytes, str]], list[Envelope]]:
    """`count` vouchers spread over `units`, and the advances among them."""
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
