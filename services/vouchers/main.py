"""Composition root of the vouchers service: `build(settings)` wires everything."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from functools import partial

from fastapi import FastAPI

from services.vouchers import api, db, handlers
from services.vouchers.config import VouchersSettings
from services.vouchers.domain import IntakeRules
from services.vouchers.metrics import VouchersMetrics
from services.vouchers.signatures import CertificateChecker
from shared.clock import utc_now
from shared.directory import directory_handler
from shared.logging import configure_logging
from shared.service import build_runtime, make_api, serve
from shared.signing import load_trust_store


def build(
    settings: VouchersSettings,
    *,
    clock: Callable[[], dt.datetime] = utc_now,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> FastAPI:
    runtime = build_runtime("vouchers", settings, db.messaging)
    metrics = VouchersMetrics(runtime.registry)
    deps = handlers.Deps(
        topics=settings.topics,
        calendar=settings.calendar(),
        rules=IntakeRules(fiscal_year_grace=settings.fiscal_year_grace()),
        checker=CertificateChecker(load_trust_store(settings.trusted_ca_file)),
        clock=clock,
        new_id=new_id,
        observe_outcome=metrics.observe_outcome,
        observe_stage=metrics.observe_stage,
    )
    runtime.consume(settings.topics.units, directory_handler(db.directory), size=200)
    runtime.consume(
        settings.topics.vouchers,
        batch_handler=partial(handlers.handle_submissions, deps=deps),
        size=settings.vouchers_batch_size,
    )
    runtime.consume(
        settings.topics.decisions,
        batch_handler=partial(handlers.handle_decisions, deps=deps),
        size=settings.vouchers_batch_size,
    )
    return make_api(
        runtime,
        title="Vouchers service",
        description="Intake and validation of payment vouchers; each voucher's status history.",
        routers=[api.router(runtime, deps)],
    )


def main() -> None:
    settings = VouchersSettings()
    configure_logging(service="vouchers", level=settings.log_level, fmt=settings.log_format)
    serve(build(settings), port=settings.vouchers_port, host=settings.listen_host)
