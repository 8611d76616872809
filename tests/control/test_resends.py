"""Identical and modified resends of vouchers, registrations and allocations, interleaved in
many orders: a portal keying on (dossier, sequence) never sees two statuses under one key."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from shared.contract import Envelope, EventType, make_envelope
from shared.contract.enums import AllocationKind
from testkit import Testbed, UnitKit
from tests.control.conftest import Pipeline
from tests.support import Producer, TopicLog

SAME, MODIFIED = "same", "modified"
# Every order of two identical and two modified resends, each cut in two places: before the
# dossier's decision (right behind the original) and after it.
ORDERS = sorted(set(itertools.permutations((SAME, SAME, MODIFIED, MODIFIED))))


@dataclass
class Dossier:
    dossier_id: str
    topic: str
    key: str
    original: Envelope
    resends: list[Envelope]
    split: int
    # Statuses the original alone yields (received then the decision, or one decision).
    own: int

    @property
    def expected(self) -> int:
        return self.own + len(self.resends)


def _story(events: list[dict[str, Any]]) -> str:
    """`received#1 approved#2 rejected#3[DUPLICATE_MODIFIED]`, as a portal would log it."""
    parts = []
    for e in events:
        codes = ",".join(r["code"] for r in e["reasons"])
        parts.append(f"{e['status']}#{e['sequence']}" + (f"[{codes}]" if codes else ""))
    return " ".join(parts)


def _faults(events: list[dict[str, Any]]) -> list[str]:
    """Sequences naming two statuses, statuses republished under a new number, and gaps."""
    named: dict[int, set[tuple[str, tuple[str, ...]]]] = defaultdict(set)
    first: dict[tuple[str, tuple[str, ...]], int] = {}
    faults = []
    for e in events:
        status = (e["status"], tuple(r["code"] for r in e["reasons"]))
        named[e["sequence"]].add(status)
        duplicate_modified = "DUPLICATE_MODIFIED" in status[1]
        if not duplicate_modified and first.setdefault(status, e["sequence"]) != e["sequence"]:
            faults.append(f"{status[0]} republished as #{e['sequence']}, first #{first[status]}")
    faults += [f"#{s} names {sorted(v)}" for s, v in sorted(named.items()) if len(v) > 1]
    missing = set(range(1, max(named) + 1)) - set(named)
    faults += [f"no status #{s}" for s in sorted(missing)]
    return faults


def _dossier(
    pipeline_topic: str,
    key: str,
    original: Envelope,
    order: tuple[str, ...],
    *,
    modify: Callable[[dict[str, Any], int], dict[str, Any]],
    wrap: Callable[[dict[str, Any]], Envelope],
    own: int,
    rng: random.Random,
) -> Dossier:
    """`original` followed by the resends `order` names: modified ones each differently."""
    number = itertools.count(1)
    resends = [
        wrap(original.payload if step == SAME else modify(original.payload, next(number)))
        for step in order
    ]
    dossier_id = original.payload.get("dossier_id") or original.payload["allocation_id"]
    return Dossier(
        dossier_id, pipeline_topic, key, original, resends, rng.randint(0, len(order)), own
    )


def _vouchers(unit: UnitKit, pipeline: Pipeline, rng: random.Random) -> list[Dossier]:
    return [
        _dossier(
            pipeline.ns.topics.vouchers,
            unit.code,
            unit.voucher(total_amount=1_000_000 + i),
            order,
            modify=lambda p, k: {**p, "voucher_no": f"{p['voucher_no']}-{k}"},
            wrap=unit.wrap,
            own=2,
            rng=rng,
        )
        for i, order in enumerate(ORDERS * 2)
    ]


def _registrations(bed: Testbed, pipeline: Pipeline, rng: random.Random) -> list[Dossier]:
    found = []
    for order in rng.sample(ORDERS, 3):
        unit = bed.unit()
        found.append(
            _dossier(
                pipeline.ns.topics.registrations,
                unit.code,
                unit.registration(),
                order,
                modify=lambda p, k: {**p, "unit": {**p["unit"], "address": f"Số {k}, Lai Châu"}},
                wrap=partial(unit.wrap, event_type=EventType.REGISTRATION_SUBMITTED),
                own=2,
                rng=rng,
            )
        )
    return found


def _allocations(unit: UnitKit, pipeline: Pipeline, rng: random.Random) -> list[Dossier]:
    def wrap(payload: dict[str, Any]) -> Envelope:
        return make_envelope(
            payload,
            event_type=EventType.ALLOCATION_RECORDED.value,
            event_id=unit.ids.event_id(),
            occurred_at=unit.now,
            source="tabmis",
        )

    return [
        _dossier(
            pipeline.ns.topics.allocations,
            unit.code,
            unit.allocation(unit.budget_lines[0], amount=1_000, kind=AllocationKind.SUPPLEMENT),
            order,
            modify=lambda p, k: {**p, "amount": p["amount"] + k},
            wrap=wrap,
            own=1,
            rng=rng,
        )
        for order in rng.sample(ORDERS, 3)
    ]


def _interleave(queues: list[list[Any]], rng: random.Random) -> list[Any]:
    """The queues' items mixed at random, each queue's own kept in order."""
    queues = [list(q) for q in queues if q]
    mixed = []
    while queues:
        queue = rng.choice(queues)
        mixed.append(queue.pop(0))
        if not queue:
            queues.remove(queue)
    return mixed


async def test_identical_and_modified_resends_never_share_a_sequence(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    rng = random.Random(20261203)
    unit = bed.unit(budget_line_count=1)
    await pipeline.register(unit, status, producer, allocate=2_000_000_000)
    dossiers = [
        *_vouchers(unit, pipeline, rng),
        *_registrations(bed, pipeline, rng),
        *_allocations(unit, pipeline, rng),
    ]
    early = _interleave(
        [[(d, e) for e in [d.original, *d.resends[: d.split]]] for d in dossiers], rng
    )
    late = _interleave([[(d, e) for e in d.resends[d.split :]] for d in dossiers], rng)
    for d, envelope in early:
        await producer.send(d.topic, envelope, d.key)

    def undecided() -> list[str]:
        return [
            d.dossier_id
            for d in dossiers
            if len(status.by_dossier.get(d.dossier_id, [])) < d.own + d.split
        ]

    await status.wait_for(
        undecided,
        lambda waiting: not waiting,
        what="the statuses of the first sends of every dossier (the dossiers still short)",
        within=120,
    )
    for d, envelope in late:
        await producer.send(d.topic, envelope, d.key)

    def short() -> list[str]:
        return [
            f"{d.dossier_id}: {len(status.by_dossier.get(d.dossier_id, []))} of {d.expected}"
            for d in dossiers
            if len(status.by_dossier.get(d.dossier_id, [])) < d.expected
        ]

    await status.wait_for(
        short,
        lambda missing: not missing,
        what="every status of every dossier (those still short: statuses of expected)",
        within=120,
    )
    faults = {
        d.dossier_id: f"{_story(events)}: {'; '.join(found)}"
        for d in dossiers
        if (found := _faults(events := status.by_dossier[d.dossier_id]))
    }
    assert not faults, "\n".join(f"{k}: {v}" for k, v in faults.items())
    for d in dossiers:
        events = status.by_dossier[d.dossier_id]
        assert len(events) == d.expected, _story(events)
        modified = sum(
            1 for e in events if [r["code"] for r in e["reasons"]] == ["DUPLICATE_MODIFIED"]
        )
        assert modified == sum(1 for e in d.resends if e.payload != d.original.payload), _story(
            events
        )
