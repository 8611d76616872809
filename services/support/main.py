"""Composition root of the support service: `build(settings)` wires everything."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Callable

from fastapi import FastAPI

from services.support import api, db, handlers, stream
from services.support.config import SupportSettings
from services.support.metrics import SupportMetrics
from shared.contract.deadlines import WorkingCalendar
from shared.logging import configure_logging
from shared.service import Runtime, build_runtime, make_api, serve

log = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _watch_requests(
    runtime: Runtime, metrics: SupportMetrics, clock: Callable[[], dt.datetime]
) -> None:
    """The per-office gauges, from the database, every few seconds."""
    while True:
        try:
            async with runtime.sessionmaker() as session:
                by_status, overdue = await db.counts(session, clock())
            metrics.set_counts(by_status, overdue)
        except Exception:
            log.exception("support request counts failed")
        await asyncio.sleep(5)


def build(
    settings: SupportSettings,
    *,
    clock: Callable[[], dt.datetime] = _now,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> FastAPI:
    runtime = build_runtime("support", settings, db.messaging)
    metrics = SupportMetrics(runtime.registry)
    deps = handlers.Deps(
        calendar=WorkingCalendar.from_settings(
            settings.extra_holidays, settings.extra_working_days
        ),
        working_days=settings.support_response_working_days,
        clock=clock,
        new_id=new_id,
        observe_intake=lambda outcome: metrics.intake.labels(outcome).inc(),
        observe_first_answer=lambda office, s: metrics.first_answer.labels(office).observe(s),
    )
    out = stream.wire(runtime, settings, deps)
    runtime.background(lambda: _watch_requests(runtime, metrics, clock))
    return make_api(
        runtime,
        title="Support service",
        description="Units ask their treasury office for help; officers answer within the "
        "deadline, and every answer reaches the unit.",
        routers=[api.router(runtime, deps, metrics, out)],
    )


def main() -> None:
    settings = SupportSettings()
    configure_logging(service="support", level=settings.log_level, fmt=settings.log_format)
    serve(build(settings), port=settings.support_port, host=settings.listen_host)
