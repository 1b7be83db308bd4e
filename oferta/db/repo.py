"""Writes the API and the activities share: one owner for each, so both write them alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oferta.db.models import AuditEvent, BillingEventRecord, Service, utcnow
from oferta.db.once import utc
from oferta.db.session import session_scope


def add_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    service_id: str | None = None,
    clause: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """One line of the audit trail: who did what to which service, on which clause."""
    session.add(
        AuditEvent(
            at=utc(at) if at else utcnow(),
            service_id=service_id,
            actor=actor,
            action=action,
            clause=clause,
            detail=detail or {},
        )
    )


def billing_feed(url: str, policy_id: str) -> tuple[int, datetime | None]:
    """What the guard's breaker weighs for a policy: its open services, and when billing last
    sent anything for them (an event, or a new service)."""
    with session_scope(url) as session:
        open_services = session.scalar(
            select(func.count())
            .select_from(Service)
            .where(Service.policy_id == policy_id, Service.state.not_in(_ENDED))
        )
        last_event = session.scalar(
            select(func.max(BillingEventRecord.received_at))
            .join(Service, Service.id == BillingEventRecord.service_id)
            .where(Service.policy_id == policy_id)
        )
        last_service = session.scalar(
            select(func.max(Service.created_at)).where(Service.policy_id == policy_id)
        )
    moments = [utc(value) for value in (last_event, last_service) if value is not None]
    return int(open_services or 0), max(moments) if moments else None


_ENDED = ("deleted", "terminated")
