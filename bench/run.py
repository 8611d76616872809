"""One benchmark run: the real stack and services, a portal simulator, the status stream.

Phases, in order, once the broker is warm: the transport ceilings (pass-through consumers
over as many Kafka hops as a voucher takes), the transport floor (the services' pass-through
at each fixed load), the fixed offered loads, then as fast as possible, during which the CPU
of every process is counted and the services are profiled. Every figure comes from this one
run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.progress import Progress

from bench import latency, statements
from bench.ceiling import FLOOR_LAYER, LAYERS, ceiling, floor
from bench.collect import Collector, pace, percentiles, timeline
from bench.cpu import CpuBudget, Tracked
from bench.population import FULL_UNITS, fill, populate
from bench.profile import Profiler
from bench.workload import Workload, load_or_make
from shared.db import libpq_url
from shared.settings import TopicSettings
from stack import apps, demo_offices
from stack.config import ExternalServices
from stack.ports import stack_settings
from stack.runner import Endpoints, Stack

WARM_RATE, WARM_SECONDS = 200, 20
"""The broker's warm-up before the measured phases: messages per second, seconds."""


@dataclass(frozen=True)
class Options:
    size: int
    """Vouchers in the run."""
    rates: list[int]
    """Fixed offered loads, per second, each for `seconds`."""
    seconds: float
    out: Path
    profile: bool = True
    """py-spy the services during the fast phase."""
    population: str = "small"
    """`full`: a second fast phase once the population is a year-end day's."""


