"""The state of one customer service under its contract, and what can happen to it.

These models cross the workflow boundary (workflow input, continue-as-new,
queries), so they are plain pydantic models with no behaviour that does I/O.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from oferta.timeline.money import Money
from oferta.timeline.notices import Delivery

# Entries kept in workflow state; the full timeline lives in the database.
TIMELINE_TAIL = 200
# Billing event ids remembered across continue-as-new, to apply each once.
APPLIED_IDS_KEPT = 1000
# Held steps that operations released, remembered so a released step is not held again.
RELEASED_STEPS_KEPT = 20


class ServiceStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    ACTIVE = "active"
    INVOICE_DUE = "invoice_due"
    SUSPENDED = "suspended"
    TERMINATING = "terminating"
    FORCE_MAJEURE = "force_majeure"
    TERMINATED = "terminated"
    DELETED = "deleted"


class SuspensionReason(StrEnum):
    NON_PAYMENT = "non_payment"  # invoice arrears, or a balance that cannot cover the services
    ABUSE = "abuse"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    TARIFF_ENDED = "tariff_ended"  # tariff purchase: access limited until a new Tariff is bought


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
    WITHDRAWAL = "withdrawal"  # a consumer withdraws within the contract's term (SmartApe 11.6)
    PROMISE_TO_PAY = "promise_to_pay"  # the customer names its payment date (ONELAB 11.11.1)
    PROVIDER_TERMINATION = "provider_termination"  # without cause, with the contract's notice
    BREACH_TERMINATION = "breach_termination"  # at once, for a serious breach
    TARIFF_PURCHASE = "tariff_purchase"  # the client buys a Tariff from its balance (Center Pro 6.6)
    FORCE_MAJEURE_TERMINATE = "force_majeure_terminate"  # a party exercises its option (SmartApe 8.5)
    OVERRIDE = "override"  # operations give one customer more than the contract (engine/overrides.py)
    AMENDMENT = "amendment"  # a new version of the policy is announced (engine/amendments.py)
    AMENDMENT_OBJECTION = "amendment_objection"  # the customer does not accept it, where it may say so


class OverrideKind(StrEnum):
    """What operations may grant one service, always in the customer's favour."""

    EXTEND_GRACE = "extend_grace"  # the deletion (or termination) for this debt comes N days later
    NO_SUSPENSION_BEFORE = "no_suspension_before"  # not suspended for non-payment before a date
    WAIVE_LATE_FEE = "waive_late_fee"  # a late fee charged is cancelled
    PROMISE_TO_PAY = "promise_to_pay"  # neither suspended nor deleted before the promised date passes


class OverrideTerms(BaseModel):
    kind: OverrideKind
    days: int | None = Field(default=None, ge=-3650, le=3650)  # extend_grace
    until: date | None = None  # no_suspension_before, promise_to_pay: a local date
    invoice_id: str | None = Field(default=None, max_length=200)  # waive_late_fee


class AmendmentTerms(BaseModel):
    """A new version of the service's policy, as published (``oferta policies publish``)."""

    version: int = Field(ge=1)
    published_at: AwareDatetime
    effective_at: AwareDatetime
    # The clauses whose rules the new version changes (oferta/policy/diff.py), for the notice.
    changed_clauses: list[str] = Field(default_factory=list, max_length=200)


class CancelScope(StrEnum):
    SERVICE = "service"  # refuse this service (SmartApe 2.4.10)
    CONTRACT = "contract"  # terminate the whole contract (SmartApe 11.3)


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
    scope: CancelScope | None = None
    # promise_to_pay: the date the customer promises to pay by (local date of this instant).
    promised_at: AwareDatetime | None = None
    party: Literal["customer", "provider"] | None = None
    override: OverrideTerms | None = None
    amendment: AmendmentTerms | None = None
    # Who brought the input (an operator's API key or CLI user), for overrides.
    actor: str | None = Field(default=None, max_length=200)
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
    PROMISE_TO_PAY = "promise_to_pay"
    FORCE_MAJEURE_OPTION = "force_majeure_option"
    TARIFF_ENDED = "tariff_ended"
    TARIFF_PURCHASED = "tariff_purchased"
    BALANCE_DEBITED = "balance_debited"
    # Safeguards (oferta/timeline/safeguards.py): a destructive step held, let go, archived.
    HELD = "held"
    HOLD_LIFTED = "hold_lifted"
    OVERRIDE_GRANTED = "override_granted"
    ARCHIVED = "archived"
    # Amendments of the offer (engine/amendments.py).
    AMENDMENT_ANNOUNCED = "amendment_announced"
    AMENDMENT_DEFERRED = "amendment_deferred"  # in effect, but this service's paid terms run on
    AMENDMENT_APPLIED = "amendment_applied"
    AMENDMENT_OBJECTED = "amendment_objected"
    AMENDMENT_DECLINED = "amendment_declined"  # this service keeps its version


