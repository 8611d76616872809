"""The four services as real processes on topics of their own, and `dvc` run as operators run
it: a subprocess with the services' settings in its environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stack.runner import Endpoints
from testkit import Testbed, UnitKit
from tests.support import (
    ROOT,
    Pipeline,
    Producer,
    TopicLog,
    free_port,
    new_pipeline,
    service_env,
)

OFFICE_STAFF = "ksv.ops@kbnn.gov.vn"


@dataclass
class Dvc:
    """`python -m ops …` with the pipeline's settings; what it printed and its exit code."""

    env: dict[str, str]

    def __call__(
        self, *args: str, timeout: float = 120, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "ops", *args],
            cwd=ROOT,
            env={**os.environ, **self.env, "COLUMNS": "250", **extra},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        done.elapsed = time.monotonic() - began  # type: ignore[attr-defined]
        return done

    def json(self, *args: str) -> Any:
        done = self(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture(scope="package")
def pipeline(
    stack: Endpoints, ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    p = new_pipeline(stack, ca_file, tmp_path_factory)
    offices = p.logs / "offices.json"
    staff = [{"email": OFFICE_STAFF, "role": "controller"}]
    offices.write_text(
        json.dumps({"offices": [{"treasury_code": "0011", "name": "Kho bạc 0011", "staff": staff}]})
    )
    try:
        p.launch("registration", "registration", REGISTRATION_APPROVAL="auto")
        p.launch("vouchers", "vouchers")
        p.launch("control", "control")
        p.launch(
            "notify",
            "notify",
            TREASURY_DIRECTORY=str(offices),
            PORTAL_WEBHOOKS=f"http://127.0.0.1:{free_port()}/hook",
            WEBHOOK_SECRET="ops-test",
            RETRY_MAX_SECONDS="30",
            DIGEST_TIME="23:59",
        )
        # Four services start side by side on a machine other test runs share: three minutes
        # to answer /readyz (notify first retries what earlier modules left due).
        p.wait_ready(within=180)
        yield p
    finally:
        p.stop_all()


@pytest.fixture(scope="package")
def dvc(pipeline: Pipeline) -> Dvc:
    return Dvc(service_env(pipeline.stack, pipeline.ns, pipeline.ca_file))


async def registered(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> UnitKit:
    """A unit of office 0011, registered, with 500,000,000 VND on its one budget line."""
    unit = bed.unit(budget_line_count=1)
    await pipeline.register(unit, status, producer)
    return unit
