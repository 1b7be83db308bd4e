"""Database back ends of the lifecycle activities: the record of everything Oferta did.

Each is idempotent by the request's key, enforced by the table's UNIQUE
constraint: a retried activity writes nothing new and returns what the first
attempt wrote. Database work is synchronous SQLAlchemy run in a thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from temporalio.exceptions import ApplicationError

from activities.models import (
    ProvisioningRequest,
    ProvisioningResult,
    RefundRequest,
    RefundResult,
    TimelineRecord,
)
from oferta.db.models import (
    AuditEvent,
    Invoice,
    Payment,
    ProvisioningCall,
    Refund,
    Service,
    TimelineEvent,
)
from oferta.db.once import insert_once, utc
from oferta.db.session import session_scope
from oferta.timeline.state import EntryType, TimelineEntry

log = logging.getLogger("oferta.activities.db")


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class DatabaseRecorder:
    """Writes timeline entries, mirrors the service row, and keeps the ledgers and audit trail."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url

    async def record(self, record: TimelineRecord) -> None:
        await asyncio.to_thread(self._record, record)

    def _record(self, record: TimelineRecord) -> None:
        with session_scope(self.url) as session:
            for i, entry in enumerate(record.entries):
                inserted = insert_once(
                    session, TimelineEvent, service_id=record.service_id,
                    sequence=record.first_sequence + i, at=utc(entry.at), type=entry.type.value,
                    clause=entry.clause, detail=entry.detail,
                )
                if i == 0 and not inserted:
                    return  # a retry: the first attempt wrote this whole record in one transaction
            service = session.get(Service, record.service_id)
            if service is not None:
                self._mirror(service, record)
                for entry in record.entries:
                    self._ledger(session, record.service_id, entry)
            for entry in record.entries:
                session.add(AuditEvent(
                    at=utc(entry.at), service_id=record.service_id, actor="workflow",
                    action=entry.type.value, clause=entry.clause, detail=entry.detail,
                ))

    @staticmethod
    def _mirror(service: Service, record: TimelineRecord) -> None:
        deadline = record.next_deadline
        service.state = record.state.value
        service.period_index = record.period_index
        service.paid_until = utc(record.paid_until)
        service.debt = record.debt.amount
        service.next_deadline_at = utc(deadline.at) if deadline else None
        service.next_action = deadline.action if deadline else None
        service.next_clause = deadline.clause if deadline else None

    @staticmethod
    def _ledger(session: Any, service_id: str, entry: TimelineEntry) -> None:
        detail = entry.detail
        if entry.type == EntryType.INVOICE_ISSUED:
            insert_once(
                session, Invoice, service_id=service_id, invoice_id=detail["invoice_id"],
                kind=detail.get("kind", "period"), amount=Decimal(detail["amount"]),
                currency=detail["currency"], issued_at=utc(entry.at),
                due_at=utc(_parse_time(detail.get("due_at")) or entry.at), clause=entry.clause,
            )
        elif entry.type == EntryType.PAYMENT_RECEIVED:
            insert_once(
                session, Payment, service_id=service_id, event_id=detail["event_id"],
                amount=Decimal(detail["amount"]), currency=detail["currency"], received_at=utc(entry.at),
            )


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class LocalProvisioner:
    """Provisioning done by hand (or by nothing): the call is recorded, once per key."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url

    async def apply(self, request: ProvisioningRequest) -> ProvisioningResult:
        return await asyncio.to_thread(self._apply, request)

    def _apply(self, request: ProvisioningRequest) -> ProvisioningResult:
        reference = f"local-{request.action}-{_short_hash(request.idempotency_key)}"
        with session_scope(self.url) as session:
            inserted = _record_call(session, request, reference)
            row = _call(session, request.idempotency_key)
        return ProvisioningResult(idempotency_key=request.idempotency_key,
                                  status="done" if inserted else "already_done", reference=row.reference)


def _record_call(session: Any, request: ProvisioningRequest, reference: str | None) -> bool:
    return insert_once(
        session, ProvisioningCall, idempotency_key=request.idempotency_key,
        service_id=request.service_id, action=request.action, clause=request.clause,
        status="done", reference=reference,
    )


def _call(session: Any, key: str) -> ProvisioningCall:
    return session.scalars(select(ProvisioningCall).where(ProvisioningCall.idempotency_key == key)).one()


class HttpProvisioner:
    """Calls the hosting platform: POST {base_url}/services/{id}/{action} with an Idempotency-Key.

    4xx is a refusal for good (non-retryable); 5xx, 408, 429 and network errors are
    retried by Temporal. A key already on record is not sent again.
    """

    RETRYABLE_4XX = {408, 425, 429}

    def __init__(self, base_url: str, database_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = database_url
        self.timeout = timeout

    async def apply(self, request: ProvisioningRequest) -> ProvisioningResult:
        done = await asyncio.to_thread(self._lookup, request.idempotency_key)
        if done is not None:
            return ProvisioningResult(idempotency_key=request.idempotency_key, status="already_done",
                                      reference=done)
        body = {"service_id": request.service_id, "kind": request.kind, "action": request.action,
                "clause": request.clause, "at": request.at.isoformat()}
        url = f"{self.base_url}/services/{request.service_id}/{request.action}"
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(url, json=body,
                                             headers={"Idempotency-Key": request.idempotency_key})
        except httpx.HTTPError as exc:
            raise ApplicationError(f"provisioning {request.action} unreachable: {type(exc).__name__}",
                                   type="ProvisioningUnavailable") from exc
        status = response.status_code
        if 400 <= status < 500 and status not in self.RETRYABLE_4XX:
            raise ApplicationError(f"provisioning refused {request.action}: HTTP {status}",
                                   type="ProvisioningRefused", non_retryable=True)
        if status >= 400:
            raise ApplicationError(f"provisioning {request.action} failed: HTTP {status}",
                                   type="ProvisioningUnavailable")
        reference = _reference_from(response)
        return await asyncio.to_thread(self._store, request, reference, _remote_status(response))

    def _lookup(self, key: str) -> str | None:
        with session_scope(self.url) as session:
            query = select(ProvisioningCall).where(ProvisioningCall.idempotency_key == key)
            row = session.scalars(query).first()
            return (row.reference or "") if row else None

    def _store(self, request: ProvisioningRequest, reference: str | None, remote: str) -> ProvisioningResult:
        with session_scope(self.url) as session:
            inserted = _record_call(session, request, reference)
            row = _call(session, request.idempotency_key)
        status = remote if inserted else "already_done"
        return ProvisioningResult(idempotency_key=request.idempotency_key, status=status,
                                  reference=row.reference)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _reference_from(response: httpx.Response) -> str | None:
    data = _json(response)
    value = data.get("reference") or data.get("id")
    return str(value)[:200] if value is not None else None


def _remote_status(response: httpx.Response) -> str:
    return "already_done" if _json(response).get("status") == "already_done" else "done"


class DatabaseRefundGateway:
    """Refunds to the customer's personal account with the provider, recorded once per key.

    Crediting the personal account is the provider's own ledger entry, so it is paid
    at once. Bank transfers are left "requested" for operations (a bank gateway
    would be its own class).
    """

    def __init__(self, database_url: str) -> None:
        self.url = database_url

    async def pay(self, request: RefundRequest) -> RefundResult:
        return await asyncio.to_thread(self._pay, request)

    def _pay(self, request: RefundRequest) -> RefundResult:
        destination = request.destination.value
        paid = destination == "personal_account"
        reference = f"{destination}-{_short_hash(request.idempotency_key)}"
        try:
            with session_scope(self.url) as session:
                inserted = insert_once(
                    session, Refund, idempotency_key=request.idempotency_key,
                    service_id=request.service_id, amount=request.amount.amount,
                    currency=request.amount.currency, destination=destination,
                    due_by=utc(request.due_by), clause=request.clause,
                    status="paid" if paid else "requested", reference=reference,
                    paid_at=utc(request.at) if paid else None,
                )
                if inserted:
                    session.add(AuditEvent(
                        at=utc(request.at), service_id=request.service_id, actor="refund_gateway",
                        action="personal_account_credited" if paid else "refund_requested",
                        clause=request.clause,
                        detail={"amount": str(request.amount.amount), "currency": request.amount.currency,
                                "destination": destination, "reference": reference},
                    ))
                query = select(Refund).where(Refund.idempotency_key == request.idempotency_key)
                row = session.scalars(query).one()
                return RefundResult(idempotency_key=request.idempotency_key,
                                    reference=row.reference or reference,
                                    status="paid" if row.status == "paid" else "requested")
        except IntegrityError as exc:
            # Only a missing service row gets here (foreign key): retrying cannot help.
            raise ApplicationError(f"refund for unknown service {request.service_id}",
                                   type="UnknownService", non_retryable=True) from exc
