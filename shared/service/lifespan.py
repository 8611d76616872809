"""A service's life: wait for what it needs, run the stream and the background loops beside
the HTTP server, and stop in order; `serve` runs it under uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn
import uvloop
from aiokafka.errors import KafkaError
from fastapi import FastAPI
from faust.contrib.asgi import faust_app_running

from shared.consumer import stop_worker
from shared.service.runtime import Runtime
from shared.startup import broker_start, database_check, wait_for
from shared.watchers import watch_lag, watch_outbox

log = logging.getLogger(__name__)


async def _start(
    runtime: Runtime,
    resources: contextlib.AsyncExitStack,
    background: list[asyncio.Task[None]],
) -> None:
    """Wait for the database, start the loops that need nothing else, then wait for the
    broker and start the stream, the outbox relay and the watchers; every task it starts
    goes into `background`, for the caller to stop."""
    readiness = runtime.readiness
    await wait_for("database", database_check(runtime.engine), readiness=readiness)
    # The service's own loops read and write only its database (notify's senders, the
    # queue figures): what notify's ledger holds goes out while the broker is away or the
    # consumer group is still settling after a restart.
    background.extend(asyncio.create_task(task()) for task in runtime.tasks)
    await wait_for("broker", broker_start(runtime.producer, runtime.topics), readiness=readiness)
    await resources.enter_async_context(faust_app_running(runtime.faust, stop_timeout=30))
    log.info("service started", extra={"service": runtime.name})
    background.extend(
        [
            asyncio.create_task(runtime.relay.run(), name="outbox-relay"),
            asyncio.create_task(watch_outbox(runtime), name="outbox-watch"),
            asyncio.create_task(watch_lag(runtime), name="lag-watch"),
        ]
    )


def _stop_if_failed(task: asyncio.Task[Any]) -> None:
    if task.cancelled() or (error := task.exception()) is None:
        return
    if isinstance(error, (KafkaError, ConnectionError)):
        # The broker answered the producer's check, then went away before the stream
        # processor's own clients reached it. Faust cannot be started a second time in a
        # process, so the process starts over and waits for the broker again.
        start_over(f"the broker went away while the stream was starting: {error!r}")
    stop_worker(f"the service could not start: {error!r}")


def start_over(reason: str) -> None:
    """Replace the process with a fresh start of the same command, keeping its pid: nothing
    has been consumed yet, and what else it did (notify's senders) is safe to cut at any
    point, as in a crash."""
    log.warning("starting the process over: %s", reason)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])  # noqa: S606 (its own command)


def lifespan(runtime: Runtime) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """Start the service beside the HTTP server (which answers /healthz and /readyz
    meanwhile); on the way out, stop the tasks, publish what the outbox holds, close."""

    @contextlib.asynccontextmanager
    async def running(api: FastAPI) -> AsyncIterator[None]:
        del api
        async with contextlib.AsyncExitStack() as resources:
            # Started beside the HTTP server, which answers /healthz and /readyz meanwhile.
            background: list[asyncio.Task[None]] = []
            starting = asyncio.create_task(_start(runtime, resources, background), name="startup")
            starting.add_done_callback(_stop_if_failed)
            try:
                yield
            finally:
                starting.cancel()
                await asyncio.gather(starting, return_exceptions=True)
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)
        if runtime.producer.started:
            with contextlib.suppress(Exception):
                await runtime.relay.publish_once()
        await runtime.producer.stop()
        await runtime.engine.dispose()

    return running


def serve(api: FastAPI, *, port: int, host: str) -> None:
    """Serve until SIGINT/SIGTERM; logging stays as `configure_logging` set it."""
    # libuv's loop: socket writes (Kafka, PostgreSQL, SMTP) cost less CPU than asyncio's. The
    # policy gives it to the loops other threads make too (Faust fetches in a thread of its own).
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    uvicorn.run(
        api,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        loop="uvloop",
    )
