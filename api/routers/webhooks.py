"""Webhook subscriptions: who receives services' timelines, and what was delivered to them.

Operations (or admin) only. Delivery itself runs in Temporal, never in a request: creating or
enabling an endpoint starts (or wakes) the deployment's dispatcher workflow. Design: oferta/webhooks.py.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import AppState, OpsReader, OpsWriter, State
from api.errors import ApiError, invalid, not_found
from api.schemas import (
    ID_PATTERN,
    ErrorOut,
    WebhookCreatedOut,
    WebhookDeliveriesOut,
    WebhookDeliveryOut,
    WebhookIn,
    WebhookOut,
)
from api.store import audit
from oferta import webhooks
from oferta.db import webhooks as tables
from oferta.db.models import WebhookDelivery, WebhookEndpoint
from oferta.db.once import utc
from workflows.client import WorkflowCallError, task_queue, wake_webhook_dispatcher

log = logging.getLogger("oferta.api")

router = APIRouter(
    prefix="/v1/webhooks",
    tags=["webhooks"],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
)

WebhookId = Annotated[str, Path(pattern=ID_PATTERN)]


def _out(session: Session, endpoint: WebhookEndpoint) -> WebhookOut:
    counts = tables.queue_counts(session, endpoint.id)
    return WebhookOut(
        id=endpoint.id,
        url=endpoint.url,
        event_types=list(endpoint.event_types),
        status="enabled" if endpoint.status == tables.ENABLED else "disabled",
        disabled_reason=endpoint.disabled_reason,
        disabled_at=utc(endpoint.disabled_at),
        created_at=utc(endpoint.created_at),
        pending=counts[tables.PENDING],
        delivered=counts[tables.DELIVERED],
    )


def _delivery_out(row: WebhookDelivery) -> WebhookDeliveryOut:
    return WebhookDeliveryOut(
        event_id=row.event_id,
        event_type=row.event_type,
        service_id=row.service_id,
        status="delivered" if row.status == tables.DELIVERED else "pending",
        attempts=row.attempts,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        last_attempt_at=utc(row.last_attempt_at),
        next_attempt_at=utc(row.next_attempt_at) if row.status == tables.PENDING else None,
        delivered_at=utc(row.delivered_at),
        created_at=utc(row.created_at),
    )


async def _wake_dispatcher(state: AppState) -> None:
    """Start or wake the dispatcher. Not fatal: the endpoint is stored and its events queue in
    the outbox; the worker starts the dispatcher when it starts, and POST …/enable wakes it."""
    try:
        client = await state.client()
        await wake_webhook_dispatcher(
            client,
            task_queue(state.settings),
            state.settings.webhooks_poll_seconds,
            state.settings.webhooks_wait_seconds,
        )
    except (ApiError, WorkflowCallError) as err:
        log.warning("webhook dispatcher not started now: %s", err)


async def _endpoint(state: AppState, webhook_id: str) -> WebhookOut:
    def read(session: Session) -> WebhookOut | None:
        endpoint = session.get(WebhookEndpoint, webhook_id)
        return _out(session, endpoint) if endpoint else None

    found = await state.db.run(read)
    if found is None:
        raise not_found("webhook endpoint", webhook_id)
    return found


@router.post("", status_code=201, response_model=WebhookCreatedOut)
async def create(body: WebhookIn, writer: OpsWriter) -> WebhookCreatedOut | JSONResponse:
    """Subscribe an endpoint to timeline entries of the given types. Each event is POSTed as
    JSON signed per Standard Webhooks (headers `webhook-id`, `webhook-timestamp`,
    `webhook-signature`); the secret is returned this once."""
    state = writer.state
    problem = webhooks.target_problem(body.url, state.settings.webhooks_allow_private)
    if problem:
        raise invalid("url", problem)
    types = ["*"] if "*" in body.event_types else sorted({str(t) for t in body.event_types})

    async def produce() -> WebhookCreatedOut:
        endpoint_id = f"wh_{uuid.uuid4().hex[:16]}"
        secret = body.secret or webhooks.generate_secret()

        def write(session: Session) -> WebhookOut:
            endpoint = tables.create_endpoint(
                session,
                endpoint_id=endpoint_id,
                url=body.url,
                event_types=types,
                secret=secret,
                actor=writer.actor,
            )
            # The audit names the endpoint and its types; never the secret.
            audit(
                session,
                writer.actor,
                "webhook_created",
                detail={"endpoint_id": endpoint_id, "event_types": types},
            )
            return _out(session, endpoint)

        created = await state.db.run(write)
        await _wake_dispatcher(state)
        return WebhookCreatedOut(**created.model_dump(), secret=secret)

    return await writer.once(produce)


@router.get("", response_model=list[WebhookOut])
async def list_endpoints(state: State, _key: OpsReader) -> list[WebhookOut]:
    """Every endpoint, with its status (a disabled one says why) and its queue."""

    def read(session: Session) -> list[WebhookOut]:
        rows = session.scalars(
            select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
        return [_out(session, row) for row in rows]

    return await state.db.run(read)


@router.get("/{webhook_id}", response_model=WebhookOut, responses={404: {"model": ErrorOut}})
async def get_endpoint(webhook_id: WebhookId, state: State, _key: OpsReader) -> WebhookOut:
    return await _endpoint(state, webhook_id)


@router.delete("/{webhook_id}", status_code=204, responses={404: {"model": ErrorOut}})
async def delete_endpoint(webhook_id: WebhookId, writer: OpsWriter) -> Response:
    """Unsubscribe: the endpoint and its undelivered events are gone."""

    def write(session: Session) -> bool:
        gone = tables.delete_endpoint(session, webhook_id)
        if gone:
            audit(session, writer.actor, "webhook_deleted", detail={"endpoint_id": webhook_id})
        return gone

    if not await writer.state.db.run(write):
        raise not_found("webhook endpoint", webhook_id)
    return Response(status_code=204)


@router.post("/{webhook_id}/enable", response_model=WebhookOut, responses={404: {"model": ErrorOut}})
async def enable(webhook_id: WebhookId, writer: OpsWriter) -> WebhookOut:
    """Enable an endpoint again (one disabled after failing for the give-up window): its queued
    events go out now, each with a fresh window. On an enabled endpoint it only wakes the
    dispatcher."""

    def write(session: Session) -> WebhookOut | None:
        endpoint = tables.enable_endpoint(session, webhook_id)
        if endpoint is None:
            return None
        audit(session, writer.actor, "webhook_enabled", detail={"endpoint_id": webhook_id})
        return _out(session, endpoint)

    enabled = await writer.state.db.run(write)
    if enabled is None:
        raise not_found("webhook endpoint", webhook_id)
    await _wake_dispatcher(writer.state)
    return enabled


@router.get(
    "/{webhook_id}/deliveries", response_model=WebhookDeliveriesOut, responses={404: {"model": ErrorOut}}
)
async def deliveries(
    webhook_id: WebhookId,
    state: State,
    _key: OpsReader,
    status: Annotated[Literal["pending", "delivered"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> WebhookDeliveriesOut:
    """The endpoint's delivery log, newest first: each event's attempts, last status and error."""
    await _endpoint(state, webhook_id)
    rows = await state.db.run(lambda s: tables.deliveries(s, webhook_id, status, limit))
    return WebhookDeliveriesOut(endpoint_id=webhook_id, deliveries=[_delivery_out(row) for row in rows])
