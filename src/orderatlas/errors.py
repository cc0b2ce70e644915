"""Errors that carry their HTTP status and stable code, and the handlers that render them.

Every error leaves the API as {"error": "...", "code": "..."}.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class OrderAtlasError(Exception):
    status_code = 400
    code = "bad_request"
    # Fields the body carries beside error and code (a 402 says what is left).
    extra: dict[str, Any] = {}
    headers: dict[str, str] | None = None  # sent with the error (Retry-After ...)

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code


class BadRequest(OrderAtlasError):
    status_code = 400
    code = "invalid_request"


class Unauthorized(OrderAtlasError):
    status_code = 401
    code = "unauthorized"


class InsufficientCredits(OrderAtlasError):
    status_code = 402
    code = "insufficient_credits"

    def __init__(self, have: int, need: int) -> None:
        super().__init__(f"insufficient credits: have {have}, need {need}")
        self.extra = {"credits_remaining": have}


class NotFound(OrderAtlasError):
    status_code = 404
    code = "not_found"


class Conflict(OrderAtlasError):
    status_code = 409
    code = "conflict"


class ServiceUnavailable(OrderAtlasError):
    status_code = 503
    code = "service_unavailable"


class ErrorBody(BaseModel):
    """Every error the API returns."""

    error: str
    code: str


class InsufficientCreditsBody(ErrorBody):
    """402: the balance could not cover the cost; nothing was charged."""

    credits_remaining: int


def error_body(message: str, code: str) -> dict[str, str]:
    return {"error": message, "code": code}


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until a request would be admitted.",
        "schema": {"type": "integer"},
    }
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for an authenticated route's error statuses: validation errors are always
    400, and every authenticated request may be refused by the rate limit (429)."""
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": InsufficientCreditsBody if status == 402 else ErrorBody}
        for status in sorted({400, 401, 429, *statuses})
    }
    responses[429]["headers"] = _RETRY_AFTER
    responses[429]["description"] = "Rate limit exceeded (see docs/rate-limits.md)"
    return responses


def render_error(exc: OrderAtlasError) -> JSONResponse:
    return JSONResponse(
        {**error_body(exc.message, exc.code), **exc.extra}, status_code=exc.status_code, headers=exc.headers
    )


async def _orderatlas_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OrderAtlasError)
    return render_error(exc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    from orderatlas.kit.validation import describe_validation_error

    assert isinstance(exc, RequestValidationError)
    message, code = describe_validation_error(exc.errors())
    return JSONResponse(error_body(message, code), status_code=400)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 400: "invalid_request"}


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return JSONResponse(error_body(str(exc.detail), code), status_code=exc.status_code, headers=exc.headers)


# A lost or unreachable database (a restart, pg_terminate_backend, a full pool) is an outage, not a
# bug: the client gets a JSON 503 it can retry, and the pool replaces the dead connections itself
# (pool_pre_ping), so the next request after recovery succeeds.
_DATABASE_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


def _is_database_down(exc: BaseException) -> bool:
    return isinstance(exc, _DATABASE_DOWN) or (
        isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)
    )


def _unavailable(what: str, code: str) -> JSONResponse:
    return JSONResponse(
        error_body(f"the {what} is unavailable; retry shortly", code),
        status_code=503,
        headers={"Retry-After": "1"},
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    if not _is_database_down(exc):
        return await _unexpected_error(request, exc)
    log.warning("database unavailable: %s", type(exc).__name__)
    return _unavailable("database", "database_unavailable")


async def _redis_unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("redis unavailable: %s", type(exc).__name__)
    return _unavailable("job queue", "redis_unavailable")


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(error_body("internal server error", "internal_error"), status_code=500)


def _openapi_without_422(app: FastAPI) -> dict[str, Any]:
    """FastAPI documents a 422 it never sends here: validation errors are rendered as 400."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                responses = operation.get("responses", {})
                if "HTTPValidationError" in str(responses.get("422", {})):
                    del responses["422"]
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema


def install_error_handlers(app: FastAPI) -> None:
    app.openapi = lambda: _openapi_without_422(app)  # type: ignore[method-assign]
    app.add_exception_handler(OrderAtlasError, _orderatlas_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sa_exc.DBAPIError, _database_unavailable)
    app.add_exception_handler(sa_exc.TimeoutError, _database_unavailable)
    for redis_error in _REDIS_DOWN:
        app.add_exception_handler(redis_error, _redis_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)
