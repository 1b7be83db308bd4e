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
    DAYS = "days"  # the contract's bare "day": resolved through ``definitions.day``
    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"
    WEEKS = "weeks"
    MONTHS = "months"


class Term(Strict):
    """A span of time fixed by a clause, e.g. "7 calendar days (3.16)".

    A step the contract does not require (a courtesy reminder, a renewal invoice's
    lead time, a final warning) is ``operational``: it cites no clause, and its
    notice says it is the provider's reminder, not a term of the contract.
    """

    amount: int = Field(ge=0)
    unit: TimeUnit
    clause: str | None = Field(default=None, min_length=1)
    operational: bool = False
    reading: str | None = Field(default=None, description="How an ambiguous wording was read, and why.")

    @model_validator(mode="after")
    def _cited_or_operational(self) -> Term:
        if self.operational and self.clause is not None:
            raise ValueError("an operational term cites no clause (the contract does not require it)")
        if not self.operational and self.clause is None:
            raise ValueError("clause: a contract term names its clause (or is marked operational)")
        return self

    def __str__(self) -> str:
        basis = f"clause {self.clause}" if self.clause else "operational"
        return f"{self.amount} {self.unit.value.replace('_', ' ')} ({basis})"


class DayDefinition(Strict):
    """What a bare "day" means in this contract."""

    means: Literal["calendar_days", "working_days"]
    clause: str | None = Field(
        description="The contract's own definition (PS.kz 1.12); null when the law's default applies."
    )
    reading: str | None = None


class Definitions(Strict):
    """How the contract counts its terms (law-terms.md); the contract's own words first."""

    day: DayDefinition
    last_day_off: Literal["next_working_day", "stays"] = Field(
        description="A term whose last day is a day off ends on the next working day."
    )
    last_day_off_basis: str = Field(description="The statute, e.g. KZ Civil Code art. 175.")
    reading: str | None = None


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
    INVOICE = "invoice"  # invoices with due dates; arrears are what is overdue
    BALANCE = "balance"  # a prepaid balance debited for the services rendered
    TARIFF_PURCHASE = "tariff_purchase"  # the client buys each Tariff; nothing renews by itself


class BillingRules(Strict):
    model: PaymentModel
    model_clause: str
    invoice_due: Term | None = Field(
        description="Time to pay an invoice after it is issued; null when the contract has no invoices."
    )
    renewal_invoice_lead: Term | None = Field(
        default=None, description="How long before the paid period ends the renewal is billed."
    )
    reminders_before_due: list[Term] = Field(default_factory=list)
    balance_credit_delay: Term | None = Field(
        default=None,
        description="INFORMATIONAL (not enforced): how long the provider may take to credit a"
        " payment. Oferta applies a payment when billing reports it, which is the crediting.",
    )
    low_balance_warning_before: Term | None = Field(
        default=None,
        description="Balance model: the customer is told this long before the balance stops"
        " covering its services. Operational (a courtesy, not a contract term).",
    )
    restart_after_suspension: Rule | None = Field(
        default=None,
        description="Blocked time is not billed: a payment that lifts a suspension for non-payment"
        " starts the paid period from that moment (ONELAB 5.1); null = the period runs on.",
    )


class SuspensionRules(Strict):
    """Suspension for non-payment and what follows it."""

    after_due: Term | None = Field(
        default=None, description="Delay after the due date before suspension (0 = at once)."
    )
    restore_within: Term | None = Field(
        description="How fast service is restored after the arrears are paid."
    )
    grace_to_restore: Term | None = Field(
        description="How long after suspension the customer may still pay and be restored."
    )
    data_deletion_after: Term | None = Field(
        description="When data is deleted, counted from the anchor below."
    )
    data_deletion_anchor: Literal["suspension", "due_date", "balance_zero"] = "suspension"
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
    kinds_without_data: list[str] = Field(
        default_factory=list,
        description="Service kinds whose end is never a data deletion (domains, colocation): the"
        " deletion step ends the service instead.",
    )
    kinds_without_data_reading: str | None = None


class LateFee(Strict):
    rate_per_day: Decimal = Field(gt=0, lt=1, description="Share of the debt per day late.")
    cap_ratio: Decimal | None = Field(
        gt=0, le=1, description="Maximum fee as a share of the debt; null = no cap."
    )
    applies_to: Literal["all_debts", "credit_invoices"] = "all_debts"
    base: Literal["unpaid_remainder", "invoice_amount"] = Field(
        description="Accrue per day on what is still unpaid (SmartApe 7.9, PS.kz 6.4) or on the"
        " invoice amount as written (ONELAB 5.3)."
    )
    clause: str
    fee_invoice_due: Term | None = None
    reading: str | None = None


