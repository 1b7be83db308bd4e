"""Errors as JSON that name the field at fault; bad input is never a 500.

Every error body has the same shape::

    {"detail": "what went wrong, in words", "code": "machine_code",
     "errors": [{"field": "amount", "message": "..."}]}

The workflows' domain errors (workflows/client.py) become HTTP answers here and nowhere
else: ``from_workflow`` says which.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from workflows.client import (
    AlreadyStarted,
    NotFound,
    Refused,
    ServiceClosed,
    TemporalUnavailable,
    WorkflowCallError,
)

log = logging.getLogger("oferta.api")


class ApiError(Exception):
    """A deliberate error response."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.headers = headers

    def body(self) -> dict[str, Any]:
        errors = [{"field": self.field, "message": self.detail}] if self.field else []
        return {"detail": self.detail, "code": self.code, "errors": errors}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"no {what} with id {ident!r}")


def invalid(field: str, detail: str) -> ApiError:
    return ApiError(422, "invalid_input", detail, field=field)


def conflict(detail: str, code: str = "conflict") -> ApiError:
    return ApiError(409, code, detail)


def unavailable(detail: str) -> ApiError:
    return ApiError(503, "unavailable", detail, headers={"Retry-After": "5"})


# What "the database did not answer" looks like: no connection (refused, timed out, dropped
# mid-transaction, server shutting down or starting up), or no free connection in the pool.
# Constraint violations and bad SQL are DBAPIErrors too, but bugs: they stay 500s.
DATABASE_DOWN: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,  # "the connection is closed": a pooled connection the restart cut
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def database_down(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is unreachable (worth a retry), not that a query is wrong.
    The error may come wrapped (a failed rollback after a dropped connection): its causes count."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DATABASE_DOWN):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


def database_unavailable(write: bool = True) -> ApiError:
    """The answer while the database is down. Nothing of the request was kept (api/idempotency.py
    sees to that), so a write is retried with the same key."""
    return unavailable(
        "the database is unavailable; " + ("retry with the same Idempotency-Key" if write else "retry later")
    )


def from_workflow(err: WorkflowCallError, write: bool = True) -> ApiError:
    """The HTTP answer to a workflow call that did not happen. A 503 is not stored by the
    idempotency layer, so a write says to retry with the same key."""
    if isinstance(err, ServiceClosed):
        return conflict(err.reason, "service_closed")
    if isinstance(err, Refused):
        return conflict(err.reason, "refused")
    if isinstance(err, NotFound):
        return ApiError(404, "not_found", err.message)
    if isinstance(err, AlreadyStarted):
        return conflict(err.message, "exists")
    if isinstance(err, TemporalUnavailable):
        log.warning("Temporal unavailable: %s", err.message)
        return unavailable(
            f"{err.message}; " + ("retry with the same Idempotency-Key" if write else "retry later")
        )
    raise TypeError(f"no HTTP answer for {type(err).__name__}")


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # registered for that type only
    # The input itself is not echoed back: it may hold personal data or undecodable bytes.
    errors = [
        {"field": _field(e.get("loc", ())), "message": str(e.get("msg", "invalid"))} for e in exc.errors()
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return JSONResponse(
        {"detail": f"invalid input — {summary}", "code": "invalid_input", "errors": errors}, status_code=422
    )


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)  # registered for that type only
    return exc.response()


async def _workflow_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WorkflowCallError)  # registered for that type only
    return from_workflow(exc, write=request.method not in ("GET", "HEAD")).response()


async def _database(request: Request, exc: Exception) -> JSONResponse:
    if not database_down(exc):
        return await _unexpected(request, exc)
    # The type only: a driver's message may quote SQL parameters.
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return database_unavailable(write=request.method not in ("GET", "HEAD")).response()


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # registered for that type only
    code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
    return JSONResponse(
        {"detail": str(exc.detail), "code": code.get(exc.status_code, "http_error"), "errors": []},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Logged by type, path and stack only: messages may quote inputs (e.g. SQL parameters).
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unexpected %s on %s %s\n%s", type(exc).__name__, request.method, request.url.path, stack)
    return JSONResponse({"detail": "internal error", "code": "internal_error", "errors": []}, status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(WorkflowCallError, _workflow_error)
    app.add_exception_handler(StarletteHTTPException, _http)
    for kind in (*DATABASE_DOWN, sa_exc.DBAPIError):
        app.add_exception_handler(kind, _database)
    app.add_exception_handler(Exception, _unexpected)