class Bench:
    def __init__(self, console: Console, options: Options) -> None:
        self.console, self.options = console, options
        self.size, self.rates, self.seconds, self.out = (
            options.size,
            options.rates,
            options.seconds,
            options.out,
        )
        self.profile = options.profile
        self.settings = stack_settings("bench", Path("var/bench")).model_copy(
            update={"pg_commit_timestamps": True, "pg_statement_stats": True}
        )
        self.topics = TopicSettings()
        # A stack of its own: the environment's KAFKA_BOOTSTRAP_SERVERS etc. are not for it.
        self.external = ExternalServices.none()
        self.timeline: list[dict[str, float]] = []
        self.dsn = ""

    def up(self, workload: Workload) -> tuple[Stack, Endpoints, dict[str, int]]:
        import shutil

        shutil.rmtree(self.settings.var_dir, ignore_errors=True)
        stack = Stack(self.settings, self.external)
        with self.console.status("Starting Kafka, PostgreSQL, SMTP and the services…") as s:
            endpoints = stack.up(foreground=True, progress=lambda m: s.update(m))
            self.dsn = libpq_url(endpoints.database_url)
            statements.enable(self.dsn)
            home = self.settings.var_dir / "bench"
            home.mkdir(parents=True, exist_ok=True)
            (home / "ca.pem").write_bytes(workload.ca_pem)
            (home / "offices.json").write_text(json.dumps(demo_offices.offices_document()))
            env = {
                **endpoints.environment(),
                "TRUSTED_CA_FILE": str((home / "ca.pem").resolve()),
                "TREASURY_DIRECTORY": str((home / "offices.json").resolve()),
                "REGISTRATION_APPROVAL": "auto",
                "STAFF_JWT_SECRET": secrets.token_hex(16),
                "PORTAL_API_KEYS": "bench",
                "PORTAL_WEBHOOKS": "",
                "LOG_LEVEL": "WARNING",
            }
            pids = {}
            procs = []
            for name, port in self.settings.service_ports().items():
                proc = apps.service_process(name, port, env, self.settings)
                stack.start(proc, foreground=True)
                procs.append((proc, port))
            for proc, port in procs:
                apps.wait_service(proc, port, 120)
                assert proc.pid is not None
                pids[proc.name] = proc.pid
        return stack, endpoints, pids

    async def offer(
        self,
        producer: AIOKafkaProducer,
        collector: Collector,
        messages: list[tuple[str, str, bytes]],
        rate: float | None,
        budget: CpuBudget,
        label: str,
    ) -> dict[str, Any]:
        """Send `messages` at `rate` per second (None: as fast as possible); wait for all."""
        began = time.monotonic()
        with Progress(console=self.console, transient=True) as bar:
            task = bar.add_task(label, total=len(messages))
            for i, (key, dossier, value) in enumerate(messages):
                await pace(began, i, rate)
                collector.sent[dossier] = time.time()
                await producer.send("dvc.vouchers.v1", value, key=key.encode())
                if i % 200 == 0:
                    bar.update(
                        task, completed=sum(1 for _, d, _ in messages if d in collector.done)
                    )
                    budget.sample()
            while True:
                finished = sum(1 for _, d, _ in messages if d in collector.done)
                bar.update(task, completed=finished)
                budget.sample()
                if finished == len(messages) or time.monotonic() - began > 1800:
                    break
                await asyncio.sleep(0.5)
        ids = [d for _, d, _ in messages if d in collector.done]
        latencies = [collector.done[d] - collector.sent[d] for d in ids]
        first = min(collector.sent[d] for _, d, _ in messages)
        last = max(collector.done[d] for d in ids)
        return {
            "offered_per_second": rate,
            "vouchers": len(messages),
            "finished": len(ids),
            "seconds": last - first,
            "throughput_per_second": len(ids) / (last - first),
            "latency_seconds": percentiles(latencies),
        }

    async def counted(
        self,
        producer: AIOKafkaProducer,
        collector: Collector,
        messages: list[tuple[str, str, bytes]],
        rate: float | None,
        budget: CpuBudget,
        label: str,
    ) -> dict[str, Any]:
        """`offer`, with the CPU of every process of `budget` and PostgreSQL's statements
        counted over it (a voucher costs more at a low rate: its batches are smaller)."""
        statements.reset(self.dsn)
        budget.start()
        phase = await self.offer(producer, collector, messages, rate, budget, label)
        budget.stop()
        phase["statements"] = statements.read(self.dsn, vouchers=phase["finished"])
        phase["cpu"] = budget.table(vouchers=phase["finished"], seconds=phase["seconds"])
        return phase

    async def fast_phase(
        self,
        producer: AIOKafkaProducer,
        collector: Collector,
        messages: list[tuple[str, str, bytes]],
        budget: CpuBudget,
        pids: dict[str, int],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """As fast as possible, with every process's CPU counted and the services profiled."""
        profiler = Profiler(self.out, pids if self.profile else {})
        for name, pid in profiler.start().items():
            budget.add(Tracked(f"py-spy on {name}", pid))
        burst = await self.counted(
            producer, collector, messages, None, budget, "as fast as possible"
        )
        profiles = profiler.stop()
        return burst, {"services": profiles, "problems": profiler.problems}

    async def measure(
        self, endpoints: Endpoints, workload: Workload, pids: dict[str, int]
    ) -> dict[str, Any]:
        bootstrap = endpoints.kafka_bootstrap_servers
        vouchers = workload.vouchers
        fixed = [int(r * self.seconds) for r in self.rates]
        if sum(fixed) >= len(vouchers):
            raise SystemExit(
                f"BENCH_SIZE {self.size} is too small for the fixed-rate phases "
                f"({sum(fixed)} vouchers); raise it or lower the rates"
            )
        broker = endpoints.started["kafka"]
        pool = itertools.cycle(vouchers[sum(fixed) :])
        # A broker just started spends its first minutes compiling its own code: at 50/s, a
        # third of its CPU went to the JVM's compiler threads. A broker in service is long
        # past that, so it is warmed first, at a low load (a burst takes other paths), and
        # every measured phase, the ceilings included, runs on a warm broker.
        with self.console.status(
            f"Warming the broker: {FLOOR_LAYER} pass-through at {WARM_RATE}/s for {WARM_SECONDS} s…"
        ):
            warm = list(itertools.islice(pool, WARM_RATE * WARM_SECONDS))
            await floor(bootstrap, warm, WARM_RATE, broker)
        ceilings = {}
        for layer in LAYERS:
            with self.console.status(f"Transport ceiling: {layer} pass-through consumers…"):
                ceilings[layer] = await ceiling(bootstrap, vouchers[sum(fixed) :], layer)
        floors = []
        for rate in self.rates:
            with self.console.status(f"Transport floor: {FLOOR_LAYER} pass-through at {rate}/s…"):
                offered = list(itertools.islice(pool, int(rate * self.seconds)))
                floors.append(await floor(bootstrap, offered, rate, broker))
        collector = Collector()
        reader = asyncio.create_task(collector.read(bootstrap, self.topics.status))
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await producer.start()
        budget = CpuBudget.of_run(pids, dict(endpoints.started))
        phases = []
        traced: dict[str, list[str]] = {}
        start = 0
        for rate, count in zip(self.rates, fixed, strict=True):
            part = vouchers[start : start + count]
            start += count
            traced[f"{rate}/s offered"] = [d for _, d, _ in part]
            label = f"{rate} vouchers/s offered"
            phases.append(await self.counted(producer, collector, part, rate, budget, label))
        rest = vouchers[start:]
        # With the full population, half the fast phase runs before the fill, half after.
        full = rest[len(rest) // 2 :] if self.options.population == "full" else []
        small = rest[: len(rest) - len(full)]
        burst, profiles = await self.fast_phase(producer, collector, small, budget, pids)
        results: dict[str, Any] = {"as_fast_as_possible": burst}
        traced["as fast as possible"] = [d for _, d, _ in small]
        if full:
            try:
                results.update(
                    await self.full_population(endpoints, pids, producer, collector, full)
                )
                traced["fast, full population"] = [d for _, d, _ in full]
            except Exception as exc:  # the other figures of the run are still worth writing
                self.console.print_exception()
                results["full_population_error"] = repr(exc)
        await producer.stop()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        self.timeline = timeline(collector, [d for _, d, _ in small])
        with self.console.status("Latency budget: reading the topics and the inboxes…"):
            budgets = await self.latency_budgets(endpoints, collector, traced)
        return {
            "size": self.size,
            "units": len(workload.registrations),
            "ceilings_per_second": ceilings,
            "floors": floors,
            "fixed_rates": phases,
            **results,
            "ceiling_ratios": {
                k: burst["throughput_per_second"] / v for k, v in ceilings.items() if v
            },
            "latency_budget": budgets,
            "profiles": profiles,
            "peak_rss_mib": {n: r / 2**20 for n, r in budget.peak_rss.items()},
        }

    async def full_population(
        self,
        endpoints: Endpoints,
        pids: dict[str, int],
        producer: AIOKafkaProducer,
        collector: Collector,
        messages: list[tuple[str, str, bytes]],
    ) -> dict[str, Any]:
        """Grow the population to a year-end day's, then the fast phase again."""
        await asyncio.to_thread(fill, self.console, self.dsn)
        budget = CpuBudget.of_run(pids, dict(endpoints.started))
        burst = await self.counted(
            producer, collector, messages, None, budget, "as fast as possible, full population"
        )
        burst["units"] = FULL_UNITS
        return {
            "full_population": burst,
            "peak_rss_mib_full": {n: r / 2**20 for n, r in budget.peak_rss.items()},
        }

    async def latency_budgets(
        self, endpoints: Endpoints, collector: Collector, phases: dict[str, list[str]]
    ) -> dict[str, Any]:
        source = latency.Source(
            endpoints.kafka_bootstrap_servers,
            self.dsn,
            self.topics,
            self.external.topic_partitions,
        )
        budgets: dict[str, Any] = {}
        for name, ids in phases.items():
            try:
                budgets[name] = await latency.budget(source, collector.sent, collector.done, ids)
            except Exception as exc:  # the other figures of the run are still worth writing
                self.console.print_exception()
                budgets[name] = {"error": repr(exc)}
        return budgets


def run(console: Console, options: Options) -> dict[str, Any]:
    bench = Bench(console, options)
    workload = load_or_make(options.size, max(200, options.size // 100))
    stack, endpoints, pids = bench.up(workload)
    try:
        asyncio.run(populate(console, endpoints.kafka_bootstrap_servers, bench.dsn, workload))
        results = asyncio.run(bench.measure(endpoints, workload, pids))
    finally:
        stack.stop_started()
    results["timeline"] = bench.timeline
    return results
