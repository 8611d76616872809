"""Helpers of the integration tests: services as real processes, topics per test module,
and a reader of the status stream."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.auth import issue_staff_token
from shared.contract import Envelope, encode
from shared.db import libpq_url
from shared.settings import TopicSettings
from stack import kafka
from stack.ports import LOWEST_EPHEMERAL, OFFSETS, ports
from stack.procs import tail
from stack.runner import Endpoints
from testkit import UnitKit
from tests.waits import WaitTimedOut, describe, shown, timed_out
from tests.waits import poll as poll

ROOT = Path(__file__).resolve().parent.parent
STAFF_SECRET = "test-staff-secret-of-at-least-32-bytes!"
API_KEY = "portal-test-key"


def staff_token(
    office: str, role: str = "controller", *, secret: str = STAFF_SECRET, ttl: float = 3600
) -> str:
    """A staff token as the treasury's identity provider issues it (`ttl` < 0: expired)."""
    return issue_staff_token(
        secret=secret,
        sub=f"kbnn.{office}.{role}",
        role=role,
        treasury_code=office,
        now=dt.datetime.now(dt.UTC),
        ttl=dt.timedelta(seconds=ttl),
    )


def service_env(stack: Endpoints, ns: Namespace, ca_file: Path) -> dict[str, str]:
    """What every service under test is started with: this stack, its topics, test secrets."""
    return {
        **stack.environment(),
        **ns.environment(),
        "TRUSTED_CA_FILE": str(ca_file),
        "STAFF_JWT_SECRET": STAFF_SECRET,
        "PORTAL_API_KEYS": f"other-key,{API_KEY}",
    }


async def topic_size(bootstrap: str, topic: str) -> int:
    """How many messages `topic` holds (the sum of its partitions' end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            await consumer.topics()
            partitions = [
                TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()
            ]
        ends = await consumer.end_offsets(partitions)
        return sum(ends.values())
    finally:
        await consumer.stop()


Mutation = Callable[[dict[str, Any]], None]


def set_field(path: str, value: Any) -> Mutation:
    """Set `a.b.0.c` in the payload."""

    def mutate(payload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = payload
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def tampered(envelope: Envelope, mutate: Mutation) -> bytes:
    """The envelope's bytes after `mutate(payload)`, written with the standard library, which
    (unlike orjson) writes any depth and any integer a hostile sender might."""
    document = orjson.loads(encode(envelope))
    mutate(document["payload"])
    return json.dumps(document, ensure_ascii=False).encode()


def malformed_fields(events: list[dict[str, Any]]) -> list[str]:
    """The fields named by a dossier's only status, which must be `rejected` `MALFORMED`."""
    assert [e["status"] for e in events] == ["rejected"], events
    reasons = events[0]["reasons"]
    assert {r["code"] for r in reasons} == {"MALFORMED"}, reasons
    return [r["field"] or "" for r in reasons]


def nested(depth: int) -> Any:
    """A JSON value `depth` objects deep: {"a": {"a": … {} …}}."""
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


FREE_PORTS = range(20000, LOWEST_EPHEMERAL)
"""Where single tests' services and sinks listen: below the kernel's ephemeral range, so an
outgoing connection cannot take a port between the test choosing it and the process binding
it (port 0 would hand out an ephemeral one)."""
_handed_out: set[int] = set()


def free_port() -> int:
    """A port of FREE_PORTS that no stack of the project uses, free now, not handed out before
    by this process."""
    reserved = {p for name in OFFSETS for p in ports(name).values()} | _handed_out
    for port in random.sample(FREE_PORTS, 200):
        if port in reserved:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {FREE_PORTS.start}–{FREE_PORTS.stop - 1} after 200 tries")


@dataclass
class Namespace:
    """Topics of their own for one group of tests, so services under test do not share work."""

    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}")

    @property
    def topics(self) -> TopicSettings:
        base = TopicSettings()
        return TopicSettings.model_validate(
            {name: f"{self.prefix}.{value}" for name, value in base.model_dump().items()}
        )

    def environment(self) -> dict[str, str]:
        env = {f"TOPIC_{k.upper()}": v for k, v in self.topics.model_dump().items()}
        env["INSTANCE_SUFFIX"] = self.prefix
        return env

    def create(self, bootstrap: str, partitions: int = 4) -> None:
        t = self.topics
        kafka.create_topics(
            bootstrap, t.all(), set(t.compacted()), partitions=partitions, replication=1
        )


