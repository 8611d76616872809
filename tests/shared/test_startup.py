"""A service started before its broker waits for it, answering /healthz and saying on /readyz
what it waits for, and comes up by itself once the broker is there."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stack import kafka
from stack.config import StackSettings
from stack.ports import OFFSETS
from stack.procs import ManagedProcess
from stack.runner import Endpoints
from testkit import Testbed
from tests.conftest import PORT_SHIFT
from tests.support import Namespace, Producer, ServiceProcess, TopicLog, free_port, service_env

# Long enough for several attempts with backoff, which must not each print a line.
BROKER_LATE_BY = 12.0


@pytest.fixture
def late_broker(tmp_path: Path) -> Iterator[tuple[str, ManagedProcess]]:
    """A broker of its own, prepared but not started: (bootstrap address, process)."""
    # Ports of their own, beside the session's stack and the other stacks of the port plan.
    base = OFFSETS["test-late"] + PORT_SHIFT
    settings = StackSettings(
        var_dir=tmp_path / "var",
        kafka_port=9092 + base,
        kafka_controller_port=9093 + base,
        pg_port=5432 + base,
        smtp_port=1025 + base,
    )
    broker = kafka.broker_process(settings)
    yield f"127.0.0.1:{settings.kafka_port}", broker
    broker.stop()


async def test_a_service_started_before_its_broker_comes_up_without_a_restart(
    stack: Endpoints,
    ca_file: Path,
    bed: Testbed,
    late_broker: tuple[str, ManagedProcess],
    tmp_path: Path,
) -> None:
    bootstrap, broker = late_broker
    ns = Namespace()
    port = free_port()
    env = {
        **service_env(stack, ns, ca_file),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "REGISTRATION_APPROVAL": "auto",
        "REGISTRATION_PORT": str(port),
    }
    service = ServiceProcess("registration", env, tmp_path / "registration.log", port)
    service.start(until="/healthz")
    started = time.monotonic()
    http = httpx.AsyncClient(base_url=service.url, timeout=5)
    try:
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["database"] == "ok", ready.json()
        assert ready.json()["broker"].startswith("waiting"), ready.json()
        await asyncio.sleep(max(0.0, BROKER_LATE_BY - (time.monotonic() - started)))
        assert service.proc is not None
        assert service.proc.poll() is None, "the service exited while the broker was down"
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 503

        broker.start(foreground=True)
        await asyncio.to_thread(kafka.wait_ready, bootstrap, timeout=120, proc=broker)
        topics = ns.topics
        await kafka.ensure_topics(
            bootstrap, topics.all(), set(topics.compacted()), partitions=4, replication=1
        )
        came_up = await _ready_within(http, 90)
        assert service.proc.poll() is None, "the service restarted or exited"

        await _a_registration_is_approved(bed, bootstrap, ns)
    finally:
        await http.aclose()
        service.stop()
    log = service.log.read_text()
    waits = log.count("still waiting for the broker")
    assert 1 <= waits <= 3, f"{waits} waiting lines in {BROKER_LATE_BY:.0f} s:\n{log[-3000:]}"
    assert "Unable connect" not in log, log[-3000:]
    print(f"ready {came_up:.1f} s after the broker answered")


async def _a_registration_is_approved(bed: Testbed, bootstrap: str, ns: Namespace) -> None:
    unit = bed.unit()
    registration = unit.registration()
    async with TopicLog(bootstrap, ns.topics.status) as status, Producer(bootstrap) as p:
        await p.send(ns.topics.registrations, registration, unit.code)
        events = await status.statuses(registration.payload["dossier_id"], {"approved"}, 60)
    assert events[-1]["status"] == "approved"


async def _ready_within(http: httpx.AsyncClient, seconds: float) -> float:
    began = time.monotonic()
    last = None
    while time.monotonic() - began < seconds:
        last = await http.get("/readyz")
        if last.status_code == 200:
            return time.monotonic() - began
        await asyncio.sleep(0.5)
    raise AssertionError(
        f"not ready {seconds:.0f} s after the broker answered; /readyz said "
        f"{last.json() if last is not None else None}"
    )


class Gate:
    """A TCP door in front of the broker, in this test's loop: `open(n)` lets the next `n`
    connections through (None: every one), and refuses every connection once closed."""

    def __init__(self, upstream: str, port: int) -> None:
        host, upstream_port = upstream.rsplit(":", 1)
        self.upstream = (host, int(upstream_port))
        self.port = port
        self.passed = 0
        self._left: int | None = 0
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def open(self, connections: int | None = None) -> None:
        self._left = connections
        if self._server is None:
            self._server = await asyncio.start_server(
                self._pass, "127.0.0.1", self.port, reuse_address=True
            )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _pass(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._left is not None:
            self._left -= 1
            if self._left <= 0:
                # Accepted connections keep flowing; the next ones are refused.
                await self.close()
        self.passed += 1
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def test_a_broker_lost_between_the_check_and_the_stream_start_is_waited_for_again(
    stack: Endpoints, ca_file: Path, bed: Testbed, tmp_path: Path
) -> None:
    """The broker answers the service's check, then refuses the stream processor's clients:
    the process starts over by itself (same pid) and waits for the broker again."""
    ns = Namespace()
    bootstrap = stack.kafka_bootstrap_servers
    await kafka.ensure_topics(
        bootstrap, ns.topics.all(), set(ns.topics.compacted()), partitions=4, replication=1
    )
    gate = Gate(bootstrap, free_port())
    port = free_port()
    env = {
        **service_env(stack, ns, ca_file),
        "KAFKA_BOOTSTRAP_SERVERS": gate.address,
        "REGISTRATION_APPROVAL": "auto",
        "REGISTRATION_PORT": str(port),
    }
    service = ServiceProcess("registration", env, tmp_path / "registration.log", port)
    service.start(until="/healthz")
    http = httpx.AsyncClient(base_url=service.url, timeout=5)
    try:
        # One connection: the producer's check bootstraps through it (and then talks to the
        # broker's advertised address); the stream processor's clients are refused.
        await gate.open(connections=1)
        log = await _log_says(service, "starting the process over", 60)
        assert service.proc is not None
        pid = service.proc.pid
        await asyncio.sleep(2)
        assert service.proc.poll() is None, f"it exited:\n{service.log.read_text()[-3000:]}"
        assert (await http.get("/readyz")).status_code == 503

        await gate.open()
        await _ready_within(http, 90)
        assert service.proc.poll() is None
        assert service.proc.pid == pid
        await _a_registration_is_approved(bed, bootstrap, ns)
    finally:
        await http.aclose()
        service.stop()
        await gate.close()
    assert "KafkaConnectionError" in log, log[-3000:]
    assert "stopping the worker" not in service.log.read_text()


async def _log_says(service: ServiceProcess, text: str, seconds: float) -> str:
    began = time.monotonic()
    log = ""
    while time.monotonic() - began < seconds:
        log = service.log.read_text()
        if text in log:
            return log
        assert service.proc is not None
        if service.proc.poll() is not None:
            raise AssertionError(f"the service exited before saying {text!r}:\n{log[-3000:]}")
        await asyncio.sleep(0.2)
    raise AssertionError(f"{seconds:.0f} s without {text!r} in the service's log:\n{log[-3000:]}")
