"""The real stack for the test session, on its own ports and directory: `make run` may run beside.

Started once, on first use by a test that asks for `stack`, and stopped at the end of the session.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from stack.config import ExternalServices, StackSettings
from stack.runner import Endpoints, Stack
from testkit import ICT, Testbed
from tests.support import Pipeline, Producer, TopicLog

ROOT = Path(__file__).resolve().parent.parent
TEST_VAR = ROOT / "var" / "test-stack"
# Shifts every port of the test stacks, so that two checkouts can run their suites side by side.
PORT_SHIFT = int(os.environ.get("DVC_TEST_PORT_SHIFT", "0"))


def test_stack_settings(var_dir: Path, offset: int) -> StackSettings:
    return StackSettings(
        var_dir=var_dir,
        kafka_port=9092 + offset,
        kafka_controller_port=9093 + offset,
        pg_port=5432 + offset,
        smtp_port=1025 + offset,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A `fast` test runs with nothing started: one that asks for the stack is a mistake."""
    for item in items:
        if item.get_closest_marker("fast") and "stack" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(f"{item.nodeid} is marked fast but needs the stack")


@pytest.fixture(scope="session")
def stack() -> Iterator[Endpoints]:
    shutil.rmtree(TEST_VAR, ignore_errors=True)
    runner = Stack(test_stack_settings(TEST_VAR, 10000 + PORT_SHIFT), ExternalServices())
    endpoints = runner.up(foreground=True)
    for key, value in endpoints.environment().items():
        os.environ[key] = value
    try:
        yield endpoints
    finally:
        runner.stop_started()


@pytest.fixture(scope="session")
def bed() -> Testbed:
    """One test bed for the session, on the real clock, so ids never collide between modules."""
    return Testbed(now=dt.datetime.now(dt.UTC).astimezone(ICT))


@pytest.fixture(scope="session")
def ca_file(bed: Testbed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pki") / "trusted-ca.pem"
    bed.ca.write_bundle(path)
    return path


@pytest.fixture
async def status(pipeline: Pipeline) -> AsyncIterator[TopicLog]:
    async with TopicLog(pipeline.stack.kafka_bootstrap_servers, pipeline.ns.topics.status) as log:
        yield log


@pytest.fixture
async def producer(pipeline: Pipeline) -> AsyncIterator[Producer]:
    async with Producer(pipeline.stack.kafka_bootstrap_servers) as p:
        yield p