class ServiceProcess:
    """`python -m services.<name>` with the given environment, ready once /readyz answers."""

    def __init__(self, name: str, env: dict[str, str], log: Path, port: int) -> None:
        self.name, self.env, self.log, self.port = name, env, log, port
        self.proc: subprocess.Popen[bytes] | None = None
        self.launched_at = 0.0
        self.url = f"http://127.0.0.1:{port}"

    def launch(self) -> None:
        """Start the process without waiting for it to be ready."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}"],
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.launched_at = time.monotonic()

    def start(self, timeout: float = 120, *, until: str | None = "/readyz") -> None:
        """Start the process and wait until `until` answers 200 (`/healthz`: only alive;
        None: not at all, for a process expected to die while it starts)."""
        self.launch()
        if until is not None:
            self.wait_ready(timeout, until=until)

    def wait_ready(self, timeout: float = 120, *, until: str = "/readyz") -> None:
        """Wait until the process answers 200 on `until`, at most `timeout` seconds after its
        launch; kill it if it never does."""
        assert self.proc is not None
        deadline = self.launched_at + timeout
        last = "no answer"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{tail(self.log, 40)}")
            try:
                answer = httpx.get(f"{self.url}{until}", timeout=1)
                if answer.status_code == 200:
                    return
                last = f"{answer.status_code} {answer.text[:200]}"
            except httpx.HTTPError as err:
                last = repr(err)
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        # Not left running behind the failure, whoever holds it.
        self.kill()
        raise WaitTimedOut(
            f"after {timeout:g} s, still waiting for {self.name}'s {until} to answer 200; saw "
            f"{last}. Last lines of its log:\n{tail(self.log, 40)}"
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample of the service's /metrics (0 when absent)."""
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        want = ",".join(f'{k}="{v}"' for k, v in labels.items())
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            head, _, value = line.rpartition(" ")
            if (head == name and not labels) or head == f"{name}{{{want}}}":
                return float(value)
        return 0.0


class Producer:
    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")

    async def __aenter__(self) -> Producer:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def send(self, topic: str, message: Envelope | bytes, key: str) -> None:
        value = message if isinstance(message, bytes) else encode(message)
        await self._producer.send_and_wait(topic, value, key=key.encode())

    async def send_many(self, topic: str, messages: Iterable[tuple[Envelope, str]]) -> None:
        """Publish without waiting for each acknowledgement, then wait for all of them."""
        pending = [
            await self._producer.send(topic, encode(m), key=key.encode()) for m, key in messages
        ]
        await asyncio.gather(*pending)


class TopicLog:
    """Reads a topic from its beginning, in the background, indexing status events by dossier."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.records: list[Any] = []
        self.by_dossier: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def __aenter__(self) -> TopicLog:
        await self._consumer.start()
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def _read(self) -> None:
        async for record in self._consumer:
            self.records.append(record)
            try:
                doc = orjson.loads(record.value)
                payload = doc.get("payload", {}) if isinstance(doc, dict) else {}
                if isinstance(payload, dict) and "dossier_id" in payload:
                    self.by_dossier[payload["dossier_id"]].append(payload)
            except orjson.JSONDecodeError:
                pass
            self._changed.set()

    async def wait_for(
        self, observe: Any, until: Any = bool, *, what: str = "", within: float = 60
    ) -> Any:
        """Wait until `until(observe())` holds as records arrive; fail with what was seen."""
        try:
            async with asyncio.timeout(within):
                while not until(value := observe()):
                    self._changed.clear()
                    await self._changed.wait()
                return value
        except TimeoutError:
            condition = what or describe(until if until is not bool else observe)
            saw = f"saw {shown(observe())} ({len(self.records)} records on the topic)"
            raise timed_out(condition, within, saw) from None

    async def statuses(
        self, dossier_id: str, until: Iterable[str], within: float = 60
    ) -> list[dict[str, Any]]:
        """The dossier's status events, once one of them is in `until`."""
        wanted = set(until)
        await self.wait_for(
            lambda: [s["status"] for s in self.by_dossier.get(dossier_id, [])],
            lambda seen: bool(wanted.intersection(seen)),
            what=f"{dossier_id} to become {' or '.join(sorted(wanted))} (its statuses so far)",
            within=within,
        )
        return self.by_dossier[dossier_id]


