"""The launcher's promises to a user: clear errors, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from stack import kafka
from stack.errors import ComponentFailed, PortInUse, PrerequisiteMissing
from stack.procs import ManagedProcess, ensure_port_free, wait_until


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
