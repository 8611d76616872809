"""What every service process is made of (`Runtime`), built once in its `main.py`."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.access import Doors, OfficeOf
from shared.batching import QUIET_SECONDS
from shared.consumer import BatchApplier, BatchHandler, Handler, per_message
from shared.db import make_engine, make_sessionmaker
from shared.faust_app import make_faust_app
from shared.messaging import MessagingTables
from shared.metrics import make_registry
from shared.outbound import Outbound, Route
from shared.producer import Producer
from shared.relay import OutboxRelay
from shared.service.metrics import PipelineMetrics
from shared.service.stream import add_agent
from shared.settings import BaseServiceSettings
from shared.startup import Readiness
from shared.unit_of_work import UnitOfWork


@dataclass
class Runtime:
    name: str
    settings: BaseServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    faust: faust.App
    producer: Producer
    tables: MessagingTables
    relay: OutboxRelay
    registry: CollectorRegistry
    metrics: PipelineMetrics
    tasks: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    readiness: Readiness = field(default_factory=lambda: Readiness("database", "broker"))

    def doors(self, **office_of: OfficeOf) -> Doors:
        """This service's access rules; `office_of` finds the office of each key it names."""
        return Doors(
            secret=self.settings.staff_jwt_secret,
            api_keys=self.settings.api_keys(),
            sessionmaker=self.sessionmaker,
            office_of=office_of,
        )

    @property
    def unit_of_work(self) -> UnitOfWork:
        """A transaction whose events reach the outbox in it and the relay after it."""
        return UnitOfWork(self.sessionmaker, self.tables, self.relay.wake)

    def outbound(
        self,
        routes: Sequence[Route],
        *,
        new_id: Callable[[], str],
        clock: Callable[[], dt.datetime],
    ) -> Outbound:
        """Where this service's events go (`routes`), stamped with its name, `new_id` and
        `clock`: for its consumers and its API alike."""
        return Outbound(self.name, routes, self.settings.topics, new_id, clock)

    def background(self, task: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A coroutine to run for the life of the process, from the moment the database
        answers (before the broker does): it may use the database and nothing of Kafka."""
        self.tasks.append(task)

    def applier(
        self, handler: BatchHandler, on_committed: Callable[[], None] | None = None
    ) -> BatchApplier:
        def committed() -> None:
            self.relay.wake()
            if on_committed is not None:
                on_committed()

        return BatchApplier(
            sessionmaker=self.sessionmaker,
            tables=self.tables,
            handler=handler,
            deadletter_topic=self.settings.topics.deadletter,
            on_committed=committed,
            on_dead_letter=lambda topic: self.metrics.dead_letters.labels(topic).inc(),
        )

    def consume(
        self,
        topic_name: str,
        handler: Handler | None = None,
        *,
        batch_handler: BatchHandler | None = None,
        size: int = 500,
        within: float | None = None,
        gather: float | None = None,
        on_committed: Callable[[], None] | None = None,
    ) -> None:
        """Apply every message of `topic_name`, in batches, exactly once in effect;
        `on_committed` is called (after the relay is woken) once each batch has committed.

        By default a batch is applied as soon as the stream is quiet (shared/batching.py).
        With `gather`, a consumer off the vouchers' critical path gathers messages for up to
        that many seconds first: far fewer, larger transactions, which leaves the cores to
        the consumers a voucher waits for.
        """
        chosen = batch_handler or (per_message(handler) if handler else None)
        if chosen is None:
            raise TypeError("consume() needs a handler or a batch_handler")
        self.topics.append(topic_name)
        add_agent(
            self.faust,
            topic_name,
            self.applier(chosen, on_committed),
            size=size,
            within=max(within or self.settings.batch_window_seconds, gather or 0.0),
            quiet=gather or QUIET_SECONDS,
            observe=self.metrics.observe_batch,
        )

    def failed(self, loop: str) -> None:
        """Count a failure of background loop `loop` (the caller logs it)."""
        self.metrics.background_failures.labels(loop).inc()


def _lock_id(name: str) -> int:
    return int.from_bytes(
        hashlib.sha256(f"outbox:{name}".encode()).digest()[:8], "big", signed=True
    )


def check_secrets(settings: BaseServiceSettings) -> None:
    """With REQUIRE_SECRETS, stop at start on an empty secret rather than refuse every call."""
    if not settings.require_secrets:
        return
    missing = {
        "STAFF_JWT_SECRET": "every staff token would be refused",
        "PORTAL_API_KEYS": "every portal call would be refused",
    }
    empty = [
        f"{name} is empty: {why}"
        for name, why in missing.items()
        if not getattr(settings, name.lower()).strip()
    ]
    if empty:
        raise SystemExit(
            "; ".join(empty) + ". Set it (with Docker Compose: in .env, see .env.example; "
            "on Kubernetes: in the chart's Secret), or unset REQUIRE_SECRETS."
        )


def build_runtime(name: str, settings: BaseServiceSettings, tables: MessagingTables) -> Runtime:
    check_secrets(settings)
    instance = f"{name}-{settings.instance_suffix}" if settings.instance_suffix else name
    engine = make_engine(settings.database_url, application_name=instance)
    sessionmaker = make_sessionmaker(engine)
    producer = Producer(settings.kafka_bootstrap_servers)
    registry = make_registry()
    metrics = PipelineMetrics(name, registry)
    relay = OutboxRelay(
        sessionmaker=sessionmaker,
        tables=tables,
        producer=producer,
        lock_id=_lock_id(name),
        on_published=metrics.outbox_published.inc,
        on_parked=lambda topic: metrics.outbox_parked.labels(topic).inc(),
        on_failure=lambda: metrics.background_failures.labels("outbox_relay").inc(),
    )
    return Runtime(
        name=name,
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        faust=make_faust_app(instance, settings),
        producer=producer,
        tables=tables,
        relay=relay,
        registry=registry,
        metrics=metrics,
    )
