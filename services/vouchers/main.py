"""Composition root of the vouchers service: `build(settings)` wires everything."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from fastapi import FastAPI

from services.vouchers import api, db, handlers, stream
from services.vouchers.config import VouchersSettings
from services.vouchers.domain import IntakeRules
from services.vouchers.metrics import VouchersMetrics
from services.vouchers.signatures import CertificateChecker
from shared.clock import utc_now
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
        calendar=settings.calendar(),
        rules=IntakeRules(fiscal_year_grace=settings.fiscal_year_grace()),
        checker=CertificateChecker(load_trust_store(settings.trusted_ca_file)),
        clock=clock,
        new_id=new_id,
        observe_outcome=metrics.observe_outcome,
        observe_stage=metrics.observe_stage,
    )
    stream.wire(runtime, settings, deps)
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
