"""The processes of a chaos run, and the faults done to them.

The stack (Kafka, PostgreSQL, the SMTP sink) comes from `stack.runner`; the services from
`stack.apps`. A fault is a hard stop (SIGKILL of the whole process group) followed, after
a while, by a start of the same component on the same data. Any other death is a finding:
the watcher counts it, keeps the log's tail, and starts the service again.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from stack import kafka, postgres
from stack.apps import service_process
from stack.config import ExternalServices, StackSettings
from stack.ports import stack_settings
from stack.procs import ManagedProcess, stop_pid, tail
from stack.runner import Endpoints, Stack

log = logging.getLogger("chaos")
SERVICES = ("registration", "vouchers", "control", "notify")


@dataclass
class Death:
    name: str
    at: float
    code: int | None
    log_tail: str


@dataclass
class Cluster:
    settings: StackSettings
    env: dict[str, str] = field(default_factory=dict)
    stack: Stack | None = None
    endpoints: Endpoints | None = None
    services: dict[str, ManagedProcess] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    deaths: list[Death] = field(default_factory=list)
    kills: dict[str, int] = field(default_factory=dict)
    # Faults restart components from worker threads that outlive an interrupted run: once
    # `stop()` has begun, nothing starts again (the lock orders a restart and the stop).
    stopping: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def on_ports(cls, var_dir: Path, shift: int) -> Cluster:
        """The chaos stack's ports of the port plan (stack/ports.py), moved by `shift`."""
        return cls(stack_settings("chaos", var_dir, shift))

    def up(self) -> Endpoints:
        # Always a stack of its own, whatever the environment names: faults are done to it.
        own = ExternalServices(
            kafka_bootstrap_servers=None, database_url=None, smtp_host=None, smtp_port=None
        )
        self.stack = Stack(self.settings, own)
        self.endpoints = self.stack.up(foreground=True)
        return self.endpoints

    def start_services(self, env: dict[str, str]) -> None:
        self.env = env
        for name in SERVICES:
            self._start_service(name)

    def _start_service(self, name: str) -> None:
        port = self.settings.service_ports()[name]
        proc = service_process(name, port, self.env, self.settings)
        proc.start(foreground=True)
        self.services[name] = proc

    def _component(self, name: str) -> ManagedProcess:
        if name in self.services:
            return self.services[name]
        assert self.stack is not None
        return next(p for p in self.stack.procs if p.name == name)

    def kill(self, name: str) -> None:
        """A hard stop: SIGKILL to the process and everything it started."""
        proc = self._component(name)
        self.down.add(name)
        self.kills[name] = self.kills.get(name, 0) + 1
        if proc.pid is not None:
            stop_pid(proc.pid, sig=signal.SIGKILL, timeout=10)
        log.info("killed %s", name)

    def start(self, name: str) -> None:
        """Start a component again on the same data (ports may take a moment to free)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                with self._lock:
                    if self.stopping:
                        return
                    self._restart(name)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self.down.discard(name)
        log.info("started %s", name)

    def _restart(self, name: str) -> None:
        if name in SERVICES:
            self._start_service(name)
            return
        assert self.stack is not None
        old = self._component(name)
        if name == "kafka":
            new = kafka.broker_process(self.settings)
        elif name == "postgres":
            new = postgres.server_process(self.settings)
        else:
            new = self.stack.smtp_process()
        new.start(foreground=True)
        self.stack.procs[self.stack.procs.index(old)] = new
        if name == "postgres":
            postgres.wait_ready_and_create_db(self.settings, new)

    def watch(self) -> None:
        """Count and restart any component that died without being killed by the schedule."""
        for name in [*SERVICES, "kafka", "postgres", "smtp"]:
            if name in self.down:
                continue
            proc = self._component(name)
            if proc.popen is not None and proc.popen.poll() is not None:
                code = proc.popen.returncode
                self.deaths.append(Death(name, time.time(), code, tail(proc.log, 30)))
                log.warning("%s died on its own (exit %s); starting it again", name, code)
                self.start(name)

    def stop(self) -> None:
        with self._lock:
            self.stopping = True
        for proc in reversed(list(self.services.values())):
            proc.stop()
        if self.stack is not None:
            self.stack.stop_started()
