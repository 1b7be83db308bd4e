"""The typed schema of a contract policy.

A policy is the machine-readable reading of one provider's public offer. Every
number the lifecycle workflow uses comes from here and carries the clause it was
read from. Where the contract is silent a rule is ``null``; where it is
ambiguous, ``reading`` says which interpretation was chosen and why.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeUnit(StrEnum):
    HOURS = "hours"
    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"
    MONTHS = "months"


class Term(Strict):
    """A span of time fixed by a clause, e.g. "7 calendar days (3.16)"."""

    amount: int = Field(ge=0)
    unit: TimeUnit
    clause: str = Field(min_length=1)
    reading: str | None = Field(default=None, description="How an ambiguous wording was read, and why.")

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.value.replace('_', ' ')} ({self.clause})"


class Rule(Strict):
    """A rule that is a fact of the contract rather than a timer."""

    clause: str | None = Field(min_length=1)
    text: str = Field(min_length=1, description="The rule in plain words.")
    reading: str | None = None


class Provider(Strict):
    name: str
    legal_name: str
    country: Literal["KZ", "EE"]
    timezone: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    website: str | None = None
    seed: str = Field(description="The seed file the policy was read from.")


class PaymentModel(StrEnum):
    INVOICE = "invoice"
    PREPAID_BALANCE = "prepaid_balance"


class Billing(Strict):
    model: PaymentModel
    model_clause: str
    invoice_due: Term | None = Field(
        description="Time to pay an invoice after it is issued; null when charges are"
        " written off a prepaid balance and fall due at once."
    )
    renewal_invoice_lead: Term = Field(
        description="How long before the paid period ends the renewal is billed."
    )
    reminders_before_due: list[Term] = Field(default_factory=list)
    balance_credit_delay: Term | None = Field(
        default=None, description="How long the provider may take to credit a payment."
    )


class Suspension(Strict):
    """Suspension for non-payment and what follows it."""

    after_due: Term = Field(description="Delay after the due date before suspension (0 = at once).")
    restore_within: Term | None = Field(
        description="How fast service is restored after the arrears are paid."
    )
    grace_to_restore: Term | None = Field(
        description="How long after suspension the customer may still pay and be restored."
    )
    data_deletion_after: Term | None = Field(
        description="When data is deleted, counted from the anchor below."
    )
    data_deletion_anchor: Literal["suspension", "due_date"] = "suspension"
    deletion_warning_before: Term | None = Field(
        default=None, description="Final warning sent this long before deletion."
    )
    terminate_for_debt_after: Term | None = Field(
        default=None, description="Contract terminated when a debt stays unpaid this long."
    )
    terminate_for_debt_anchor: Literal["invoice_issued", "due_date", "suspension"] = "due_date"
    abuse: Rule | None = Field(
        default=None, description="The clause that lets the provider block a service for abuse."
    )


class LateFee(Strict):
    rate_per_day: Decimal = Field(gt=0, lt=1, description="Share of the debt per day late.")
    cap_ratio: Decimal | None = Field(
        gt=0, le=1, description="Maximum fee as a share of the debt; null = no cap."
    )
    applies_to: Literal["all_debts", "credit_invoices"] = "all_debts"
    clause: str
    fee_invoice_due: Term | None = None
    reading: str | None = None


class Termination(Strict):
    customer_notice: Term | None = Field(
        description="Notice the customer must give; null when the contract gives no such right."
    )
    customer_right: Rule
    provider_notice: Term | None
    consent_withdrawal_terminate_after: Term | None = None
    force_majeure_notice_within: Term | None = None


class AutoRenewal(Strict):
    period: Literal["calendar_year", "contract_year"]
    opt_out_notice: Term
    clause: str


class Trial(Strict):
    length: Term
    once_per_customer: bool = True


class RefundDestination(StrEnum):
    PERSONAL_ACCOUNT = "personal_account"
    BANK_TRANSFER = "bank_transfer"
    NONE = "none"


class Refunds(Strict):
    deadline: Term | None = Field(description="Time to pay a refund; null when the contract sets none.")
    destination: RefundDestination
    destination_clause: str | None
    proration: Literal["calendar_days", "none"]
    proration_clause: str | None
    first_period_refundable: bool = True
    first_period_clause: str | None = None
    paid_tariff_refundable: bool = True
    paid_tariff_clause: str | None = None


class ForceMajeure(Strict):
    notice_within: Term | None
    terminate_after: Term | None = Field(
        description="The contract ends when force majeure lasts this long; null = never."
    )
    deadlines_extended: bool = Field(
        description="Whether contract deadlines are pushed back by the force majeure's length."
    )
    clause: str


class TariffChange(Strict):
    notice: Term | None = Field(description="How far ahead a change is announced; null = no lead.")
    clause: str
    reading: str | None = None


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class NoticeTemplate(StrEnum):
    ACTIVATED = "activated"
    INVOICE_ISSUED = "invoice_issued"
    PAYMENT_REMINDER = "payment_reminder"
    PAYMENT_RECEIVED = "payment_received"
    SUSPENDED = "suspended"
    DELETION_WARNING = "deletion_warning"
    DELETED = "deleted"
    RESUMED = "resumed"
    TERMINATION_REQUESTED = "termination_requested"
    TERMINATION_WITHDRAWN = "termination_withdrawn"
    TERMINATED = "terminated"
    REFUND_SCHEDULED = "refund_scheduled"
    REFUND_PAID = "refund_paid"
    FORCE_MAJEURE_STARTED = "force_majeure_started"
    FORCE_MAJEURE_ENDED = "force_majeure_ended"
    TARIFF_CHANGE_ANNOUNCED = "tariff_change_announced"
    LATE_FEE_CHARGED = "late_fee_charged"


class QuietHours(Strict):
    """SMS is held back inside this window of the customer's local time."""

    start: str = Field(pattern=r"^\d{2}:\d{2}$")
    end: str = Field(pattern=r"^\d{2}:\d{2}$")
    reading: str | None = None


class Policy(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: int = Field(ge=1)
    provider: Provider
    service_kinds: list[str]
    locales: list[Literal["ru", "kk", "en"]]
    billing: Billing
    suspension: Suspension
    late_fee: LateFee | None
    termination: Termination
    auto_renewal: AutoRenewal | None
    trial: Trial | None
    refunds: Refunds
    force_majeure: ForceMajeure
    tariff_change: TariffChange
    notices: dict[NoticeTemplate, list[Channel]]
    quiet_hours: QuietHours
    other_rules: dict[str, Rule] = Field(
        default_factory=dict,
        description="Further rules the seed states that the workflow does not automate.",
    )
    readings: list[str] = Field(
        default_factory=list, description="Policy-wide notes on ambiguous or silent points."
    )

    @field_validator("provider")
    @classmethod
    def _known_timezone(cls, provider: Provider) -> Provider:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(provider.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {provider.timezone!r}") from exc
        return provider

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        if self.billing.model is PaymentModel.INVOICE and self.billing.invoice_due is None:
            raise ValueError("billing.invoice_due: an invoice-based policy needs a due term")
        missing = [t.value for t in NoticeTemplate if t not in self.notices]
        if missing:
            raise ValueError(f"notices: no channels chosen for {', '.join(missing)}")
        return self
