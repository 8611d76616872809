"""The demo's mix of vouchers: mostly valid, some rejected at intake, returned, refused by
spending control, held for an officer, or advances settled later."""

from __future__ import annotations

import random
from collections.abc import Sequence

import orjson

from shared.contract import Envelope, PaymentMethod, ReasonCode, SpendingType
from testkit import CASH_ECONOMIC_CODES, UnitKit, invalid_voucher

# The workload's mix: each kind up to its cumulative share of the vouchers. The first vouchers
# take each kind once, so that every outcome shows in a demo of any size and any seed.
MIX = (
    (0.05, "intake_fault"),  # rejected at intake
    (0.08, "no_contract"),  # returned: above 50,000,000 VND a contract is required
    (0.10, "cash_not_allowed"),  # refused: an item that may not be paid in cash
    (0.13, "held"),  # at or above 1 billion VND: held for an officer
    (0.18, "advance"),  # approved, then settled
    (0.22, "cash"),  # approved: payments to individuals in cash
    (1.00, "plain"),  # approved
)
INTAKE_FAULTS = (
    ReasonCode.TOTAL_MISMATCH,
    ReasonCode.PAYEE_MISSING,
    ReasonCode.SIGNATURE_INVALID,
    ReasonCode.CERTIFICATE_INVALID,
    ReasonCode.CODE_INVALID,
)


def _kind(i: int, rng: random.Random) -> str:
    """The kind of the demo's `i`th voucher: each kind once first, then drawn by share."""
    if i < len(MIX):
        return MIX[i][1]
    roll = rng.random()
    return next(kind for share, kind in MIX if roll < share)


def workload(
    units: Sequence[UnitKit], rng: random.Random, count: int
) -> tuple[list[tuple[Envelope | bytes, str]], list[Envelope]]:
    """The vouchers to submit, and the advances whose settlements follow once approved."""
    work: list[tuple[Envelope | bytes, str]] = []
    advances: list[Envelope] = []
    for i in range(count):
        unit = units[i % len(units)]
        kind = _kind(i, rng)
        if kind == "intake_fault":
            faulty = invalid_voucher(unit, INTAKE_FAULTS[i % len(INTAKE_FAULTS)])
            work.append((faulty.raw, unit.code))
            continue
        if kind == "no_contract":
            envelope = unit.voucher(total_amount=80_000_000, contract=False)
        elif kind == "cash_not_allowed":
            envelope = unit.voucher(
                payment_method=PaymentMethod.CASH,
                economic_codes=("6551",),
                total_amount=5_000_000,
            )
        elif kind == "held":
            envelope = unit.voucher(total_amount=rng.choice((1_200_000_000, 2_500_000_000)))
        elif kind == "advance":
            envelope = unit.voucher(spending_type=SpendingType.ADVANCE, total_amount=30_000_000)
            advances.append(envelope)
        elif kind == "cash":
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
