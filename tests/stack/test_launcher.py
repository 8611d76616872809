"""The launcher's promises to a user: clear errors, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from stack import kafka
from stack.errors import ComponentFailed, PortInUse, PrerequisiteMissing
from stack.procs import ManagedProcess, ensure_port_free, wait_until
from tests.conftest import ROOT


def test_a_taken_port_is_named_with_the_process_holding_it() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortInUse) as err:
            ensure_port_free(port, what="Kafka")
    assert f"127.0.0.1:{port}" in str(err.value)
    assert f"pid {os.getpid()}" in str(err.value)


def test_missing_java_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrerequisiteMissing, match="Java 17"):
        kafka.require_java()


def test_a_component_that_dies_is_reported_with_its_log(tmp_path: Path) -> None:
    proc = ManagedProcess(
        name="broker",
        log=tmp_path / "broker.log",
        argv=["sh", "-c", "echo 'listener failed: address in use'; exit 3"],
    )
    proc.start(foreground=True)
    with pytest.raises(ComponentFailed) as err:
        wait_until(lambda: False, timeout=10, proc=proc, what="The broker")
    assert "exited with code 3" in str(err.value)
    assert "listener failed: address in use" in str(err.value)


def _stack_processes(var_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(var_dir) in cmdline:
            found.append(proc)
    return found


def test_make_run_serves_until_ctrl_c_and_leaves_no_process_behind(tmp_path: Path) -> None:
    var_dir = (ROOT / "var" / "test-run").resolve()
    shutil.rmtree(var_dir, ignore_errors=True)
    offset = 20000
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "SMTP_HOST", "SMTP_PORT"}
    }
    env.update(
        DEMO_VOUCHERS="0",
        STACK_VAR_DIR=str(var_dir),
        STACK_KAFKA_PORT=str(9092 + offset),
        STACK_KAFKA_CONTROLLER_PORT=str(9093 + offset),
        STACK_PG_PORT=str(5432 + offset),
        STACK_SMTP_PORT=str(1025 + offset),
        PYTHON=sys.executable,
    )
    output = tmp_path / "run.out"
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
        deadline = time.monotonic() + 120
        while "Serving" not in output.read_text() and time.monotonic() < deadline:
            assert run.poll() is None, output.read_text()
            time.sleep(0.5)
        printed = output.read_text()
        assert "Serving" in printed, printed
        state = json.loads((var_dir / "stack.json").read_text())
        pids = [int(p) for p in state["started"].values()]
        assert set(state["started"]) == {"kafka", "postgres", "smtp"}
        assert f"127.0.0.1:{9092 + offset}" in printed
        assert f"127.0.0.1:{5432 + offset}" in printed
        assert f"127.0.0.1:{1025 + offset}" in printed
        assert all(psutil.pid_exists(pid) for pid in pids)
        os.killpg(run.pid, signal.SIGINT)
        # make re-raises the SIGINT once its child is done, so it ends "killed by SIGINT".
        assert run.wait(timeout=60) in (0, -signal.SIGINT, 130)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    time.sleep(0.5)
    left = [
        p
        for p in _stack_processes(var_dir)
        if p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    ]
    assert left == [], [p.cmdline()[:3] for p in left]
    assert not any(psutil.pid_exists(pid) for pid in pids)
    assert "Stopped." in output.read_text()