class TimelineEntry(BaseModel):
    at: AwareDatetime
    type: EntryType
    clause: str | None
    detail: dict[str, Any] = Field(default_factory=dict)
    # The version of the policy that governed the step (set by ServiceState.record).
    policy_version: int | None = None
    # Its identity, by which the database and the webhook outbox add it once: the step it belongs
    # to and its type (oferta/timeline/entry_keys.py). Given by the workflow; None in runs from
    # before keys (their entries are keyed by position) and outside a workflow.
    key: str | None = None


class Installment(BaseModel):
    at: AwareDatetime
    amount: Money


class Invoice(BaseModel):
    invoice_id: str
    kind: Literal["period", "extra", "late_fee"]
    amount: Money
    paid: Money
    issued_at: AwareDatetime
    # The instant the invoice becomes overdue: 24:00 local of its last day to pay.
    due_at: AwareDatetime
    # That last day to pay (a local date).
    due_on: date
    clause: str | None
    period_index: int | None = None
    covers_until: AwareDatetime | None = None
    reminders_sent: int = 0
    installments: list[Installment] = Field(default_factory=list)

    def overdue_at(self, at: datetime) -> bool:
        return not self.is_paid and at >= self.due_at

    @property
    def outstanding(self) -> Money:
        return self.amount - self.paid

    @property
    def is_paid(self) -> bool:
        return self.paid.amount >= self.amount.amount


class ForceMajeure(BaseModel):
    force_majeure_id: str
    started_at: AwareDatetime
    # Option contracts (SmartApe 8.5): the parties were told they may now terminate.
    option_announced: bool = False


class TariffChange(BaseModel):
    tariff: str
    price: Money
    effective_at: AwareDatetime


class PendingAmendment(BaseModel):
    """A new version of the policy announced to this service, until it governs (or never will)."""

    version: int
    from_version: int
    announced_at: AwareDatetime
    # This service's effective date: the published one, or later when it was told late and the
    # contract's notice runs from its own announcement.
    effective_at: AwareDatetime
    # Set on the effective date when the paid period (PS.kz 5.14) or Tariff (Center Pro 6.10)
    # running then keeps the old terms: the switch waits for its end.
    switch_at: AwareDatetime | None = None
    objection_until: AwareDatetime | None = None
    objected_at: AwareDatetime | None = None
    applied_at: AwareDatetime | None = None
    declined: bool = False
    # The arrears running at the switch keep the old version's dates where the new one would
    # bring them sooner: what the customer was told stays true (engine/amendments.py ``adjust``).
    kept_for: AwareDatetime | None = None
    kept_steps: dict[str, AwareDatetime] = Field(default_factory=dict)

    @property
    def open(self) -> bool:
        return self.applied_at is None and not self.declined


class ServiceSpec(BaseModel):
    service_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    customer_id: str
    policy_id: str
    kind: str = "hosting"
    tariff: str
    price: Money
    period: str = "P1M"
    trial: bool = False
    # A consumer (not a business) has the statutory withdrawal right where the contract gives it.
    consumer: bool = False


class HoldKind(StrEnum):
    """Why a destructive step waits instead of running."""

    NOTICE_NOT_DELIVERED = "notice_not_delivered"  # no notice announcing it reached the customer
    MASS_ACTION = "mass_action"  # too many of the policy's services at once (the guard's breaker)
    BILLING_FEED_SILENT = "billing_feed_silent"  # no billing input for too long (the guard)