@dataclass
class Pipeline:
    stack: Endpoints
    ns: Namespace
    logs: Path
    ca_file: Path
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def start(
        self, name: str, module: str, *, ready_within: float = 60, **extra: str
    ) -> ServiceProcess:
        service = self.launch(name, module, **extra)
        service.wait_ready(ready_within)
        return service

    def launch(self, name: str, module: str, **extra: str) -> ServiceProcess:
        """Start a service without waiting for it: services launched together start side by
        side (as `make run` starts them), then `wait_ready` waits for them all."""
        port = free_port()
        env = {
            **service_env(self.stack, self.ns, self.ca_file),
            f"{module.upper()}_PORT": str(port),
            **extra,
        }
        service = ServiceProcess(module, env, self.logs / f"{name}.log", port)
        # Known before it starts, so that `stop_all` stops it even when it never got ready.
        self.services[name] = service
        service.launch()
        return service

    def wait_ready(self, within: float = 180) -> None:
        """Wait until every launched service answers /readyz, each at most `within` seconds
        after its launch (generous: several start at once on a machine others share)."""
        for service in self.services.values():
            service.wait_ready(within)

    def stop_all(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()

    def dsn(self) -> str:
        return libpq_url(self.stack.database_url)

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn()) as conn:
            return conn.execute(sql, args).fetchall()

    @property
    def registration(self) -> ServiceProcess:
        return self.services["registration"]

    @property
    def vouchers(self) -> ServiceProcess:
        return self.services["vouchers"]

    def directory_version(self, unit_code: str) -> int:
        """The unit's directory version as the vouchers service holds it (0: unknown)."""
        rows = self.query(
            "SELECT version FROM vouchers.unit_directory WHERE unit_code = %s", unit_code
        )
        return int(rows[0][0]) if rows else 0

    async def register(
        self,
        unit: UnitKit,
        status: TopicLog,
        producer: Producer,
        *,
        allocate: int | None = 500_000_000,
    ) -> None:
        """Register `unit`, allocate `allocate` VND on each of its lines (none when None, for
        a pipeline without control), and wait until the vouchers service knows the unit."""
        registration = unit.registration()
        await producer.send(self.ns.topics.registrations, registration, unit.code)
        await status.statuses(registration.payload["dossier_id"], {"approved"})
        if allocate:
            for allocation in unit.allocations(amount=allocate):
                await self.allocate(allocation, status, producer)
        await poll(
            lambda: self.directory_version(unit.code),
            lambda version: version > 0,
            what=f"the vouchers service to know unit {unit.code} (its directory version)",
        )

    async def allocate(
        self, allocation: Envelope, status: TopicLog, producer: Producer
    ) -> dict[str, Any]:
        await producer.send(self.ns.topics.allocations, allocation, allocation.payload["unit_code"])
        events = await status.statuses(allocation.payload["allocation_id"], {"approved", "refused"})
        return events[-1]

    async def send(self, envelope: Envelope, producer: Producer) -> None:
        """A voucher, investment request, allocation or capital plan envelope, to the topic
        its event type belongs to."""
        topic = (
            self.ns.topics.allocations
            if envelope.event_type in ("allocation.recorded", "capital_plan.recorded")
            else self.ns.topics.vouchers
        )
        key = envelope.payload["unit_code"]
        await producer.send(topic, envelope, key)

    async def budget(self, unit_code: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.services["control"].url) as http:
            answer = await http.get(f"/budgets/{unit_code}", headers={"X-API-Key": API_KEY})
        answer.raise_for_status()
        lines: list[dict[str, Any]] = answer.json()
        return lines


def new_pipeline(
    stack: Endpoints, ca_file: Path, tmp: pytest.TempPathFactory, *, partitions: int = 4
) -> Pipeline:
    ns = Namespace()
    ns.create(stack.kafka_bootstrap_servers, partitions=partitions)
    return Pipeline(stack, ns, tmp.mktemp("logs"), ca_file)
