"""Composition root of the control service: `build(settings)` wires everything."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Callable

from fastapi import FastAPI

from services.control import api, db, handlers, stream
from services.control.config import ControlSettings
from services.control.metrics import ControlMetrics
from shared.clock import utc_now
from shared.logging import configure_logging
from shared.service import Runtime, build_runtime, make_api, serve

log = logging.getLogger(__name__)


async def _watch_reviews(
    runtime: Runtime, metrics: ControlMetrics, clock: Callable[[], dt.datetime]
) -> None:
    while True:
        try:
            async with runtime.sessionmaker() as session:
                total, at_risk, overdue = await db.review_counts(
                    session, clock(), dt.timedelta(hours=2)
                )
            metrics.review_queue.set(total)
            metrics.deadlines.labels("at_risk").set(at_risk)
            metrics.deadlines.labels("overdue").set(overdue)
        except Exception as exc:
            runtime.failed("review_watch")
            log.warning("review queue figures unavailable: %s", exc)
        await asyncio.sleep(5)


def build(
    settings: ControlSettings,
    *,
    clock: Callable[[], dt.datetime] = utc_now,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> FastAPI:
    runtime = build_runtime("control", settings, db.messaging)
    metrics = ControlMetrics(runtime.registry)
    deps = handlers.Deps(
        rules=settings.rules(),
        investment_rules=settings.investment_rules(),
        clock=clock,
        new_id=new_id,
        observe_decision=metrics.observe_decision,
        observe_commit=metrics.commitment.observe,
        observe_review=metrics.time_in_review.observe,
    )
    out = stream.wire(runtime, settings, deps)
    runtime.background(lambda: _watch_reviews(runtime, metrics, clock))
    return make_api(
        runtime,
        title="Control service",
        description="Spending control against budget estimates and capital plans, with "
        "officers' review.",
        routers=[api.router(runtime, deps, out)],
    )


def main() -> None:
    settings = ControlSettings()
    configure_logging(service="control", level=settings.log_level, fmt=settings.log_format)
    serve(build(settings), port=settings.control_port, host=settings.listen_host)