class TerminationRules(Strict):
    customer_notice: Term | None = Field(
        description="Notice to terminate the whole contract; null when the contract gives no such right."
    )
    service_refusal_notice: Term | None = Field(
        default=None,
        description="Notice to refuse one service (SmartApe 2.4.10); null = the contract notice applies.",
    )
    customer_right: Rule
    provider_notice: Term | None = Field(
        description="Notice the provider gives to terminate without cause (event provider_termination)."
    )
    serious_breach: Rule | None = Field(
        default=None, description="Termination at once for a serious breach (event breach_termination)."
    )
    breach_forfeits_unused: bool = Field(
        default=False, description="A breach termination refunds nothing (PS.kz 3.12, Center Pro 5.3.8)."
    )
    consent_withdrawal_terminate_after: Term | None = None
    consumer_withdrawal: Term | None = Field(
        default=None,
        description="A consumer may withdraw within this term of the contract's start: it ends at"
        " once, only the days used are charged (event withdrawal).",
    )
    promise_to_pay: Rule | None = Field(
        default=None, description="A promised payment date postpones the deletion (event promise_to_pay)."
    )
    exit_is_deletion: bool = Field(
        default=False,
        description="The customer leaves by having the account deleted (registry.kz 8.6.1): its"
        " notice ends in a deletion, with the balance written off (8.7).",
    )
    ends_with_paid_tariff: Rule | None = Field(
        default=None,
        description="Tariff purchase: the client leaves by not buying a new Tariff; a cancellation"
        " takes effect when the paid Tariff ends.",
    )


class AutoRenewal(Strict):
    """INFORMATIONAL (not enforced): the contract's yearly renewal. A service runs period after
    period until a way out is used, so the renewal itself needs no step; its opt-out notice is
    the customer's notice (termination)."""

    period: Literal["calendar_year", "contract_year"]
    opt_out_notice: Term
    clause: str


class Trial(Strict):
    length: Term
    once_per_customer: bool = Field(
        default=True,
        description="INFORMATIONAL (not enforced): billing offers the trial once per customer.",
    )
    service_kinds: list[str] = Field(min_length=1, description="The kinds the trial exists for.")
    refusal: Rule = Field(description="Refusing during the trial ends it at once and costs nothing.")


class RefundDestination(StrEnum):
    PERSONAL_ACCOUNT = "personal_account"
    BANK_TRANSFER = "bank_transfer"
    NONE = "none"


class RefundRules(Strict):
    deadline: Term | None = Field(description="Time to pay a refund; null when the contract sets none.")
    destination: RefundDestination
    destination_clause: str | None
    proration: Literal["calendar_days", "none"]
    proration_clause: str | None
    minimum_period: Term | None = Field(
        default=None,
        description="Paid time inside the minimum period is kept on early termination (SmartApe"
        " 7.11: one month); what lies beyond it is refunded.",
    )
    paid_tariff_refundable: bool = True
    paid_tariff_clause: str | None = None
    reading: str | None = None


class ForceMajeureRules(Strict):
    notice_within: Term | None
    terminate_after: Term | None = Field(
        description="How long a force majeure lasts before termination applies; null = never."
    )
    termination: Literal["automatic", "option", "none"] = Field(
        description="automatic: the contract ends at terminate_after (PS.kz 6.17); option: either"
        " party may then terminate (SmartApe 8.5), the service waits for that choice."
    )
    deadlines_extended: bool | None = Field(
        description="Whether deadlines are pushed back by the force majeure's length; null = the"
        " contract is silent (nothing is pushed back)."
    )
    clause: str
    reading: str | None = None


class TariffChangeRules(Strict):
    notice: Term | None = Field(description="How far ahead a change is announced; null = no lead.")
    clause: str
    reading: str | None = None


