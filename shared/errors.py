"""The errors a service's API raises, each with the HTTP status it maps to, in one place.

    ServiceError            500
    ├── InvalidRequest      422  the request is well-formed JSON but breaks a rule
    ├── Unauthorized        401  no credentials, or credentials that do not verify
    ├── Forbidden           403  valid credentials, outside their office or role
    ├── NotFound            404
    ├── Conflict            409  the dossier is not in a state that allows this
    ├── PayloadTooLarge     413  the body would make a message over the contract's 1 MiB
    └── Unavailable         503  a dependency (broker, database) cannot be reached now

A request that does not match the route's schema is a 422 in the same shape, with FastAPI's
list of problems under `detail`; a body above `HTTP_MAX_BODY_BYTES` is refused with 413.

Each service subclasses these for its own cases; `install_error_handlers` maps them all.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel


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


async def _invalid(request: Request, exc: Exception) -> ORJSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = jsonable_encoder(exc.errors())
    where = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in problems[:5])
    return ORJSONResponse(
        {"error": InvalidRequest.code, "message": f"invalid request: {where}", "detail": problems},
        status_code=422,
    )


class ErrorBody(BaseModel):
    """What every refusal answers."""

    error: str
    message: str
    detail: list[dict[str, Any]] | None = None


def _refusal(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Declared on every route, so that clients (and the schema checks) know each refusal's shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _refusal("No credential, or one that does not verify"),
    403: _refusal("Outside the caller's role or office"),
    404: _refusal("Not found (or not the caller's office's)"),
    409: _refusal("Not in a state that allows this"),
    413: _refusal("The request body, or the event it makes, is above the limit"),
    422: _refusal("The request breaks the route's schema or a rule"),
    503: _refusal("The database or the broker cannot be reached now"),
}


def install_error_handlers(api: FastAPI, *, max_body_bytes: int) -> None:
    """Map the error tree to HTTP. A body declared above `max_body_bytes` is refused before
    it is read, in the same shape; FastAPI's own limit (`max_body_size`) stops one that
    arrives without a length."""
    api.add_exception_handler(ServiceError, _handle)
    api.add_exception_handler(RequestValidationError, _invalid)

    @api.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            too_large = PayloadTooLarge(f"a body of at most {max_body_bytes} bytes is accepted")
            return await _handle(request, too_large)
        return await call_next(request)
