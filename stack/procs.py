"""Child processes of the stack: started in their own process group, stopped in order.

Each child asks the kernel to signal it when the launcher dies (PR_SET_PDEATHSIG), so a
launcher killed with SIGKILL still leaves nothing behind when it runs in the foreground.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from stack.errors import ComponentFailed, PortInUse

_PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: int) -> Callable[[], None]:
    def preexec() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig)

    return preexec


def ensure_port_free(port: int, *, what: str, host: str = "127.0.0.1") -> None:
    """Fail with the process holding the port, if any, rather than a bind error in a log."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            holder = _port_holder(port)
            raise PortInUse(
                f"{what} needs {host}:{port}, which is already in use{holder}. Stop that process "
                f"(`python -m stack down` if it is an earlier stack) or choose another port."
            ) from None


def _port_holder(port: int) -> str:
    with contextlib.suppress(psutil.Error):
        for conn in psutil.net_connections(kind="tcp"):
            local = conn.laddr
            if not isinstance(local, tuple) or len(local) != 2:
                continue
            if local[1] == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                proc = psutil.Process(conn.pid)
                return f" by pid {conn.pid} ({' '.join(proc.cmdline()[:3])})"
    return ""


def tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return f"(no log at {path})"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


@dataclass
class ManagedProcess:
    """One child process with its log file and its way of being stopped."""

    name: str
    argv: Sequence[str]
    log: Path
    stop_signal: int = signal.SIGTERM
    env: dict[str, str] | None = None
    cwd: Path | None = None
    user: str | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, *, foreground: bool) -> int:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                list(self.argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                user=self.user,
                start_new_session=True,
                preexec_fn=_die_with_parent(self.stop_signal) if foreground else None,
            )
        return self.popen.pid

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def check_alive(self) -> None:
        if self.popen is not None and self.popen.poll() is not None:
            raise ComponentFailed(
                f"{self.name} exited with code {self.popen.returncode}. Last lines of {self.log}:\n"
                f"{tail(self.log)}"
            )

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen is None:
            return
        stop_pid(self.popen.pid, sig=self.stop_signal, timeout=timeout)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=1)


def stop_pid(pid: int, *, sig: int = signal.SIGTERM, timeout: float = 20.0) -> bool:
    """Signal a process group, wait, then kill what is left. True if something was running."""
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return False
    family = [proc, *proc.children(recursive=True)]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    with contextlib.suppress(psutil.NoSuchProcess):
        proc.send_signal(sig)
    _, alive = psutil.wait_procs(family, timeout=timeout)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=5)
    return True


def wait_until(
    check: Callable[[], bool], *, timeout: float, proc: ManagedProcess | None, what: str
) -> None:
    """Poll `check` until it holds; fail early, with the log, if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None:
            proc.check_alive()
        if check():
            return
        time.sleep(0.25)
    detail = f" Last lines of {proc.log}:\n{tail(proc.log)}" if proc is not None else ""
    raise ComponentFailed(f"{what} did not become ready within {timeout:.0f} s.{detail}")
