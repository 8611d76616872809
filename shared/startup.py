"""Starting a service whatever is up: wait for the database and the broker, then run.

The HTTP side answers from the first moment (`/healthz` 200, `/readyz` 503 saying what the
process waits for); the database and the broker are awaited with exponential backoff, as
long as it takes, and the wait is logged every `LOG_EVERY_SECONDS`, not once per attempt.
Only then do the producer, the stream processor and the background tasks start.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterator
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from tenacity import RetryCallState

from shared.producer import Producer
from shared.retry import backoff

log = logging.getLogger(__name__)

LOG_EVERY_SECONDS: Final = 30.0
MAX_BACKOFF_SECONDS: Final = 10.0
WAITING: Final = "waiting"


class Readiness:
    """What the process has reached ("ok") and what it still waits for, for `/readyz`."""

    def __init__(self, *parts: str) -> None:
        self.parts: dict[str, str] = dict.fromkeys(parts, WAITING)

    def ok(self, part: str) -> None:
        self.parts[part] = "ok"

    def waiting(self, part: str, why: BaseException) -> None:
        self.parts[part] = f"{WAITING}: {type(why).__name__}: {why}"[:300]


async def wait_for(
    part: str,
    attempt: Callable[[], Awaitable[None]],
    *,
    readiness: Readiness,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run `attempt` until it succeeds, with backoff; `readiness` says why meanwhile."""
    began = clock()
    # Said at the first failure, then once every LOG_EVERY_SECONDS, never per attempt.
    logged: list[float | None] = [None]

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if error is not None:
            readiness.waiting(part, error)
        last = logged[0]
        if last is None or clock() - last >= LOG_EVERY_SECONDS:
            logged[0] = clock()
            log.warning(
                "still waiting for the %s after %.0f s (%d attempts): %s",
                part,
                clock() - began,
                state.attempt_number,
                readiness.parts[part],
            )

    retrying = backoff(first=0.2, cap=MAX_BACKOFF_SECONDS, before_sleep=before_sleep)
    async for attempt_state in retrying:
        with attempt_state:
            await attempt()
    attempts = retrying.statistics.get("attempt_number", 1)
    if attempts > 1:
        log.info("the %s answers, after %.0f s (%d attempts)", part, clock() - began, attempts)
    readiness.ok(part)


def database_check(engine: AsyncEngine) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    return check


class TopicsMissing(Exception):
    """The broker answers, but topics the service consumes have not been created yet."""


def broker_start(producer: Producer, topics: Collection[str]) -> Callable[[], Awaitable[None]]:
    """Connect the producer, then check that the topics the service consumes exist (they
    are created by deployment, never by the services)."""

    async def start() -> None:
        # The client logs every refused connection; the wait is logged here instead.
        with _quiet("aiokafka"):
            if not producer.started:
                await producer.start()
            missing = set(topics) - await producer.topics()
        if missing:
            raise TopicsMissing(", ".join(sorted(missing)))

    return start


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    target = logging.getLogger(logger)
    level = target.level
    target.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        target.setLevel(level)
