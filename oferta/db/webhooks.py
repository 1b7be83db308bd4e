"""The webhook tables' writes, in one place: the recorder's enqueue, the dispatcher's claim and
settle, and the operations the API offers (oferta/webhooks.py explains the design)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from oferta import webhooks
from oferta.db.models import WebhookDelivery, WebhookEndpoint, utcnow
from oferta.db.once import insert_once, utc
from oferta.db.session import session_scope

ENABLED, DISABLED = "enabled", "disabled"
PENDING, DELIVERED = "pending", "delivered"


# -- the recorder: queue each new timeline entry for its subscribers -----------------------


def subscriptions(session: Session) -> list[tuple[str, list[str]]]:
    """Every endpoint and the types it takes. Disabled ones too: they keep their queue."""
    return [(row.id, list(row.event_types)) for row in session.execute(select(WebhookEndpoint)).scalars()]


def enqueue(
    session: Session,
    endpoints: list[tuple[str, list[str]]],
    *,
    event_id: str,
    event_type: str,
    service_id: str,
    body: str,
) -> int:
    """One outbox row per subscribed endpoint, in the caller's transaction; a row already
    there (the same record written twice) is left as it is. Returns the rows written."""
    now = utcnow()
    written = 0
    for endpoint_id, types in endpoints:
        if webhooks.subscribed(types, event_type):
            written += insert_once(
                session,
                WebhookDelivery,
                endpoint_id=endpoint_id,
                event_id=event_id,
                event_type=event_type,
                service_id=service_id,
                body=body,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
    return written


# -- the dispatcher: claim due rows, then settle each ------------------------------------


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    endpoint_id: str
    url: str
    secret: str
    event_id: str
    body: str


def claim_due(url: str, now: datetime, limit: int, per_endpoint: int, lease: timedelta) -> list[Claim]:
    """Due rows of enabled endpoints, oldest first, each leased until ``now + lease``.

    The lease is the claim: the UPDATE only takes a row still due, so of two dispatchers on one
    database only one posts it; a dispatcher that dies leaves its rows due again after the lease.
    """
    with session_scope(url) as session:
        rows = session.execute(
            select(
                WebhookDelivery.id,
                WebhookDelivery.endpoint_id,
                WebhookDelivery.event_id,
                WebhookDelivery.body,
                WebhookEndpoint.url,
                WebhookEndpoint.secret,
            )
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.status == PENDING,
                WebhookDelivery.next_attempt_at <= now,
                WebhookEndpoint.status == ENABLED,
            )
            .order_by(WebhookDelivery.id)
            .limit(limit)
        ).all()
        taken: dict[str, int] = {}
        claims = []
        for row in rows:
            if taken.get(row.endpoint_id, 0) >= per_endpoint:
                continue  # fairness: one busy endpoint does not fill the round
            leased = session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == row.id,
                    WebhookDelivery.status == PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + lease)
            )
            if leased.rowcount == 1:  # type: ignore[attr-defined]
                taken[row.endpoint_id] = taken.get(row.endpoint_id, 0) + 1
                claims.append(Claim(row.id, row.endpoint_id, row.url, row.secret, row.event_id, row.body))
        return claims


@dataclass(frozen=True)
class Outcome:
    """One attempt: delivered (a 2xx), or the status and error that made it fail."""

    delivered: bool
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class Retry:
    first: float
    cap: float
    give_up: float


@dataclass(frozen=True)
class Settled:
    gave_up: bool = False  # this attempt disabled the endpoint
    retry_at: datetime | None = None  # when a failed event is due again


def settle(url: str, claim: Claim, outcome: Outcome, now: datetime, retry: Retry) -> Settled:
    """Write down one attempt: delivered, or due again after the backoff, or given up."""
    with session_scope(url) as session:
        row = session.get(WebhookDelivery, claim.delivery_id)
        if row is None:
            return Settled()  # the endpoint was deleted meanwhile
        row.attempts += 1
        row.last_attempt_at = now
        row.last_status_code = outcome.status_code
        if outcome.delivered:
            row.status = DELIVERED
            row.delivered_at = now
            row.last_error = None
            row.failing_since = None
            return Settled()
        row.last_error = (outcome.error or "")[:1000]
        since = utc(row.failing_since) or now
        row.failing_since = since
        give_up_at = since + timedelta(seconds=retry.give_up)
        if now >= give_up_at:
            # Failing for the whole window: the endpoint is disabled; the event stays queued
            # (with every later one) and goes out once operations enable the endpoint again.
            row.next_attempt_at = now
            endpoint = session.get(WebhookEndpoint, claim.endpoint_id)
            if endpoint is None or endpoint.status != ENABLED:
                return Settled(retry_at=now)
            endpoint.status = DISABLED
            endpoint.disabled_at = now
            endpoint.disabled_reason = (
                f"event {claim.event_id} failed for {_duration(retry.give_up)} "
                f"({row.attempts} attempts); last error: {row.last_error}"
            )[:1000]
            return Settled(gave_up=True, retry_at=now)
        delay = timedelta(seconds=webhooks.backoff(row.attempts, retry.first, retry.cap))
        # The last attempt falls at the end of the window, not after it.
        row.next_attempt_at = min(now + delay, give_up_at)
        return Settled(retry_at=row.next_attempt_at)


def release(url: str, claims: list[Claim], due: datetime) -> None:
    """Claimed rows not attempted this round because their endpoint just failed: due when the
    failed event is, so a failing endpoint is tried once per backoff, not once per row."""
    if not claims:
        return
    with session_scope(url) as session:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_([c.delivery_id for c in claims]), WebhookDelivery.status == PENDING)
            .values(next_attempt_at=due)
        )


def enabled_count(url: str) -> int:
    with session_scope(url) as session:
        return (
            session.scalar(
                select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.status == ENABLED)
            )
            or 0
        )


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    return f"{seconds:g} s"


# -- operations (the API) -----------------------------------------------------------------


def create_endpoint(
    session: Session, *, endpoint_id: str, url: str, event_types: list[str], secret: str, actor: str
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        id=endpoint_id, url=url, event_types=event_types, secret=secret, status=ENABLED, created_by=actor
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def delete_endpoint(session: Session, endpoint_id: str) -> bool:
    """The endpoint and its queue; False when there was none."""
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
    gone = session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))
    return bool(gone.rowcount)  # type: ignore[attr-defined]


def enable_endpoint(session: Session, endpoint_id: str) -> WebhookEndpoint | None:
    """Enabled again: its queued events are due now, each with a fresh give-up window."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        return None
    endpoint.status = ENABLED
    endpoint.disabled_at = None
    endpoint.disabled_reason = None
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == PENDING)
        .values(next_attempt_at=utcnow(), failing_since=None)
    )
    session.flush()
    return endpoint


def deliveries(session: Session, endpoint_id: str, status: str | None, limit: int) -> list[WebhookDelivery]:
    """The endpoint's delivery log, newest first."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    return list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def queue_counts(session: Session, endpoint_id: str) -> dict[str, Any]:
    rows = session.execute(
        select(WebhookDelivery.status, func.count())
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .group_by(WebhookDelivery.status)
    ).all()
    counts = {PENDING: 0, DELIVERED: 0}
    counts.update({status: count for status, count in rows})
    return counts
