"""What every service process is made of, built once in each service's `main.py`.

One process runs the FastAPI app and the Faust app on one event loop
(`faust.contrib.asgi.faust_app_running` in the lifespan), plus the outbox relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faust
import sqlalchemy as sa
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Response
from faust.contrib.asgi import faust_app_running
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.access import Doors, OfficeOf, document_access, public
from shared.consumer import (
    BatchApplier,
    BatchHandler,
    Handler,
    consume_batches,
    per_message,
    stop_worker,
)
from shared.db import make_engine, make_sessionmaker
from shared.errors import ERROR_RESPONSES, install_error_handlers
from shared.faust_app import make_faust_app
from shared.messaging import MessagingTables
from shared.metrics import BATCH_SIZE_BUCKETS, LATENCY_BUCKETS, make_registry, metrics_router
from shared.producer import Producer
from shared.relay import OutboxRelay
from shared.settings import BaseServiceSettings
from shared.signing import TrustStore
from shared.startup import Readiness, broker_start, database_check, wait_for
from shared.unit_of_work import UnitOfWork
from shared.watchers import watch_lag, watch_outbox

log = logging.getLogger(__name__)


class PipelineMetrics:
    """The metrics every consuming service has, named `<service>_…`."""

    def __init__(self, service: str, registry: CollectorRegistry) -> None:
        # Messages that could not be decoded or applied, by the topic they came from.
        self.dead_letters = Counter(
            f"{service}_dead_letters_total",
            "Messages sent to the dead-letter topic.",
            ["source_topic"],
            registry=registry,
        )
        # Wall time to apply one batch in one transaction, retries included.
        self.batch_seconds = Histogram(
            f"{service}_batch_seconds",
            "Time to apply one batch.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            f"{service}_batch_size_messages",
            "Messages per applied batch.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=registry,
        )
        # Rows committed to the outbox and not yet published to Kafka.
        self.outbox_backlog = Gauge(
            f"{service}_outbox_backlog_messages",
            "Outbox rows waiting to be published.",
            registry=registry,
        )
        # Messages on each consumed topic not yet committed by this service's consumer group.
        self.consumer_lag = Gauge(
            f"{service}_consumer_lag_messages",
            "Consumer lag of the service's group, per topic.",
            ["topic"],
            registry=registry,
        )
        self.outbox_published = Counter(
            f"{service}_outbox_published_total",
            "Messages published from the outbox.",
            registry=registry,
        )
        # Outbox rows that could never be published (too large, refused for good), moved to
        # the service's parked_messages table so that the rows behind them go on.
        self.outbox_parked = Counter(
            f"{service}_outbox_parked_total",
            "Outbox rows parked because they can never be published.",
            ["topic"],
            registry=registry,
        )

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)


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

    def background(self, task: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A coroutine to run beside the stream for the life of the process."""
        self.tasks.append(task)

    def applier(self, handler: BatchHandler) -> BatchApplier:
        return BatchApplier(
            sessionmaker=self.sessionmaker,
            tables=self.tables,
            handler=handler,
            deadletter_topic=self.settings.topics.deadletter,
            on_committed=self.relay.wake,
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
    ) -> None:
        """Apply every message of `topic_name`, in batches, exactly once in effect."""
        topic = self.faust.topic(topic_name, key_type=bytes, value_type=bytes)
        self.topics.append(topic_name)
        chosen = batch_handler or (per_message(handler) if handler else None)
        if chosen is None:
            raise TypeError("consume() needs a handler or a batch_handler")
        applier = self.applier(chosen)

        async def agent(stream: faust.StreamT[bytes]) -> None:
            await consume_batches(
                stream,
                applier,
                size=size,
                within=within or self.settings.batch_window_seconds,
                observe=self.metrics.observe_batch,
            )

        agent.__name__ = f"consume_{topic_name.replace('.', '_')}"
        self.faust.agent(topic, name=agent.__name__, concurrency=1)(agent)


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


def health_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["operations"], dependencies=[Depends(public)])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @router.get(
        "/readyz",
        summary="The database and the broker answer and the stream processor runs",
        description="503 while the service waits for any of them, saying what it waits for.",
    )
    async def readyz(response: Response) -> dict[str, str]:
        checks = dict(runtime.readiness.parts)
        checks["stream"] = "ok" if runtime.faust.started else "starting"
        if checks.get("database") == "ok":
            try:
                async with runtime.engine.connect() as conn:
                    await conn.execute(sa.text("SELECT 1"))
            except Exception as exc:
                checks["database"] = f"unavailable: {type(exc).__name__}"
        if any(v != "ok" for v in checks.values()):
            response.status_code = 503
        return checks

    return router


async def _start(
    runtime: Runtime, resources: contextlib.AsyncExitStack
) -> list[asyncio.Task[None]]:
    """Wait for the database and the broker, then start the stream and the background tasks."""
    readiness = runtime.readiness
    await wait_for("database", database_check(runtime.engine), readiness=readiness)
    await wait_for("broker", broker_start(runtime.producer, runtime.topics), readiness=readiness)
    await resources.enter_async_context(faust_app_running(runtime.faust, stop_timeout=30))
    log.info("service started", extra={"service": runtime.name})
    return [
        asyncio.create_task(runtime.relay.run(), name="outbox-relay"),
        asyncio.create_task(watch_outbox(runtime), name="outbox-watch"),
        asyncio.create_task(watch_lag(runtime), name="lag-watch"),
        *(asyncio.create_task(task()) for task in runtime.tasks),
    ]


def _stop_if_failed(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        stop_worker(f"the service could not start: {task.exception()!r}")


def make_api(
    runtime: Runtime, *, title: str, description: str, routers: Sequence[APIRouter]
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        del api
        async with contextlib.AsyncExitStack() as resources:
            # Started beside the HTTP server, which answers /healthz and /readyz meanwhile.
            starting = asyncio.create_task(_start(runtime, resources), name="startup")
            starting.add_done_callback(_stop_if_failed)
            try:
                yield
            finally:
                starting.cancel()
                done = await asyncio.gather(starting, return_exceptions=True)
                background = done[0] if isinstance(done[0], list) else []
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)
        if runtime.producer.started:
            with contextlib.suppress(Exception):
                await runtime.relay.publish_once()
        await runtime.producer.stop()
        await runtime.engine.dispose()

    api = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        # A guard for bodies sent without a length; a declared one above the limit is refused
        # earlier, in the error tree's shape (shared/errors.py).
        max_body_size=4 * runtime.settings.http_max_body_bytes,
    )
    install_error_handlers(api, max_body_bytes=runtime.settings.http_max_body_bytes)
    for router in (health_router(runtime), metrics_router(runtime.registry), *routers):
        api.include_router(document_access(router), responses=ERROR_RESPONSES)
    return api


def load_trust_store(path: Path | None) -> TrustStore:
    """The CAs whose certificates may sign; the service cannot start without them."""
    if path is None:
        raise SystemExit(
            "TRUSTED_CA_FILE is not set: the PEM bundle of the CAs that may sign. Against the "
            "local stack, `python -m stack env` prints it and the other variables to set."
        )
    try:
        return TrustStore.from_pem_file(path)
    except (OSError, ValueError) as err:
        raise SystemExit(f"TRUSTED_CA_FILE {path} cannot be used: {err}") from None


def serve(api: FastAPI, *, port: int, host: str) -> None:
    """Serve until SIGINT/SIGTERM; logging stays as `configure_logging` set it."""
    uvicorn.run(api, host=host, port=port, log_config=None, access_log=False, lifespan="on")
