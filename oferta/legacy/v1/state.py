"""The state of one customer service under its contract, and what can happen to it.

These models cross the workflow boundary (workflow input, continue-as-new,
queries), so they are plain pydantic models with no behaviour that does I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from oferta.legacy.v1.notices import Delivery
from oferta.timeline.money import Money

# Entries kept in workflow state; the full timeline lives in the database.
TIMELINE_TAIL = 200
# Billing event ids remembered across continue-as-new, to apply each once.
APPLIED_IDS_KEPT = 1000


class Phase(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    ACTIVE = "active"
    INVOICE_DUE = "invoice_due"
    SUSPENDED = "suspended"
    TERMINATING = "terminating"
    FORCE_MAJEURE = "force_majeure"
    TERMINATED = "terminated"
    DELETED = "deleted"


class SuspensionReason(StrEnum):
    NON_PAYMENT = "non_payment"
    ABUSE = "abuse"
    CONSENT_WITHDRAWN = "consent_withdrawn"


class EventType(StrEnum):
    """Inputs from the billing system and operations."""

    PAYMENT = "payment"
    INVOICE = "invoice"
    CANCEL_REQUEST = "cancel_request"
    CANCEL_WITHDRAWN = "cancel_withdrawn"
    FORCE_MAJEURE_START = "force_majeure_start"
    FORCE_MAJEURE_END = "force_majeure_end"
    ABUSE_SUSPEND = "abuse_suspend"
    ABUSE_RESOLVED = "abuse_resolved"
    TARIFF_CHANGE = "tariff_change"
    CONSENT_WITHDRAWN = "consent_withdrawn"


class BillingEvent(BaseModel):
    event_id: str = Field(min_length=1, max_length=200)
    type: EventType
    amount: Money | None = None
    invoice_id: str | None = None
    due_at: AwareDatetime | None = None
    effective_at: AwareDatetime | None = None
    new_price: Money | None = None
    new_tariff: str | None = None
    reason: str | None = None
    force_majeure_id: str | None = None
    # When it happened in the billing system (e.g. funds received); applied no
    # earlier than the last step already taken and no later than now.
    occurred_at: AwareDatetime | None = None


class EntryType(StrEnum):
    """What the timeline shows happened."""

    ACTIVATED = "activated"
    INVOICE_ISSUED = "invoice_issued"
    PAYMENT_RECEIVED = "payment_received"
    REMINDER = "reminder"
    LATE_FEE = "late_fee"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    DELETED = "deleted"
    TERMINATION_REQUESTED = "termination_requested"
    TERMINATION_WITHDRAWN = "termination_withdrawn"
    TERMINATED = "terminated"
    REFUND_DUE = "refund_due"
    REFUND_PAID = "refund_paid"
    FORCE_MAJEURE_STARTED = "force_majeure_started"
    FORCE_MAJEURE_ENDED = "force_majeure_ended"
    TARIFF_CHANGE_ANNOUNCED = "tariff_change_announced"
    NOTICE = "notice"


class TimelineEntry(BaseModel):
    at: AwareDatetime
    type: EntryType
    clause: str | None
    detail: dict[str, Any] = Field(default_factory=dict)


class Invoice(BaseModel):
    invoice_id: str
    kind: Literal["period", "extra", "late_fee"]
    amount: Money
    paid: Money
    issued_at: AwareDatetime
    due_at: AwareDatetime
    clause: str | None
    period_index: int | None = None
    covers_until: AwareDatetime | None = None
    reminders_sent: int = 0

    @property
    def outstanding(self) -> Money:
        return self.amount - self.paid

    @property
    def is_paid(self) -> bool:
        return self.paid.amount >= self.amount.amount


class ForceMajeure(BaseModel):
    force_majeure_id: str
    started_at: AwareDatetime


class TariffChange(BaseModel):
    tariff: str
    price: Money
    effective_at: AwareDatetime


class ServiceSpec(BaseModel):
    service_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    customer_id: str
    policy_id: str
    kind: str = "hosting"
    tariff: str
    price: Money
    period: str = "P1M"
    trial: bool = False


class ServiceState(BaseModel):
    spec: ServiceSpec
    created_at: AwareDatetime
    terminal: Literal["terminated", "deleted"] | None = None
    billing_anchor: AwareDatetime | None = None
    period_index: int = 0
    period_start: AwareDatetime | None = None
    period_end: AwareDatetime | None = None
    paid_until: AwareDatetime | None = None
    balance: Money
    invoices: list[Invoice] = Field(default_factory=list)
    suspension_reasons: list[SuspensionReason] = Field(default_factory=list)
    suspended_at: AwareDatetime | None = None
    debt_since: AwareDatetime | None = None
    deletion_warned: bool = False
    cancellation_requested_at: AwareDatetime | None = None
    cancellation_effective_at: AwareDatetime | None = None
    consent_terminate_at: AwareDatetime | None = None
    force_majeure: ForceMajeure | None = None
    tariff_change: TariffChange | None = None
    pending_notices: list[Delivery] = Field(default_factory=list)
    late_fees_charged: Money
    refunded: Money
    applied_event_ids: list[str] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    invoice_seq: int = 0

    @classmethod
    def new(cls, spec: ServiceSpec, created_at: datetime) -> ServiceState:
        zero = Money.zero(spec.price.currency)
        return cls(spec=spec, created_at=created_at, balance=zero, late_fees_charged=zero, refunded=zero)

    @property
    def phase(self) -> Phase:
        if self.terminal == "deleted":
            return Phase.DELETED
        if self.terminal == "terminated":
            return Phase.TERMINATED
        if self.force_majeure:
            return Phase.FORCE_MAJEURE
        if self.suspension_reasons:
            return Phase.SUSPENDED
        if self.cancellation_effective_at:
            return Phase.TERMINATING
        if self.billing_anchor is None:
            return Phase.AWAITING_PAYMENT
        if any(i.kind != "late_fee" and not i.is_paid for i in self.invoices):
            return Phase.INVOICE_DUE
        return Phase.ACTIVE

    @property
    def open_invoices(self) -> list[Invoice]:
        return [i for i in self.invoices if not i.is_paid]

    def debt(self) -> Money:
        total = Money.zero(self.spec.price.currency)
        for invoice in self.open_invoices:
            total = total + invoice.outstanding
        return total

    def remember(self, event_id: str) -> None:
        self.applied_event_ids.append(event_id)
        del self.applied_event_ids[:-APPLIED_IDS_KEPT]

    def record(self, entry: TimelineEntry) -> None:
        self.timeline.append(entry)
        del self.timeline[:-TIMELINE_TAIL]

    def shift_deadlines(self, by: timedelta) -> None:
        """Push every future contract date back, e.g. after a force majeure."""
        for name in (
            "period_end",
            "paid_until",
            "suspended_at",
            "debt_since",
            "cancellation_effective_at",
            "consent_terminate_at",
            "billing_anchor",
        ):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value + by)
        for invoice in self.invoices:
            invoice.due_at += by
            if invoice.covers_until:
                invoice.covers_until += by
        if self.tariff_change:
            self.tariff_change.effective_at += by


class Deadline(BaseModel):
    """The next thing the contract makes happen, with the clause behind it."""

    at: AwareDatetime
    action: str
    clause: str | None
    detail: dict[str, Any] = Field(default_factory=dict)


class ServiceView(BaseModel):
    """What a query returns: the state in words, for the API and operations."""

    service_id: str
    policy_id: str
    state: Phase
    suspension_reasons: list[SuspensionReason]
    period_index: int
    paid_until: AwareDatetime | None
    balance: Money
    debt: Money
    next_deadline: Deadline | None
    applied_events: int = 0

    @property
    def overdue_amount(self) -> Decimal:
        return self.debt.amount
