"""The portal simulator's population and vouchers, signed once and cached on disk.

Signing is the costly part of making a workload (an RSA signature is about a millisecond), so
a workload is generated once per (size, seed) and kept under `bench/cache/`.
"""

from __future__ import annotations

import datetime as dt
import gzip
from dataclasses import dataclass
from pathlib import Path

import orjson
from rich.progress import Progress

from shared.contract import encode
from testkit import ICT, Testbed

CACHE = Path(__file__).resolve().parent / "cache"
# About a third of the units sign with RSA-2048, the rest with ECDSA P-256.
RSA_SHARE = 3


@dataclass
class Workload:
    ca_pem: bytes
    registrations: list[tuple[str, bytes]]
    allocations: list[tuple[str, bytes]]
    vouchers: list[tuple[str, str, bytes]]
    """(unit code, dossier id, raw message)."""


def _path(size: int, units: int, seed: int) -> Path:
    return CACHE / f"workload-{size}-{units}-{seed}.json.gz"


def load_or_make(size: int, units: int, *, seed: int = 2026) -> Workload:
    path = _path(size, units, seed)
    if path.exists():
        doc = orjson.loads(gzip.decompress(path.read_bytes()))
        return Workload(
            ca_pem=doc["ca"].encode(),
            registrations=[(k, v.encode()) for k, v in doc["registrations"]],
            allocations=[(k, v.encode()) for k, v in doc["allocations"]],
            vouchers=[(k, d, v.encode()) for k, d, v in doc["vouchers"]],
        )
    now = dt.datetime.now(ICT)
    bed = Testbed(seed, now=now)
    with Progress() as progress:
        made = progress.add_task("Units and their signers' certificates", total=units)
        kits = []
        for i in range(units):
            kits.append(
                bed.unit(algorithm="RS256" if i % RSA_SHARE == 0 else "ES256", budget_line_count=2)
            )
            progress.advance(made)
        signing = progress.add_task("Signing vouchers (once; cached)", total=size)
        vouchers = []
        for i in range(size):
            unit = kits[i % units]
            envelope = unit.voucher(total_amount=(1 + i % 40) * 1_000_000, contract=False)
            vouchers.append((unit.code, envelope.payload["dossier_id"], encode(envelope)))
            progress.advance(signing)
    workload = Workload(
        ca_pem=bed.ca.pem_bundle(),
        registrations=[(u.code, encode(u.registration())) for u in kits],
        allocations=[(u.code, encode(a)) for u in kits for a in u.allocations(amount=10**15)],
        vouchers=vouchers,
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        gzip.compress(
            orjson.dumps(
                {
                    "ca": workload.ca_pem.decode(),
                    "registrations": [(k, v.decode()) for k, v in workload.registrations],
                    "allocations": [(k, v.decode()) for k, v in workload.allocations],
                    "vouchers": [(k, d, v.decode()) for k, d, v in workload.vouchers],
                }
            ),
            compresslevel=3,
        )
    )
    return workload
