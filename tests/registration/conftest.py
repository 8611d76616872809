"""The registration service as a real process, twice: approval `auto` and `manual`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from stack.runner import Endpoints
from tests.support import (
    API_KEY,
    Namespace,
    ServiceProcess,
    TopicLog,
    free_port,
    service_env,
    staff_token,
)

__all__ = ["API_KEY", "staff_token"]


def _start(
    approval: str, stack: Endpoints, ca_file: Path, logs: Path
) -> tuple[Namespace, ServiceProcess]:
    ns = Namespace()
    ns.create(stack.kafka_bootstrap_servers)
    port = free_port()
    env = {
        **service_env(stack, ns, ca_file),
        "REGISTRATION_APPROVAL": approval,
        "REGISTRATION_PORT": str(port),
    }
    service = ServiceProcess("registration", env, logs / f"registration-{approval}.log", port)
    service.start()
    return ns, service


@pytest.fixture(scope="module")
def auto(
    stack: Endpoints, ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Namespace, ServiceProcess]]:
    ns, service = _start("auto", stack, ca_file, tmp_path_factory.mktemp("logs"))
    yield ns, service
    service.stop()


@pytest.fixture(scope="module")
def manual(
    stack: Endpoints, ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Namespace, ServiceProcess]]:
    ns, service = _start("manual", stack, ca_file, tmp_path_factory.mktemp("logs"))
    yield ns, service
    service.stop()


@pytest.fixture
async def auto_status(
    stack: Endpoints, auto: tuple[Namespace, ServiceProcess]
) -> AsyncIterator[TopicLog]:
    async with TopicLog(stack.kafka_bootstrap_servers, auto[0].topics.status) as log:
        yield log


@pytest.fixture
async def manual_status(
    stack: Endpoints, manual: tuple[Namespace, ServiceProcess]
) -> AsyncIterator[TopicLog]:
    async with TopicLog(stack.kafka_bootstrap_servers, manual[0].topics.status) as log:
        yield log
