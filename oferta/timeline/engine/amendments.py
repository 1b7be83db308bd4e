"""Amendments of the offer: a new version of the policy, announced, then governing (pure).

A provider publishes a new version (``oferta policies publish``); each running service hears of
it as an input (EventType.AMENDMENT). The version in force decides everything about the change:
how long ahead the customer is told (PS.kz 4.2.7: 30 calendar days; registry.kz 5.1.3: 5),
when a running service moves (at the effective date; at the end of a fully paid period, PS.kz
5.14; when the Tariffs paid for run out, Center Pro 6.10), and what an objection does (ONELAB
11.6 ends the contract; SmartApe 2.2.6 keeps the old terms for a customer who gave notice
before the change; registry.kz 4.1.4 names no consequence, so the service keeps its version and
operations decide). The switch itself is the workflow's: a transition with ``policy_version``
tells it to govern the service by the new version from that step on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from oferta.policy.diff import diff_policies
from oferta.policy.schema import AmendmentRules, NoticeTemplate, Policy
from oferta.timeline.engine.effects import iso
from oferta.timeline.state import (
    DEBT_CONSEQUENCES,
    AmendmentTerms,
    BillingEvent,
    CancelScope,
    Deadline,
    DeadlineAction,
    EntryType,
    EventType,
    PendingAmendment,
    ServiceState,
    SuspensionReason,
)

if TYPE_CHECKING:
    from oferta.timeline.engine.core import Contract
    from oferta.timeline.engine.effects import Transition

# What a new version may not change for services already running under the old one.
_FIXED = {
    "provider.country": "the country whose law and calendar count the terms",
    "provider.timezone": "the clock the terms are counted on",
    "provider.currency": "the currency every running service is priced in",
    "billing.model": "the payment model a running service's state is kept in",
}


def publish_refusal(old: Policy, new: Policy, published_at: datetime, effective_at: datetime) -> str | None:
    """Why ``new`` cannot be published now to take effect at ``effective_at``, or None.

    The version in force (``old``) sets the notice: a date too early for it is refused with its
    clause and the earliest date it allows."""
    from oferta.timeline.engine.core import Contract

    if new.id != old.id:
        return f"id: the new version is of {new.id!r}, not {old.id!r}"
    if new.version <= old.version:
        return f"version: {new.version} is not after the version in force ({old.version})"
    for path, what in _FIXED.items():
        section, name = path.split(".")
        if getattr(getattr(old, section), name) != getattr(getattr(new, section), name):
            return f"{path}: cannot change for running services ({what})"
    rules = old.amendments
    if rules is None:
        return f"amendments: policy {old.id} v{old.version} does not say how its offer changes"
    if effective_at < published_at:
        return f"effective: {effective_at.isoformat()} has passed"
    earliest = Contract(old).amendments.earliest_effective(published_at)
    if effective_at < earliest:
        assert rules.notice is not None
        return (
            f"effective: clause {rules.notice.clause} needs {notice_words(rules)} between the "
            f"announcement and the change; published at {published_at.isoformat()}, it may take "
            f"effect from {earliest.isoformat()}"
        )
    return None


def notice_words(rules: AmendmentRules) -> str:
    """'30 calendar days', or that the contract sets none."""
    if rules.notice is None:
        return "no notice (the contract sets none)"
    return f"{rules.notice.amount} {rules.notice.unit.value.replace('_', ' ')}"


def changed_clauses(old: Policy, new: Policy) -> list[str]:
    """The clauses whose rules differ, in the order the policy lists them, each once."""
    seen: list[str] = []
    for change in diff_policies(old, new):
        if change.clause and change.clause not in seen:
            seen.append(change.clause)
    return seen


class Amendments:
    def __init__(self, contract: Contract) -> None:
        self.contract = contract

    @property
    def rules(self) -> AmendmentRules | None:
        return self.contract.policy.amendments

    def earliest_effective(self, announced_at: datetime) -> datetime:
        """The earliest moment a change announced at ``announced_at`` may take effect: the end of
        the contract's notice term (24:00 of its last day), or at once where it sets none."""
        rules = self.rules
        if rules is None or rules.notice is None:
            return announced_at
        return self.contract.after(announced_at, rules.notice)

    # -- inputs ------------------------------------------------------------------------------

    def event_handlers(
        self,
    ) -> dict[EventType, Callable[[ServiceState, BillingEvent, datetime, Transition], None]]:
        return {EventType.AMENDMENT: self._on_announce, EventType.AMENDMENT_OBJECTION: self._on_objection}

    def refusal(self, state: ServiceState, event: BillingEvent, now: datetime) -> str | None:
        if event.type is EventType.AMENDMENT:
            return self._announce_refusal(state, event.amendment)
        if event.type is EventType.AMENDMENT_OBJECTION:
            return self._objection_refusal(state, now)
        return None

    def _announce_refusal(self, state: ServiceState, terms: AmendmentTerms | None) -> str | None:
        if terms is None:
            return "amendment: say which version is announced"
        if self.rules is None:
            return f"policy {self.contract.policy.id} does not say how its offer changes"
        governing = state.policy_version or self.contract.policy.version
        if terms.version <= governing:
            return f"version {terms.version} is not after the version governing the service ({governing})"
        pending = state.amendment
        if pending is not None and pending.open and pending.version != terms.version:
            return f"version {pending.version} is announced and not yet in effect"
        return None

    def _objection_refusal(self, state: ServiceState, now: datetime) -> str | None:
        rules = self.rules
        right = self.contract.policy.termination.customer_right
        if rules is None or rules.objection is None:
            clause = rules.clause if rules else "—"
            return (
                f"the contract gives no objection to a change of its offer ({clause}); the customer's "
                f"way out is its termination right ({right.clause})"
            )
        objection = rules.objection
        pending = state.amendment
        if pending is None or pending.declined:
            return "no change of the offer is announced to this service"
        if pending.objected_at is not None:
            return "the customer's objection is already recorded"
        assert pending.objection_until is not None
        if now >= pending.objection_until:
            when = "before the change took effect" if objection.until == "before_effective" else "in time"
            return (
                f"the objection had to come {when}, by {pending.objection_until.isoformat()} "
                f"(clause {objection.clause})"
            )
        if objection.exit == "notice_keeps_terms" and state.cancellation_effective_at:
            return (
                f"a termination is already pending: the service keeps version {pending.from_version} "
                f"until it ends (clause {objection.clause})"
            )
        return None

    def _on_announce(self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition) -> None:
        rules, terms = self.rules, event.amendment
        assert rules is not None and terms is not None
        # Each customer has the whole notice from when it was told (a service told late, or one
        # that started after the publication, moves later than the published date).
        effective = max(terms.effective_at, self.earliest_effective(now))
        objection = rules.objection
        until: datetime | None = None
        if objection is not None:
            until = (
                effective
                if objection.after_effective is None
                else self.contract.after(effective, objection.after_effective)
            )
        governing = state.policy_version or self.contract.policy.version
        state.amendment = PendingAmendment(
            version=terms.version,
            from_version=governing,
            announced_at=now,
            effective_at=effective,
            objection_until=until,
        )
        detail: dict[str, Any] = {
            "version": terms.version,
            "from_version": governing,
            "effective_at": effective.isoformat(),
            "changed_clauses": ", ".join(terms.changed_clauses) or None,
            "objection_until": iso(until),
            "objection_clause": objection.clause if objection else None,
            "objection_exit": objection.exit if objection else None,
            "silence_clause": rules.silence.clause if rules.silence else None,
            "keeps_paid_terms": rules.applies != "at_effective_date",
            "applies_clause": rules.applies_clause,
        }
        clause = rules.notice.clause if rules.notice else rules.clause
        self.contract.emit(
            state,
            out,
            now,
            EntryType.AMENDMENT_ANNOUNCED,
            clause,
            detail,
            NoticeTemplate.AMENDMENT_ANNOUNCED,
            f"amendment:{terms.version}",
        )

    def _on_objection(self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition) -> None:
        rules, pending = self.rules, state.amendment
        assert rules is not None and rules.objection is not None and pending is not None
        objection = rules.objection
        pending.objected_at = now
        detail = {"version": pending.version, "exit": objection.exit, "reason": event.reason}
        if objection.exit == "not_stated":
            detail["keeps_version"] = pending.from_version
            self.contract.emit(
                state,
                out,
                now,
                EntryType.AMENDMENT_OBJECTED,
                objection.clause,
                detail,
                NoticeTemplate.AMENDMENT_OBJECTION_RECORDED,
                f"amendment_objection:{pending.version}",
            )
            return
        # The contract's own way out says the rest (its notice: terminated, or termination requested).
        self.contract.emit(state, out, now, EntryType.AMENDMENT_OBJECTED, objection.clause, detail, None, "")
        if objection.exit == "terminate_at_once":
            self.contract.terminate(state, now, out, "amendment_objection", objection.clause)
        else:
            notice = event.model_copy(
                update={"type": EventType.CANCEL_REQUEST, "scope": CancelScope.CONTRACT}
            )
            self.contract.exits.on_cancel_request(state, notice, now, out)

    # -- the switch --------------------------------------------------------------------------

    def deadlines(self, state: ServiceState) -> list[Deadline]:
        pending, rules = state.amendment, self.rules
        if pending is None or rules is None or pending.applied_at is not None:
            return []
        if pending.declined and not self._back_from_notice(state):
            return []
        return [
            Deadline(
                at=pending.switch_at or pending.effective_at,
                action=DeadlineAction.APPLY_AMENDMENT,
                clause=rules.applies_clause or rules.clause,
                detail={"version": pending.version},
            )
        ]

    def deadline_handlers(
        self,
    ) -> dict[DeadlineAction, Callable[[ServiceState, Deadline, datetime, Transition], None]]:
        return {DeadlineAction.APPLY_AMENDMENT: self._do_apply}

    def _kept_by_notice(self, state: ServiceState) -> bool:
        """SmartApe 2.2.6: a customer who gave notice before the change has not accepted it."""
        rules, pending = self.rules, state.amendment
        if rules is None or rules.objection is None or pending is None:
            return False
        if rules.objection.exit != "notice_keeps_terms":
            return False
        return (
            state.cancellation_effective_at is not None
            and state.cancellation_reason in ("customer_notice", "service_refusal")
            and state.cancellation_requested_at is not None
            and state.cancellation_requested_at < pending.effective_at
        )

    def _back_from_notice(self, state: ServiceState) -> bool:
        """A notice that kept the old terms was withdrawn: the change, accepted now, applies."""
        rules = self.rules
        return (
            rules is not None
            and rules.objection is not None
            and rules.objection.exit == "notice_keeps_terms"
            and not self._kept_by_notice(state)
        )

    def _do_apply(self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition) -> None:
        rules, pending = self.rules, state.amendment
        assert rules is not None and pending is not None
        objection = rules.objection
        if objection is not None and objection.exit == "not_stated" and pending.objected_at is not None:
            pending.declined = True
            self._declined(
                state, now, out, objection.clause, "operations decide: the contract names no consequence"
            )
            return
        if self._kept_by_notice(state):
            assert objection is not None
            pending.declined = True
            self._declined(
                state,
                now,
                out,
                objection.clause,
                "the customer's notice came first: the old terms govern until it ends",
            )
            return
        if pending.switch_at is None and not pending.declined:
            kept_until = self._paid_terms_end(state, now)
            if kept_until is not None and kept_until > now:
                pending.switch_at = kept_until
                detail = {
                    "version": pending.version,
                    "keeps_version": pending.from_version,
                    "until": kept_until.isoformat(),
                }
                self.contract.emit(
                    state, out, now, EntryType.AMENDMENT_DEFERRED, rules.applies_clause, detail, None, ""
                )
                return
        self._keep_running_terms(state, pending)
        pending.applied_at = now
        pending.declined = False
        state.policy_version = pending.version
        out.policy_version = pending.version
        # Silence is acceptance where the contract says so (registry.kz 6.5); else the change's clause.
        clause = rules.silence.clause if rules.silence else rules.clause
        detail = {"version": pending.version, "from_version": pending.from_version}
        self.contract.emit(state, out, now, EntryType.AMENDMENT_APPLIED, clause, detail, None, "")

    def _keep_running_terms(self, state: ServiceState, pending: PendingAmendment) -> None:
        """The old version's dates for the steps of the arrears running now (its final warning, its
        deletion or termination for debt): the suspension notice named them, and a new version
        applies to what comes after it, not to a term already running."""
        from oferta.timeline.safeguards import announced_from

        if not (state.open_invoices or state.suspension_reasons or state.balance_short_since):
            return
        pending.kept_for = announced_from(state)
        pending.kept_steps = {
            d.action.value: d.at for d in self.contract.candidates(state) if d.action in DEBT_CONSEQUENCES
        }

    def adjust(self, state: ServiceState, deadline: Deadline) -> Deadline:
        """A step of the arrears that ran across the switch, never sooner than the old version
        had it (a longer new term applies as it is)."""
        from oferta.timeline.safeguards import announced_from

        pending = state.amendment
        if pending is None or pending.applied_at is None or pending.kept_for is None:
            return deadline
        kept = pending.kept_steps.get(deadline.action.value)
        if kept is None or kept <= deadline.at or announced_from(state) != pending.kept_for:
            return deadline
        detail = deadline.detail | {"kept_from_version": pending.from_version}
        return deadline.model_copy(update={"at": kept, "detail": detail})

    def _declined(self, state: ServiceState, now: datetime, out: Transition, clause: str, why: str) -> None:
        pending = state.amendment
        assert pending is not None
        detail = {"version": pending.version, "keeps_version": pending.from_version, "why": why}
        self.contract.emit(state, out, now, EntryType.AMENDMENT_DECLINED, clause, detail, None, "")

    def _paid_terms_end(self, state: ServiceState, now: datetime) -> datetime | None:
        """When the terms already paid for end, where the contract keeps them (PS.kz 5.14, Center
        Pro 6.10); None where the change applies on its effective date, or nothing is paid for."""
        rules = self.rules
        assert rules is not None
        running = (
            state.billing_anchor is not None
            and state.period_start is not None
            and state.period_end is not None
            and state.period_start <= now < state.period_end
        )
        if not running or rules.applies == "at_effective_date":
            return None
        if rules.applies == "after_paid_tariff":
            if SuspensionReason.TARIFF_ENDED in state.suspension_reasons:
                return None
            return self.contract.boundary(state, state.period_index + 1 + state.tariffs_queued)
        # from_next_period: a fully paid period keeps its terms; a service in arrears has none.
        if state.suspension_reasons or state.paid_until is None or state.period_end is None:
            return None
        return state.period_end if state.paid_until >= state.period_end else None
