"""Request and response models of the billing API.

Money is a Decimal string with a currency; times are ISO-8601 with an offset.
Every text field refuses control characters, so nothing the database cannot
store (e.g. NUL) gets past validation.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from oferta import webhooks
from oferta.timeline.periods import parse_period
from oferta.timeline.state import CancelScope, EntryType, ServiceStatus

ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), Field(examples=["KZT"])]


def _exact_sum(value: object) -> object:
    # A JSON number with a fraction is a binary float: money is never read from one.
    if isinstance(value, float):
        raise ValueError('must be a decimal string such as "2500.00", not a JSON number with a fraction')
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_exact_sum),
    Field(gt=0, max_digits=16, decimal_places=2),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[0-9]{1,14}(\.[0-9]{1,2})?$",
            "description": "A positive sum as a decimal string",
            "examples": ["2500.00"],
        }
    ),
]


def _line(max_length: int) -> Any:
    """One line of text: no control characters."""
    return StringConstraints(min_length=1, max_length=max_length, pattern=r"^[^\x00-\x1f\x7f]+$")


Name = Annotated[str, _line(300)]
Tariff = Annotated[str, _line(200)]
Reason = Annotated[
    str, StringConstraints(min_length=1, max_length=1000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$")
]
_EMAIL_PART = r"[^@\s\x00-\x1f\x7f]+"
Email = Annotated[
    str,
    StringConstraints(max_length=320, pattern=rf"^{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}$"),
    Field(examples=["billing@example.kz"]),
]
Phone = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$"), Field(examples=["+77012345678"])]
Locale = Literal["ru", "kk", "en"]

# Contract dates are kept within a sane window: the engine adds terms to them.
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_HORIZON = timedelta(days=3660)


def _sane_time(value: datetime) -> datetime:
    if value < _EARLIEST or value > datetime.now(UTC) + _HORIZON:
        raise ValueError("must be between 2000-01-01 and ten years from now")
    return value


Time = Annotated[AwareDatetime, AfterValidator(_sane_time), Field(examples=["2026-03-02T09:00:00+05:00"])]


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except Exception:
        raise ValueError("not a known IANA time zone, e.g. Asia/Almaty") from None
    return value


Timezone = Annotated[
    str,
    StringConstraints(max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+/-]*$"),
    AfterValidator(_timezone),
    Field(examples=["Asia/Almaty"]),
]


def _period(value: str) -> str:
    months, days = parse_period(value)
    if months > 120 or days > 3660:
        raise ValueError("period is longer than ten years")
    return value


Period = Annotated[
    str,
    StringConstraints(max_length=16, pattern=r"^P[0-9YMD]+$"),
    AfterValidator(_period),
    Field(examples=["P1M"]),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- money and common -----------------------------------------------------------


class MoneyOut(BaseModel):
    amount: Decimal = Field(description="Decimal string")
    currency: str


class Deadline(BaseModel):
    at: datetime
    action: str
    clause: str | None
    operational: bool = Field(
        default=False, description="The provider's own step (a reminder, a renewal's timing): no clause."
    )


class ErrorItem(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    detail: str
    code: str
    errors: list[ErrorItem] = []


# -- customers ----------------------------------------------------------------


class CustomerIn(Strict):
    id: Id | None = Field(default=None, description="Your id for the customer; generated when omitted")
    name: Name
    email: Email | None = None
    phone: Phone | None = None
    locale: Locale = "ru"
    timezone: Timezone | None = None
    consumer: bool = Field(
        default=False,
        description="A consumer (not a business): has the statutory withdrawal right where "
        "the contract gives it. Services created afterwards carry the flag.",
    )


class CustomerPatch(Strict):
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    locale: Locale | None = None
    timezone: Timezone | None = None
    consumer: bool | None = Field(default=None, description="Applies to services created afterwards")


class CustomerOut(BaseModel):
    id: str
    name: str
    email: str | None
    phone: str | None
    locale: str
    timezone: str | None
    consumer: bool
    created_at: datetime
    updated_at: datetime


# -- services -----------------------------------------------------------------


class ServiceIn(Strict):
    id: Id | None = Field(default=None, description="Your id for the service; generated when omitted")
    customer_id: Id
    policy: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,64}$"), Field(examples=["ps-kz"])]
    tariff: Tariff
    price: Amount
    currency: Currency
    period: Period = "P1M"
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")] = "hosting"
    trial: bool = False


class HoldOut(BaseModel):
    hold: str = Field(description="notice_not_delivered, mass_action or billing_feed_silent")
    step: str
    clause: str | None
    reason: str
    since: AwareDatetime


class OverrideOut(BaseModel):
    kind: str
    granted_by: str
    reason: str
    at: AwareDatetime
    days: int | None = None
    until: date | None = None


class AmendmentOut(BaseModel):
    version: int
    from_version: int
    effective_at: datetime
    switch_at: datetime | None = Field(description="Later than effective_at while paid terms run on")
    objection_until: datetime | None
    objected_at: datetime | None
    applied_at: datetime | None
    declined: bool = Field(description="The service keeps its version (an objection, a notice)")


class AmendmentObjectionIn(Strict):
    reason: Reason | None = Field(default=None, description="The customer's letter, in a few words")


class ServiceOut(BaseModel):
    id: str
    customer_id: str
    policy: str
    kind: str
    tariff: str
    price: MoneyOut
    period: str
    workflow_id: str
    state: ServiceStatus
    suspension_reasons: list[str] = []
    period_index: int
    paid_until: datetime | None
    debt: MoneyOut
    balance: MoneyOut | None = None
    next_deadline: Deadline | None
    hold: HoldOut | None = Field(
        default=None,
        description="A suspension, deletion or termination the safeguards hold (live view only)",
    )
    overrides: list[OverrideOut] = Field(
        default_factory=list, description="Operations' overrides in force (live view only)"
    )
    policy_version: int | None = Field(
        default=None, description="The version of the policy governing the service (live view only)"
    )
    amendment: AmendmentOut | None = Field(
        default=None, description="A new version announced to the service (live view only)"
    )
    live: bool = Field(
        description="True when state and deadline come from the running workflow (its live view); "
        "false when from the database mirror, which trails the workflow by its last record. "
        "POST /v1/services always answers from the mirror: the row just written, before the "
        "workflow's first step (the first invoice follows)"
    )
    created_at: datetime


class ServiceList(BaseModel):
    items: list[ServiceOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None


# -- billing inputs -------------------------------------------------------------


class PaymentIn(Strict):
    amount: Amount
    currency: Currency
    occurred_at: Time | None = Field(default=None, description="When the funds were received")


class InvoiceIn(Strict):
    amount: Amount
    currency: Currency
    invoice_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:/-]{1,100}$")]
    due_at: Time | None = None


class CancellationIn(Strict):
    reason: Reason
    effective_at: Time | None = Field(default=None, description="Not earlier than the contract's notice")
    scope: CancelScope = Field(
        default=CancelScope.SERVICE,
        description="service: refuse this service (e.g. SmartApe 2.4.10); contract: terminate the whole "
        "contract (e.g. SmartApe 11.3). Contracts with one notice apply it to both.",
    )


class TariffChangeIn(Strict):
    tariff: Tariff
    price: Amount
    currency: Currency
    effective_at: Time | None = None


class AbuseIn(Strict):
    reason: Reason


class WithdrawalIn(Strict):
    reason: Reason | None = None


class PromiseToPayIn(Strict):
    promised_at: Time = Field(
        description="The customer promises to pay by this moment; its date in the "
        "provider's time zone is the promised date"
    )


class ProviderTerminationIn(Strict):
    reason: Reason
    effective_at: Time | None = Field(default=None, description="Not earlier than the contract's notice")


class BreachTerminationIn(Strict):
    reason: Reason


class OverrideIn(Strict):
    """More for one customer than the contract gives, never less (ops scope). ``days`` for
    extend_grace, ``until`` (a local date) for no_suspension_before and promise_to_pay,
    ``invoice_id`` for waive_late_fee."""

    kind: Literal["extend_grace", "no_suspension_before", "waive_late_fee", "promise_to_pay"]
    reason: Reason
    days: int | None = Field(default=None, ge=-3650, le=3650)
    until: date | None = None
    invoice_id: str | None = Field(default=None, max_length=200)


class TariffPurchaseIn(Strict):
    """Nothing to say: the Tariff is paid for from the balance at its current price."""


class ForceMajeureTerminationIn(Strict):
    party: Literal["customer", "provider"] = Field(description="Who exercises the option to terminate")


class EventOut(BaseModel):
    event_id: str
    type: str
    applied: bool
    duplicate: bool
    service: ServiceOut


# -- timeline -----------------------------------------------------------------


class TimelineEventOut(BaseModel):
    sequence: int
    at: datetime
    type: str
    clause: str | None
    detail: dict[str, Any]
    policy_version: int | None = Field(
        default=None, description="The version of the policy that governed the step"
    )


class NoticeOut(BaseModel):
    id: int
    at: datetime
    template: str
    channel: str
    locale: str | None
    clause: str | None
    status: str
    delivery_status: str | None


class AuditOut(BaseModel):
    at: datetime
    actor: str
    action: str
    clause: str | None
    detail: dict[str, Any]


class TimelineOut(BaseModel):
    service_id: str
    events: list[TimelineEventOut] = Field(description="The contract timeline, in order")
    notices: list[NoticeOut] = Field(description="Notices from the ledger, in the order they were due")
    audit: list[AuditOut] = Field(description="Every input and state change, in order")


# -- force majeure ----------------------------------------------------------------


class ForceMajeureIn(Strict):
    id: Id | None = Field(default=None, description="Your id for the event; generated when omitted")
    scope: Literal["all", "policy", "services"]
    policy: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,64}$")] | None = None
    service_ids: Annotated[list[Id], Field(max_length=10000)] | None = None
    reason: Reason


class ForceMajeureOut(BaseModel):
    id: str
    workflow_id: str
    phase: str
    reason: str | None
    total: int
    started: int
    ended: int
    failed: int
    failed_services: list[str]


# -- safeguards: held steps ---------------------------------------------------------------


class ReleaseIn(Strict):
    """Why the held step (or every held step of a policy) may run: kept in the audit trail."""

    reason: Reason


class HeldServiceOut(BaseModel):
    service_id: str
    policy_id: str
    hold: str = Field(description="notice_not_delivered, mass_action or billing_feed_silent")
    state: str
    next_action: str | None


class TripOut(BaseModel):
    hold: str
    since: AwareDatetime
    reason: str


class GuardOut(BaseModel):
    """A policy's guard: whether it holds destructive steps now, whose, and past releases."""

    policy_id: str
    tripped: TripOut | None
    held_services: list[str]
    granted_in_window: int
    releases: list[dict[str, Any]]