class Hold(BaseModel):
    """A destructive step the safeguards keep from running, until what holds it clears."""

    kind: HoldKind
    step: str  # the key of the held step: its action and deadline
    action: str
    clause: str | None
    reason: str
    since: AwareDatetime
    resends: int = 0  # final warnings sent again while held for want of a delivered notice
    released_by: str | None = None  # the operator who let it go, and why
    release_reason: str | None = None


class Override(BaseModel):
    """An override in force, with who granted it, why, and the debt it belongs to."""

    terms: OverrideTerms
    actor: str
    reason: str
    at: AwareDatetime
    # extend_grace: the start of the arrears it was granted for (a later debt gets no extension).
    arrears_since: AwareDatetime | None = None


class ServiceState(BaseModel):
    spec: ServiceSpec
    created_at: AwareDatetime
    terminal: Literal["terminated", "deleted"] | None = None
    billing_anchor: AwareDatetime | None = None
    # The period index that starts at billing_anchor: a Tariff bought after a lapse, or a
    # balance topped up after a block, starts a new run of periods (indexes keep growing,
    # since notices are keyed by them).
    anchor_period: int = 0
    period_index: int = 0
    period_start: AwareDatetime | None = None
    period_end: AwareDatetime | None = None
    paid_until: AwareDatetime | None = None
    balance: Money
    invoices: list[Invoice] = Field(default_factory=list)
    suspension_reasons: list[SuspensionReason] = Field(default_factory=list)
    suspended_at: AwareDatetime | None = None
    deletion_warned: bool = False
    # Balance model: when the balance stopped covering the services (the 8.6.4 anchor).
    balance_short_since: AwareDatetime | None = None
    # The moment the balance runs out that the customer was last warned of (low-balance notice).
    low_balance_warned_for: AwareDatetime | None = None
    # ONELAB 11.11.1: the deletion waits for the date the customer promised to pay by.
    promised_payment_on: date | None = None
    # Tariff purchase: Tariffs bought and not yet started (each starts when the last ends).
    tariffs_queued: int = 0
    cancellation_requested_at: AwareDatetime | None = None
    cancellation_effective_at: AwareDatetime | None = None
    cancellation_reason: Literal["customer_notice", "service_refusal", "provider_notice"] | None = None
    consent_terminate_at: AwareDatetime | None = None
    force_majeure: ForceMajeure | None = None
    tariff_change: TariffChange | None = None
    pending_notices: list[Delivery] = Field(default_factory=list)
    late_fees_charged: Money
    refunded: Money
    applied_event_ids: list[str] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    # Safeguards: when each notice last reached the customer on some channel (template ->
    # time), the step held now, and the steps operations let go (keys, most recent last).
    notices_delivered: dict[str, AwareDatetime] = Field(default_factory=dict)
    hold: Hold | None = None
    released_steps: list[str] = Field(default_factory=list)
    # Operations' overrides (engine/overrides.py), most recent last.
    overrides: list[Override] = Field(default_factory=list)
    # The policy version that governs now, and a new one announced (engine/amendments.py).
    policy_version: int | None = None
    amendment: PendingAmendment | None = None

    @classmethod
    def new(cls, spec: ServiceSpec, created_at: datetime) -> ServiceState:
        zero = Money.zero(spec.price.currency)
        return cls(spec=spec, created_at=created_at, balance=zero, late_fees_charged=zero, refunded=zero)

    @property
    def status(self) -> ServiceStatus:
        if self.terminal == "deleted":
            return ServiceStatus.DELETED
        if self.terminal == "terminated":
            return ServiceStatus.TERMINATED
        if self.force_majeure:
            return ServiceStatus.FORCE_MAJEURE
        if self.suspension_reasons:
            return ServiceStatus.SUSPENDED
        if self.cancellation_effective_at:
            return ServiceStatus.TERMINATING
        if self.billing_anchor is None:
            return ServiceStatus.AWAITING_PAYMENT
        if any(i.kind != "late_fee" and not i.is_paid for i in self.invoices):
            return ServiceStatus.INVOICE_DUE
        return ServiceStatus.ACTIVE

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
        if entry.policy_version is None:
            entry.policy_version = self.policy_version
        self.timeline.append(entry)
        del self.timeline[:-TIMELINE_TAIL]

    def note_delivered(self, template: str, at: datetime) -> None:
        """A notice reached the customer (SMTP accepted it, or Twilio reported it delivered)."""
        known = self.notices_delivered.get(template)
        if known is None or at > known:
            self.notices_delivered[template] = at

    def release_step(self, step: str) -> None:
        """Operations let a held step go: it runs without the safeguards' consent."""
        if step not in self.released_steps:
            self.released_steps.append(step)
            del self.released_steps[:-RELEASED_STEPS_KEPT]

    def shift_deadlines(self, by: timedelta) -> None:
        """Push every future contract date back, e.g. after a force majeure."""
        for name in (
            "period_end",
            "paid_until",
            "suspended_at",
            "balance_short_since",
            "cancellation_effective_at",
            "consent_terminate_at",
            "billing_anchor",
        ):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value + by)
        for invoice in self.invoices:
            # Due dates are days: they move by whole days, a part day counting as one, and the
            # invoice is overdue from 24:00 of its new last day (set by the engine, which knows
            # the calendar: see Exits._on_force_majeure_end).
            invoice.due_on += timedelta(days=by.days + (1 if by % timedelta(days=1) else 0))
            # Terms counted from the invoice's date (SmartApe 2.2.5) are extended with it.
            invoice.issued_at += by
            if invoice.covers_until:
                invoice.covers_until += by
        if self.tariff_change:
            self.tariff_change.effective_at += by


