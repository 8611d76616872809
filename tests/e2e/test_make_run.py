"""`make run` as a newcomer sees it, and the operators' dashboard fed by its demo."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from stack.ports import ports
from tests.conftest import ROOT
from tests.waits import wait_sync

PORTS = ports("test-run")
SERVICES = ("registration", "vouchers", "control", "notify", "support")
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


def _stack_names(var_dir: Path) -> list[str]:
    """The first words of the command line of each live process of the stack."""
    found = []
    for p in _stack_processes(var_dir):
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                found.append(" ".join(p.cmdline()[:3]))
        except psutil.Error:
            continue
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
        **{f"STACK_{name.upper()}": str(port) for name, port in PORTS.items()},
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
        wait_sync(
            lambda: (run.poll(), output.read_text()[-600:]),
            lambda seen: seen[0] is not None or "Serving" in seen[1],
            what="`make run` to print Serving (its exit code and its last output)",
            within=600,
        )
        assert "Serving" in output.read_text(), output.read_text()
        yield run, output, var_dir
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGINT)
            try:
                run.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)


def _summary(printed: str) -> str:
    """The demo's table of final statuses and the lines under it, as printed."""
    start = printed.find("Demo: ")
    end = printed.find("Left for the officers", start)
    return printed[start:end] if start >= 0 else ""


def _outcomes(summary: str) -> set[str]:
    """The final statuses that have a row of their own in the summary's table."""
    cells = (line.strip("│┃ ").split("│")[0].strip() for line in summary.splitlines())
    return {cell for cell in cells if cell}


def test_the_demo_ends_with_every_voucher_final_and_a_summary(running: Any) -> None:
    _, output, _ = running
    printed = output.read_text()
    assert "Serving" in printed, printed
    summary = _summary(printed)
    assert summary, f"no demo summary; `make run` printed:\n{printed[-3000:]}"
    assert "(no final status)" not in summary, summary
    assert "Throughput:" in summary, summary
    assert "p50" in summary and "p99" in summary, summary  # noqa: PT018
    for name in (*SERVICES, "workspace", "prometheus"):
        assert f"127.0.0.1:{PORTS[f'{name}_port']}" in printed
    assert "Left for the officers: 18 vouchers in review, 3 registrations." in printed
    assert "kiemsoat.0011@kbnn.gov.vn" in printed
    workspace = f"http://127.0.0.1:{PORTS['workspace_port']}"
    assert httpx.get(f"{workspace}/signin", timeout=10).status_code == 200
    missing = {"approved", "rejected", "returned", "refused"} - _outcomes(summary)
    assert not missing, f"no {', '.join(sorted(missing))} row in the demo's summary:\n{summary}"
    assert "Demo: 16 support requests" in printed


def test_no_service_looks_for_a_leader_topic_at_start(running: Any) -> None:
    _, _, var_dir = running
    for name in SERVICES:
        log = (var_dir / "log" / f"{name}.log").read_text()
        assert "Application startup complete" in log, log[-2000:]
        assert "__assignor-__leader" not in log, name


def test_every_dashboard_panel_has_data_and_every_rule_is_loaded(running: Any) -> None:
    prometheus = f"http://127.0.0.1:{PORTS['prometheus_port']}"
    queries = _panel_queries()

    def without_data() -> list[str]:
        empty = []
        for title, expr in queries:
            answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10)
            assert answer.status_code == 200, (title, expr, answer.text)
            if not answer.json()["data"]["result"]:
                empty.append(f"{title}: {expr}")
        return empty

    wait_sync(
        without_data,
        lambda empty: empty == [],
        what="every dashboard panel to have data (panels without data)",
        within=180,
        every=5,
    )
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
    assert set(started) == {"kafka", "postgres", "smtp", *SERVICES, "workspace", "prometheus"}
    pids = [int(p) for p in started.values()]
    assert all(psutil.pid_exists(pid) for pid in pids)
    os.killpg(run.pid, signal.SIGINT)
    # make re-raises the SIGINT once its child is done, so it ends "killed by SIGINT".
    ended = wait_sync(
        lambda: (run.poll(), _stack_names(var_dir)),
        lambda seen: seen[0] is not None,
        what="`make run` to exit after Ctrl-C (its exit code, and the stack's processes left)",
        within=90,
    )
    assert ended[0] in (0, -signal.SIGINT, 130), ended

    def left() -> list[str]:
        return _stack_names(var_dir) + [f"pid {pid}" for pid in pids if psutil.pid_exists(pid)]

    wait_sync(left, lambda found: found == [], what="no process of the stack left", within=30)
    assert "Stopped." in output.read_text()


def test_the_demo_shows_a_project_paid_and_each_investment_refusal(running: Any) -> None:
    _, output, _ = running
    printed = output.read_text()
    assert "investment capital of project" in printed, printed
    for code in (
        "ADVANCE_LIMIT_EXCEEDED",
        "COMPLETED_VALUE_EXCEEDED",
        "ADVANCE_RECOVERY_INSUFFICIENT",
        "CAPITAL_PLAN_EXCEEDED",
        "CAPITAL_PLAN_UNKNOWN",
    ):
        assert code in printed, code
    assert "open_advance 0, paid 1500000000" in " ".join(printed.split()), printed
