"""The Prometheus tools, and a Prometheus server started on deploy/prometheus/prometheus.yml."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "pipeline-overview.json"


def prometheus_tool(name: str) -> str:
    """The path of `prometheus` or `promtool`; a test without it fails, it is not skipped."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} not found: install Debian's `prometheus` package "
            "(`apt-get install prometheus`; `make` installs it)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """An HTTP client of a Prometheus started from the repository root, as a user would."""
    binary = prometheus_tool("prometheus")
    workdir = tmp_path_factory.mktemp("prometheus")
    address = f"127.0.0.1:{free_port()}"
    with (workdir / "log").open("w") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={CONFIG.relative_to(ROOT)}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address={address}",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    client = httpx.Client(base_url=f"http://{address}", timeout=5.0)
    try:
        _wait_ready(client, process, workdir / "log")
        yield client
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(client: httpx.Client, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"prometheus exited with {process.returncode}:\n{log.read_text()}")
        try:
            answer = client.get("/-/ready")
            if answer.status_code == 200:
                return
            last = f"{answer.status_code} {answer.text[:200]}"
        except httpx.TransportError as err:
            last = repr(err)
        time.sleep(0.2)
    pytest.fail(
        f"after 120 s, still waiting for prometheus's /-/ready to answer 200; saw {last}:\n"
        f"{log.read_text()}"
    )


@pytest.fixture(scope="session")
def rules(prometheus: httpx.Client) -> list[dict[str, Any]]:
    """Every rule as the server loaded it (name, query, type, labels, annotations)."""
    groups = prometheus.get("/api/v1/rules").raise_for_status().json()["data"]["groups"]
    return [rule for group in groups for rule in group["rules"]]


@pytest.fixture(scope="session")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded
