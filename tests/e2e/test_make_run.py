"""`make run` as a newcomer sees it, and the operators' dashboard fed by its demo."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.conftest import PORT_SHIFT, ROOT

OFFSET = 20000 + PORT_SHIFT
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "pipeline-overview.json"


def _stack_processes(var_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            environ = proc.info["environ"] or {}
        except psutil.Error:
            continue
        if str(var_dir) in cmdline or environ.get("STACK_VAR_DIR") == str(var_dir):
            found.append(proc)
    return found


def _panel_queries() -> list[tuple[str, str]]:
    board: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [
        (panel["title"], target["expr"]) for panel in board["panels"] for target in panel["targets"]
    ]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`make run` with a small demo, on ports of its own, until the test is done with it."""
    if shutil.which("prometheus") is None:
        pytest.fail("Debian's `prometheus` package is missing: `make tools` installs it")
    var_dir = (ROOT / "var" / "test-run").resolve()
    shutil.rmtree(var_dir, ignore_errors=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "SMTP_HOST", "SMTP_PORT"}
    }
    env.update(
        DEMO_VOUCHERS="150",
        STACK_VAR_DIR=str(var_dir),
        PYTHON=sys.executable,
        REGISTRATION_APPROVAL="manual",
        COLUMNS="120",
        **{
            f"STACK_{name}_PORT": str(port + OFFSET)
            for name, port in (
                ("KAFKA", 9092),
                ("KAFKA_CONTROLLER", 9093),
                ("PG", 5432),
                ("SMTP", 1025),
                ("REGISTRATION", 8001),
                ("VOUCHERS", 8002),
                ("CONTROL", 8003),
                ("NOTIFY", 8004),
                ("WORKSPACE", 8005),
                ("PROMETHEUS", 9090),
            )
        },
    )
    output = tmp_path_factory.mktemp("run") / "run.out"
    with output.open("wb") as out:
        run = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        while "Serving" not in output.read_text() and time.monotonic() < deadline:
            assert run.poll() is None, output.read_text()
            time.sleep(0.5)
        yield run, output, var_dir
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGINT)
            try:
                run.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)


def test_the_demo_ends_with_every_voucher_final_and_a_summary(running: Any) -> None:
    _, output, _ = running
    printed = output.read_text()
    assert "Serving" in printed, printed
    assert "Demo: " in printed
    assert "(no final status)" not in printed
    assert "Throughput:" in printed
    assert "p50" in printed and "p99" in printed  # noqa: PT018
    for port in (8001, 8002, 8003, 8004, 8005, 9090):
        assert f"127.0.0.1:{port + OFFSET}" in printed
    assert "Left for the officers: 18 vouchers in review, 3 registrations." in printed
    assert "kiemsoat.0011@kbnn.gov.vn" in printed
    workspace = f"http://127.0.0.1:{8005 + OFFSET}"
    assert httpx.get(f"{workspace}/signin", timeout=10).status_code == 200
    for status in ("approved", "rejected", "returned", "refused"):
        assert status in printed


def test_every_dashboard_panel_has_data_and_every_rule_is_loaded(running: Any) -> None:
    prometheus = f"http://127.0.0.1:{9090 + OFFSET}"
    queries = _panel_queries()
    empty: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        empty = []
        for title, expr in queries:
            answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10)
            assert answer.status_code == 200, (title, expr, answer.text)
            if not answer.json()["data"]["result"]:
                empty.append(f"{title}: {expr}")
        if not empty:
            break
        time.sleep(5)
    assert empty == [], "panels without data:\n" + "\n".join(empty)
    groups = httpx.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert any(rule["type"] == "alerting" for rule in rules)
    assert all(rule["health"] in ("ok", "unknown") for rule in rules), [
        (r["name"], r.get("lastError")) for r in rules if r["health"] == "err"
    ]


def test_ctrl_c_stops_every_process_it_started(running: Any) -> None:
    run, output, var_dir = running
    state = json.loads((var_dir / "stack.json").read_text())
    started = state["started"]
    assert set(started) == {
        "kafka",
        "postgres",
        "smtp",
        "registration",
        "vouchers",
        "control",
        "notify",
        "workspace",
        "prometheus",
    }
    pids = [int(p) for p in started.values()]
    assert all(psutil.pid_exists(pid) for pid in pids)
    os.killpg(run.pid, signal.SIGINT)
    # make re-raises the SIGINT once its child is done, so it ends "killed by SIGINT".
    assert run.wait(timeout=90) in (0, -signal.SIGINT, 130)
    time.sleep(0.5)
    left = [
        p
        for p in _stack_processes(var_dir)
        if p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    ]
    assert left == [], [p.cmdline()[:3] for p in left]
    assert not any(psutil.pid_exists(pid) for pid in pids)
    assert "Stopped." in output.read_text()
