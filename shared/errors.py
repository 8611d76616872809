"""The errors a service's API raises, each with the HTTP status it maps to, in one place.

    ServiceError            500
    ├── InvalidRequest      422  the request is well-formed JSON but breaks a rule
    ├── Unauthorized        401  no credentials, or credentials that do not verify
    ├── Forbidden           403  valid credentials, outside their office or role
    ├── NotFound            404
    ├── Conflict            409  the dossier is not in a state that allows this
    ├── PayloadTooLarge     413  the body would make a message over the contract's 1 MiB
    └── Unavailable         503  a dependency (broker, database) cannot be reached now

Each service subclasses these for its own cases; `install_error_handlers` maps them all.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import ORJSONResponse


class ServiceError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ServiceError):
    status_code = 422
    code = "invalid_request"


class Unauthorized(ServiceError):
    status_code = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(ServiceError):
    status_code = 413
    code = "payload_too_large"


class Unavailable(ServiceError):
    status_code = 503
    code = "unavailable"


async def _handle(request: Request, exc: Exception) -> ORJSONResponse:
    assert isinstance(exc, ServiceError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return ORJSONResponse(
        {"error": exc.code, "message": exc.message}, status_code=exc.status_code, headers=headers
    )


MAX_BODY_BYTES = 2 * 1024 * 1024
"""No request the API serves needs a larger body (an event is at most 1 MiB)."""


def install_error_handlers(api: FastAPI) -> None:
    api.add_exception_handler(ServiceError, _handle)

    @api.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return await _handle(
                request, PayloadTooLarge(f"a body of at most {MAX_BODY_BYTES} bytes is accepted")
            )
        return await call_next(request)
