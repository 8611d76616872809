"""The HTTP side every service shares: health routes, error handling, the app itself."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Response

from shared.access import document_access, public
from shared.errors import ERROR_RESPONSES, install_error_handlers
from shared.metrics import metrics_router
from shared.service.lifespan import lifespan
from shared.service.runtime import Runtime


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


def make_api(
    runtime: Runtime, *, title: str, description: str, routers: Sequence[APIRouter]
) -> FastAPI:
    api = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan(runtime),
        # A guard for bodies sent without a length; a declared one above the limit is refused
        # earlier, in the error tree's shape (shared/errors.py).
        max_body_size=4 * runtime.settings.http_max_body_bytes,
    )
    install_error_handlers(api, max_body_bytes=runtime.settings.http_max_body_bytes)
    for router in (health_router(runtime), metrics_router(runtime.registry), *routers):
        api.include_router(document_access(router), responses=ERROR_RESPONSES)
    return api
