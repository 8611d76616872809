"""Registration (auto approval) and vouchers as real processes, on topics of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from shared.db import sync_url
from stack.runner import Endpoints
from testkit import UnitKit
from tests.support import (
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
    registration: ServiceProcess
    vouchers: ServiceProcess
    logs: Path

    def dsn(self) -> str:
        return sync_url(self.stack.database_url).replace("postgresql+psycopg", "postgresql")

    def directory_version(self, unit_code: str) -> int:
        with psycopg.connect(self.dsn()) as conn:
            row = conn.execute(
                "SELECT version FROM vouchers.unit_directory WHERE unit_code = %s", (unit_code,)
            ).fetchone()
        return int(row[0]) if row else 0

    async def register(self, unit: UnitKit, status: TopicLog, producer: Producer) -> None:
        """Register `unit` and wait until the vouchers service knows it."""
        registration = unit.registration()
        await producer.send(self.ns.topics.registrations, registration, unit.code)
        await status.statuses(registration.payload["dossier_id"], {"approved"})
        await poll(lambda: self.directory_version(unit.code) > 0)


@pytest.fixture(scope="module")
def pipeline(
    stack: Endpoints, ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    ns = Namespace()
    ns.create(stack.kafka_bootstrap_servers)
    logs = tmp_path_factory.mktemp("logs")
    base = service_env(stack, ns, ca_file)
    registration = ServiceProcess(
        "registration",
        {**base, "REGISTRATION_APPROVAL": "auto", "REGISTRATION_PORT": str(port := free_port())},
        logs / "registration.log",
        port,
    )
    vouchers = ServiceProcess(
        "vouchers", {**base, "VOUCHERS_PORT": str(port := free_port())}, logs / "vouchers.log", port
    )
    registration.start()
    vouchers.start()
    yield Pipeline(stack, ns, registration, vouchers, logs)
    vouchers.stop()
    registration.stop()


@pytest.fixture
async def status(pipeline: Pipeline) -> AsyncIterator[TopicLog]:
    async with TopicLog(pipeline.stack.kafka_bootstrap_servers, pipeline.ns.topics.status) as log:
        yield log


@pytest.fixture
async def producer(pipeline: Pipeline) -> AsyncIterator[Producer]:
    async with Producer(pipeline.stack.kafka_bootstrap_servers) as p:
        yield p