class DeadlineAction(StrEnum):
    """Steps the contract takes by itself when their time comes."""

    SEND_NOTICE = "send_notice"
    START_PERIOD = "start_period"
    ISSUE_INVOICE = "issue_invoice"
    REMIND = "remind"
    SUSPEND = "suspend"
    WARN_DELETION = "warn_deletion"
    DELETE_DATA = "delete_data"
    TERMINATE_FOR_DEBT = "terminate_for_debt"
    TERMINATE = "terminate"
    TERMINATE_CONSENT = "terminate_consent"
    TERMINATE_FORCE_MAJEURE = "terminate_force_majeure"
    ANNOUNCE_FORCE_MAJEURE_OPTION = "announce_force_majeure_option"
    END_TRIAL = "end_trial"
    DEBIT_BALANCE = "debit_balance"
    END_TARIFF = "end_tariff"
    WARN_LOW_BALANCE = "warn_low_balance"
    APPLY_AMENDMENT = "apply_amendment"


# The steps a debt leads to once the service is suspended for it: their dates are counted from
# the suspension (a grace extension moves them; a new policy version does not bring them sooner).
DEBT_CONSEQUENCES = frozenset(
    {DeadlineAction.WARN_DELETION, DeadlineAction.DELETE_DATA, DeadlineAction.TERMINATE_FOR_DEBT}
)


class Deadline(BaseModel):
    """The next thing the contract makes happen, with the clause behind it."""

    at: AwareDatetime
    action: DeadlineAction
    clause: str | None
    detail: dict[str, Any] = Field(default_factory=dict)
    # True when the contract does not require the step (a courtesy reminder, a lead time).
    operational: bool = False


class ServiceView(BaseModel):
    """What a query returns: the state in words, for the API and operations."""

    service_id: str
    policy_id: str
    state: ServiceStatus
    suspension_reasons: list[SuspensionReason]
    period_index: int
    paid_until: AwareDatetime | None
    balance: Money
    debt: Money
    next_deadline: Deadline | None
    applied_events: int = 0
    # What is past its due date (the arrears); ``debt`` also counts invoices not yet due.
    overdue: Money | None = None
    hold: Hold | None = None
    overrides: list[Override] = Field(default_factory=list)
    policy_version: int | None = None
    amendment: PendingAmendment | None = None

    @property
    def overdue_amount(self) -> Decimal:
        return (self.overdue or self.debt).amount
