"""One chaos run, start to finish: stack, population, offer under faults, settle, verdict."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import time
from dataclasses import asdict
from typing import Any

import psycopg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from chaos import schedule, verdict, workload
from chaos.cluster import Cluster
from chaos.observe import Mailbox, StatusLog, Webhook
from chaos.settings import ChaosSettings
from chaos.workload import Kind, LineKey, Workload
from shared.db import libpq_url
from shared.settings import TopicSettings
from stack import demo_offices

WEBHOOK_SECRET = secrets.token_hex(16)


def _lines(dsn: str) -> dict[LineKey, tuple[int, int]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT unit_code, fiscal_year, chapter, sector_code, source_code, allocated, committed"
            " FROM control.budget_lines"
        ).fetchall()
    return {(r[0], r[1], r[2], r[3], r[4]): (r[5], r[6]) for r in rows}


def _accepted(dsn: str) -> dict[str, dict[LineKey, int]]:
    """The content the vouchers service accepted for each dossier, by budget line."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT dossier_id, payload FROM vouchers.dossiers WHERE status <> 'rejected'"
        ).fetchall()
    return {r[0]: workload.line_amounts(r[1]) for r in rows}


class Run:
    def __init__(self, settings: ChaosSettings, console: Console) -> None:
        self.s, self.console = settings, console
        self.topics = TopicSettings()
        self.cluster = Cluster.on_ports(settings.var_dir, settings.port_shift)
        self.hook = Webhook(
            WEBHOOK_SECRET, self.cluster.settings.registration_port + 9, settings.var_dir / "portal"
        )
        self.offered = 0

    async def _send(self, producer: AIOKafkaProducer, topic: str, key: str, raw: bytes) -> None:
        """As a portal does: until the broker has it, whatever faults are under way."""
        while True:
            try:
                await producer.send_and_wait(topic, raw, key=key.encode())
                return
            except KafkaError:
                await asyncio.sleep(0.5)

    async def _offer(self, producer: AIOKafkaProducer, work: Workload, progress: Any) -> None:
        task = progress.add_task("Offering vouchers under faults", total=len(work.offered))
        start = time.monotonic()
        pending: set[asyncio.Task[None]] = set()
        for i, item in enumerate(work.offered):
            delay = start + i / self.s.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            t = asyncio.create_task(
                self._send(producer, self.topics.vouchers, item.unit_code, item.raw)
            )
            pending.add(t)
            t.add_done_callback(pending.discard)
            t.add_done_callback(lambda _: progress.advance(task))
        await asyncio.gather(*pending)

    async def _fault(self, faults: list[schedule.Fault], start: float) -> None:
        """One target's faults, in order: never two at once on the same component."""
        for fault in faults:
            await asyncio.sleep(max(0.0, start + fault.at - time.monotonic()))
            self.console.print(f"[yellow]fault[/] {fault.describe()}")
            if fault.target == "webhook":
                await self.hook.fail(True)
                await asyncio.sleep(fault.down_for)
                await self.hook.fail(False)
                continue
            await asyncio.to_thread(self.cluster.kill, fault.target)
            await asyncio.sleep(fault.down_for)
            await asyncio.to_thread(self.cluster.start, fault.target)

    async def _watch(self, until: asyncio.Event) -> None:
        while not until.is_set():
            await asyncio.to_thread(self.cluster.watch)
            await asyncio.sleep(0.5)

    async def _settle(
        self, work: Workload, log: StatusLog, mail: Mailbox, dsn: str, progress: Any
    ) -> None:
        """Until nothing is missing, or nothing has moved for a minute, or the time is up."""
        readable = work.dossiers(*Kind)
        task = progress.add_task("Settling: dossiers with a terminal status", total=len(readable))
        deadline = time.monotonic() + self.s.settle_seconds
        last, still = -1, time.monotonic()
        while time.monotonic() < deadline:
            began = time.monotonic()
            await mail.read_off_loop()
            await asyncio.to_thread(self.hook.read)
            counts = verdict.count(
                work, log, mail, self.hook, self.cluster, _lines(dsn), _accepted(dsn)
            )
            # Counting 20,000 dossiers takes a while: it must not take the services' CPU.
            pause = max(2.0, 4 * (time.monotonic() - began))
            done = len(readable) - counts[0].value
            progress.update(task, completed=done)
            missing = sum(
                c.value for c in counts if c.name.endswith("missing") or c.name == "lost dossiers"
            )
            if missing == 0:
                return
            moved = (log.events, len(mail.seen), sum(len(v) for v in self.hook.calls.values()))
            if hash(moved) != last:
                last, still = hash(moved), time.monotonic()
            elif time.monotonic() - still > 60:
                return
            await asyncio.sleep(pause)

    async def main(self) -> int:
        s, console = self.s, self.console
        console.print(f"Chaos run: {s.vouchers} vouchers at {s.rate:g}/s, seed [bold]{s.seed}[/]")
        shutil.rmtree(s.var_dir, ignore_errors=True)
        with console.status("Signing the workload…"):
            work = await asyncio.to_thread(
                workload.build, vouchers=s.vouchers, units=s.unit_count(), seed=s.seed
            )
        duration = s.vouchers / s.rate
        faults = schedule.make(s.seed, duration)
        for fault in faults:
            console.print(f"  scheduled {fault.describe()}")
        with console.status("Starting Kafka, PostgreSQL, SMTP and the services…"):
            endpoints = await asyncio.to_thread(self.cluster.up)
            home = s.var_dir / "chaos"
            home.mkdir(parents=True, exist_ok=True)
            work.bed.ca.write_bundle(home / "ca.pem")
            (home / "offices.json").write_text(json.dumps(demo_offices.offices_document()))
            await self.hook.start()
            self.cluster.start_services(
                {
                    **endpoints.environment(),
                    "TRUSTED_CA_FILE": str((home / "ca.pem").resolve()),
                    "TREASURY_DIRECTORY": str((home / "offices.json").resolve()),
                    "REGISTRATION_APPROVAL": "auto",
                    "STAFF_JWT_SECRET": secrets.token_hex(32),
                    "PORTAL_API_KEYS": "chaos",
                    "PORTAL_WEBHOOKS": self.hook.url,
                    "WEBHOOK_SECRET": WEBHOOK_SECRET,
                    "WEBHOOK_MAX_ATTEMPTS": "100",
                    "RETRY_MAX_SECONDS": "5",
                    "LOG_LEVEL": "WARNING",
                }
            )
        dsn = libpq_url(endpoints.database_url)
        log = StatusLog(endpoints.kafka_bootstrap_servers, self.topics.status)
        mail = Mailbox(s.var_dir / "mail")
        reader = asyncio.create_task(log.run())
        stop_watch = asyncio.Event()
        watcher = asyncio.create_task(self._watch(stop_watch))
        producer = AIOKafkaProducer(
            bootstrap_servers=endpoints.kafka_bootstrap_servers,
            acks="all",
            linger_ms=5,
            request_timeout_ms=10_000,
            retry_backoff_ms=500,
        )
        await producer.start()
        try:
            with console.status("Registering units and recording their allocations…"):
                for code, raw in work.registrations:
                    await self._send(producer, self.topics.registrations, code, raw)
                await _until(
                    lambda: _count(dsn, "control.unit_directory"),
                    len(work.units),
                    300,
                    "units in control's copy of the directory",
                )
                for code, raw in work.allocations:
                    await self._send(producer, self.topics.allocations, code, raw)
                await _until(
                    lambda: len(_lines(dsn)), len(work.allocations), 300, "budget lines in control"
                )
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console) as progress:
                start = time.monotonic()
                by_target: dict[str, list[schedule.Fault]] = {}
                for fault in faults:
                    by_target.setdefault(fault.target, []).append(fault)
                await asyncio.gather(
                    self._offer(producer, work, progress),
                    *(self._fault(f, start) for f in by_target.values()),
                )
                await self._settle(work, log, mail, dsn, progress)
            await mail.read_off_loop()
            await asyncio.to_thread(self.hook.read)
            counts = verdict.count(
                work, log, mail, self.hook, self.cluster, _lines(dsn), _accepted(dsn)
            )
        finally:
            stop_watch.set()
            await watcher
            await producer.stop()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await self.hook.stop()
            await asyncio.to_thread(self.cluster.stop)
        return self._report(work, counts, mail, faults)

    def _report(
        self,
        work: Workload,
        counts: list[verdict.Count],
        mail: Mailbox,
        faults: list[schedule.Fault],
    ) -> int:
        table = Table(title=f"Chaos run, seed {self.s.seed}")
        table.add_column("count of")
        table.add_column("meaning")
        table.add_column("", justify="right")
        table.add_column("first examples", overflow="fold")
        for c in counts:
            style = "green" if c.value == 0 else "bold red"
            table.add_row(c.name, c.what, f"[{style}]{c.value}[/]", "; ".join(c.examples[:2]))
        self.console.print(table)
        resent = verdict.copies(mail)
        kills = dict(sorted(self.cluster.kills.items()))
        self.console.print(
            f"Copies of a mail under the same Message-ID (resent after a crash of notify): "
            f"{resent}, beside {kills.get('notify', 0)} kills of notify. Webhook calls "
            f"answered 500 while the portal was down: {self.hook.refused}."
        )
        offered = {k.value: sum(1 for o in work.offered if o.kind is k) for k in Kind}
        result = {
            "seed": self.s.seed,
            "vouchers": self.s.vouchers,
            "rate": self.s.rate,
            "offered": offered,
            "faults": [asdict(f) for f in faults],
            "kills": kills,
            "deaths": [asdict(d) for d in self.cluster.deaths],
            "mail_copies_same_message_id": resent,
            "webhook_calls_refused": self.hook.refused,
            "counts": {c.name: c.value for c in counts},
            "examples": {c.name: c.examples for c in counts if c.value},
        }
        self.s.out.mkdir(parents=True, exist_ok=True)
        (self.s.out / "result.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
        failed = [c.name for c in counts if c.value]
        if failed:
            self.console.print(f"[bold red]Promises broken:[/] {', '.join(failed)}")
            return 1
        self.console.print("[bold green]Every count is zero.[/]")
        return 0


def _count(dsn: str, table: str) -> int:
    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    except psycopg.Error:
        return 0
    return int(row[0]) if row else 0


async def _until(seen: Any, wanted: int, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while (now := await asyncio.to_thread(seen)) < wanted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {within:.0f} s for {wanted} {what}; saw {now}")
        await asyncio.sleep(0.5)
