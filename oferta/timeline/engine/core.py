"""The contract engine's core: contract time, dispatch, and the steps every model shares.

Pure: no I/O, no clock. ``now`` always comes from the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from oferta.policy.schema import NoticeTemplate, PaymentModel, Policy, Term, TimeUnit
from oferta.timeline.calendar import add_calendar_days, add_months
from oferta.timeline.engine.amendments import Amendments
from oferta.timeline.engine.balance import BalanceBilling
from oferta.timeline.engine.billing import BillingModel
from oferta.timeline.engine.effects import ProvisionIntent, RefundIntent, Transition, iso
from oferta.timeline.engine.exits import Exits
from oferta.timeline.engine.invoice import InvoiceBilling
from oferta.timeline.engine.overrides import Overrides
from oferta.timeline.engine.tariff import TariffPurchaseBilling
from oferta.timeline.money import Money
from oferta.timeline.notices import Delivery, NoticeIntent, deliveries_for
from oferta.timeline.periods import period_boundary
from oferta.timeline.state import (
    BillingEvent,
    Deadline,
    DeadlineAction,
    EntryType,
    EventType,
    ServiceSpec,
    ServiceState,
    ServiceView,
    SuspensionReason,
    TariffChange,
    TimelineEntry,
)
from oferta.timeline.terms import (
    TermRules,
    Unit,
    before,
    last_day,
    local_date,
    term_end,
    term_end_from_date,
)

BILLING_MODELS: dict[PaymentModel, type[BillingModel]] = {
    PaymentModel.INVOICE: InvoiceBilling,
    PaymentModel.BALANCE: BalanceBilling,
    PaymentModel.TARIFF_PURCHASE: TariffPurchaseBilling,
}

DeadlineHandler = Callable[[ServiceState, Deadline, datetime, Transition], None]
EventHandler = Callable[[ServiceState, BillingEvent, datetime, Transition], None]


class Contract:
    """One policy's rules applied to a service's state."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.tz = policy.provider.timezone
        self.country = policy.provider.country
        self.rules = TermRules(
            country=self.country,
            tz=self.tz,
            roll_last_day_off=policy.definitions.last_day_off == "next_working_day",
        )
        self.billing: BillingModel = BILLING_MODELS[policy.billing.model](self)
        self.exits = Exits(self)
        self.overrides = Overrides(self)
        self.amendments = Amendments(self)
        self._deadline_handlers: dict[DeadlineAction, DeadlineHandler] = {
            DeadlineAction.SEND_NOTICE: self._do_send_notice,
            **self.amendments.deadline_handlers(),
            **self.exits.deadline_handlers(),
            **self.billing.deadline_handlers(),
        }
        self._event_handlers: dict[EventType, EventHandler] = {
            EventType.ABUSE_SUSPEND: self._on_abuse_suspend,
            EventType.ABUSE_RESOLVED: self._on_abuse_resolved,
            EventType.TARIFF_CHANGE: self._on_tariff_change,
            **self.exits.event_handlers(),
            **self.billing.event_handlers(),
            **self.overrides.event_handlers(),
            **self.amendments.event_handlers(),
        }

    # -- contract time (law-terms.md; one module owns the arithmetic: terms.py) --

    def unit(self, term: Term) -> Unit:
        """A bare "day" means what the contract's definitions say (PS.kz 1.12: a working day)."""
        if term.unit is TimeUnit.DAYS:
            return Unit(self.policy.definitions.day.means)
        return Unit(term.unit.value)

    def after(self, start: datetime, term: Term) -> datetime:
        """When a term that starts with an event at ``start`` has run out (24:00 of its last day)."""
        return term_end(start, term.amount, self.unit(term), self.rules)

    def after_date(self, day: date, term: Term) -> datetime:
        """When a term counted from a calendar date (a due date) has run out."""
        return term_end_from_date(day, term.amount, self.unit(term), self.rules)

    def last_day(self, start: datetime, term: Term) -> date:
        """The last day of a term that starts with an event at ``start``."""
        return last_day(self.local_date(start), term.amount, self.unit(term), self.rules)

    def before(self, end: datetime, term: Term) -> datetime:
        """An operational lead: ``term`` before ``end``, same clock time."""
        return before(end, term.amount, self.unit(term), self.rules)

    def local_date(self, at: datetime) -> date:
        return local_date(at, self.tz)

    def boundary(self, state: ServiceState, index: int) -> datetime:
        assert state.billing_anchor is not None
        return period_boundary(state.billing_anchor, index - state.anchor_period, state.spec.period, self.tz)

    def span_end(self, start: datetime, term: Term) -> datetime:
        """The end of a span of service time (a minimum period), on the clock of ``start``."""
        if term.unit is TimeUnit.MONTHS:
            return add_months(start, term.amount, self.tz)
        if term.unit is TimeUnit.WEEKS:
            return add_calendar_days(start, 7 * term.amount, self.tz)
        return add_calendar_days(start, term.amount, self.tz)

    # -- the next deadline -------------------------------------------------

    def next_deadline(self, state: ServiceState) -> Deadline | None:
        candidates = [
            self.overrides.adjust(state, self.amendments.adjust(state, d)) for d in self.candidates(state)
        ]
        return min(candidates, key=lambda d: d.at) if candidates else None

    def candidates(self, state: ServiceState) -> list[Deadline]:
        """Every step the contract would take next, each at its own date (before overrides)."""
        if state.terminal:
            return []
        found: list[Deadline] = []
        if state.pending_notices:
            first = min(state.pending_notices, key=lambda d: d.send_at)
            found.append(
                Deadline(
                    at=first.send_at,
                    action=DeadlineAction.SEND_NOTICE,
                    clause=first.clause,
                    detail={"template": first.template.value},
                )
            )
        if state.force_majeure:
            found += self.exits.force_majeure_deadlines(state)
            if self.policy.force_majeure.deadlines_extended:
                # The contract extends its terms by the force majeure's length (PS.kz, SmartApe 8.2):
                # nothing runs out while it lasts; every date moves on when it ends.
                return found
            # Otherwise force majeure only excuses liability (registry.kz 7.13, Center Pro 11.1):
            # the contract keeps its course.
        found += self.exits.deadlines(state)
        found += self.billing.deadlines(state)
        found += self.amendments.deadlines(state)
        return found

    # -- steps the contract takes by itself ----------------------------------

    def on_deadline(self, state: ServiceState, deadline: Deadline, now: datetime) -> Transition:
        self.governs(state)
        out = Transition()
        self._deadline_handlers[deadline.action](state, deadline, now, out)
        return out

    def _do_send_notice(
        self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition
    ) -> None:
        out.deliveries += [d for d in state.pending_notices if d.send_at <= now]
        state.pending_notices = [d for d in state.pending_notices if d.send_at > now]

    # -- inputs from billing and operations -------------------------------------

    def refusal(self, state: ServiceState, event: BillingEvent, now: datetime) -> str | None:
        """Why an input cannot be applied now, or None when it can. The engine's refusals
        all come from here, each naming the clause or the fact that forbids it."""
        if state.terminal:
            if self.takes_payment_after_end(state) and event.type is EventType.PAYMENT:
                return self.billing.refusal(state, event, now)
            return closed_reason(state.terminal, event.type.value)
        currency = state.spec.price.currency
        for name in ("amount", "new_price"):
            money: Money | None = getattr(event, name)
            if money is not None and money.currency != currency:
                return f"{name}: currency {money.currency} differs from the service's {currency}"
        if event.type is EventType.TARIFF_CHANGE:
            if event.new_price is None or not event.new_price.is_positive:
                return "new_price must be a positive sum"
        elif event.type is EventType.ABUSE_SUSPEND:
            if SuspensionReason.ABUSE in state.suspension_reasons:
                return "the service is already suspended for abuse"
        elif event.type is EventType.ABUSE_RESOLVED:
            if SuspensionReason.ABUSE not in state.suspension_reasons:
                return "the service is not suspended for abuse"
        if event.type is EventType.OVERRIDE:
            return self.overrides.refusal(state, event, now)
        if event.type in (EventType.AMENDMENT, EventType.AMENDMENT_OBJECTION):
            return self.amendments.refusal(state, event, now)
        return self.exits.refusal(state, event, now) or self.billing.refusal(state, event, now)

    def on_event(self, state: ServiceState, event: BillingEvent, now: datetime) -> Transition:
        self.governs(state)
        out = Transition()
        reason = self.refusal(state, event, now)
        if reason:
            out.rejected = reason
            return out
        self._event_handlers[event.type](state, event, now, out)
        state.remember(event.event_id)
        return out

    def _on_abuse_suspend(
        self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition
    ) -> None:
        rule = self.policy.suspension.abuse
        self.suspend(
            state,
            now,
            out,
            SuspensionReason.ABUSE,
            rule.clause if rule else None,
            key=f"suspended:abuse:{event.event_id}",
            note=event.reason,
        )

    def _on_abuse_resolved(
        self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition
    ) -> None:
        state.suspension_reasons.remove(SuspensionReason.ABUSE)
        rule = self.policy.suspension.abuse
        if not state.suspension_reasons:
            self.resume(state, now, out, rule.clause if rule else None, f"abuse:{event.event_id}")

    def _on_tariff_change(
        self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition
    ) -> None:
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
        self.emit(
            state,
            out,
            now,
            EntryType.TARIFF_CHANGE_ANNOUNCED,
            rule.clause,
            detail,
            NoticeTemplate.TARIFF_CHANGE_ANNOUNCED,
            f"tariff_change:{event.event_id}",
        )

    # -- building blocks shared by the models -----------------------------------

    def start_refusal(self, spec: ServiceSpec) -> tuple[str, str] | None:
        """Why a service cannot start under this contract, as (field, reason), or None."""
        if spec.kind not in self.policy.service_kinds:
            kinds = ", ".join(self.policy.service_kinds)
            return "kind", f"the contract covers {kinds}, not {spec.kind}"
        refusal = self.trial_refusal(spec)
        return ("trial", refusal) if refusal else None

    def trial_refusal(self, spec: ServiceSpec) -> str | None:
        """Why a service cannot start on a trial, or None."""
        if not spec.trial:
            return None
        trial = self.policy.trial
        if trial is None:
            return "the contract offers no trial period"
        if spec.kind not in trial.service_kinds:
            kinds = ", ".join(trial.service_kinds)
            return f"the trial ({trial.length.clause}) exists only for {kinds}, not for {spec.kind}"
        return None

    def terminate(
        self,
        state: ServiceState,
        now: datetime,
        out: Transition,
        reason: str,
        clause: str | None,
        *,
        refund: bool = True,
        keep_minimum: bool = True,
        note: str | None = None,
    ) -> None:
        self.exits.terminate(
            state, now, out, reason, clause, refund=refund, keep_minimum=keep_minimum, note=note
        )

    def takes_payment_after_end(self, state: ServiceState) -> bool:
        """A debt that survives termination (SmartApe 2.2.5) can still be paid."""
        return state.terminal == "terminated" and state.debt().is_positive

    def governs(self, state: ServiceState) -> None:
        """Steps from here on are this version's (a service started before versions were kept
        learns its version on its first step)."""
        if state.policy_version is None:
            state.policy_version = self.policy.version

    def start(self, state: ServiceState, now: datetime) -> Transition:
        self.governs(state)
        out = Transition()
        self.billing.start(state, now, out)
        return out

    def price_for(self, state: ServiceState, period_start: datetime) -> Money:
        change = state.tariff_change
        if change and change.effective_at <= period_start:
            return change.price
        return state.spec.price

    def start_next_period(self, state: ServiceState, out: Transition) -> None:
        """The paid period ended and the next one, already paid, begins."""
        state.period_index += 1
        state.period_start = state.period_end
        state.period_end = self.boundary(state, state.period_index + 1)
        change = state.tariff_change
        if change and state.period_start and change.effective_at <= state.period_start:
            state.spec = state.spec.model_copy(update={"price": change.price, "tariff": change.tariff})
            state.tariff_change = None
        state.invoices = [
            i for i in state.invoices if not i.is_paid or self.billing.keeps_paid_invoice(state, i)
        ]
        state.deletion_warned = False
        out.new_period = True

    def anchor_periods(self, state: ServiceState, at: datetime) -> None:
        """Start a fresh run of periods at ``at`` (a first payment, a Tariff bought after a lapse)."""
        state.anchor_period = state.period_index + (1 if state.billing_anchor else 0)
        state.billing_anchor = at
        state.period_index = state.anchor_period
        state.period_start = at
        state.period_end = self.boundary(state, state.period_index + 1)
        state.paid_until = state.period_end

    def activate(self, state: ServiceState, now: datetime, out: Transition, clause: str | None) -> None:
        self.anchor_periods(state, now)
        assert state.paid_until is not None
        self.emit(
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

    def suspend(
        self,
        state: ServiceState,
        now: datetime,
        out: Transition,
        reason: SuspensionReason,
        clause: str | None,
        key: str,
        note: str | None = None,
        extra: dict[str, Any] | None = None,
        template: NoticeTemplate = NoticeTemplate.SUSPENDED,
    ) -> None:
        already = bool(state.suspension_reasons)
        state.suspension_reasons.append(reason)
        if reason is SuspensionReason.NON_PAYMENT:
            state.suspended_at = now
        detail: dict[str, Any] = {
            "reason": reason.value,
            "note": note,
            "debt": str(self.billing.overdue_amount(state, now).amount),
            "currency": state.spec.price.currency,
        } | (extra or {})
        if reason is SuspensionReason.NON_PAYMENT:
            detail |= self.billing.suspension_detail(state, now)
        self.emit(state, out, now, EntryType.SUSPENDED, clause, detail, template, key)
        if not already:
            out.provisioning.append(ProvisionIntent(action="suspend", key=key, clause=clause))

    def lift(
        self,
        state: ServiceState,
        reason: SuspensionReason,
        now: datetime,
        out: Transition,
        clause: str | None,
        key: str,
    ) -> None:
        """Lift one reason for suspension; resume when none is left."""
        state.suspension_reasons.remove(reason)
        if reason is SuspensionReason.NON_PAYMENT:
            state.suspended_at = None
            state.deletion_warned = False
            state.promised_payment_on = None
        if not state.suspension_reasons:
            self.resume(state, now, out, clause, key)

    def resume(
        self, state: ServiceState, now: datetime, out: Transition, clause: str | None, key: str
    ) -> None:
        detail: dict[str, Any] = {}
        restore = self.policy.suspension.restore_within
        if restore:
            detail["restore_by"] = self.after(now, restore).isoformat()
        self.emit(
            state, out, now, EntryType.RESUMED, clause, detail, NoticeTemplate.RESUMED, f"resumed:{key}"
        )
        out.provisioning.append(ProvisionIntent(action="resume", key=f"resume:{key}", clause=clause))

    def settle(
        self,
        state: ServiceState,
        now: datetime,
        out: Transition,
        unused_from: datetime | None = None,
        keep_minimum: bool = True,
        key: str = "refund",
    ) -> None:
        """On closing: refund the unused balance, less any debt (PS.kz 5.25, SmartApe 11.4)."""
        rules = self.policy.refunds
        if rules.destination.value == "none":
            return
        unused = self.billing.unused(state, unused_from or now, keep_minimum=keep_minimum)
        amount = (unused - state.debt()).rounded()
        if not amount.is_positive:
            return
        due_by = self.after(now, rules.deadline) if rules.deadline else None
        clause = rules.deadline.clause if rules.deadline else rules.destination_clause
        detail = {
            "amount": str(amount.amount),
            "currency": amount.currency,
            "due_by": iso(due_by),
            "destination": rules.destination.value,
            "proration_clause": rules.proration_clause,
        }
        self.emit(
            state,
            out,
            now,
            EntryType.REFUND_DUE,
            clause,
            detail,
            NoticeTemplate.REFUND_SCHEDULED,
            f"{key}_scheduled",
        )
        out.refunds.append(
            RefundIntent(key=key, amount=amount, due_by=due_by, destination=rules.destination, clause=clause)
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
        self.emit(
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

    def common_detail(self, state: ServiceState) -> dict[str, Any]:
        return {
            "service_id": state.spec.service_id,
            "tariff": state.spec.tariff,
            "provider": self.policy.provider.name,
            "policy_id": self.policy.id,
            "service_kind": state.spec.kind,
        }

    def notify(self, state: ServiceState, now: datetime, out: Transition, intent: NoticeIntent) -> None:
        ready: list[Delivery] = []
        for delivery in deliveries_for(intent, self.policy, now, state.period_index):
            if delivery.send_at > now:
                state.pending_notices.append(delivery)
            else:
                ready.append(delivery)
        out.deliveries += ready

    def emit(
        self,
        state: ServiceState,
        out: Transition,
        now: datetime,
        type_: EntryType,
        clause: str | None,
        detail: dict[str, Any],
        template: NoticeTemplate | None,
        key: str,
        operational: bool = False,
    ) -> None:
        """Record a timeline entry and send its notice. An operational step (one the contract
        does not require) cites no clause and says so in its notice."""
        if operational:
            clause, detail = None, detail | {"operational": True}
        entry = TimelineEntry(at=now, type=type_, clause=clause, detail=detail)
        state.record(entry)
        out.entries.append(entry)
        if template is not None:
            self.notify(
                state,
                now,
                out,
                NoticeIntent(
                    template=template, key=key, clause=clause, detail=self.common_detail(state) | detail
                ),
            )

    # -- views ---------------------------------------------------------------

    def view(self, state: ServiceState, now: datetime | None = None) -> ServiceView:
        at = now or (state.timeline[-1].at if state.timeline else state.created_at)
        return ServiceView(
            service_id=state.spec.service_id,
            policy_id=self.policy.id,
            state=state.status,
            suspension_reasons=list(state.suspension_reasons),
            period_index=state.period_index,
            paid_until=state.paid_until,
            balance=state.balance,
            debt=state.debt(),
            overdue=self.billing.overdue_amount(state, at),
            next_deadline=self.next_deadline(state),
            applied_events=len(state.applied_event_ids),
            hold=state.hold,
            overrides=self.overrides.in_force(state, at),
            policy_version=state.policy_version or self.policy.version,
            amendment=state.amendment,
        )


def closed_reason(status: str, what: str) -> str:
    """The one wording of "this service has ended" (the engine, the client and the API use it)."""
    return f"the service is {status}; {what} cannot be applied"


def describe(view: ServiceView) -> str:
    """One line in words for operators: the state, the next step, its date and clause."""
    text = f"{view.state.value}"
    if view.hold:
        hold = view.hold
        basis = f" per clause {hold.clause}" if hold.clause else ""
        what = f"{hold.action.replace('_', ' ')}{basis}"
        text = f"HELD ({hold.kind.value.replace('_', ' ')}): {what} waits, {hold.reason}; {text}"
    if view.suspension_reasons:
        text += f" ({', '.join(r.value for r in view.suspension_reasons)})"
    for override in view.overrides:
        text += f"; override {override.terms.kind.value.replace('_', ' ')} by {override.actor}"
    amendment = view.amendment
    if amendment is not None and amendment.applied_at is None:
        if amendment.declined:
            text += f"; keeps policy v{amendment.from_version} (v{amendment.version} declined)"
        else:
            when = amendment.switch_at or amendment.effective_at
            text += f"; policy v{amendment.version} from {when.isoformat()}"
    deadline = view.next_deadline
    if deadline:
        basis = (
            f" per clause {deadline.clause}"
            if deadline.clause
            else " (operational, not a contract term)"
            if deadline.operational
            else ""
        )
        text += f"; next: {deadline.action.value.replace('_', ' ')} at {deadline.at.isoformat()}{basis}"
    return text
