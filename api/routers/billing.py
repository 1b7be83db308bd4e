"""Billing inputs: payments, invoices, cancellations, tariff changes, abuse blocks, the ways out
the contracts give (withdrawal, the provider's notice, a breach, force majeure) and Tariff purchases.

Each goes to the service's workflow as the ``apply_event`` update; the contract
decides. Send an ``Idempotency-Key``: it becomes the event id, so a retry is applied once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.deps import BillingWriter, OpsWriter, PartyWriter, Writer
from api.errors import conflict, invalid, not_found
from api.schemas import (
    ID_PATTERN,
    AbuseIn,
    AmendmentObjectionIn,
    BreachTerminationIn,
    CancellationIn,
    ErrorOut,
    EventOut,
    ForceMajeureTerminationIn,
    InvoiceIn,
    OverrideIn,
    PaymentIn,
    PromiseToPayIn,
    ProviderTerminationIn,
    TariffChangeIn,
    TariffPurchaseIn,
    WithdrawalIn,
)
from api.store import TERMINAL, audit, get_service, invoice_exists, record_input, service_out
from oferta.timeline.engine import closed_reason
from oferta.timeline.money import Money
from oferta.timeline.state import BillingEvent, EventType, OverrideKind, OverrideTerms
from workflows.client import Refused, ServiceClosed, apply_event

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    409: {"model": ErrorOut},
    422: {"model": ErrorOut},
    503: {"model": ErrorOut},
}
router = APIRouter(prefix="/v1/services/{service_id}", tags=["billing inputs"], responses=ERRORS)

ServiceId = Annotated[str, Path(pattern=ID_PATTERN)]


async def _submit(
    writer: Writer,
    service_id: str,
    kind: EventType,
    make: Callable[[str], BillingEvent],
    currency: str | None = None,
    invoice_id: str | None = None,
) -> EventOut | JSONResponse:
    async def produce() -> EventOut:
        state = writer.state
        row = await state.db.run(lambda s: get_service(s, service_id))
        if row is None:
            raise not_found("service", service_id)
        if currency is not None and currency != row.currency:
            raise invalid("currency", f"currency {currency} differs from the service's {row.currency}")
        if row.state in TERMINAL:
            raise conflict(closed_reason(row.state, kind.value), "service_closed")
        if invoice_id:
            issued: bool = await state.db.run(lambda s: invoice_exists(s, service_id, invoice_id))
            if issued:
                raise conflict(f"invoice {invoice_id!r} was already issued for this service", "exists")
        event = make(writer.idempotency_key or uuid.uuid4().hex)
        client = await state.client()
        try:
            receipt = await apply_event(client, service_id, event, state.update_timeout)
        except (Refused, ServiceClosed) as refusal:  # the contract said no: that is on record too
            detail = {"event_id": event.event_id, "reason": refusal.reason}
            await state.db.run(
                lambda s: audit(s, writer.actor, f"refused:{kind.value}", service_id, detail=detail)
            )
            raise

        def record(session: Session) -> None:
            record_input(session, service_id, event, writer.actor)

        await state.db.run(record)
        out = EventOut(
            event_id=event.event_id,
            type=kind.value,
            applied=receipt.applied,
            duplicate=receipt.duplicate,
            service=service_out(row, receipt.view),
        )
        return out

    return await writer.once(produce)


def _money(amount: Decimal, currency: str) -> Money:
    return Money.of(amount, currency)


@router.post("/payments", response_model=EventOut)
async def pay(service_id: ServiceId, body: PaymentIn, writer: BillingWriter) -> EventOut | JSONResponse:
    """Funds received: pays open invoices, activates or restores the service as the contract says."""
    return await _submit(
        writer,
        service_id,
        EventType.PAYMENT,
        lambda event_id: BillingEvent(
            event_id=event_id,
            type=EventType.PAYMENT,
            amount=_money(body.amount, body.currency),
            occurred_at=body.occurred_at,
        ),
        currency=body.currency,
    )


@router.post("/invoices", response_model=EventOut)
async def invoice(service_id: ServiceId, body: InvoiceIn, writer: BillingWriter) -> EventOut | JSONResponse:
    """An extra invoice from billing (e.g. a one-off charge); due as the contract says unless given."""
    return await _submit(
        writer,
        service_id,
        EventType.INVOICE,
        lambda event_id: BillingEvent(
            event_id=event_id,
            type=EventType.INVOICE,
            amount=_money(body.amount, body.currency),
            invoice_id=body.invoice_id,
            due_at=body.due_at,
        ),
        currency=body.currency,
        invoice_id=body.invoice_id,
    )


@router.post("/cancellation", response_model=EventOut)
async def cancel(
    service_id: ServiceId, body: CancellationIn, writer: BillingWriter
) -> EventOut | JSONResponse:
    """The customer gives notice, for this service (``scope: service``, the default) or the whole
    contract (``scope: contract``); the contract sets the earliest date it takes effect."""
    return await _submit(
        writer,
        service_id,
        EventType.CANCEL_REQUEST,
        lambda event_id: BillingEvent(
            event_id=event_id,
            type=EventType.CANCEL_REQUEST,
            effective_at=body.effective_at,
            reason=body.reason,
            scope=body.scope,
        ),
    )


@router.delete("/cancellation", response_model=EventOut)
async def withdraw_cancellation(service_id: ServiceId, writer: BillingWriter) -> EventOut | JSONResponse:
    """The customer withdraws a pending cancellation."""
    return await _submit(
        writer,
        service_id,
        EventType.CANCEL_WITHDRAWN,
        lambda event_id: BillingEvent(event_id=event_id, type=EventType.CANCEL_WITHDRAWN),
    )


@router.post("/tariff-change", response_model=EventOut)
async def change_tariff(
    service_id: ServiceId, body: TariffChangeIn, writer: BillingWriter
) -> EventOut | JSONResponse:
    """A new tariff and price, announced with the notice the contract requires."""
    return await _submit(
        writer,
        service_id,
        EventType.TARIFF_CHANGE,
        lambda event_id: BillingEvent(
            event_id=event_id,
            type=EventType.TARIFF_CHANGE,
            new_tariff=body.tariff,
            new_price=_money(body.price, body.currency),
            effective_at=body.effective_at,
        ),
        currency=body.currency,
    )


@router.post("/abuse", response_model=EventOut)
async def suspend_for_abuse(
    service_id: ServiceId, body: AbuseIn, writer: BillingWriter
) -> EventOut | JSONResponse:
    """Suspend the service for abuse (the contract's clause is on the record)."""
    return await _submit(
        writer,
        service_id,
        EventType.ABUSE_SUSPEND,
        lambda event_id: BillingEvent(event_id=event_id, type=EventType.ABUSE_SUSPEND, reason=body.reason),
    )


@router.delete("/abuse", response_model=EventOut)
async def resolve_abuse(service_id: ServiceId, writer: BillingWriter) -> EventOut | JSONResponse:
    """The abuse is resolved: the service resumes unless something else holds it."""
    return await _submit(
        writer,
        service_id,
        EventType.ABUSE_RESOLVED,
        lambda event_id: BillingEvent(event_id=event_id, type=EventType.ABUSE_RESOLVED),
    )


@router.post("/withdrawal", response_model=EventOut)
async def withdraw(
    service_id: ServiceId, writer: BillingWriter, body: Annotated[WithdrawalIn | None, Body()] = None
) -> EventOut | JSONResponse:
    """A consumer withdraws within the contract's withdrawal term (e.g. SmartApe 11.6): the service
    ends at once and only the days used are paid. Refused (409) for a customer who is not a consumer
    and where the contract gives no such right. The body is optional."""
    reason = body.reason if body else None
    return await _submit(
        writer,
        service_id,
        EventType.WITHDRAWAL,
        lambda event_id: BillingEvent(event_id=event_id, type=EventType.WITHDRAWAL, reason=reason),
    )


@router.post("/promise-to-pay", response_model=EventOut)
async def promise_to_pay(
    service_id: ServiceId, body: PromiseToPayIn, writer: BillingWriter
) -> EventOut | JSONResponse:
    """The customer names the date it will pay by (e.g. ONELAB 11.11.1): the deletion waits for it.
    Refused (409) when nothing is overdue, the date has passed, or the contract has no such rule."""
    return await _submit(
        writer,
        service_id,
        EventType.PROMISE_TO_PAY,
        lambda event_id: BillingEvent(
            event_id=event_id, type=EventType.PROMISE_TO_PAY, promised_at=body.promised_at
        ),
    )


@router.post("/provider-termination", response_model=EventOut)
async def terminate_by_provider(
    service_id: ServiceId, body: ProviderTerminationIn, writer: OpsWriter
) -> EventOut | JSONResponse:
    """The provider terminates without cause, with the notice the contract requires (ops scope)."""
    return await _submit(
        writer,
        service_id,
        EventType.PROVIDER_TERMINATION,
        lambda event_id: BillingEvent(
            event_id=event_id,
            type=EventType.PROVIDER_TERMINATION,
            effective_at=body.effective_at,
            reason=body.reason,
        ),
    )


@router.post("/breach-termination", response_model=EventOut)
async def terminate_for_breach(
    service_id: ServiceId, body: BreachTerminationIn, writer: OpsWriter
) -> EventOut | JSONResponse:
    """The provider terminates at once for a serious breach the contract names (ops scope)."""
    return await _submit(
        writer,
        service_id,
        EventType.BREACH_TERMINATION,
        lambda event_id: BillingEvent(
            event_id=event_id, type=EventType.BREACH_TERMINATION, reason=body.reason
        ),
    )


@router.post("/overrides", response_model=EventOut)
async def grant_override(
    service_id: ServiceId, body: OverrideIn, writer: OpsWriter
) -> EventOut | JSONResponse:
    """Give one customer more than the contract: a longer grace, no suspension before a date, a
    waived late fee, a promise to pay (ops scope). Never less: shortening a term is refused (409)
    with its clause. Who (the key's name) and why are kept in the timeline and the audit trail."""
    terms = OverrideTerms(
        kind=OverrideKind(body.kind), days=body.days, until=body.until, invoice_id=body.invoice_id
    )
    return await _submit(
        writer,
        service_id,
        EventType.OVERRIDE,
        lambda event_id: BillingEvent(
            event_id=event_id, type=EventType.OVERRIDE, override=terms, reason=body.reason, actor=writer.actor
        ),
    )


@router.post("/tariff-purchase", response_model=EventOut)
async def purchase_tariff(
    service_id: ServiceId, writer: BillingWriter, body: Annotated[TariffPurchaseIn | None, Body()] = None
) -> EventOut | JSONResponse:
    """The client buys a Tariff from its balance (e.g. Center Pro 6.6): it starts now, or when the
    running one ends. Refused (409) when the balance does not cover it. No body, or ``{}``."""
    return await _submit(
        writer,
        service_id,
        EventType.TARIFF_PURCHASE,
        lambda event_id: BillingEvent(event_id=event_id, type=EventType.TARIFF_PURCHASE),
    )


@router.post("/force-majeure-termination", response_model=EventOut)
async def terminate_for_force_majeure(
    service_id: ServiceId, body: ForceMajeureTerminationIn, writer: PartyWriter
) -> EventOut | JSONResponse:
    """A party exercises the contract's option to terminate after a long force majeure (e.g.
    SmartApe 8.5); billing or ops scope. Refused (409) before the option opens."""
    return await _submit(
        writer,
        service_id,
        EventType.FORCE_MAJEURE_TERMINATE,
        lambda event_id: BillingEvent(
            event_id=event_id, type=EventType.FORCE_MAJEURE_TERMINATE, party=body.party
        ),
    )


@router.post("/amendment-objection", response_model=EventOut)
async def object_to_amendment(
    service_id: ServiceId, writer: BillingWriter, body: Annotated[AmendmentObjectionIn | None, Body()] = None
) -> EventOut | JSONResponse:
    """The customer does not accept a new version of the offer announced to it, where its contract
    lets it say so: ONELAB 11.6 ends the contract at once; SmartApe 2.2.6 takes it as the customer's
    notice, the old terms governing until it ends; registry.kz 4.1.4 keeps the service on its version
    for operations to decide. Refused (409) where the contract gives no objection (PS.kz, Center Pro),
    when nothing is announced, or when its time has passed. The body is optional."""
    reason = body.reason if body else None
    return await _submit(
        writer,
        service_id,
        EventType.AMENDMENT_OBJECTION,
        lambda event_id: BillingEvent(event_id=event_id, type=EventType.AMENDMENT_OBJECTION, reason=reason),
    )
