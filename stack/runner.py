"""Bring the whole stack up or down, in order, and remember what was started in `var/stack.json`."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from shared.migrations import upgrade_all
from stack import kafka, postgres
from stack.apps import all_migrations
from stack.config import ExternalServices, StackSettings
from stack.procs import ManagedProcess, ensure_port_free, stop_pid, wait_until


@dataclass
class Endpoints:
    """Where each part of the stack listens; what services and tests are configured with."""

    kafka_bootstrap_servers: str
    database_url: str
    smtp_host: str
    smtp_port: int
    mail_dir: str | None
    started: dict[str, int] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """The contract's variables pointing at this stack, for child services."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "DATABASE_URL": self.database_url,
            "SMTP_HOST": self.smtp_host,
            "SMTP_PORT": str(self.smtp_port),
        }


def smtp_sink(port: int, maildir: Path, log: Path) -> ManagedProcess:
    """aiosmtpd keeping every message it accepts in the maildir `maildir` (`stack.smtp_sink`)."""
    return ManagedProcess(
        name="smtp",
        argv=[
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-u",
            "-s",
            "10485760",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "stack.smtp_sink.RawMaildir",
            str(maildir.resolve()),
        ],
        log=log,
        cwd=Path(__file__).resolve().parents[1],  # where `stack` can be imported from
    )


def smtp_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            return s.recv(3) == b"220"
    except OSError:
        return False


class Stack:
    """Kafka, PostgreSQL and the SMTP sink, each started unless an existing one is configured."""

    def __init__(self, settings: StackSettings, external: ExternalServices) -> None:
        self.settings = settings
        self.external = external
        self.procs: list[ManagedProcess] = []
        self.state_file = settings.var_dir / "stack.json"

    def up(
        self,
        *,
        foreground: bool,
        progress: Callable[[str], None] | None = None,
        before_migrations: Callable[[str], None] | None = None,
    ) -> Endpoints:
        """Start (or reach) every part; `before_migrations(database_url)` may inspect the
        database, or refuse it by raising, before anything is written to it."""
        say = progress or _quiet
        s, ext = self.settings, self.external
        s.var_dir.mkdir(parents=True, exist_ok=True)
        try:
            if ext.kafka_bootstrap_servers:
                bootstrap = ext.kafka_bootstrap_servers
                say(f"Kafka: using {bootstrap}")
                kafka.wait_ready(bootstrap, timeout=s.ready_timeout, proc=None)
            else:
                say(f"Kafka {s.kafka_version}: preparing (first use fetches it from Maven Central)")
                broker = kafka.broker_process(s)
                self._start(broker, foreground)
                bootstrap = f"127.0.0.1:{s.kafka_port}"
            if ext.database_url:
                database_url = ext.database_url
                say("PostgreSQL: using DATABASE_URL")
            else:
                say("PostgreSQL: starting")
                pg = postgres.server_process(s)
                self._start(pg, foreground)
                postgres.wait_ready_and_create_db(s, pg)
                database_url = postgres.local_url(s)
            if before_migrations is not None:
                before_migrations(database_url)
            if ext.smtp_host:
                smtp_host, smtp_port, mail_dir = ext.smtp_host, ext.smtp_port or 25, None
                say(f"SMTP: using {smtp_host}:{smtp_port}")
            else:
                smtp_host, smtp_port = "127.0.0.1", s.smtp_port
                mail_dir = str((s.var_dir / "mail").resolve())
                self._start(self.smtp_process(), foreground)
            if not ext.kafka_bootstrap_servers:
                say("Kafka: waiting for the broker to answer")
                kafka.wait_ready(bootstrap, timeout=s.ready_timeout, proc=self._named("kafka"))
            created = kafka.create_topics(
                bootstrap,
                ext.topics.all(),
                set(ext.topics.compacted()),
                partitions=ext.topic_partitions,
                replication=ext.topic_replication,
            )
            existed = len(ext.topics.all()) - len(created)
            say(f"Kafka: {len(created)} topics created, {existed} existed")
            if not ext.smtp_host:
                wait_until(
                    lambda: smtp_answers(smtp_host, smtp_port),
                    timeout=s.ready_timeout,
                    proc=self._named("smtp"),
                    what=f"The SMTP sink on port {smtp_port}",
                )
            say("PostgreSQL: applying migrations")
            upgrade_all(database_url, all_migrations())
        except BaseException:
            self.stop_started()
            raise
        endpoints = Endpoints(
            bootstrap,
            database_url,
            smtp_host,
            smtp_port,
            mail_dir,
            started={p.name: p.pid for p in self.procs if p.pid},
        )
        self._write_state(endpoints, foreground=foreground)
        return endpoints

    def smtp_process(self) -> ManagedProcess:
        s = self.settings
        ensure_port_free(s.smtp_port, what="The SMTP sink")
        return smtp_sink(
            s.smtp_port, (s.var_dir / "mail").resolve(), s.var_dir / "log" / "smtp.log"
        )

    def start(self, proc: ManagedProcess, foreground: bool) -> None:
        """Start `proc` as part of the stack: stopped with it, listed in var/stack.json."""
        self._start(proc, foreground)

    def save(self, endpoints: Endpoints, *, foreground: bool) -> None:
        endpoints.started = {p.name: p.pid for p in self.procs if p.pid}
        self._write_state(endpoints, foreground=foreground)

    def _start(self, proc: ManagedProcess, foreground: bool) -> None:
        proc.start(foreground=foreground)
        self.procs.append(proc)

    def _named(self, name: str) -> ManagedProcess | None:
        return next((p for p in self.procs if p.name == name), None)

    def check_alive(self) -> None:
        for proc in self.procs:
            proc.check_alive()

    def stop_started(self) -> None:
        """Stop what this launcher started, last first."""
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()
        self.state_file.unlink(missing_ok=True)

    def _write_state(self, endpoints: Endpoints, *, foreground: bool) -> None:
        state = {"launcher": os.getpid() if foreground else None, **asdict(endpoints)}
        self.state_file.write_text(json.dumps(state, indent=2))

    def read_state(self) -> dict[str, object] | None:
        if not self.state_file.exists():
            return None
        data: dict[str, object] = json.loads(self.state_file.read_text())
        return data

    def down(self) -> list[str]:
        """Stop a stack started by another launcher (from `var/stack.json`); return what stopped."""
        state = self.read_state()
        if state is None:
            return []
        stopped = []
        started = state.get("started")
        order = [
            "prometheus",
            "workspace",
            "support",
            "notify",
            "control",
            "vouchers",
            "registration",
            "smtp",
            "postgres",
            "kafka",
        ]
        if isinstance(started, dict):
            for name in sorted(started, key=lambda n: order.index(n) if n in order else -1):
                sig = signal.SIGINT if name == "postgres" else signal.SIGTERM
                if stop_pid(int(started[name]), sig=sig):
                    stopped.append(name)
        launcher = state.get("launcher")
        if isinstance(launcher, int) and launcher != os.getpid() and psutil.pid_exists(launcher):
            stop_pid(launcher, sig=signal.SIGTERM, timeout=10)
        self.state_file.unlink(missing_ok=True)
        return stopped


def _quiet(message: str) -> None:
    del message


def run_until_signalled(stack: Stack, *, poll: float = 1.0) -> int:
    """Serve until SIGINT/SIGTERM, or until a component dies; stop everything either way."""
    stopping = {"signal": 0}

    def handler(signum: int, frame: object) -> None:
        del frame
        stopping["signal"] = signum

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping["signal"]:
            stack.check_alive()
            time.sleep(poll)
        return 0
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        stack.stop_started()
