"""The whole intake-to-decision pipeline as real processes: registration (auto approval),
vouchers and control, on topics of their own; and a way to feed control directly."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from shared.contract import Envelope, make_envelope, to_json_dict
from shared.contract.internal import VOUCHER_RECEIVED, VoucherReceived
from shared.db import sync_url
from stack.runner import Endpoints
from testkit import UnitKit
from testkit.vouchers import VoucherOptions, build_voucher
from tests.support import (
    API_KEY,
    Namespace,
    Producer,
    ServiceProcess,
    TopicLog,
    free_port,
    poll,
    service_env,
)


@dataclass
class Pipeline:
    stack: Endpoints
    ns: Namespace
    logs: Path
    ca_file: Path
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def start(self, name: str, module: str, **extra: str) -> ServiceProcess:
        port = free_port()
        env = {
            **service_env(self.stack, self.ns, self.ca_file),
            f"{module.upper()}_PORT": str(port),
            **extra,
        }
        service = ServiceProcess(module, env, self.logs / f"{name}.log", port)
        service.start()
        self.services[name] = service
        return service

    def stop_all(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()

    def dsn(self) -> str:
        return sync_url(self.stack.database_url).replace("postgresql+psycopg", "postgresql")

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn()) as conn:
            return conn.execute(sql, args).fetchall()

    async def register(
        self,
        unit: UnitKit,
        status: TopicLog,
        producer: Producer,
        *,
        allocate: int | None = 500_000_000,
    ) -> None:
        """Register `unit`, allocate `allocate` VND on each of its lines, wait for both."""
        registration = unit.registration()
        await producer.send(self.ns.topics.registrations, registration, unit.code)
        await status.statuses(registration.payload["dossier_id"], {"approved"})
        if allocate:
            for allocation in unit.allocations(amount=allocate):
                await self.allocate(allocation, status, producer)
        await poll(
            lambda: bool(
                self.query("SELECT 1 FROM vouchers.unit_directory WHERE unit_code = %s", unit.code)
            )
        )

    async def allocate(
        self, allocation: Envelope, status: TopicLog, producer: Producer
    ) -> dict[str, Any]:
        await producer.send(self.ns.topics.allocations, allocation, allocation.payload["unit_code"])
        events = await status.statuses(allocation.payload["allocation_id"], {"approved", "refused"})
        return events[-1]

    async def send(self, envelope: Envelope, producer: Producer) -> None:
        """A voucher or allocation envelope, to the topic its event type belongs to."""
        topic = (
            self.ns.topics.allocations
            if envelope.event_type == "allocation.recorded"
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


def new_pipeline(stack: Endpoints, ca_file: Path, tmp: pytest.TempPathFactory) -> Pipeline:
    ns = Namespace()
    ns.create(stack.kafka_bootstrap_servers)
    return Pipeline(stack, ns, tmp.mktemp("logs"), ca_file)


@pytest.fixture(scope="module")
def pipeline(
    stack: Endpoints, ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    p = new_pipeline(stack, ca_file, tmp_path_factory)
    p.start("registration", "registration", REGISTRATION_APPROVAL="auto")
    p.start("vouchers", "vouchers")
    p.start("control", "control")
    yield p
    p.stop_all()


@pytest.fixture
async def status(pipeline: Pipeline) -> AsyncIterator[TopicLog]:
    async with TopicLog(pipeline.stack.kafka_bootstrap_servers, pipeline.ns.topics.status) as log:
        yield log


@pytest.fixture
async def producer(pipeline: Pipeline) -> AsyncIterator[Producer]:
    async with Producer(pipeline.stack.kafka_bootstrap_servers) as p:
        yield p
