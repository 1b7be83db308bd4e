"""Every way out the contracts give, and force majeure.

The customer's notice (for one service or the whole contract), a consumer's
withdrawal, refusing a free trial, the provider's notice, termination for a
serious breach, withdrawn consent to data processing, and force majeure with
its automatic termination or the parties' option to terminate. It uses the
contract's time and shared steps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from oferta.policy.schema import NoticeTemplate, Term
from oferta.timeline.engine.effects import ProvisionIntent, Transition, iso
from oferta.timeline.state import (
    BillingEvent,
    CancelScope,
    Deadline,
    DeadlineAction,
    EntryType,
    EventType,
    ForceMajeure,
    ServiceState,
    SuspensionReason,
)

if TYPE_CHECKING:
    from oferta.timeline.engine.core import Contract

DeadlineHandler = Callable[[ServiceState, Deadline, datetime, Transition], None]
EventHandler = Callable[[ServiceState, BillingEvent, datetime, Transition], None]


class Exits:
    """The ways out, for one contract; the core dispatches to them."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.policy = contract.policy

    def deadline_handlers(self) -> dict[DeadlineAction, DeadlineHandler]:
        return {
            DeadlineAction.TERMINATE: self._do_terminate,
            DeadlineAction.TERMINATE_CONSENT: self._do_terminate_consent,
            DeadlineAction.TERMINATE_FORCE_MAJEURE: self._do_terminate_force_majeure,
            DeadlineAction.ANNOUNCE_FORCE_MAJEURE_OPTION: self._do_announce_option,
        }

    def event_handlers(self) -> dict[EventType, EventHandler]:
        return {
            EventType.CANCEL_REQUEST: self.on_cancel_request,
            EventType.CANCEL_WITHDRAWN: self._on_cancel_withdrawn,
            EventType.WITHDRAWAL: self._on_withdrawal,
            EventType.PROVIDER_TERMINATION: self._on_provider_termination,
            EventType.BREACH_TERMINATION: self._on_breach_termination,
            EventType.CONSENT_WITHDRAWN: self._on_consent_withdrawn,
            EventType.FORCE_MAJEURE_START: self._on_force_majeure_start,
            EventType.FORCE_MAJEURE_END: self._on_force_majeure_end,
            EventType.FORCE_MAJEURE_TERMINATE: self._on_force_majeure_terminate,
        }

    # -- deadlines -------------------------------------------------------------

    def deadlines(self, state: ServiceState) -> list[Deadline]:
        found: list[Deadline] = []
        if state.cancellation_effective_at:
            found.append(
                Deadline(
                    at=state.cancellation_effective_at,
                    action=DeadlineAction.TERMINATE,
                    clause=self._cancellation_clause(state),
                    detail={"reason": state.cancellation_reason},
                )
            )
        if state.consent_terminate_at:
            term = self.policy.termination.consent_withdrawal_terminate_after
            found.append(
                Deadline(
                    at=state.consent_terminate_at,
                    action=DeadlineAction.TERMINATE_CONSENT,
                    clause=term.clause if term else None,
                )
            )
        return found

    def force_majeure_deadlines(self, state: ServiceState) -> list[Deadline]:
        rules = self.policy.force_majeure
        fm = state.force_majeure
        if fm is None or rules.terminate_after is None or rules.termination == "none":
            return []
        at = self.contract.after(fm.started_at, rules.terminate_after)
        if rules.termination == "automatic":
            return [
                Deadline(
                    at=at, action=DeadlineAction.TERMINATE_FORCE_MAJEURE, clause=rules.terminate_after.clause
                )
            ]
        if fm.option_announced:
            return []
        return [
            Deadline(
                at=at,
                action=DeadlineAction.ANNOUNCE_FORCE_MAJEURE_OPTION,
                clause=rules.terminate_after.clause,
            )
        ]

    def _cancellation_clause(self, state: ServiceState) -> str | None:
        rules = self.policy.termination
        term: Term | None = {
            "customer_notice": rules.customer_notice,
            "service_refusal": rules.service_refusal_notice,
            "provider_notice": rules.provider_notice,
        }.get(state.cancellation_reason or "")
        if term is not None:
            return term.clause
        if rules.ends_with_paid_tariff:
            return rules.ends_with_paid_tariff.clause
        return rules.customer_right.clause

    def _do_terminate(self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition) -> None:
        reason = state.cancellation_reason or "customer_notice"
        if reason != "provider_notice" and self.policy.termination.exit_is_deletion:
            # registry.kz 8.6.1: the customer leaves by having its account deleted.
            self.contract.billing.delete_data(state, now, out, deadline.clause)
            return
        self.terminate(state, now, out, reason, deadline.clause)

    def _do_terminate_consent(
        self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition
    ) -> None:
        self.terminate(state, now, out, "consent_withdrawn", deadline.clause)

    def _do_terminate_force_majeure(
        self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition
    ) -> None:
        self.terminate(state, now, out, "force_majeure", deadline.clause)

    def _do_announce_option(
        self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition
    ) -> None:
        """SmartApe 8.5: either party *may* terminate; tell both, end nothing by itself."""
        assert state.force_majeure is not None
        state.force_majeure.option_announced = True
        fm_id = state.force_majeure.force_majeure_id
        self.contract.emit(
            state,
            out,
            now,
            EntryType.FORCE_MAJEURE_OPTION,
            deadline.clause,
            {"force_majeure_id": fm_id, "since": state.force_majeure.started_at.isoformat()},
            NoticeTemplate.FORCE_MAJEURE_OPTION,
            f"force_majeure_option:{fm_id}",
        )

    # -- refusals ---------------------------------------------------------------

    def in_trial(self, state: ServiceState, now: datetime) -> bool:
        return (
            state.spec.trial
            and self.policy.trial is not None
            and state.period_index < 0
            and state.billing_anchor is not None
            and now < state.billing_anchor
        )

    def refusal(self, state: ServiceState, event: BillingEvent, now: datetime) -> str | None:
        rules = self.policy.termination
        pending = "a termination is already pending" if state.cancellation_effective_at else None
        match event.type:
            case EventType.CANCEL_REQUEST:
                if self.in_trial(state, now):
                    return None
                if pending:
                    return pending
                if (
                    rules.customer_notice is None
                    and rules.service_refusal_notice is None
                    and rules.ends_with_paid_tariff is None
                ):
                    right = rules.customer_right
                    return f"the contract gives no termination by notice ({right.clause}): {right.text}"
            case EventType.CANCEL_WITHDRAWN:
                if state.cancellation_reason not in ("customer_notice", "service_refusal"):
                    return "no cancellation is pending"
            case EventType.WITHDRAWAL:
                term = rules.consumer_withdrawal
                if term is None:
                    return "the contract gives no right of withdrawal"
                if not state.spec.consumer:
                    return (
                        f"withdrawal ({term.clause}) is a consumer's right; this customer is not a consumer"
                    )
                ends = self.contract.after(state.created_at, term)
                if now >= ends:
                    return f"the withdrawal term ({term}) ended at {ends.isoformat()}"
            case EventType.PROVIDER_TERMINATION:
                if rules.provider_notice is None:
                    return "the contract gives the provider no termination by notice"
                if pending:
                    return pending
            case EventType.BREACH_TERMINATION:
                if rules.serious_breach is None:
                    return "the contract names no termination for a breach"
            case EventType.CONSENT_WITHDRAWN:
                if rules.consent_withdrawal_terminate_after is None:
                    return "the contract sets no rule for withdrawn consent"
                if SuspensionReason.CONSENT_WITHDRAWN in state.suspension_reasons:
                    return "consent is already withdrawn"
            case EventType.FORCE_MAJEURE_START:
                if state.force_majeure:
                    return "a force majeure is already in effect"
            case EventType.FORCE_MAJEURE_END:
                if not state.force_majeure:
                    return "no force majeure is in effect"
            case EventType.FORCE_MAJEURE_TERMINATE:
                fm_rules = self.policy.force_majeure
                if fm_rules.termination != "option":
                    return (
                        f"the contract gives no option to terminate for force majeure"
                        f" ({fm_rules.clause}, termination: {fm_rules.termination})"
                    )
                if not state.force_majeure:
                    return "no force majeure is in effect"
                if not state.force_majeure.option_announced:
                    assert fm_rules.terminate_after is not None
                    opens = self.contract.after(state.force_majeure.started_at, fm_rules.terminate_after)
                    return (
                        f"the option ({fm_rules.terminate_after}) opens at {opens.isoformat()}, "
                        f"when the force majeure has lasted {fm_rules.terminate_after.amount} "
                        f"{fm_rules.terminate_after.unit.value}"
                    )
        return None

    # -- the customer's ways out ---------------------------------------------------

    def on_cancel_request(
        self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition
    ) -> None:
        rules = self.policy.termination
        if self.in_trial(state, now):
            trial = self.policy.trial
            assert trial is not None
            # Refusing a free trial costs nothing; what was paid comes back (SmartApe Annex 11, 4.3).
            self.terminate(state, now, out, "trial_refused", trial.refusal.clause, keep_minimum=False)
            return
        model_end = self.contract.billing.cancellation_end(state, now)
        notice: Term | None
        if model_end is not None:
            effective, reason, notice = model_end, "customer_notice", None
        else:
            scope = event.scope or CancelScope.SERVICE
            if scope is CancelScope.SERVICE and rules.service_refusal_notice:
                notice, reason = rules.service_refusal_notice, "service_refusal"
            else:
                notice, reason = rules.customer_notice or rules.service_refusal_notice, "customer_notice"
            assert notice is not None
            effective = self.contract.after(now, notice)
        if event.effective_at and event.effective_at > effective:
            effective = event.effective_at
        self._schedule_end(
            state,
            now,
            out,
            effective,
            reason,
            event,
            notice.clause if notice else self._cancellation_clause(state),
        )

    def _schedule_end(
        self,
        state: ServiceState,
        now: datetime,
        out: Transition,
        effective: datetime,
        reason: Any,
        event: BillingEvent,
        clause: str | None,
    ) -> None:
        state.cancellation_requested_at = now
        state.cancellation_effective_at = effective
        state.cancellation_reason = reason
        # Nothing is billed for time after the end (PS.kz 4.3.16: paid up to the date of cessation).
        self.contract.billing.close_open_invoices(state, effective)
        self.contract.emit(
            state,
            out,
            now,
            EntryType.TERMINATION_REQUESTED,
            clause,
            {
                "effective_at": effective.isoformat(),
                "reason": event.reason,
                "by": "provider" if reason == "provider_notice" else "customer",
            },
            NoticeTemplate.TERMINATION_REQUESTED,
            f"termination_requested:{event.event_id}",
        )

    def _on_cancel_withdrawn(
        self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition
    ) -> None:
        clause = self._cancellation_clause(state)
        was = state.cancellation_effective_at
        state.cancellation_effective_at = None
        state.cancellation_requested_at = None
        state.cancellation_reason = None
        self.contract.emit(
            state,
            out,
            now,
            EntryType.TERMINATION_WITHDRAWN,
            clause,
            {"was_effective_at": iso(was)},
            NoticeTemplate.TERMINATION_WITHDRAWN,
            f"termination_withdrawn:{event.event_id}",
        )

    def _on_withdrawal(
        self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition
    ) -> None:
        """A consumer's withdrawal (SmartApe 11.6): ends at once; only the days used are paid."""
        term = self.policy.termination.consumer_withdrawal
        assert term is not None
        self.terminate(state, now, out, "withdrawal", term.clause, keep_minimum=False)

    # -- the provider's ways out -----------------------------------------------------

    def _on_provider_termination(
        self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition
    ) -> None:
        notice = self.policy.termination.provider_notice
        assert notice is not None
        effective = self.contract.after(now, notice)
        if event.effective_at and event.effective_at > effective:
            effective = event.effective_at
        self._schedule_end(state, now, out, effective, "provider_notice", event, notice.clause)

    def _on_breach_termination(
        self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition
    ) -> None:
        rules = self.policy.termination
        assert rules.serious_breach is not None
        self.terminate(
            state,
            now,
            out,
            "breach",
            rules.serious_breach.clause,
            refund=not rules.breach_forfeits_unused,
            note=event.reason,
        )

    def _on_consent_withdrawn(
        self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition
    ) -> None:
        term = self.policy.termination.consent_withdrawal_terminate_after
        assert term is not None
        state.consent_terminate_at = self.contract.after(now, term)
        self.contract.suspend(
            state,
            now,
            out,
            SuspensionReason.CONSENT_WITHDRAWN,
            term.clause,
            key=f"suspended:consent:{event.event_id}",
            extra={"terminates_at": state.consent_terminate_at.isoformat()},
        )

    # -- force majeure ------------------------------------------------------------------

    def _on_force_majeure_start(
        self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition
    ) -> None:
        rules = self.policy.force_majeure
        fm_id = event.force_majeure_id or event.event_id
        state.force_majeure = ForceMajeure(force_majeure_id=fm_id, started_at=now)
        detail: dict[str, Any] = {
            "force_majeure_id": fm_id,
            "reason": event.reason,
            "termination": rules.termination,
            "deadlines_extended": bool(rules.deadlines_extended),
        }
        if rules.notice_within:
            detail["notify_by"] = self.contract.after(now, rules.notice_within).isoformat()
        if rules.terminate_after and rules.termination != "none":
            key = "terminates_at" if rules.termination == "automatic" else "option_from"
            detail[key] = self.contract.after(now, rules.terminate_after).isoformat()
        clause = rules.notice_within.clause if rules.notice_within else rules.clause
        self.contract.emit(
            state,
            out,
            now,
            EntryType.FORCE_MAJEURE_STARTED,
            clause,
            detail,
            NoticeTemplate.FORCE_MAJEURE_STARTED,
            f"force_majeure_started:{fm_id}",
        )

    def _on_force_majeure_end(
        self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition
    ) -> None:
        rules = self.policy.force_majeure
        assert state.force_majeure is not None
        lasted = now - state.force_majeure.started_at
        fm_id = state.force_majeure.force_majeure_id
        state.force_majeure = None
        if rules.deadlines_extended:
            state.shift_deadlines(lasted)
            for invoice in state.invoices:
                invoice.due_at = self.contract.billing.due_at(invoice.due_on)
        detail = {
            "force_majeure_id": fm_id,
            "lasted_days": lasted.days,
            "deadlines_extended": bool(rules.deadlines_extended),
        }
        self.contract.emit(
            state,
            out,
            now,
            EntryType.FORCE_MAJEURE_ENDED,
            rules.clause,
            detail,
            NoticeTemplate.FORCE_MAJEURE_ENDED,
            f"force_majeure_ended:{fm_id}",
        )

    def _on_force_majeure_terminate(
        self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition
    ) -> None:
        rules = self.policy.force_majeure
        assert rules.terminate_after is not None
        self.terminate(
            state,
            now,
            out,
            "force_majeure",
            rules.terminate_after.clause,
            note=f"exercised by the {event.party or 'customer'}",
        )

    # -- the ending itself -------------------------------------------------------------

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
        # Paid time that could not be used during a force majeure counts as unused.
        unused_from = state.force_majeure.started_at if state.force_majeure else now
        self.contract.billing.close_open_invoices(state, unused_from)
        state.terminal = "terminated"
        state.force_majeure = None
        state.cancellation_effective_at = None
        detail: dict[str, Any] = {
            "reason": reason,
            "debt": str(state.debt().amount),
            "currency": state.spec.price.currency,
            "note": note,
        }
        written_off = self.contract.billing.write_off_on_deletion(state)
        if written_off is not None:
            detail["balance_written_off"] = str(written_off.amount)
        self.contract.emit(
            state, out, now, EntryType.TERMINATED, clause, detail, NoticeTemplate.TERMINATED, "terminated"
        )
        out.provisioning.append(ProvisionIntent(action="terminate", key="terminate", clause=clause))
        if refund:
            self.contract.settle(state, now, out, unused_from, keep_minimum=keep_minimum)
