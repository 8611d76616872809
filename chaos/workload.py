"""The portal's side of a chaos run: units, allocations that run dry, and a mixed stream.

Every offered message is recorded with what it is, so that the verdict can tell a lost
voucher from a forged one and a modified resubmission from a plain resend.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.contract import Envelope, ReasonCode, encode
from testkit import ICT, Testbed, UnitKit
from testkit.faults import invalid_voucher

# Lines receive this share of what the valid vouchers on them ask for, so lines run dry and
# an over-commitment would show if anything were racy.
ALLOCATED_SHARE = 0.6


class Kind(StrEnum):
    VALID = "valid"
    REDELIVERY = "redelivery"  # the same message again, event id included
    RESEND = "resend"  # the same content under a new event id (a portal's retry)
    MODIFIED = "modified"  # the same dossier id, other content
    FORGED = "forged"  # a signature that does not verify
    GARBAGE = "garbage"  # not JSON at all


MIX: dict[Kind, float] = {
    Kind.VALID: 0.70,
    Kind.RESEND: 0.05,
    Kind.REDELIVERY: 0.05,
    Kind.MODIFIED: 0.06,
    Kind.FORGED: 0.08,
    Kind.GARBAGE: 0.06,
}

LineKey = tuple[str, int, str, str, str]


@dataclass(frozen=True)
class Offered:
    kind: Kind
    unit_code: str
    dossier_id: str | None
    raw: bytes


@dataclass
class Workload:
    bed: Testbed
    units: list[UnitKit]
    registrations: list[tuple[str, bytes]]
    allocations: list[tuple[str, bytes]]
    offered: list[Offered]
    lines_of: dict[str, dict[LineKey, int]] = field(default_factory=dict)
    """The amount each original voucher asks of each budget line."""
    allocated: dict[LineKey, int] = field(default_factory=dict)

    def recipients(self) -> dict[str, set[str]]:
        """Each unit's addresses for its notices: its notify addresses and its signers."""
        return {
            u.code: {f"ketoan.{u.code}@example.vn"}
            | {f"{role.value}.{u.code}@example.vn" for role in u.signers}
            for u in self.units
        }

    def dossiers(self, *kinds: Kind) -> set[str]:
        return {o.dossier_id for o in self.offered if o.kind in kinds and o.dossier_id}


def line_amounts(p: dict[str, Any]) -> dict[LineKey, int]:
    """What a voucher's payload asks of each budget line."""
    found: dict[LineKey, int] = defaultdict(int)
    for line in p["lines"]:
        key = (
            p["unit_code"],
            p["fiscal_year"],
            p["chapter"],
            line["sector_code"],
            line["source_code"],
        )
        found[key] += line["amount"]
    return dict(found)


def build(*, vouchers: int, units: int, seed: int) -> Workload:
    now = dt.datetime.now(ICT)
    bed = Testbed(seed, now=now, algorithm="ES256")
    rng = random.Random(seed)
    kits = [bed.unit(budget_line_count=2) for _ in range(units)]
    offered: list[Offered] = []
    originals: list[tuple[UnitKit, Envelope]] = []
    lines_of: dict[str, dict[LineKey, int]] = {}
    kinds, weights = zip(*MIX.items(), strict=True)
    for i in range(vouchers):
        kind = rng.choices(kinds, weights)[0] if originals else Kind.VALID
        if kind in (Kind.RESEND, Kind.REDELIVERY, Kind.MODIFIED):
            unit, earlier = rng.choice(originals)
            dossier = earlier.payload["dossier_id"]
            if kind is Kind.REDELIVERY:
                raw = encode(earlier)
            elif kind is Kind.RESEND:
                raw = encode(unit.wrap(dict(earlier.payload)))
            else:
                raw = encode(
                    unit.voucher(
                        dossier_id=dossier,
                        total_amount=earlier.payload["total_amount"] + 1_000_000,
                        contract=False,
                    )
                )
            offered.append(Offered(kind, unit.code, dossier, raw))
            continue
        unit = kits[i % units]
        if kind is Kind.FORGED:
            faulty = invalid_voucher(unit, ReasonCode.SIGNATURE_INVALID)
            offered.append(Offered(kind, unit.code, faulty.dossier_id, faulty.raw))
        elif kind is Kind.GARBAGE:
            offered.append(Offered(kind, unit.code, None, rng.randbytes(rng.randint(1, 400))))
        else:
            envelope = unit.voucher(total_amount=rng.randint(1, 40) * 1_000_000, contract=False)
            originals.append((unit, envelope))
            lines_of[envelope.payload["dossier_id"]] = line_amounts(envelope.payload)
            offered.append(
                Offered(kind, unit.code, envelope.payload["dossier_id"], encode(envelope))
            )
    asked: dict[LineKey, int] = defaultdict(int)
    for amounts in lines_of.values():
        for key, amount in amounts.items():
            asked[key] += amount
    allocations, allocated = [], {}
    for unit in kits:
        for line in unit.budget_lines:
            key = (unit.code, now.year, unit.chapter, line.sector_code, line.source_code)
            amount = max(1_000_000, int(asked.get(key, 0) * ALLOCATED_SHARE))
            allocated[key] = amount
            allocations.append((unit.code, encode(unit.allocation(line, amount=amount))))
    return Workload(
        bed=bed,
        units=kits,
        registrations=[(u.code, encode(u.registration())) for u in kits],
        allocations=allocations,
        offered=offered,
        lines_of=lines_of,
        allocated=allocated,
    )
