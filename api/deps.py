"""Dependencies: settings, the database, the one Temporal client, and the caller's API key.

(No ``from __future__ import annotations`` here: FastAPI must see the closures'
dependency annotations as objects.)
"""

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session
from temporalio.client import Client

from api.errors import ApiError, database_down, from_workflow
from oferta.db.api_keys import KeyInfo, verify_key
from oferta.db.session import session_scope
from oferta.settings import Settings
from oferta.temporal import connect
from workflows.client import TemporalUnavailable, WorkflowCallError

log = logging.getLogger("oferta.api")
T = TypeVar("T")


class Database:
    """Runs synchronous SQLAlchemy work in a thread, one transaction per call.

    Work that must happen but found the database down (an idempotency claim to release, an
    answer to store) is handed to ``later``: it is retried in the background until the
    database answers again, in the order it was left."""

    RETRY_EVERY = 1.0  # seconds between attempts while the database is down

    def __init__(self, url: str) -> None:
        self.url = url
        self._later: list[Callable[[Session], object]] = []
        self._catching_up = asyncio.Lock()
        self._retrying: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[Session], T]) -> T:
        return await asyncio.to_thread(self._run, work)

    def _run(self, work: Callable[[Session], T]) -> T:
        with session_scope(self.url) as session:
            return work(session)

    def later(self, work: Callable[[Session], object]) -> None:
        """Run ``work`` (idempotent: it may run twice) once the database answers again."""
        self._later.append(work)
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.get_running_loop().create_task(self._retry())

    @property
    def pending(self) -> int:
        """How much work waits for the database to come back."""
        return len(self._later)

    async def catch_up(self) -> None:
        """Run the work left for later; raises, keeping what is left, while the database is down."""
        async with self._catching_up:
            while self._later:
                work = self._later[0]
                try:
                    await self.run(work)
                except Exception as exc:
                    if database_down(exc):
                        raise
                    # A bug, not an outage: retrying would never end.
                    log.error("dropped work left for later: %s", type(exc).__name__)
                self._later.pop(0)

    async def _retry(self) -> None:
        while self._later:
            try:
                await self.catch_up()
            except Exception:
                await asyncio.sleep(self.RETRY_EVERY)  # the database is still down

    async def close(self) -> None:
        """Stop retrying (shutdown). What is left is settled by the stale-claim take-over."""
        if self._retrying is not None and not self._retrying.done():
            try:
                async with asyncio.timeout(self.RETRY_EVERY):
                    await self.catch_up()
            except Exception:
                log.warning("%d database writes left undone at shutdown", len(self._later))
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying


@dataclass
class AppState:
    settings: Settings
    db: Database
    update_timeout: float
    query_timeout: float
    temporal: Client | None = None
    _connecting: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def client(self) -> Client:
        """The one Temporal client; connected on first need if Temporal was down at start-up."""
        if self.temporal is not None:
            return self.temporal
        async with self._connecting:
            if self.temporal is None:
                try:
                    async with asyncio.timeout(5):
                        self.temporal = await connect(self.settings)
                except Exception as exc:
                    log.warning(
                        "Temporal unreachable at %s: %s", self.settings.temporal_address, type(exc).__name__
                    )
                    raise from_workflow(TemporalUnavailable("Temporal is unreachable"), write=False) from None
        return self.temporal


def app_state(request: Request) -> AppState:
    return request.app.state.oferta


State = Annotated[AppState, Depends(app_state)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


async def current_key(
    state: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> KeyInfo:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or not credentials.credentials:
        raise ApiError(
            401, "unauthorized", "an API key is required: Authorization: Bearer <key>", headers=challenge
        )
    key = credentials.credentials
    if len(key) > 256 or not key.isascii():
        raise ApiError(401, "unauthorized", "the API key is not valid", headers=challenge)
    info = await asyncio.to_thread(verify_key, state.db.url, key)
    if info is None:
        raise ApiError(401, "unauthorized", "the API key is not valid or was revoked", headers=challenge)
    return info


def require(*scopes: str) -> Callable[..., Awaitable[KeyInfo]]:
    """A dependency: the caller's key, which must hold admin or one of ``scopes``."""

    async def dependency(key: Annotated[KeyInfo, Depends(current_key)]) -> KeyInfo:
        if not key.allows(*scopes):
            raise ApiError(
                403,
                "forbidden",
                f"this API key lacks the scope for this call (needs {' or '.join((*scopes, 'admin'))})",
            )
        return key

    return dependency


Reader = Annotated[KeyInfo, Depends(require("billing", "ops"))]
OpsReader = Annotated[KeyInfo, Depends(require("ops"))]


def is_loopback(request: Request) -> bool:
    """Whether the caller is on this machine. Behind a proxy on loopback uvicorn puts the
    forwarded client here (its default trusts X-Forwarded-For from 127.0.0.1 only)."""
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name, a unix socket: not known to be local
        return False


async def local_or_ops(
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """A dependency for what shows customers' data without an API (the local inbox): a caller
    on loopback, or one with an ops (or admin) key."""
    if is_loopback(request):
        return
    key = await current_key(state, credentials)
    if not key.allows("ops"):
        raise ApiError(403, "forbidden", "the inbox answers on loopback, or to an ops or admin API key")


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[\x21-\x7e]{1,200}$",
        description="Makes the write safe to retry: the same key and body replay the first answer",
    ),
]


M = TypeVar("M", bound=BaseModel)


@dataclass
class Writer:
    """What a write needs: the caller, its Idempotency-Key, the request and the app."""

    key: KeyInfo
    idempotency_key: str | None
    request: Request
    state: AppState

    @property
    def actor(self) -> str:
        return f"api:{self.key.name}"

    async def once(self, produce: Callable[[], Awaitable[M]]) -> M | JSONResponse:
        """The model ``produce`` makes, once per Idempotency-Key (api/idempotency.py)."""
        from api.idempotency import run_once

        async def answer() -> M:
            # As an ApiError, so the idempotency record stores a refusal and releases a 503.
            try:
                return await produce()
            except WorkflowCallError as err:
                raise from_workflow(err) from err

        return await run_once(self, answer)


def writer(*scopes: str) -> Callable[..., Awaitable[Writer]]:
    guard = require(*scopes)

    async def dependency(
        request: Request,
        state: State,
        key: Annotated[KeyInfo, Depends(guard)],
        idempotency_key: IdempotencyKey = None,
    ) -> Writer:
        return Writer(key=key, idempotency_key=idempotency_key, request=request, state=state)

    return dependency


BillingWriter = Annotated[Writer, Depends(writer("billing"))]
OpsWriter = Annotated[Writer, Depends(writer("ops"))]
# Inputs either side may bring: billing relays the customer's, operations the provider's.
PartyWriter = Annotated[Writer, Depends(writer("billing", "ops"))]