class AmendmentObjection(Strict):
    """What a customer who does not accept a change of the offer may do, as the contract says."""

    clause: str
    until: Literal["before_effective", "after_effective"] = Field(
        description="before_effective: the objection must come before the change takes effect"
        " (registry.kz 4.1.4, SmartApe 2.2.6); after_effective: within ``after_effective`` of it"
        " (ONELAB 11.6)."
    )
    after_effective: Term | None = None
    exit: Literal["terminate_at_once", "notice_keeps_terms", "not_stated"] = Field(
        description="terminate_at_once: the contract ends on the objection (ONELAB 11.6);"
        " notice_keeps_terms: the objection is the customer's notice, and the old terms govern"
        " until it takes effect (SmartApe 2.2.6); not_stated: the contract names no consequence,"
        " the service keeps its version and operations decide (registry.kz 4.1.4)."
    )
    text: str = Field(min_length=1)
    reading: str | None = None

    @model_validator(mode="after")
    def _window(self) -> AmendmentObjection:
        if (self.until == "after_effective") != (self.after_effective is not None):
            raise ValueError(
                "after_effective: the window after the change, exactly when until is after_effective"
            )
        return self


class AmendmentRules(Strict):
    """How the provider changes its offer for services already running (``oferta policies publish``)."""

    clause: str = Field(description="The clause that lets the provider change the offer.")
    notice: Term | None = Field(
        description="How long before the change takes effect the customer must be told; null = the"
        " contract sets no lead (the change may take effect when it is published)."
    )
    applies: Literal["at_effective_date", "from_next_period", "after_paid_tariff"] = Field(
        description="When a running service moves to the new version: on the effective date; at the"
        " end of the paid period running then (PS.kz 5.14: fully paid services keep their terms); or"
        " when the Tariffs paid for by then have run out (Center Pro 6.10)."
    )
    applies_clause: str | None = None
    objection: AmendmentObjection | None = Field(
        description="The customer's answer to a change; null = the contract gives none."
    )
    silence: Rule | None = Field(default=None, description="Silence is acceptance (registry.kz 6.5).")
    reading: str | None = None


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class NoticeTemplate(StrEnum):
    # Templates added with the clause-faithful engine; v1 services never use them.
    PROMISE_TO_PAY_RECORDED = "promise_to_pay_recorded"
    FORCE_MAJEURE_OPTION = "force_majeure_option"
    TARIFF_ENDED = "tariff_ended"
    TARIFF_PURCHASED = "tariff_purchased"
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
    AMENDMENT_ANNOUNCED = "amendment_announced"
    AMENDMENT_OBJECTION_RECORDED = "amendment_objection_recorded"
    LATE_FEE_CHARGED = "late_fee_charged"
    LOW_BALANCE = "low_balance"


class QuietHours(Strict):
    """SMS is held back inside this window of the customer's local time."""

    start: str = Field(pattern=r"^\d{2}:\d{2}$")
    end: str = Field(pattern=r"^\d{2}:\d{2}$")
    reading: str | None = None


class Policy(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: int = Field(ge=1)
    provider: Provider
    definitions: Definitions
    service_kinds: list[str]
    locales: list[Literal["ru", "kk", "en"]]
    billing: BillingRules
    suspension: SuspensionRules
    late_fee: LateFee | None
    termination: TerminationRules
    auto_renewal: AutoRenewal | None
    trial: Trial | None
    refunds: RefundRules
    force_majeure: ForceMajeureRules
    tariff_change: TariffChangeRules
    # Optional so that running services' inputs (policies without it) still load; every policy
    # file has it, and publishing an amendment without it is refused.
    amendments: AmendmentRules | None = None
    notices: dict[NoticeTemplate, list[Channel]] = Field(
        description="Channels per notice; a notice not listed goes by e-mail, every contract's channel."
    )
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
        billing = self.billing
        if billing.model is PaymentModel.INVOICE:
            if billing.invoice_due is None or billing.renewal_invoice_lead is None:
                raise ValueError("billing: an invoice policy needs invoice_due and renewal_invoice_lead")
            if self.suspension.after_due is None:
                raise ValueError("suspension.after_due: an invoice policy says when arrears suspend")
        if self.trial and not set(self.trial.service_kinds) <= set(self.service_kinds):
            raise ValueError("trial.service_kinds: a trial kind the policy does not sell")
        if self.trial and billing.model is not PaymentModel.INVOICE:
            raise ValueError("trial: a trial runs before the first invoice (invoice model only)")
        if self.force_majeure.termination != "none" and self.force_majeure.terminate_after is None:
            raise ValueError("force_majeure.terminate_after: needed unless termination is none")
        return self
