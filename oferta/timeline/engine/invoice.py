"""The invoice model (PS.kz, ONELAB, SmartApe): invoices with due dates; arrears are what is overdue.

A period is billed ahead by an invoice that falls due after the contract's term
(PS.kz 5.8: 3 working days; SmartApe 5.1: 5 working days). Only what is past its
due date is debt: paying it restores the service even while a newer invoice is
not yet due, and the deletion and termination clocks count from the oldest item
still overdue. Late fees accrue per day (on the unpaid remainder, or on the
invoice amount where the contract says so).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from oferta.policy.schema import NoticeTemplate
from oferta.timeline.charges import assess_late_fee, prorate
from oferta.timeline.engine.billing import BillingModel, DeadlineHandler, EventHandler
from oferta.timeline.engine.effects import ProvisionIntent, Transition, iso
from oferta.timeline.money import Money
from oferta.timeline.state import (
    BillingEvent,
    Deadline,
    DeadlineAction,
    EntryType,
    EventType,
    Installment,
    Invoice,
    ServiceState,
    SuspensionReason,
)
from oferta.timeline.terms import local_date

# Operational reminders go out in the morning of their day, not at midnight.
REMINDER_HOUR = time(10, 0)
PAYMENT_ORDER = {"period": 0, "extra": 1, "late_fee": 2}


class InvoiceBilling(BillingModel):
    # -- start ---------------------------------------------------------------

    def start(self, state: ServiceState, now: datetime, out: Transition) -> None:
        trial = self.policy.trial
        if trial and state.spec.trial and self.contract.trial_refusal(state.spec) is None:
            # The trial runs before period 0; paid periods are counted from its end.
            trial_end = self.contract.after(now, trial.length)
            state.billing_anchor, state.anchor_period, state.period_index = trial_end, 0, -1
            state.period_start, state.period_end, state.paid_until = now, trial_end, trial_end
            self.contract.emit(
                state,
                out,
                now,
                EntryType.ACTIVATED,
                trial.length.clause,
                {"trial_until": trial_end.isoformat()},
                NoticeTemplate.ACTIVATED,
                "activated",
            )
            out.provisioning.append(
                ProvisionIntent(action="activate", key="activate", clause=trial.length.clause)
            )
            return
        self.issue(
            state,
            now,
            out,
            kind="period",
            amount=state.spec.price,
            period_index=0,
            covers_until=None,
            invoice_id="p0",
        )

    # -- deadlines -------------------------------------------------------------

    def deadlines(self, state: ServiceState) -> list[Deadline]:
        return self._debt_deadlines(state) + self._renewal_deadlines(state)

    def _unpaid(self, state: ServiceState) -> list[Invoice]:
        return [i for i in state.open_invoices if i.kind != "late_fee"]

    def overdue(self, state: ServiceState, at: datetime) -> list[Invoice]:
        return [i for i in self._unpaid(state) if i.overdue_at(at)]

    def overdue_amount(self, state: ServiceState, at: datetime) -> Money:
        total = Money.zero(state.spec.price.currency)
        for invoice in self.overdue(state, at):
            total = total + invoice.outstanding
        return total

    def _debt_deadlines(self, state: ServiceState) -> list[Deadline]:
        unpaid = self._unpaid(state)
        if not unpaid or state.billing_anchor is None:
            return []
        rules = self.policy.suspension
        assert rules.after_due is not None
        oldest = min(unpaid, key=lambda i: i.due_at)
        suspended = SuspensionReason.NON_PAYMENT in state.suspension_reasons
        found: list[Deadline] = []
        if not suspended:
            found += self._reminder(oldest)
            found.append(
                Deadline(
                    at=self.contract.after_date(oldest.due_on, rules.after_due),
                    action=DeadlineAction.SUSPEND,
                    clause=rules.after_due.clause,
                    detail={"invoice_id": oldest.invoice_id},
                )
            )
        found += self.deletion_deadlines(state, self.deletion_at(state, oldest))
        debt_term = rules.terminate_for_debt_after
        if debt_term:
            anchor = rules.terminate_for_debt_anchor
            at = (
                self.contract.after_date(local_date(oldest.issued_at, self.contract.tz), debt_term)
                if anchor == "invoice_issued"
                else self.contract.after_date(oldest.due_on, debt_term)
                if anchor == "due_date"
                else self.contract.after(state.suspended_at, debt_term)
                if state.suspended_at
                else None
            )
            if at is not None:
                found.append(
                    Deadline(
                        at=at,
                        action=DeadlineAction.TERMINATE_FOR_DEBT,
                        clause=debt_term.clause,
                        detail={"invoice_id": oldest.invoice_id},
                    )
                )
        return found

    def _reminder(self, invoice: Invoice) -> list[Deadline]:
        for n, term in enumerate(self.policy.billing.reminders_before_due):
            if n < invoice.reminders_sent:
                continue
            morning = datetime.combine(invoice.due_on, REMINDER_HOUR, tzinfo=invoice.due_at.tzinfo)
            at = self.contract.before(morning, term)
            if at <= invoice.issued_at:
                return []
            return [
                Deadline(
                    at=at,
                    action=DeadlineAction.REMIND,
                    clause=term.clause,
                    operational=term.operational,
                    detail={"invoice_id": invoice.invoice_id},
                )
            ]
        return []

    def deletion_at(self, state: ServiceState, oldest: Invoice) -> datetime | None:
        rules = self.policy.suspension
        term = rules.data_deletion_after
        if term is None:
            return None
        if rules.data_deletion_anchor == "due_date":
            return self.contract.after_date(oldest.due_on, term)
        if SuspensionReason.NON_PAYMENT not in state.suspension_reasons or not state.suspended_at:
            return None
        return self.contract.after(state.suspended_at, term)

    def _renewal_deadlines(self, state: ServiceState) -> list[Deadline]:
        if state.billing_anchor is None or state.period_end is None:
            return []
        if state.paid_until and state.paid_until > state.period_end:
            return [
                Deadline(
                    at=state.period_end,
                    action=DeadlineAction.START_PERIOD,
                    clause=None,
                    detail={"period": state.period_index + 1},
                )
            ]
        if not self._renewal_due(state):
            return []
        lead = self.policy.billing.renewal_invoice_lead
        assert lead is not None
        return [
            Deadline(
                at=self.contract.before(state.period_end, lead),
                action=DeadlineAction.ISSUE_INVOICE,
                clause=lead.clause,
                operational=lead.operational,
                detail={"period": state.period_index + 1},
            )
        ]

    def _renewal_due(self, state: ServiceState) -> bool:
        if SuspensionReason.NON_PAYMENT in state.suspension_reasons:
            return False
        next_index = state.period_index + 1
        if any(i.kind == "period" and i.period_index == next_index for i in state.invoices):
            return False
        effective = state.cancellation_effective_at
        return not (effective and state.period_end and effective <= state.period_end)

    def deadline_handlers(self) -> dict[DeadlineAction, DeadlineHandler]:
        return {
            DeadlineAction.START_PERIOD: self._do_start_period,
            DeadlineAction.ISSUE_INVOICE: self._do_issue_invoice,
            DeadlineAction.REMIND: self._do_remind,
            DeadlineAction.SUSPEND: self._do_suspend,
            DeadlineAction.WARN_DELETION: self.do_warn_deletion,
            DeadlineAction.DELETE_DATA: self.do_delete_data,
            DeadlineAction.TERMINATE_FOR_DEBT: self._do_terminate_for_debt,
        }

    def _do_start_period(
        self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition
    ) -> None:
        self.contract.start_next_period(state, out)

    def _do_issue_invoice(
        self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition
    ) -> None:
        index = state.period_index + 1
        start, end = self.contract.boundary(state, index), self.contract.boundary(state, index + 1)
        price = self.contract.price_for(state, start)
        amount, covers_until = price, end
        effective = state.cancellation_effective_at
        if effective and effective < end:
            # The last, incomplete period is paid up to the date of cessation (PS.kz 4.3.16, 5.17).
            amount = prorate(price, start, end, start, effective, self.contract.tz)
            covers_until = effective
        self.issue(
            state,
            now,
            out,
            kind="period",
            amount=amount,
            period_index=index,
            covers_until=covers_until,
            invoice_id=f"p{index}",
        )

    def _do_remind(self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition) -> None:
        invoice = self._invoice(state, deadline.detail["invoice_id"])
        invoice.reminders_sent += 1
        self.contract.emit(
            state,
            out,
            now,
            EntryType.REMINDER,
            deadline.clause,
            self.invoice_detail(invoice),
            NoticeTemplate.PAYMENT_REMINDER,
            f"reminder:{invoice.invoice_id}:{invoice.reminders_sent}",
            operational=deadline.operational,
        )

    def _do_suspend(self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition) -> None:
        invoice_id = deadline.detail["invoice_id"]
        self.contract.suspend(
            state, now, out, SuspensionReason.NON_PAYMENT, deadline.clause, key=f"suspended:{invoice_id}"
        )

    def _do_terminate_for_debt(
        self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition
    ) -> None:
        self.contract.terminate(state, now, out, "debt", deadline.clause)

    def suspension_detail(self, state: ServiceState, now: datetime) -> dict[str, Any]:
        rules = self.policy.suspension
        detail: dict[str, Any] = {}
        if rules.grace_to_restore:
            detail["restore_until"] = self.contract.after(now, rules.grace_to_restore).isoformat()
        unpaid = self._unpaid(state)
        if unpaid:
            deletion = self.deletion_at(state, min(unpaid, key=lambda i: i.due_at))
            if deletion:
                key = "terminates_at" if self.without_data(state) else "deletion_at"
                detail[key] = deletion.isoformat()
        return detail

    # -- inputs ---------------------------------------------------------------

    def event_handlers(self) -> dict[EventType, EventHandler]:
        return super().event_handlers() | {
            EventType.INVOICE: self._on_invoice,
            EventType.PROMISE_TO_PAY: self._on_promise_to_pay,
        }

    def refusal(self, state: ServiceState, event: BillingEvent, now: datetime) -> str | None:
        if event.type is EventType.INVOICE:
            if event.amount is None or not event.amount.is_positive:
                return "amount must be a positive sum"
            return None
        if event.type is EventType.PROMISE_TO_PAY:
            rule = self.policy.termination.promise_to_pay
            if rule is None:
                return "the contract gives no promised-payment date"
            if event.promised_at is None:
                return "promised_at: the date the customer promises to pay by is required"
            if not self.overdue(state, now):
                return "nothing is overdue: there is no payment to promise"
            if local_date(event.promised_at, self.contract.tz) < local_date(now, self.contract.tz):
                return "promised_at: the promised date has already passed"
            return None
        return super().refusal(state, event, now)

    def after_payment(self, state: ServiceState, now: datetime, out: Transition) -> None:
        self.apply_balance(state, now, out)
        if state.terminal:
            # A debt paid after the end: nothing to activate or restore; what was paid beyond the
            # debt is returned like any unused balance (PS.kz 5.25, SmartApe 11.4).
            if not state.debt().is_positive:
                self.contract.settle(state, now, out, key=f"refund:after_end:{now.isoformat()}")
            return
        if state.billing_anchor is None and any(i.invoice_id == "p0" and i.is_paid for i in state.invoices):
            self.contract.activate(state, now, out, self.policy.billing.model_clause)
        if SuspensionReason.NON_PAYMENT in state.suspension_reasons and not self.overdue(state, now):
            # Nothing overdue is left: restored, even if a newer invoice is not yet due.
            if self.policy.billing.restart_after_suspension:
                self._restart_paid_period(state, now)
            self.contract.lift(
                state,
                SuspensionReason.NON_PAYMENT,
                now,
                out,
                self.restore_clause(),
                f"payment:{state.period_index}:{now.isoformat()}",
            )

    def _restart_paid_period(self, state: ServiceState, now: datetime) -> None:
        """The period just paid runs from the payment (ONELAB 5.1: months "of use"): the months
        the service was blocked are neither used nor billed."""
        assert state.suspended_at is not None
        blocked_from = state.suspended_at
        paid = [
            i
            for i in state.invoices
            if i.kind == "period"
            and i.is_paid
            and i.period_index is not None
            and self._span(state, i)[1] > blocked_from
        ]
        if not paid:
            return
        latest = max(paid, key=lambda i: i.period_index or 0)
        state.period_index = (latest.period_index or 0) - 1
        self.contract.anchor_periods(state, now)
        for invoice in paid:
            invoice.covers_until = state.period_end if invoice is latest else blocked_from
        state.paid_until = state.period_end
        # Later periods billed while blocked are voided: they were never usable.
        for invoice in list(state.open_invoices):
            if invoice.kind == "period" and (invoice.period_index or 0) > (latest.period_index or 0):
                state.invoices.remove(invoice)

    def _on_invoice(self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition) -> None:
        assert event.amount is not None
        due_on = local_date(event.due_at, self.contract.tz) if event.due_at else None
        self.issue(
            state,
            now,
            out,
            kind="extra",
            amount=event.amount,
            period_index=None,
            covers_until=None,
            invoice_id=event.invoice_id or f"x-{event.event_id}",
            due_on=due_on,
        )

    def _on_promise_to_pay(
        self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition
    ) -> None:
        rule = self.policy.termination.promise_to_pay
        assert rule is not None and event.promised_at is not None
        state.promised_payment_on = local_date(event.promised_at, self.contract.tz)
        self.contract.emit(
            state,
            out,
            now,
            EntryType.PROMISE_TO_PAY,
            rule.clause,
            {"promised_on": state.promised_payment_on.isoformat()},
            NoticeTemplate.PROMISE_TO_PAY_RECORDED,
            f"promise:{event.event_id}",
        )

    # -- invoices ---------------------------------------------------------------

    def issue(
        self,
        state: ServiceState,
        now: datetime,
        out: Transition,
        *,
        kind: Any,
        amount: Money,
        period_index: int | None,
        covers_until: datetime | None,
        invoice_id: str,
        due_on: Any = None,
    ) -> None:
        due = self.policy.billing.invoice_due
        assert due is not None
        if due_on is None:
            due_on = self.contract.last_day(now, due)
        due_at = self.due_at(due_on)
        invoice = Invoice(
            invoice_id=invoice_id,
            kind=kind,
            amount=amount,
            paid=Money.zero(amount.currency),
            issued_at=now,
            due_at=due_at,
            due_on=due_on,
            clause=due.clause,
            period_index=period_index,
            covers_until=covers_until,
        )
        state.invoices.append(invoice)
        self.contract.emit(
            state,
            out,
            now,
            EntryType.INVOICE_ISSUED,
            due.clause,
            self.invoice_detail(invoice),
            NoticeTemplate.INVOICE_ISSUED,
            f"invoice:{invoice_id}",
        )
        self.apply_balance(state, now, out)

    def apply_balance(self, state: ServiceState, now: datetime, out: Transition) -> None:
        """Pay open invoices from the balance: service periods first, then extras, then fees."""
        while state.balance.is_positive and state.open_invoices:
            invoice = min(state.open_invoices, key=lambda i: (PAYMENT_ORDER[i.kind], i.due_at))
            part = invoice.outstanding.min(state.balance)
            invoice.paid = invoice.paid + part
            invoice.installments.append(Installment(at=now, amount=part))
            state.balance = state.balance - part
            if invoice.is_paid:
                self._on_invoice_paid(state, invoice, now, out)

    def _on_invoice_paid(self, state: ServiceState, invoice: Invoice, now: datetime, out: Transition) -> None:
        if invoice.kind == "period" and invoice.covers_until is None and invoice.period_index:
            invoice.covers_until = self.contract.boundary(state, invoice.period_index + 1)
        if invoice.covers_until and (state.paid_until is None or invoice.covers_until > state.paid_until):
            state.paid_until = invoice.covers_until
        rule = self.policy.late_fee
        if rule is None or invoice.kind == "late_fee" or now < invoice.due_at:
            return
        if state.billing_anchor is None:  # not yet active: nothing was provided late
            return
        if rule.applies_to == "credit_invoices" and invoice.kind != "extra":
            return
        fee = assess_late_fee(invoice, now, rule, self.contract.tz)
        if not fee.fee.is_positive:
            return
        state.late_fees_charged = state.late_fees_charged + fee.fee
        detail = {
            "amount": str(fee.fee.amount),
            "currency": fee.fee.currency,
            "days_late": fee.days_late,
            "capped": fee.capped,
            "base": rule.base,
            "invoice_id": invoice.invoice_id,
            "rate_per_day": str(rule.rate_per_day),
            "cap_ratio": str(rule.cap_ratio) if rule.cap_ratio is not None else None,
        }
        self.contract.emit(
            state,
            out,
            now,
            EntryType.LATE_FEE,
            rule.clause,
            detail,
            NoticeTemplate.LATE_FEE_CHARGED,
            f"late_fee:{invoice.invoice_id}",
        )
        fee_term = rule.fee_invoice_due
        fee_due_on = self.contract.last_day(now, fee_term) if fee_term else local_date(now, self.contract.tz)
        state.invoices.append(
            Invoice(
                invoice_id=f"fee-{invoice.invoice_id}",
                kind="late_fee",
                amount=fee.fee,
                paid=Money.zero(fee.fee.currency),
                issued_at=now,
                due_at=self.due_at(fee_due_on),
                due_on=fee_due_on,
                clause=fee_term.clause if fee_term else rule.clause,
            )
        )

    def close_open_invoices(self, state: ServiceState, at: datetime) -> None:
        """Nothing is owed for time after ``at``: later periods are voided, the current one
        is billed up to ``at`` (what was paid beyond it goes back to the balance)."""
        if (
            self.policy.billing.restart_after_suspension
            and state.suspended_at
            and SuspensionReason.NON_PAYMENT in state.suspension_reasons
        ):
            at = min(at, state.suspended_at)  # blocked time is not billed (ONELAB 5.1)
        for invoice in list(state.open_invoices):
            if invoice.kind != "period" or invoice.period_index is None:
                continue
            if state.billing_anchor is None:
                state.invoices.remove(invoice)  # never activated: nothing was provided
                continue
            start, end = self._span(state, invoice)
            if start >= at:
                state.invoices.remove(invoice)
                state.balance = state.balance + invoice.paid
            elif end > at:
                invoice.amount = prorate(invoice.amount, start, end, start, at, self.contract.tz).rounded()
                invoice.covers_until = at
                if invoice.paid.amount > invoice.amount.amount:
                    state.balance = state.balance + (invoice.paid - invoice.amount)
                    invoice.paid = invoice.amount

    def _span(self, state: ServiceState, invoice: Invoice) -> tuple[datetime, datetime]:
        assert invoice.period_index is not None
        start = self.contract.boundary(state, invoice.period_index)
        return start, invoice.covers_until or self.contract.boundary(state, invoice.period_index + 1)

    def paid_spans(self, state: ServiceState) -> list[tuple[datetime, datetime, Money]]:
        if state.billing_anchor is None:
            return []
        spans = []
        for invoice in state.invoices:
            if invoice.kind == "period" and invoice.is_paid and invoice.period_index is not None:
                start, end = self._span(state, invoice)
                spans.append((start, end, invoice.amount))
        return spans

    def keeps_paid_invoice(self, state: ServiceState, invoice: Invoice) -> bool:
        """Paid period invoices stay while their time is not used up (refunds prorate them)."""
        if invoice.kind != "period" or invoice.period_index is None or state.period_start is None:
            return False
        return self._span(state, invoice)[1] > state.period_start

    def _invoice(self, state: ServiceState, invoice_id: str) -> Invoice:
        return next(i for i in state.invoices if i.invoice_id == invoice_id)

    def invoice_detail(self, invoice: Invoice) -> dict[str, Any]:
        return {
            "invoice_id": invoice.invoice_id,
            "amount": str(invoice.amount.amount),
            "currency": invoice.amount.currency,
            "due_at": invoice.due_at.isoformat(),
            "due_on": invoice.due_on.isoformat(),
            "kind": invoice.kind,
            "covers_until": iso(invoice.covers_until),
        }
