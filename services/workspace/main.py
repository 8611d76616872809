"""Composition root of the workspace: `build(settings)` wires the pages to the services."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import RequestResponseEndpoint

from services.workspace.client import Services
from services.workspace.codes import CodeBook
from services.workspace.config import WorkspaceSettings
from services.workspace.oidc import OidcVerifier
from services.workspace.pages import (
    deliveries,
    dossier,
    queue,
    registrations,
    search,
    signin,
    support,
    today,
    units,
)
from services.workspace.sessions import Signer
from services.workspace.web import HERE, Web
from shared.access import public
from shared.clock import utc_now
from shared.logging import configure_logging
from shared.offices import TreasuryDirectory
from shared.service import serve

log = logging.getLogger(__name__)


def load_offices(path: Path | None) -> TreasuryDirectory:
    if path is None:
        raise SystemExit("TREASURY_DIRECTORY is not set: nobody could sign in to the workspace.")
    try:
        return TreasuryDirectory.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as err:
        raise SystemExit(f"TREASURY_DIRECTORY {path} cannot be used: {err}") from None


def secret_key(settings: WorkspaceSettings) -> str:
    if settings.workspace_secret_key:
        if len(settings.workspace_secret_key) < 32:
            raise SystemExit("WORKSPACE_SECRET_KEY must be at least 32 characters long.")
        return settings.workspace_secret_key
    log.warning(
        "WORKSPACE_SECRET_KEY is not set: using a key made for this process only; sessions "
        "end when it stops. Set WORKSPACE_SECRET_KEY in production."
    )
    return secrets.token_urlsafe(48)


def build(settings: WorkspaceSettings, *, clock: Callable[[], dt.datetime] = utc_now) -> FastAPI:
    if not settings.staff_jwt_secret:
        raise SystemExit("STAFF_JWT_SECRET is not set: the services would refuse every officer.")
    offices = load_offices(settings.treasury_directory)
    services = Services(
        urls={
            "registration": settings.registration_url,
            "vouchers": settings.vouchers_url,
            "control": settings.control_url,
            "notify": settings.notify_url,
            "support": settings.support_url,
        },
        secret=settings.staff_jwt_secret,
    )
    web = Web(
        settings=settings, services=services, signer=Signer(secret_key(settings)), clock=clock
    )
    codes = CodeBook(
        lifetime=dt.timedelta(minutes=settings.workspace_code_minutes),
        per_window=settings.workspace_codes_per_window,
        window=dt.timedelta(minutes=settings.workspace_code_window_minutes),
        attempts=settings.workspace_code_attempts,
    )
    oidc = (
        OidcVerifier(
            issuer=settings.workspace_oidc_issuer,
            jwks=settings.workspace_oidc_jwks,
            audience=settings.workspace_oidc_audience,
            email_claim=settings.workspace_oidc_email_claim,
        )
        if settings.oidc_enabled()
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        del app
        try:
            yield
        finally:
            await services.close()

    app = FastAPI(
        title="Officers' workspace",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    web.install(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/healthz", dependencies=[Depends(public)])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "workspace"}

    @app.get("/readyz", dependencies=[Depends(public)])
    async def readyz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(signin.router(web, offices, codes, oidc))
    for page in (queue, dossier, registrations, units, search, today, deliveries, support):
        app.include_router(page.router(web))

    @app.middleware("http")
    async def headers(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
        return response

    return app


def main() -> None:
    settings = WorkspaceSettings()
    configure_logging(service="workspace", level=settings.log_level, fmt=settings.log_format)
    # One line per service call would drown the workspace's own log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    serve(build(settings), port=settings.workspace_port, host=settings.listen_host)
