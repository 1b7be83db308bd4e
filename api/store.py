"""Database reads and writes of the API (synchronous; run through ``Database.run``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.schemas import (
    AmendmentOut,
    AuditOut,
    CustomerOut,
    Deadline,
    HoldOut,
    MoneyOut,
    NoticeOut,
    OverrideOut,
    ServiceOut,
    TimelineEventOut,
)
from oferta.db.models import (
    AuditEvent,
    BillingEventRecord,
    Customer,
    Invoice,
    Notice,
    Service,
    TimelineEvent,
    utcnow,
)
from oferta.db.once import insert_once, utc
from oferta.db.repo import add_audit
from oferta.timeline.state import BillingEvent, ServiceStatus, ServiceView

TERMINAL = (ServiceStatus.DELETED.value, ServiceStatus.TERMINATED.value)


def audit(
    session: Session,
    actor: str,
    action: str,
    service_id: str | None = None,
    clause: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    add_audit(session, actor=actor, action=action, service_id=service_id, clause=clause, detail=detail)


# -- customers ----------------------------------------------------------------


def customer_out(row: Customer) -> CustomerOut:
    return CustomerOut(
        id=row.id,
        name=row.name,
        email=row.email,
        phone=row.phone,
        locale=row.locale,
        timezone=row.timezone,
        consumer=bool(row.consumer),
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )


def customer_exists(session: Session, customer_id: str) -> bool:
    return session.get(Customer, customer_id) is not None


def customer_is_consumer(session: Session, customer_id: str) -> bool | None:
    """Whether the customer is a consumer; None when there is no such customer."""
    row = session.get(Customer, customer_id)
    return None if row is None else bool(row.consumer)


# -- services -----------------------------------------------------------------


def _money(amount: Decimal, currency: str) -> MoneyOut:
    return MoneyOut(amount=amount.quantize(Decimal("0.01")), currency=currency)


def service_out(row: Service, view: ServiceView | None = None) -> ServiceOut:
    """The service as the database has it, with the workflow's live view on top when given."""
    base = ServiceOut(
        id=row.id,
        customer_id=row.customer_id,
        policy=row.policy_id,
        kind=row.kind,
        tariff=row.tariff,
        price=_money(row.price, row.currency),
        period=row.period,
        workflow_id=row.workflow_id,
        created_at=utc(row.created_at),
        state=ServiceStatus(row.state),
        suspension_reasons=[],
        period_index=row.period_index,
        paid_until=utc(row.paid_until),
        debt=_money(row.debt, row.currency),
        balance=None,
        next_deadline=Deadline(
            at=utc(row.next_deadline_at), action=row.next_action or "", clause=row.next_clause
        )
        if row.next_deadline_at
        else None,
        live=False,
    )
    if view is None:
        return base
    deadline = view.next_deadline
    return base.model_copy(
        update={
            "state": view.state,
            "suspension_reasons": [r.value for r in view.suspension_reasons],
            "period_index": view.period_index,
            "paid_until": view.paid_until,
            "debt": _money(view.debt.amount, view.debt.currency),
            "balance": _money(view.balance.amount, view.balance.currency),
            "next_deadline": Deadline(
                at=deadline.at,
                action=deadline.action,
                clause=deadline.clause,
                operational=deadline.operational,
            )
            if deadline
            else None,
            "hold": HoldOut(
                hold=view.hold.kind.value,
                step=view.hold.action,
                clause=view.hold.clause,
                reason=view.hold.reason,
                since=view.hold.since,
            )
            if view.hold
            else None,
            "policy_version": view.policy_version,
            "amendment": AmendmentOut.model_validate(view.amendment.model_dump()) if view.amendment else None,
            "overrides": [
                OverrideOut(
                    kind=o.terms.kind.value,
                    granted_by=o.actor,
                    reason=o.reason,
                    at=o.at,
                    days=o.terms.days,
                    until=o.terms.until,
                )
                for o in view.overrides
            ],
            "live": True,
        }
    )


def get_service(session: Session, service_id: str) -> Service | None:
    row = session.get(Service, service_id)
    if row is not None:
        session.expunge(row)
    return row


def list_services(
    session: Session,
    *,
    state: str | None,
    policy: str | None,
    customer_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Service], int]:
    query = select(Service)
    if state:
        query = query.where(Service.state == state)
    if policy:
        query = query.where(Service.policy_id == policy)
    if customer_id:
        query = query.where(Service.customer_id == customer_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(Service.created_at, Service.id).limit(limit).offset(offset)))
    for row in rows:
        session.expunge(row)
    return rows, total


def invoice_exists(session: Session, service_id: str, invoice_id: str) -> bool:
    return (
        session.scalar(
            select(func.count())
            .select_from(Invoice)
            .where(Invoice.service_id == service_id, Invoice.invoice_id == invoice_id)
        )
        or 0
    ) > 0


def record_input(session: Session, service_id: str, event: BillingEvent, actor: str) -> None:
    """An accepted billing input, once per event id, and its audit entry."""
    payload = event.model_dump(mode="json", exclude_none=True)
    if insert_once(
        session,
        BillingEventRecord,
        service_id=service_id,
        event_id=event.event_id,
        type=event.type.value,
        payload=payload,
        received_at=utcnow(),
    ):
        detail = {k: v for k, v in payload.items() if k not in ("type", "reason")}
        audit(session, actor, f"input:{event.type.value}", service_id, detail=detail)


def timeline(
    session: Session, service_id: str
) -> tuple[list[TimelineEventOut], list[NoticeOut], list[AuditOut]]:
    events = [
        TimelineEventOut(
            sequence=e.sequence,
            at=utc(e.at),
            type=e.type,
            clause=e.clause,
            detail=e.detail,
            policy_version=e.policy_version,
        )
        for e in session.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.service_id == service_id)
            .order_by(TimelineEvent.at, TimelineEvent.sequence, TimelineEvent.id)
        )
    ]
    notices = [
        NoticeOut(
            id=n.id,
            at=utc(n.contract_time or n.created_at),
            template=n.template,
            channel=n.channel,
            locale=n.locale,
            clause=n.clause,
            status=n.status,
            delivery_status=n.delivery_status,
        )
        for n in session.scalars(select(Notice).where(Notice.service_id == service_id))
    ]
    notices.sort(key=lambda n: (n.at, n.id))
    trail = [
        AuditOut(at=utc(a.at), actor=a.actor, action=a.action, clause=a.clause, detail=a.detail or {})
        for a in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.service_id == service_id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    ]
    return events, notices, trail
