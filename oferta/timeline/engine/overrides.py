"""Operations' overrides: more time or money for one customer, never less than the contract.

An override arrives as an input (EventType.OVERRIDE) naming its actor and reason. It only
moves a step later or cancels a charge; an attempt to bring a step earlier is refused,
with the clause whose term it would shorten. The dates the contract computes stay as they
are; ``adjust`` moves the steps an override covers when the next deadline is chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from oferta.timeline.calendar import add_calendar_days
from oferta.timeline.money import Money
from oferta.timeline.state import (
    DEBT_CONSEQUENCES,
    BillingEvent,
    Deadline,
    DeadlineAction,
    EntryType,
    EventType,
    Override,
    OverrideKind,
    ServiceState,
)
from oferta.timeline.terms import local_date, start_of_day

if TYPE_CHECKING:
    from oferta.timeline.engine.core import Contract
    from oferta.timeline.engine.effects import Transition

# The steps that cut the customer off for non-payment: "not before" moves them.
_CUTTING_OFF = frozenset({DeadlineAction.SUSPEND, DeadlineAction.END_TARIFF})


class Overrides:
    def __init__(self, contract: Contract) -> None:
        self.contract = contract

    def event_handlers(
        self,
    ) -> dict[EventType, Callable[[ServiceState, BillingEvent, datetime, Transition], None]]:
        return {EventType.OVERRIDE: self._on_override}

    # -- what an override may be ------------------------------------------------------------

    def refusal(self, state: ServiceState, event: BillingEvent, now: datetime) -> str | None:
        if event.type is not EventType.OVERRIDE:
            return None
        terms = event.override
        if terms is None:
            return "override: say what is granted"
        if not event.actor or not (event.reason or "").strip():
            return "reason: an override names who grants it and why"
        suspension = self.contract.policy.suspension
        match terms.kind:
            case OverrideKind.EXTEND_GRACE:
                if terms.days is None or terms.days <= 0:
                    term = (
                        suspension.grace_to_restore
                        or suspension.restore_within
                        or suspension.data_deletion_after
                    )
                    clause = f" (clause {term.clause})" if term and term.clause else ""
                    return f"days: a grace period can only be extended, never shortened{clause}"
                if (
                    not state.open_invoices
                    and not state.suspension_reasons
                    and state.balance_short_since is None
                ):
                    return "nothing is owed: there is no grace period to extend"
            case OverrideKind.NO_SUSPENSION_BEFORE | OverrideKind.PROMISE_TO_PAY:
                if terms.until is None:
                    return "until: the date is required"
                if terms.until < local_date(now, self.contract.tz):
                    return "until: the date has already passed"
            case OverrideKind.WAIVE_LATE_FEE:
                fee = self._late_fee(state, terms.invoice_id)
                if fee is None:
                    return f"invoice_id: no unpaid late fee {terms.invoice_id!r}"
        return None

    def _late_fee(self, state: ServiceState, invoice_id: str | None) -> Any:
        for invoice in state.invoices:
            if invoice.kind == "late_fee" and invoice.invoice_id == invoice_id and not invoice.is_paid:
                return invoice
        return None

    # -- granting one --------------------------------------------------------------------------

    def _on_override(self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition) -> None:
        from oferta.timeline.safeguards import announced_from

        terms = event.override
        assert terms is not None and event.actor is not None  # the refusal said so
        override = Override(terms=terms, actor=event.actor, reason=event.reason or "", at=now)
        detail: dict[str, Any] = {
            "kind": terms.kind.value,
            "granted_by": event.actor,
            "reason": event.reason,
        }
        clause = None
        match terms.kind:
            case OverrideKind.EXTEND_GRACE:
                override.arrears_since = announced_from(state)
                detail["days"] = terms.days
                term = self.contract.policy.suspension.data_deletion_after
                clause = term.clause if term else None
            case OverrideKind.NO_SUSPENSION_BEFORE:
                detail["until"] = terms.until.isoformat() if terms.until else None
                rule = self.contract.policy.suspension.after_due
                clause = rule.clause if rule else None
            case OverrideKind.PROMISE_TO_PAY:
                assert terms.until is not None
                detail["until"] = terms.until.isoformat()
                state.promised_payment_on = max(state.promised_payment_on or terms.until, terms.until)
            case OverrideKind.WAIVE_LATE_FEE:
                fee = self._late_fee(state, terms.invoice_id)
                waived: Money = fee.outstanding
                fee.amount = fee.paid
                detail |= {
                    "invoice_id": terms.invoice_id,
                    "waived": str(waived.amount),
                    "currency": waived.currency,
                }
                late_fee = self.contract.policy.late_fee
                clause = late_fee.clause if late_fee else None
        state.overrides.append(override)
        # The provider's own grant, not a contract term: it cites none and names the one it moves.
        entry_detail = detail | {"operational": True, "moves_clause": clause}
        self.contract.emit(state, out, now, EntryType.OVERRIDE_GRANTED, None, entry_detail, None, "")

    # -- what overrides do to the next step ----------------------------------------------------

    def adjust(self, state: ServiceState, deadline: Deadline) -> Deadline:
        """The deadline as the overrides in force move it (never earlier)."""
        if not state.overrides:
            return deadline
        at = deadline.at
        if deadline.action in DEBT_CONSEQUENCES:
            at = add_calendar_days(at, self._extension_days(state), self.contract.tz)
        if deadline.action in _CUTTING_OFF or deadline.action in DEBT_CONSEQUENCES:
            for override in state.overrides:
                until = override.terms.until
                if until is None or override.terms.kind not in (
                    OverrideKind.NO_SUSPENSION_BEFORE,
                    OverrideKind.PROMISE_TO_PAY,
                ):
                    continue
                # "Not before 20 May": the step may come at the start of 20 May; a promise to pay
                # by 20 May keeps everything until that day has passed.
                day = (
                    until
                    if override.terms.kind is OverrideKind.NO_SUSPENSION_BEFORE
                    else until + timedelta(days=1)
                )
                if deadline.action in _CUTTING_OFF or override.terms.kind is OverrideKind.PROMISE_TO_PAY:
                    at = max(at, start_of_day(day, self.contract.tz))
        if at == deadline.at:
            return deadline
        return deadline.model_copy(update={"at": at, "detail": deadline.detail | {"moved_by_override": True}})

    def in_force(self, state: ServiceState, now: datetime) -> list[Override]:
        """The overrides that still move something: a grace for the present debt, a date not
        yet passed. A waived fee is done once granted."""
        from oferta.timeline.safeguards import announced_from

        today = local_date(now, self.contract.tz)
        owing = bool(state.open_invoices or state.suspension_reasons or state.balance_short_since)
        since = announced_from(state)
        found = []
        for override in state.overrides:
            kind, until = override.terms.kind, override.terms.until
            if kind is OverrideKind.EXTEND_GRACE and owing and override.arrears_since == since:
                found.append(override)
            elif until is not None and until >= today:
                found.append(override)
        return found

    def _extension_days(self, state: ServiceState) -> int:
        from oferta.timeline.safeguards import announced_from

        since = announced_from(state)
        return sum(
            o.terms.days or 0
            for o in state.overrides
            if o.terms.kind is OverrideKind.EXTEND_GRACE and o.arrears_since == since
        )
