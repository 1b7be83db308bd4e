"""What every billing model answers: how a service starts, bills, falls behind and settles.

A model is chosen by the policy's ``billing.model`` (invoice, balance, tariff
purchase). The core asks it for its deadlines and hands it the inputs it owns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from oferta.policy.schema import NoticeTemplate, Term, TimeUnit
from oferta.timeline.charges import prorate
from oferta.timeline.engine.effects import ProvisionIntent, Transition
from oferta.timeline.money import Money
from oferta.timeline.notices import NoticeIntent
from oferta.timeline.state import (
    BillingEvent,
    Deadline,
    DeadlineAction,
    EntryType,
    EventType,
    Invoice,
    ServiceState,
)

if TYPE_CHECKING:
    from oferta.timeline.engine.core import Contract

# "Until the promised date has passed": zero days counted from that date.
_ZERO_DAYS = Term(amount=0, unit=TimeUnit.CALENDAR_DAYS, operational=True)

DeadlineHandler = Callable[[ServiceState, Deadline, datetime, Transition], None]
EventHandler = Callable[[ServiceState, BillingEvent, datetime, Transition], None]


class BillingModel:
    """The shared part; each model overrides what its contract does differently."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.policy = contract.policy

    # -- what the core asks ------------------------------------------------

    def start(self, state: ServiceState, now: datetime, out: Transition) -> None:
        raise NotImplementedError

    def deadlines(self, state: ServiceState) -> list[Deadline]:
        raise NotImplementedError

    def deadline_handlers(self) -> dict[DeadlineAction, DeadlineHandler]:
        return {}

    def event_handlers(self) -> dict[EventType, EventHandler]:
        return {EventType.PAYMENT: self.on_payment}

    def refusal(self, state: ServiceState, event: BillingEvent, now: datetime) -> str | None:
        if event.type is EventType.PAYMENT:
            if event.amount is None or not event.amount.is_positive:
                return "amount must be a positive sum"
        elif event.type is EventType.INVOICE:
            return f"the contract issues no invoices ({self.policy.billing.model_clause})"
        elif event.type is EventType.TARIFF_PURCHASE:
            return "the contract has no Tariff purchases: services are billed by period"
        elif event.type is EventType.PROMISE_TO_PAY:
            return "the contract gives no promised-payment date"
        return None

    def overdue_amount(self, state: ServiceState, at: datetime) -> Money:
        """What is past its due date at ``at`` (the arrears)."""
        return Money.zero(state.spec.price.currency)

    def suspension_detail(self, state: ServiceState, now: datetime) -> dict[str, Any]:
        return {}

    def close_open_invoices(self, state: ServiceState, at: datetime) -> None:
        """On an ending: nothing is owed for time after ``at``."""

    def cancellation_end(self, state: ServiceState, now: datetime) -> datetime | None:
        """When a cancellation takes effect if the model fixes it (a paid Tariff's end)."""
        return None

    def on_payment(self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition) -> None:
        assert event.amount is not None
        state.balance = state.balance + event.amount
        detail = {
            "amount": str(event.amount.amount),
            "currency": event.amount.currency,
            "event_id": event.event_id,
        }
        self.contract.emit(
            state,
            out,
            now,
            EntryType.PAYMENT_RECEIVED,
            self.policy.billing.model_clause,
            detail,
            NoticeTemplate.PAYMENT_RECEIVED,
            f"payment:{event.event_id}",
        )
        self.after_payment(state, now, out)

    def after_payment(self, state: ServiceState, now: datetime, out: Transition) -> None:
        raise NotImplementedError

    # -- money on an ending ------------------------------------------------

    def unused(self, state: ServiceState, at: datetime, keep_minimum: bool = True) -> Money:
        """What the customer paid for time after ``at``, plus money not yet spent.

        Paid time inside the contract's minimum period is kept (SmartApe 7.11);
        everything beyond it is returned, whatever the length of the period paid.
        """
        rules = self.policy.refunds
        total = state.balance
        if rules.proration == "none" or not rules.paid_tariff_refundable:
            return total
        from_ = at
        minimum = rules.minimum_period
        if keep_minimum and minimum and state.billing_anchor:
            # From the first paid period of the service (after any trial), not of the record.
            from_ = max(at, self.contract.span_end(state.billing_anchor, minimum))
        for start, end, amount in self.paid_spans(state):
            if end > from_:
                total = total + prorate(amount, start, end, from_, end, self.contract.tz)
        return total

    def paid_spans(self, state: ServiceState) -> list[tuple[datetime, datetime, Money]]:
        """(start, end, amount) of each stretch of service time paid for and not yet used up."""
        return []

    def keeps_paid_invoice(self, state: ServiceState, invoice: Invoice) -> bool:
        return False

    # -- the deletion of data after non-payment (invoice and balance models) ---------

    def deletion_deadlines(self, state: ServiceState, deletion: datetime | None) -> list[Deadline]:
        """The final warning (operational) and the deletion itself, per the policy."""
        rules = self.policy.suspension
        if deletion is None or rules.data_deletion_after is None:
            return []
        if state.promised_payment_on is not None:
            # ONELAB 11.11.1: the data is kept until the promised payment date has passed.
            deletion = max(deletion, self.contract.after_date(state.promised_payment_on, _ZERO_DAYS))
        found: list[Deadline] = []
        warning = rules.deletion_warning_before
        if warning and not state.deletion_warned and not self.without_data(state):
            at = self.contract.before(deletion, warning)
            if state.suspended_at is None or at > state.suspended_at:
                found.append(
                    Deadline(
                        at=at,
                        action=DeadlineAction.WARN_DELETION,
                        clause=warning.clause,
                        operational=warning.operational,
                        detail={"deletion_at": deletion.isoformat()},
                    )
                )
        found.append(
            Deadline(at=deletion, action=DeadlineAction.DELETE_DATA, clause=rules.data_deletion_after.clause)
        )
        return found

    def do_warn_deletion(
        self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition
    ) -> None:
        state.deletion_warned = True
        detail = {
            "deletion_at": deadline.detail["deletion_at"],
            "debt": str(self.overdue_amount(state, now).amount),
            "currency": state.spec.price.currency,
        }
        if deadline.operational:
            detail["operational"] = True
        # A warning is a notice only: the timeline shows it as sent (or not) by its delivery.
        self.contract.notify(
            state,
            now,
            out,
            NoticeIntent(
                template=NoticeTemplate.DELETION_WARNING,
                key=f"deletion_warning:{state.suspended_at}",
                clause=None if deadline.operational else deadline.clause,
                detail=self.contract.common_detail(state) | detail,
            ),
        )

    def do_delete_data(self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition) -> None:
        self.delete_data(state, now, out, deadline.clause, reason="non_payment")

    def delete_data(
        self,
        state: ServiceState,
        now: datetime,
        out: Transition,
        clause: str | None,
        reason: str = "customer_notice",
    ) -> None:
        contract = self.contract
        if self.without_data(state):
            # A domain or a colocated server has no data of ours to delete: the service ends.
            contract.terminate(state, now, out, reason, clause)
            return
        state.terminal = "deleted"
        written_off = self.write_off_on_deletion(state)
        detail: dict[str, Any] = {
            "debt": str(self.overdue_amount(state, now).amount),
            "currency": state.spec.price.currency,
        }
        if written_off is not None:
            detail["balance_written_off"] = str(written_off.amount)
        contract.emit(state, out, now, EntryType.DELETED, clause, detail, NoticeTemplate.DELETED, "deleted")
        out.provisioning.append(ProvisionIntent(action="delete", key="delete", clause=clause))
        contract.settle(state, now, out)

    def without_data(self, state: ServiceState) -> bool:
        """A domain or a colocated server: nothing of the customer's is deleted; it ends."""
        return state.spec.kind in self.policy.suspension.kinds_without_data

    def due_at(self, due_on: date) -> datetime:
        """The instant an invoice payable through ``due_on`` becomes overdue (24:00, next working day)."""
        return self.contract.after_date(due_on, _ZERO_DAYS)

    def restore_clause(self) -> str:
        """The clause a restoration cites: the restore term's, else the suspension's own ("until
        payment", SmartApe 2.2.5), else the billing model's."""
        rules = self.policy.suspension
        for term in (rules.restore_within, rules.after_due):
            if term is not None and term.clause:
                return term.clause
        return self.policy.billing.model_clause

    def write_off_on_deletion(self, state: ServiceState) -> Money | None:
        return None
