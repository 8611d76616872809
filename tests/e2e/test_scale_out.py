"""Two instances of every consuming service, as two replicas on a cluster would run: they
share each consumer group and split its partitions, and when one of each is killed and
restarted mid-run, every voucher still ends with one terminal status, no budget line is
committed past its allocation, and no email is sent twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import KafkaError

from shared.contract import Envelope, ReasonCode
from stack.runner import Endpoints
from testkit import ICT, Testbed, UnitKit, invalid_voucher
from tests.notify.conftest import Sink
from tests.support import Pipeline, Producer, TopicLog, new_pipeline, poll

SERVICES = ("registration", "vouchers", "control", "notify")
# The topic whose work each service does, keyed by unit code.
MAIN_TOPIC = {"registration": "registrations", "vouchers": "vouchers", "control": "control"}
MAIN_TOPIC["notify"] = "status"
PARTITIONS = 6
TERMINAL = {"approved", "refused", "rejected", "returned"}
UNITS, PER_UNIT = 12, 60
PRICE, ALLOCATED = 3_000_000, 135_000_000
# Eight services start side by side on a machine others share: each may take a while.
READY_WITHIN = 180


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sink]:
    sink = Sink(tmp_path_factory.mktemp("mail"))
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def pipeline(
    stack: Endpoints, ca_file: Path, sink: Sink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """Every service twice, on topics of 6 partitions: the same INSTANCE_SUFFIX, so the two
    instances of a service join one consumer group, as replicas do."""
    p = new_pipeline(stack, ca_file, tmp_path_factory, partitions=PARTITIONS)
    mail = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port), "RETRY_MAX_SECONDS": "2"}
    try:
        for name in SERVICES:
            for instance in (name, f"{name}-2"):
                p.launch(instance, name, REGISTRATION_APPROVAL="auto", **mail)
        p.wait_ready(within=READY_WITHIN)
        yield p
    finally:
        p.stop_all()


def _workload(units: list[UnitKit], now: dt.datetime) -> list[tuple[Envelope, str]]:
    """Vouchers of 3,000,000 VND, 60 a unit on one line holding 45 of them, and one in ten
    faulty: approvals, refusals for want of budget and rejections, all racing."""
    faults = itertools.cycle(
        [ReasonCode.TOTAL_MISMATCH, ReasonCode.PAYEE_MISSING, ReasonCode.SIGNATURE_INVALID]
    )
    work = []
    for i in range(PER_UNIT):
        for unit in units:
            if i % 10 == 9:
                envelope = invalid_voucher(unit, next(faults), at=now).envelope
                assert envelope is not None
            else:
                envelope = unit.voucher(at=now, total_amount=PRICE, contract=False)
            work.append((envelope, unit.code))
    return work


async def test_two_instances_split_the_work_and_survive_one_killed_each(
    bed: Testbed, pipeline: Pipeline, sink: Sink
) -> None:
    for name in SERVICES:
        await _wait_split(pipeline, name)
    units = [bed.unit(budget_line_count=1) for _ in range(UNITS)]
    async with (
        Producer(pipeline.stack.kafka_bootstrap_servers) as producer,
        TopicLog(pipeline.stack.kafka_bootstrap_servers, pipeline.ns.topics.status) as status,
    ):
        for unit in units:
            await pipeline.register(unit, status, producer, allocate=ALLOCATED)
        work = _workload(units, dt.datetime.now(ICT))
        dossiers = {envelope.payload["dossier_id"] for envelope, _ in work}

        def final() -> int:
            return sum(1 for d in dossiers if _terminal(status, d))

        await producer.send_many(pipeline.ns.topics.vouchers, work)
        await status.wait_for(
            final,
            lambda n: n >= len(dossiers) // 4,
            what=f"a quarter of {len(dossiers)} vouchers final (how many are)",
            within=240,
        )
        for name in SERVICES:
            # Both instances have applied work of their own before one of them dies.
            for instance in (name, f"{name}-2"):
                batches = pipeline.services[instance].metric(f"{name}_batch_size_messages_count")
                assert batches > 0, f"{instance} applied no batch"
            pipeline.services[f"{name}-2"].kill()
        killed_at = final()
        # Restarted under a full load: /readyz may not answer within its second while the
        # survivor's backlog is shared out, so what counts is that each rejoins its group.
        for name in SERVICES:
            pipeline.services[f"{name}-2"].launch()
        await status.wait_for(
            final,
            lambda n: n == len(dossiers),
            what=f"all {len(dossiers)} vouchers final after the restarts (how many are)",
            within=480,
        )
        for name in SERVICES:
            await _wait_split(pipeline, name)

    assert killed_at < len(dossiers), "the instances were killed after the run had finished"
    outcomes = {d: {(e["status"], e["sequence"]) for e in _terminal(status, d)} for d in dossiers}
    assert [(d, o) for d, o in outcomes.items() if len(o) != 1] == []
    tally = {s for o in outcomes.values() for s, _ in o}
    assert {"approved", "refused", "rejected"} <= tally, tally

    codes = [u.code for u in units]
    over = pipeline.query(
        "SELECT l.unit_code, l.allocated, l.committed, coalesce(sum(c.amount), 0) "
        "FROM control.budget_lines l LEFT JOIN control.commitments c USING "
        "(unit_code, fiscal_year, chapter, sector_code, source_code) WHERE l.unit_code = ANY(%s) "
        "GROUP BY l.unit_code, l.fiscal_year, l.chapter, l.sector_code, l.source_code "
        "HAVING l.committed > l.allocated OR l.committed <> coalesce(sum(c.amount), 0)",
        codes,
    )
    assert over == []
    approved = sum(1 for o in outcomes.values() if next(iter(o))[0] == "approved")
    [(committed,)] = pipeline.query(
        "SELECT coalesce(sum(committed), 0) FROM control.budget_lines WHERE unit_code = ANY(%s)",
        codes,
    )
    assert committed == approved * PRICE <= UNITS * ALLOCATED

    def mailed() -> dict[str, int]:
        [(pending, sent)] = pipeline.query(
            "SELECT count(*) FILTER (WHERE status <> 'sent'), count(*) FILTER (WHERE status = "
            "'sent') FROM notify.deliveries WHERE channel = 'email' AND dossier_id = ANY(%s)",
            list(dossiers),
        )
        return {"pending": pending, "sent": sent, "in the sink": len(sink.messages())}

    await poll(
        mailed,
        lambda n: n["pending"] == 0 and 0 < n["sent"] <= n["in the sink"],
        within=300,
        every=1,
        what="every email delivery sent and in the sink (deliveries pending, sent; mails)",
    )
    # A mail is never sent twice but where a killed instance left its fate unknown: then it
    # is sent again under the same Message-ID, and the delivery counts that attempt in doubt.
    # One mail goes to all the recipients of a notice: copies are counted per recipient.
    copies = Counter((str(m["Message-ID"]), str(m["Delivered-To"])) for m in sink.messages())
    twice = {key: n for key, n in copies.items() if n > 1}
    [(in_doubt,)] = pipeline.query(
        "SELECT coalesce(sum(attempts_in_doubt), 0) FROM notify.deliveries "
        "WHERE channel = 'email' AND dossier_id = ANY(%s)",
        list(dossiers),
    )
    assert sum(n - 1 for n in twice.values()) <= in_doubt, (twice, in_doubt)


async def assignments(bootstrap: str, group: str) -> list[set[TopicPartition]]:
    """The partitions each member of consumer group `group` holds, as Kafka reports them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
    except KafkaError as err:
        if not err.retriable:
            raise
        return []  # no coordinator yet (a broker just started): no member holds anything
    finally:
        await admin.close()
    [described] = response.groups
    members = described[5]
    # A member's assignment is empty while the group rebalances.
    return [
        set(ConsumerProtocolMemberAssignment.decode(m[-1]).partitions()) if m[-1] else set()
        for m in members
    ]


async def _wait_split(pipeline: Pipeline, name: str) -> None:
    """Both instances of `name` in its one group, each holding part of its main topic."""
    group = f"{name}-{pipeline.ns.prefix}"
    topic = getattr(pipeline.ns.topics, MAIN_TOPIC[name])
    seen: list[set[int]] = []

    async def split() -> bool:
        nonlocal seen
        held = await assignments(pipeline.stack.kafka_bootstrap_servers, group)
        seen = [{tp.partition for tp in member if tp.topic == topic} for member in held]
        return len(seen) == 2 and all(seen) and seen[0].isdisjoint(seen[1])

    try:
        async with asyncio.timeout(120):
            while not await split():  # noqa: ASYNC110 - the state is in Kafka
                await asyncio.sleep(1)
    except TimeoutError:
        pytest.fail(f"{group}: two members splitting {topic} expected, Kafka reports {seen}")
    assert seen[0] | seen[1] == set(range(PARTITIONS))


def _terminal(status: TopicLog, dossier: str) -> list[dict[str, object]]:
    return [e for e in status.by_dossier.get(dossier, []) if e["status"] in TERMINAL]
