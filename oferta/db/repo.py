"""Writes the API and the activities share: one owner for each, so both write them alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from oferta.db.models import AuditEvent, utcnow
from oferta.db.once import utc


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