class HoldsOut(BaseModel):
    services: list[HeldServiceOut]
    policies: list[GuardOut]


# -- imports ------------------------------------------------------------------------------

IMPORT_ROWS_MAX = 1000


class ImportIn(Strict):
    """Services to take over mid-contract: the rows of `oferta import` (README, "Importing")."""

    id: Id | None = Field(default=None, description="Your id for the import; generated when omitted")
    rows: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=IMPORT_ROWS_MAX,
        description=f"At most {IMPORT_ROWS_MAX} rows a request; a bigger base in several imports or "
        "with `oferta import FILE`",
    )


class ImportRefusalOut(BaseModel):
    line: int = Field(description="The row's position in `rows`, from 1")
    field: str
    reason: str
    service_id: str | None


class ImportOut(BaseModel):
    id: str
    workflow_id: str
    status: Literal["running", "done"]
    total: int
    done: int
    imported: int
    already_there: int
    refused: int
    refusals: list[ImportRefusalOut]


# -- webhooks (oferta/webhooks.py) ------------------------------------------------------


def _secret(value: str) -> str:
    webhooks.secret_key(value)  # ValueError names what is wrong
    return value


class WebhookIn(Strict):
    """A subscription: timeline entries of these types, posted to ``url`` signed with ``secret``."""

    url: Annotated[str, _line(2000)] = Field(
        description="Where to POST each event: http(s); loopback and private addresses are refused "
        "unless OFERTA_WEBHOOKS_ALLOW_PRIVATE=true",
        examples=["https://billing.example.com/oferta/webhooks"],
    )
    event_types: list[EntryType | Literal["*"]] = Field(
        min_length=1,
        max_length=len(EntryType) + 1,
        description="Timeline entry types to receive (payment_received, suspended, deleted, held, …), "
        'or ["*"] for all',
        examples=[["payment_received", "suspended", "deleted"]],
    )
    secret: Annotated[str, StringConstraints(max_length=200), AfterValidator(_secret)] | None = Field(
        default=None,
        description="whsec_ and the base64 of 24-64 random bytes; generated (and shown once) when omitted",
    )


class WebhookOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None
    disabled_at: datetime | None
    created_at: datetime
    pending: int = Field(description="Events queued and not yet delivered")
    delivered: int


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="The signing secret: shown this once, keep it")


class WebhookDeliveryOut(BaseModel):
    event_id: str = Field(description="The webhook-id header, the same on every attempt")
    event_type: str
    service_id: str
    status: Literal["pending", "delivered"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="While pending")
    delivered_at: datetime | None
    created_at: datetime


class WebhookDeliveriesOut(BaseModel):
    endpoint_id: str
    deliveries: list[WebhookDeliveryOut]
