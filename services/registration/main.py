"""Composition root of the registration service: `build(settings)` wires everything."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from fastapi import FastAPI

from services.registration import api, db, handlers, stream
from services.registration.config import RegistrationSettings
from services.registration.metrics import RegistrationMetrics
from shared.clock import utc_now
from shared.logging import configure_logging
from shared.service import build_runtime, make_api, serve
from shared.signing import load_trust_store


def build(
    settings: RegistrationSettings,
    *,
    clock: Callable[[], dt.datetime] = utc_now,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> FastAPI:
    runtime = build_runtime("registration", settings, db.messaging)
    metrics = RegistrationMetrics(runtime.registry)
    deps = handlers.Deps(
        trust=load_trust_store(settings.trusted_ca_file),
        calendar=settings.calendar(),
        approval=settings.registration_approval,
        clock=clock,
        new_id=new_id,
        observe=metrics.observe,
    )
    out = stream.wire(runtime, settings, deps)
    return make_api(
        runtime,
        title="Registration service",
        description="Units register for the online service with their signers' certificates.",
        routers=[api.router(runtime, deps, metrics, out)],
    )


def main() -> None:
    settings = RegistrationSettings()
    configure_logging(service="registration", level=settings.log_level, fmt=settings.log_format)
    serve(build(settings), port=settings.registration_port, host=settings.listen_host)
