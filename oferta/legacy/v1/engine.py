"""The contract state machine: given a policy and what has happened, what comes next.

``Contract.next_deadline`` names the next step the contract makes happen by
itself (with its clause); ``on_deadline`` and ``on_event`` apply a step or a
billing input to the state and return the effects to carry out: timeline
entries, notices, provisioning calls and refunds. The workflow only waits for
the deadline or an input and carries out the effects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from oferta.legacy.v1.calendar import add_term, subtract_term
from oferta.legacy.v1.charges import assess_late_fee, prorate
from oferta.legacy.v1.notices import Delivery, NoticeIntent, deliveries_for
from oferta.legacy.v1.periods import period_boundary
from oferta.legacy.v1.schema import NoticeTemplate, Policy, RefundDestination, Term
from oferta.legacy.v1.state import (
    BillingEvent,
    Deadline,
    EntryType,
    EventType,
    ForceMajeure,
    Invoice,
    Phase,
    ServiceState,
    ServiceView,
    SuspensionReason,
    TariffChange,
    TimelineEntry,
)
from oferta.timeline.money import Money

ProvisionAction = Literal["activate", "suspend", "resume", "delete", "terminate"]


class ProvisionIntent(BaseModel):
    action: ProvisionAction
    key: str
    clause: str | None


class RefundIntent(BaseModel):
    key: str
    amount: Money
    due_by: datetime | None
    destination: RefundDestination
    clause: str | None


class Transition(BaseModel):
    """The effects of one step, in the order they are to be carried out."""

    entries: list[TimelineEntry] = Field(default_factory=list)
    deliveries: list[Delivery] = Field(default_factory=list)
    provisioning: list[ProvisionIntent] = Field(default_factory=list)
    refunds: list[RefundIntent] = Field(default_factory=list)
    new_period: bool = False
    rejected: str | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class Contract:
    """One policy's rules applied to a service's state. Pure: no I/O, no clock."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.tz = policy.provider.timezone
        self.country = policy.provider.country

    # -- time --------------------------------------------------------------

    def after(self, start: datetime, term: Term) -> datetime:
        return add_term(start, term, self.country, self.tz)

    def before(self, end: datetime, term: Term) -> datetime:
        return subtract_term(end, term, self.country, self.tz)

    def boundary(self, state: ServiceState, index: int) -> datetime:
        assert state.billing_anchor is not None
        return period_boundary(state.billing_anchor, index, state.spec.period, self.tz)

    # -- the next deadline -------------------------------------------------

    def next_deadline(self, state: ServiceState) -> Deadline | None:
        candidates = self._candidates(state)
        return min(candidates, key=lambda d: d.at) if candidates else None

    def _candidates(self, state: ServiceState) -> list[Deadline]:
        if state.terminal:
            return []
        found: list[Deadline] = []
        if state.pending_notices:
            first = min(state.pending_notices, key=lambda d: d.send_at)
            found.append(
                Deadline(
                    at=first.send_at,
                    action="send_notice",
                    clause=first.clause,
                    detail={"template": first.template.value},
                )
            )
        policy = self.policy
        if state.force_majeure:
            limit = policy.force_majeure.terminate_after
            if limit:
                found.append(
                    Deadline(
                        at=self.after(state.force_majeure.started_at, limit),
                        action="terminate_force_majeure",
                        clause=limit.clause,
                    )
                )
            return found
        if state.cancellation_effective_at:
            notice = policy.termination.customer_notice
            found.append(
                Deadline(
                    at=state.cancellation_effective_at,
                    action="terminate",
                    clause=notice.clause if notice else None,
                )
            )
        if state.consent_terminate_at:
            term = policy.termination.consent_withdrawal_terminate_after
            found.append(
                Deadline(
                    at=state.consent_terminate_at,
                    action="terminate_consent",
                    clause=term.clause if term else None,
                )
            )
        found += self._debt_deadlines(state)
        found += self._billing_deadlines(state)
        return found

    def _debt_deadlines(self, state: ServiceState) -> list[Deadline]:
        rules = self.policy.suspension
        found: list[Deadline] = []
        overdue = self._billable_unpaid(state)
        if not overdue or state.billing_anchor is None:
            return found
        oldest = min(overdue, key=lambda i: i.due_at)
        suspended = SuspensionReason.NON_PAYMENT in state.suspension_reasons
        if not suspended:
            for n, term in enumerate(self.policy.billing.reminders_before_due):
                if n < oldest.reminders_sent:
                    continue
                at = self.before(oldest.due_at, term)
                if at > oldest.issued_at:
                    found.append(
                        Deadline(
                            at=at,
                            action="remind",
                            clause=term.clause,
                            detail={"invoice_id": oldest.invoice_id},
                        )
                    )
                break
            found.append(
                Deadline(
                    at=self.after(oldest.due_at, rules.after_due),
                    action="suspend",
                    clause=rules.after_due.clause,
                    detail={"invoice_id": oldest.invoice_id},
                )
            )
        deletion = self.deletion_at(state)
        if deletion and (suspended or rules.data_deletion_anchor == "due_date"):
            warning = rules.deletion_warning_before
            if warning and not state.deletion_warned:
                at = self.before(deletion, warning)
                if state.suspended_at is None or at > state.suspended_at:
                    found.append(
                        Deadline(
                            at=at,
                            action="warn_deletion",
                            clause=warning.clause,
                            detail={"deletion_at": deletion.isoformat()},
                        )
                    )
            found.append(
                Deadline(
                    at=deletion,
                    action="delete_data",
                    clause=rules.data_deletion_after.clause if rules.data_deletion_after else None,
                )
            )
        debt_term = rules.terminate_for_debt_after
        if debt_term:
            anchor = {
                "invoice_issued": oldest.issued_at,
                "due_date": oldest.due_at,
                "suspension": state.suspended_at,
            }[rules.terminate_for_debt_anchor]
            if anchor is not None:
                found.append(
                    Deadline(
                        at=self.after(anchor, debt_term), action="terminate_for_debt", clause=debt_term.clause
                    )
                )
        return found

    def deletion_at(self, state: ServiceState) -> datetime | None:
        rules = self.policy.suspension
        if rules.data_deletion_after is None:
            return None
        if rules.data_deletion_anchor == "suspension":
            if SuspensionReason.NON_PAYMENT not in state.suspension_reasons:
                return None
            anchor = state.suspended_at
        else:
            anchor = state.debt_since
        return self.after(anchor, rules.data_deletion_after) if anchor else None

    def _billing_deadlines(self, state: ServiceState) -> list[Deadline]:
        if state.billing_anchor is None or state.period_end is None:
            return []
        found: list[Deadline] = []
        if state.paid_until and state.paid_until > state.period_end:
            found.append(
                Deadline(
                    at=state.period_end,
                    action="start_period",
                    clause=None,
                    detail={"period": state.period_index + 1},
                )
            )
        elif self._renewal_due(state):
            lead = self.policy.billing.renewal_invoice_lead
            found.append(
                Deadline(
                    at=self.before(state.period_end, lead),
                    action="issue_invoice",
                    clause=lead.clause,
                    detail={"period": state.period_index + 1},
                )
            )
        return found

    def _renewal_due(self, state: ServiceState) -> bool:
        if SuspensionReason.NON_PAYMENT in state.suspension_reasons:
            return False
        next_index = state.period_index + 1
        if any(i.kind == "period" and i.period_index == next_index for i in state.invoices):
            return False
        effective = state.cancellation_effective_at
        return not (effective and state.period_end and effective <= state.period_end)

    def _billable_unpaid(self, state: ServiceState) -> list[Invoice]:
        return [i for i in state.open_invoices if i.kind != "late_fee"]

    # -- steps the contract takes by itself ----------------------------------

    def on_deadline(self, state: ServiceState, deadline: Deadline, now: datetime) -> Transition:
        out = Transition()
        handler = getattr(self, f"_do_{deadline.action}")
        handler(state, deadline, now, out)
        return out

    def _do_send_notice(self, state, deadline, now, out: Transition) -> None:
        due = [d for d in state.pending_notices if d.send_at <= now]
        state.pending_notices = [d for d in state.pending_notices if d.send_at > now]
        out.deliveries += due

    def _do_start_period(self, state, deadline, now, out: Transition) -> None:
        state.period_index += 1
        state.period_start = state.period_end
        state.period_end = self.boundary(state, state.period_index + 1)
        change = state.tariff_change
        if change and change.effective_at <= state.period_start:
            state.spec = state.spec.model_copy(update={"price": change.price, "tariff": change.tariff})
            state.tariff_change = None
        state.invoices = [i for i in state.invoices if not i.is_paid]
        state.deletion_warned = False
        out.new_period = True

    def _do_issue_invoice(self, state, deadline, now, out: Transition) -> None:
        index = state.period_index + 1
        start, end = self.boundary(state, index), self.boundary(state, index + 1)
        price = self._price_for(state, start)
        amount, covers_until = price, end
        effective = state.cancellation_effective_at
        if effective and effective < end:
            # 5.17-style: the last, incomplete period is paid up to the date of cessation.
            amount = prorate(price, start, end, start, effective, self.tz)
            covers_until = effective
        self._issue(
            state,
            now,
            out,
            kind="period",
            amount=amount,
            period_index=index,
            covers_until=covers_until,
            invoice_id=f"p{index}",
            clause=self.policy.billing.renewal_invoice_lead.clause,
        )

    def _do_remind(self, state, deadline, now, out: Transition) -> None:
        invoice = self._invoice(state, deadline.detail["invoice_id"])
        invoice.reminders_sent += 1
        detail = self._invoice_detail(invoice)
        self._emit(
            state,
            out,
            now,
            EntryType.REMINDER,
            deadline.clause,
            detail,
            NoticeTemplate.PAYMENT_REMINDER,
            f"reminder:{invoice.invoice_id}:{invoice.reminders_sent}",
        )

    def _do_suspend(self, state, deadline, now, out: Transition) -> None:
        invoice = self._invoice(state, deadline.detail["invoice_id"])
        state.debt_since = state.debt_since or invoice.due_at
        self._suspend(
            state,
            now,
            out,
            SuspensionReason.NON_PAYMENT,
            deadline.clause,
            key=f"suspended:{invoice.invoice_id}",
        )

    def _do_warn_deletion(self, state, deadline, now, out: Transition) -> None:
        state.deletion_warned = True
        detail = {
            "deletion_at": deadline.detail["deletion_at"],
            "debt": str(state.debt().amount),
            "currency": state.spec.price.currency,
        }
        out.deliveries += self._deliveries(
            state,
            now,
            NoticeIntent(
                template=NoticeTemplate.DELETION_WARNING,
                key=f"deletion_warning:{state.debt_since}",
                clause=deadline.clause,
                detail=self._common(state) | detail,
            ),
        )

    def _do_delete_data(self, state, deadline, now, out: Transition) -> None:
        state.terminal = "deleted"
        detail = {"debt": str(state.debt().amount), "currency": state.spec.price.currency}
        self._emit(
            state, out, now, EntryType.DELETED, deadline.clause, detail, NoticeTemplate.DELETED, "deleted"
        )
        out.provisioning.append(ProvisionIntent(action="delete", key="delete", clause=deadline.clause))
        self._settle(state, now, out)

    def _do_terminate_for_debt(self, state, deadline, now, out: Transition) -> None:
        self._terminate(state, now, out, "debt", deadline.clause)

    def _do_terminate(self, state, deadline, now, out: Transition) -> None:
        self._terminate(state, now, out, "customer_notice", deadline.clause)

    def _do_terminate_consent(self, state, deadline, now, out: Transition) -> None:
        self._terminate(state, now, out, "consent_withdrawn", deadline.clause)

    def _do_terminate_force_majeure(self, state, deadline, now, out: Transition) -> None:
        self._terminate(state, now, out, "force_majeure", deadline.clause)

    # -- inputs from billing and operations -------------------------------------

    def refusal(self, state: ServiceState, event: BillingEvent) -> str | None:
        """Why an input cannot be applied now, or None when it can."""
        if state.terminal:
            return f"the service is {state.terminal}; {event.type.value} cannot be applied"
        currency = state.spec.price.currency
        policy = self.policy
        match event.type:
            case EventType.PAYMENT | EventType.INVOICE:
                if event.amount is None or not event.amount.is_positive:
                    return "amount must be a positive sum"
                if event.amount.currency != currency:
                    return f"currency {event.amount.currency} differs from the service's {currency}"
            case EventType.TARIFF_CHANGE:
                if event.new_price is None or not event.new_price.is_positive:
                    return "new_price must be a positive sum"
                if event.new_price.currency != currency:
                    return f"currency {event.new_price.currency} differs from the service's {currency}"
            case EventType.CANCEL_REQUEST:
                if policy.termination.customer_notice is None:
                    right = policy.termination.customer_right
                    return f"the contract gives no termination by notice ({right.clause}): {right.text}"
                if state.cancellation_effective_at:
                    return "a cancellation is already pending"
            case EventType.CANCEL_WITHDRAWN:
                if not state.cancellation_effective_at:
                    return "no cancellation is pending"
            case EventType.FORCE_MAJEURE_START:
                if state.force_majeure:
                    return "a force majeure is already in effect"
            case EventType.FORCE_MAJEURE_END:
                if not state.force_majeure:
                    return "no force majeure is in effect"
            case EventType.ABUSE_SUSPEND:
                if SuspensionReason.ABUSE in state.suspension_reasons:
                    return "the service is already suspended for abuse"
            case EventType.ABUSE_RESOLVED:
                if SuspensionReason.ABUSE not in state.suspension_reasons:
                    return "the service is not suspended for abuse"
            case EventType.CONSENT_WITHDRAWN:
                if policy.termination.consent_withdrawal_terminate_after is None:
                    return "the contract sets no rule for withdrawn consent"
                if SuspensionReason.CONSENT_WITHDRAWN in state.suspension_reasons:
                    return "consent is already withdrawn"
        return None

    def on_event(self, state: ServiceState, event: BillingEvent, now: datetime) -> Transition:
        out = Transition()
        reason = self.refusal(state, event)
        if reason:
            out.rejected = reason
            return out
        getattr(self, f"_on_{event.type.value}")(state, event, now, out)
        state.remember(event.event_id)
        return out

    def _on_payment(self, state, event: BillingEvent, now, out: Transition) -> None:
        assert event.amount is not None
        state.balance = state.balance + event.amount
        detail = {
            "amount": str(event.amount.amount),
            "currency": event.amount.currency,
            "event_id": event.event_id,
        }
        self._emit(
            state,
            out,
            now,
            EntryType.PAYMENT_RECEIVED,
            self.policy.billing.model_clause,
            detail,
            NoticeTemplate.PAYMENT_RECEIVED,
            f"payment:{event.event_id}",
        )
        self._apply_balance(state, now, out)
        if state.billing_anchor is None and self._first_invoice_paid(state):
            self._activate(state, now, out)
        self._resume_if_settled(state, now, out)

    def _on_invoice(self, state, event: BillingEvent, now, out: Transition) -> None:
        assert event.amount is not None
        due_term = self.policy.billing.invoice_due
        due_at = event.due_at or (self.after(now, due_term) if due_term else now)
        self._issue(
            state,
            now,
            out,
            kind="extra",
            amount=event.amount,
            period_index=None,
            covers_until=None,
            invoice_id=event.invoice_id or f"x-{event.event_id}",
            clause=due_term.clause if due_term else self.policy.billing.model_clause,
            due_at=due_at,
        )

    def _on_cancel_request(self, state, event: BillingEvent, now, out: Transition) -> None:
        notice = self.policy.termination.customer_notice
        assert notice is not None
        earliest = self.after(now, notice)
        effective = max(earliest, event.effective_at) if event.effective_at else earliest
        state.cancellation_requested_at = now
        state.cancellation_effective_at = effective
        # A renewal already billed for a period past the end is re-billed up to the end.
        # (Before the first payment there is no billing anchor, hence no periods to re-bill.)
        for invoice in state.open_invoices:
            if invoice.kind == "period" and invoice.period_index is not None and state.billing_anchor:
                start = self.boundary(state, invoice.period_index)
                if start >= effective:
                    state.invoices.remove(invoice)
        self._emit(
            state,
            out,
            now,
            EntryType.TERMINATION_REQUESTED,
            notice.clause,
            {"effective_at": effective.isoformat(), "reason": event.reason},
            NoticeTemplate.TERMINATION_REQUESTED,
            f"termination_requested:{event.event_id}",
        )

    def _on_cancel_withdrawn(self, state, event: BillingEvent, now, out: Transition) -> None:
        clause = self.policy.termination.customer_right.clause
        was = state.cancellation_effective_at
        state.cancellation_effective_at = None
        state.cancellation_requested_at = None
        self._emit(
            state,
            out,
            now,
            EntryType.TERMINATION_WITHDRAWN,
            clause,
            {"was_effective_at": _iso(was)},
            NoticeTemplate.TERMINATION_WITHDRAWN,
            f"termination_withdrawn:{event.event_id}",
        )

    def _on_force_majeure_start(self, state, event: BillingEvent, now, out: Transition) -> None:
        rules = self.policy.force_majeure
        fm_id = event.force_majeure_id or event.event_id
        state.force_majeure = ForceMajeure(force_majeure_id=fm_id, started_at=now)
        detail: dict[str, Any] = {"force_majeure_id": fm_id, "reason": event.reason}
        if rules.notice_within:
            detail["notify_by"] = self.after(now, rules.notice_within).isoformat()
        if rules.terminate_after:
            detail["terminates_at"] = self.after(now, rules.terminate_after).isoformat()
        clause = rules.notice_within.clause if rules.notice_within else rules.clause
        self._emit(
            state,
            out,
            now,
            EntryType.FORCE_MAJEURE_STARTED,
            clause,
            detail,
            NoticeTemplate.FORCE_MAJEURE_STARTED,
            f"force_majeure_started:{fm_id}",
        )

    def _on_force_majeure_end(self, state, event: BillingEvent, now, out: Transition) -> None:
        rules = self.policy.force_majeure
        assert state.force_majeure is not None
        lasted = now - state.force_majeure.started_at
        fm_id = state.force_majeure.force_majeure_id
        state.force_majeure = None
        if rules.deadlines_extended:
            state.shift_deadlines(lasted)
        detail = {
            "force_majeure_id": fm_id,
            "lasted_days": lasted.days,
            "deadlines_extended": rules.deadlines_extended,
        }
        self._emit(
            state,
            out,
            now,
            EntryType.FORCE_MAJEURE_ENDED,
            rules.clause,
            detail,
            NoticeTemplate.FORCE_MAJEURE_ENDED,
            f"force_majeure_ended:{fm_id}",
        )

    def _on_abuse_suspend(self, state, event: BillingEvent, now, out: Transition) -> None:
        rule = self.policy.suspension.abuse
        self._suspend(
            state,
            now,
            out,
            SuspensionReason.ABUSE,
            rule.clause if rule else None,
            key=f"suspended:abuse:{event.event_id}",
            note=event.reason,
        )

    def _on_abuse_resolved(self, state, event: BillingEvent, now, out: Transition) -> None:
        state.suspension_reasons.remove(SuspensionReason.ABUSE)
        rule = self.policy.suspension.abuse
        if not state.suspension_reasons:
            self._resume(state, now, out, rule.clause if rule else None, f"abuse:{event.event_id}")

    def _on_consent_withdrawn(self, state, event: BillingEvent, now, out: Transition) -> None:
        term = self.policy.termination.consent_withdrawal_terminate_after
        assert term is not None
        state.consent_terminate_at = self.after(now, term)
        self._suspend(
            state,
            now,
            out,
            SuspensionReason.CONSENT_WITHDRAWN,
            term.clause,
            key=f"suspended:consent:{event.event_id}",
            extra={"terminates_at": state.consent_terminate_at.isoformat()},
        )

    def _on_tariff_change(self, state, event: BillingEvent, now, out: Transition) -> None:
        assert event.new_price is not None
        rule = self.policy.tariff_change
        earliest = self.after(now, rule.notice) if rule.notice else now
        effective = max(earliest, event.effective_at) if event.effective_at else earliest
        tariff = event.new_tariff or state.spec.tariff
        state.tariff_change = TariffChange(tariff=tariff, price=event.new_price, effective_at=effective)
        detail = {
            "tariff": tariff,
            "new_price": str(event.new_price.amount),
            "currency": event.new_price.currency,
            "effective_at": effective.isoformat(),
        }
        self._emit(
            state,
            out,
            now,
            EntryType.TARIFF_CHANGE_ANNOUNCED,
            rule.clause,
            detail,
            NoticeTemplate.TARIFF_CHANGE_ANNOUNCED,
            f"tariff_change:{event.event_id}",
        )

    # -- building blocks ----------------------------------------------------

    def start(self, state: ServiceState, now: datetime) -> Transition:
        """A new service: a trial starts at once, otherwise the first invoice is issued."""
        out = Transition()
        trial = self.policy.trial
        if state.spec.trial and trial:
            # The trial runs before period 0; paid periods are counted from its end.
            trial_end = self.after(now, trial.length)
            state.billing_anchor = trial_end
            state.period_index = -1
            state.period_start, state.period_end, state.paid_until = now, trial_end, trial_end
            self._emit(
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
            return out
        due_term = self.policy.billing.invoice_due
        due_at = self.after(now, due_term) if due_term else now
        self._issue(
            state,
            now,
            out,
            kind="period",
            amount=state.spec.price,
            period_index=0,
            covers_until=None,
            invoice_id="p0",
            clause=self.policy.billing.model_clause,
            due_at=due_at,
        )
        return out

    def _first_invoice_paid(self, state: ServiceState) -> bool:
        return any(i.invoice_id == "p0" and i.is_paid for i in state.invoices)

    def _activate(self, state: ServiceState, now: datetime, out: Transition) -> None:
        state.billing_anchor = now
        state.period_index = 0
        state.period_start = now
        state.period_end = self.boundary(state, 1)
        state.paid_until = state.period_end
        clause = self.policy.billing.model_clause
        self._emit(
            state,
            out,
            now,
            EntryType.ACTIVATED,
            clause,
            {"paid_until": state.paid_until.isoformat()},
            NoticeTemplate.ACTIVATED,
            "activated",
        )
        out.provisioning.append(ProvisionIntent(action="activate", key="activate", clause=clause))

    def _issue(
        self,
        state: ServiceState,
        now: datetime,
        out: Transition,
        *,
        kind,
        amount: Money,
        period_index: int | None,
        covers_until: datetime | None,
        invoice_id: str,
        clause: str | None,
        due_at: datetime | None = None,
    ) -> None:
        if due_at is None:
            due_term = self.policy.billing.invoice_due
            due_at = self.after(now, due_term) if due_term else (state.period_end or now)
        invoice = Invoice(
            invoice_id=invoice_id,
            kind=kind,
            amount=amount,
            paid=Money.zero(amount.currency),
            issued_at=now,
            due_at=due_at,
            clause=clause,
            period_index=period_index,
            covers_until=covers_until,
        )
        state.invoices.append(invoice)
        self._emit(
            state,
            out,
            now,
            EntryType.INVOICE_ISSUED,
            clause,
            self._invoice_detail(invoice),
            NoticeTemplate.INVOICE_ISSUED,
            f"invoice:{invoice_id}",
        )
        self._apply_balance(state, now, out)

    def _apply_balance(self, state: ServiceState, now: datetime, out: Transition) -> None:
        """Pay open invoices from the balance: service periods first, then extras, then fees."""
        order = {"period": 0, "extra": 1, "late_fee": 2}
        # Paying an invoice late adds a fee invoice, which the rest of the balance pays too.
        while state.balance.is_positive and state.open_invoices:
            invoice = min(state.open_invoices, key=lambda i: (order[i.kind], i.due_at))
            part = invoice.outstanding.min(state.balance)
            invoice.paid = invoice.paid + part
            state.balance = state.balance - part
            if invoice.is_paid:
                self._on_invoice_paid(state, invoice, now, out)

    def _on_invoice_paid(self, state: ServiceState, invoice: Invoice, now: datetime, out: Transition) -> None:
        if invoice.kind == "period" and invoice.covers_until is None and invoice.period_index:
            invoice.covers_until = self.boundary(state, invoice.period_index + 1)
        if invoice.covers_until and (state.paid_until is None or invoice.covers_until > state.paid_until):
            state.paid_until = invoice.covers_until
        rule = self.policy.late_fee
        if rule is None or invoice.kind == "late_fee" or now <= invoice.due_at:
            return
        if state.billing_anchor is None:  # not yet active: nothing was provided late
            return
        if rule.applies_to == "credit_invoices" and invoice.kind != "extra":
            return
        fee = assess_late_fee(invoice.amount, invoice.due_at, now, rule, self.tz)
        if not fee.fee.is_positive:
            return
        state.late_fees_charged = state.late_fees_charged + fee.fee
        detail = {
            "amount": str(fee.fee.amount),
            "currency": fee.fee.currency,
            "days_late": fee.days_late,
            "capped": fee.capped,
            "invoice_id": invoice.invoice_id,
            "rate_per_day": str(rule.rate_per_day),
            "cap_ratio": str(rule.cap_ratio) if rule.cap_ratio is not None else None,
        }
        self._emit(
            state,
            out,
            now,
            EntryType.LATE_FEE,
            rule.clause,
            detail,
            NoticeTemplate.LATE_FEE_CHARGED,
            f"late_fee:{invoice.invoice_id}",
        )
        fee_due = self.after(now, rule.fee_invoice_due) if rule.fee_invoice_due else now
        state.invoices.append(
            Invoice(
                invoice_id=f"fee-{invoice.invoice_id}",
                kind="late_fee",
                amount=fee.fee,
                paid=Money.zero(fee.fee.currency),
                issued_at=now,
                due_at=fee_due,
                clause=rule.fee_invoice_due.clause if rule.fee_invoice_due else rule.clause,
            )
        )

    def _suspend(
        self,
        state: ServiceState,
        now: datetime,
        out: Transition,
        reason: SuspensionReason,
        clause: str | None,
        key: str,
        note: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        already = bool(state.suspension_reasons)
        state.suspension_reasons.append(reason)
        if reason is SuspensionReason.NON_PAYMENT:
            state.suspended_at = now
        detail: dict[str, Any] = {
            "reason": reason.value,
            "note": note,
            "debt": str(state.debt().amount),
            "currency": state.spec.price.currency,
        } | (extra or {})
        rules = self.policy.suspension
        if reason is SuspensionReason.NON_PAYMENT:
            if rules.grace_to_restore:
                detail["restore_until"] = self.after(now, rules.grace_to_restore).isoformat()
            deletion = self.deletion_at(state)
            if deletion:
                detail["deletion_at"] = deletion.isoformat()
        self._emit(state, out, now, EntryType.SUSPENDED, clause, detail, NoticeTemplate.SUSPENDED, key)
        if not already:
            out.provisioning.append(ProvisionIntent(action="suspend", key=key, clause=clause))

    def _resume_if_settled(self, state: ServiceState, now: datetime, out: Transition) -> None:
        if SuspensionReason.NON_PAYMENT not in state.suspension_reasons:
            if not self._billable_unpaid(state):
                state.debt_since = None
            return
        if self._billable_unpaid(state):
            return
        state.suspension_reasons.remove(SuspensionReason.NON_PAYMENT)
        state.suspended_at = None
        state.debt_since = None
        state.deletion_warned = False
        if not state.suspension_reasons:
            restore = self.policy.suspension.restore_within
            self._resume(
                state,
                now,
                out,
                restore.clause if restore else None,
                f"payment:{state.period_index}:{now.isoformat()}",
            )

    def _resume(
        self, state: ServiceState, now: datetime, out: Transition, clause: str | None, key: str
    ) -> None:
        detail: dict[str, Any] = {}
        restore = self.policy.suspension.restore_within
        if restore:
            detail["restore_by"] = self.after(now, restore).isoformat()
        self._emit(
            state, out, now, EntryType.RESUMED, clause, detail, NoticeTemplate.RESUMED, f"resumed:{key}"
        )
        out.provisioning.append(ProvisionIntent(action="resume", key=f"resume:{key}", clause=clause))

    def _terminate(
        self, state: ServiceState, now: datetime, out: Transition, reason: str, clause: str | None
    ) -> None:
        # Paid time that could not be used during a force majeure counts as unused.
        unused_from = state.force_majeure.started_at if state.force_majeure else now
        state.terminal = "terminated"
        state.force_majeure = None
        detail = {"reason": reason, "debt": str(state.debt().amount), "currency": state.spec.price.currency}
        self._emit(
            state, out, now, EntryType.TERMINATED, clause, detail, NoticeTemplate.TERMINATED, "terminated"
        )
        out.provisioning.append(ProvisionIntent(action="terminate", key="terminate", clause=clause))
        self._settle(state, now, out, unused_from)

    def unused_balance(self, state: ServiceState, at: datetime) -> Money:
        """What the customer paid for time after ``at``, plus money not yet spent."""
        rules = self.policy.refunds
        total = state.balance
        if rules.proration == "none" or not rules.paid_tariff_refundable:
            return total
        for invoice in state.invoices:
            if invoice.kind != "period" or not invoice.is_paid or invoice.period_index is None:
                continue
            if invoice.period_index == 0 and not rules.first_period_refundable:
                continue
            if state.billing_anchor is None:
                continue
            start = self.boundary(state, invoice.period_index)
            end = invoice.covers_until or self.boundary(state, invoice.period_index + 1)
            if end > at:
                total = total + prorate(invoice.amount, start, end, at, end, self.tz)
        return total

    def _settle(
        self, state: ServiceState, now: datetime, out: Transition, unused_from: datetime | None = None
    ) -> None:
        """On closing: refund the unused balance, less any debt (5.25-style)."""
        rules = self.policy.refunds
        if rules.destination is RefundDestination.NONE:
            return
        amount = self.unused_balance(state, unused_from or now) - state.debt()
        if not amount.rounded().is_positive:
            return
        due_by = self.after(now, rules.deadline) if rules.deadline else None
        clause = rules.deadline.clause if rules.deadline else rules.destination_clause
        detail = {
            "amount": str(amount.rounded().amount),
            "currency": amount.currency,
            "due_by": _iso(due_by),
            "destination": rules.destination.value,
            "proration_clause": rules.proration_clause,
        }
        self._emit(
            state,
            out,
            now,
            EntryType.REFUND_DUE,
            clause,
            detail,
            NoticeTemplate.REFUND_SCHEDULED,
            "refund_scheduled",
        )
        out.refunds.append(
            RefundIntent(
                key="refund",
                amount=amount.rounded(),
                due_by=due_by,
                destination=rules.destination,
                clause=clause,
            )
        )

    def refund_paid(
        self, state: ServiceState, refund: RefundIntent, reference: str, now: datetime
    ) -> Transition:
        out = Transition()
        state.refunded = state.refunded + refund.amount
        detail = {
            "amount": str(refund.amount.amount),
            "currency": refund.amount.currency,
            "reference": reference,
            "destination": refund.destination.value,
        }
        self._emit(
            state,
            out,
            now,
            EntryType.REFUND_PAID,
            refund.clause,
            detail,
            NoticeTemplate.REFUND_PAID,
            f"refund_paid:{refund.key}",
        )
        return out

    def _price_for(self, state: ServiceState, period_start: datetime) -> Money:
        change = state.tariff_change
        if change and change.effective_at <= period_start:
            return change.price
        return state.spec.price

    def _invoice(self, state: ServiceState, invoice_id: str) -> Invoice:
        return next(i for i in state.invoices if i.invoice_id == invoice_id)

    def _invoice_detail(self, invoice: Invoice) -> dict[str, Any]:
        return {
            "invoice_id": invoice.invoice_id,
            "amount": str(invoice.amount.amount),
            "currency": invoice.amount.currency,
            "due_at": invoice.due_at.isoformat(),
            "kind": invoice.kind,
            "covers_until": _iso(invoice.covers_until),
        }

    def _common(self, state: ServiceState) -> dict[str, Any]:
        return {
            "service_id": state.spec.service_id,
            "tariff": state.spec.tariff,
            "provider": self.policy.provider.name,
            "policy_id": self.policy.id,
            "service_kind": state.spec.kind,
        }

    def _deliveries(self, state: ServiceState, now: datetime, intent: NoticeIntent) -> list[Delivery]:
        ready = []
        for delivery in deliveries_for(intent, self.policy, now, state.period_index):
            if delivery.send_at > now:
                state.pending_notices.append(delivery)
            else:
                ready.append(delivery)
        return ready

    def _emit(
        self,
        state: ServiceState,
        out: Transition,
        now: datetime,
        type_: EntryType,
        clause: str | None,
        detail: dict[str, Any],
        template: NoticeTemplate,
        key: str,
    ) -> None:
        entry = TimelineEntry(at=now, type=type_, clause=clause, detail=detail)
        state.record(entry)
        out.entries.append(entry)
        out.deliveries += self._deliveries(
            state,
            now,
            NoticeIntent(template=template, key=key, clause=clause, detail=self._common(state) | detail),
        )

    # -- views ---------------------------------------------------------------

    def view(self, state: ServiceState) -> ServiceView:
        return ServiceView(
            service_id=state.spec.service_id,
            policy_id=self.policy.id,
            state=state.phase,
            suspension_reasons=list(state.suspension_reasons),
            period_index=state.period_index,
            paid_until=state.paid_until,
            balance=state.balance,
            debt=state.debt(),
            next_deadline=self.next_deadline(state),
            applied_events=len(state.applied_event_ids),
        )


def describe(view: ServiceView) -> str:
    """One line in words for operators: the state, the next step, its date and clause."""
    text = f"{view.state.value}"
    if view.suspension_reasons:
        text += f" ({', '.join(r.value for r in view.suspension_reasons)})"
    deadline = view.next_deadline
    if deadline:
        clause = f" per clause {deadline.clause}" if deadline.clause else ""
        text += f"; next: {deadline.action.replace('_', ' ')} at {deadline.at.isoformat()}{clause}"
    return text


__all__ = ["Contract", "Phase", "ProvisionIntent", "RefundIntent", "Transition", "describe"]
