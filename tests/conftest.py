"""The real stack for the test session, on its own ports and directory: `make run` may run beside.

Started once, on first use by a test that asks for `stack`, and stopped at the end of the session.
The suite never uses a server it did not start unless its own `TEST_*` variables name one
(tests/isolation.py); the product's variables (`DATABASE_URL`, …) are removed before any test.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Literal

import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict

from stack.ports import OFFSETS, PortShift, stack_settings
from stack.runner import Endpoints, Stack
from testkit import ICT, Testbed
from tests.isolation import SuiteServers, claim_database, scrub
from tests.support import Pipeline, Producer, TopicLog

ROOT = Path(__file__).resolve().parent.parent
# Shifts every port of the test stacks, so that two checkouts can run their suites side by side.
PORT_SHIFT = PortShift().port_shift
SCRUBBED = scrub(os.environ)


class SuiteStack(BaseSettings):
    """Which of the stacks in stack.ports the suite starts: `test`, unless a test runs the
    suite inside the suite (`DVC_TEST_STACK=test-nested`)."""

    model_config = SettingsConfigDict(env_prefix="DVC_TEST_", extra="ignore")

    stack: Literal["test", "test-nested"] = "test"


SUITE_STACK = SuiteStack().stack
TEST_VAR = ROOT / "var" / ("test-stack" if SUITE_STACK == "test" else SUITE_STACK)


def pytest_report_header() -> list[str]:
    shown = ", ".join(SCRUBBED) if SCRUBBED else "none"
    return [
        f"test stack: {SUITE_STACK}, ports +{OFFSETS[SUITE_STACK] + PORT_SHIFT}, files in "
        f"{TEST_VAR.relative_to(ROOT)}; product variables ignored: {shown}"
    ]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A `fast` test runs with nothing started: one that asks for the stack is a mistake."""
    for item in items:
        if item.get_closest_marker("fast") and "stack" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(f"{item.nodeid} is marked fast but needs the stack")


@pytest.fixture(scope="session")
def stack() -> Iterator[Endpoints]:
    shutil.rmtree(TEST_VAR, ignore_errors=True)
    runner = Stack(stack_settings(SUITE_STACK, TEST_VAR), SuiteServers())
    endpoints = runner.up(foreground=True, before_migrations=claim_database)
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
