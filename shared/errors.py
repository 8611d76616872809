"""The errors a service's API raises, each with the HTTP status it maps to, in one place.

    ServiceError            500
    ├── InvalidRequest      422  the request is well-formed JSON but breaks a rule
    ├── Unauthorized        401  no credentials, or credentials that do not verify
    ├── Forbidden           403  valid credentials, outside their office or role
    ├── NotFound            404
    ├── Conflict            409  the dossier is not in a state that allows this
    └── Unavailable         503  a dependency (broker, database) cannot be reached now

Each service subclasses these for its own cases; `install_error_handlers` maps them all.
"""

from __future__ import annotations

from typing import ClassVar

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


class Unavailable(ServiceError):
    status_code = 503
    code = "unavailable"


async def _handle(request: Request, exc: Exception) -> ORJSONResponse:
    assert isinstance(exc, ServiceError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return ORJSONResponse(
        {"error": exc.code, "message": exc.message}, status_code=exc.status_code, headers=headers
    )


def install_error_handlers(api: FastAPI) -> None:
    api.add_exception_handler(ServiceError, _handle)
