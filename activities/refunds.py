"""The refund gateway: refunds to the personal account or requested by bank transfer, once per key."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from temporalio.exceptions import ApplicationError

from oferta.db.models import (
    Refund,
)
from oferta.db.once import insert_once, short_hash, utc
from oferta.db.repo import add_audit
from oferta.db.session import session_scope
from oferta.effects import (
    RefundRequest,
    RefundResult,
)

log = logging.getLogger("oferta.activities.refunds")


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
        reference = f"{destination}-{short_hash(request.idempotency_key)}"
        try:
            with session_scope(self.url) as session:
                inserted = insert_once(
                    session,
                    Refund,
                    idempotency_key=request.idempotency_key,
                    service_id=request.service_id,
                    amount=request.amount.amount,
                    currency=request.amount.currency,
                    destination=destination,
                    due_by=utc(request.due_by),
                    clause=request.clause,
                    status="paid" if paid else "requested",
                    reference=reference,
                    paid_at=utc(request.at) if paid else None,
                )
                if inserted:
                    add_audit(
                        session,
                        at=request.at,
                        service_id=request.service_id,
                        actor="refund_gateway",
                        action="personal_account_credited" if paid else "refund_requested",
                        clause=request.clause,
                        detail={
                            "amount": str(request.amount.amount),
                            "currency": request.amount.currency,
                            "destination": destination,
                            "reference": reference,
                        },
                    )
                query = select(Refund).where(Refund.idempotency_key == request.idempotency_key)
                row = session.scalars(query).one()
                return RefundResult(
                    idempotency_key=request.idempotency_key,
                    reference=row.reference or reference,
                    status="paid" if row.status == "paid" else "requested",
                )
        except IntegrityError as exc:
            # Only a missing service row gets here (foreign key): retrying cannot help.
            raise ApplicationError(
                f"refund for unknown service {request.service_id}", type="UnknownService", non_retryable=True
            ) from exc
