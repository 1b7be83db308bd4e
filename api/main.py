"""The billing API: ``create_app(settings)``.

Start-up (lifespan) runs the migrations, creates the one Temporal client and the
bootstrap API key. Every module in ``api.routers`` with a ``router`` is mounted,
so an endpoint is added by adding a module; ``api.metrics.install(app)`` is
called when that module exists.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api import errors, metrics
from api.deps import AppState, Database
from api.routers import (
    billing,
    customers,
    force_majeure,
    health,
    holds,
    imports,
    inbox,
    services,
    twilio,
    webhooks,
)
from oferta.db.api_keys import ensure_key
from oferta.db.migrate import upgrade
from oferta.settings import Settings, get_settings

log = logging.getLogger("oferta.api")

DESCRIPTION = """
The billing system's way into Oferta. Authenticate with `Authorization: Bearer <API key>`
(scopes: `billing` — billing inputs and reads; `ops` — reads, force majeure, holds, imports and
webhooks; `admin` — all).

**Exactly once.** Every write accepts an `Idempotency-Key` header (send one; retry with
the same one). The same key with the same request replays the first answer (header
`Idempotent-Replayed: true`), refusals included; the same key with a different request is
refused with 409 `idempotency_key_reused`. A duplicate arriving while the first request
is still running waits for its answer (up to 20 s), else gets 409 `in_progress` and may
retry. A 503 (no worker answered in time, or the database is down; `Retry-After` says when
to look again) is not stored and leaves nothing half-done: retry with the same key — billing
inputs use the key as the event id, and the contract applies each event once.

Money is a decimal string (`"2500.00"`) with a currency; times are ISO-8601 with an offset.
Errors name the field: `{"detail", "code", "errors": [{"field", "message"}]}`.
"""


def create_app(
    settings: Settings | None = None,
    *,
    temporal_client: Client | None = None,
    update_timeout: float = 15.0,
    query_timeout: float = 5.0,
) -> FastAPI:
    """The API. Tests pass a ``temporal_client``; otherwise one is connected at start-up."""
    settings = settings or get_settings()
    state = AppState(
        settings=settings,
        db=Database(settings.effective_database_url),
        update_timeout=update_timeout,
        query_timeout=query_timeout,
        temporal=temporal_client,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(upgrade, state.db.url)
        if settings.bootstrap_api_key:
            added = await asyncio.to_thread(
                ensure_key, state.db.url, "bootstrap", settings.bootstrap_api_key, ["admin"]
            )
            log.info("bootstrap admin API key %s", "registered" if added else "already registered")
        if state.temporal is None:
            try:
                await state.client()
            except errors.ApiError:
                log.warning("starting without Temporal; it is retried on the first request that needs it")
        try:
            yield
        finally:
            await state.db.close()

    app = FastAPI(title="Oferta billing API", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.oferta = state
    errors.install(app)
    # Every router, by name (the order only sets the order of the OpenAPI document).
    for module in (
        health,
        customers,
        services,
        billing,
        force_majeure,
        holds,
        imports,
        webhooks,
        twilio,
        inbox,
    ):
        app.include_router(module.router)
    metrics.install(app)
    return app
