"""Runs a contract timeline without Temporal: the engine alone, for tests and previews.

It follows the same loop as the workflow (wait for the next deadline or the next
input, whichever comes first) with every effect succeeding at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from oferta.policy.schema import Policy
from oferta.timeline.engine import Contract, Transition
from oferta.timeline.notices import Delivery
from oferta.timeline.state import BillingEvent, ServiceSpec, ServiceState, TimelineEntry


@dataclass
class DryRun:
    entries: list[TimelineEntry] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    provisioning: list[str] = field(default_factory=list)
    rejected: list[tuple[BillingEvent, str]] = field(default_factory=list)
    periods_started: int = 0


def dry_run(
    contract: Contract,
    spec: ServiceSpec,
    start: datetime,
    events: list[tuple[datetime, BillingEvent]],
    until: datetime,
    versions: dict[int, Policy] | None = None,
) -> tuple[ServiceState, DryRun]:
    """``versions``: the policy versions amendments announced in ``events`` may switch to."""
    state = ServiceState.new(spec, start)
    result = DryRun()

    def take(transition: Transition, now: datetime) -> None:
        nonlocal contract
        if transition.policy_version is not None:
            # As in the workflow: the new version governs every step from here on.
            contract = Contract((versions or {})[transition.policy_version])
        result.entries += transition.entries
        result.deliveries += transition.deliveries
        result.provisioning += [p.action for p in transition.provisioning]
        result.periods_started += transition.new_period
        for refund in transition.refunds:
            take(contract.refund_paid(state, refund, f"dry-{refund.key}", now), now)

    take(contract.start(state, start), start)
    queue = sorted(events, key=lambda pair: pair[0])
    last_at = start
    while True:
        deadline = contract.next_deadline(state)
        next_event_at = queue[0][0] if queue else None
        if deadline and deadline.at <= until and (next_event_at is None or deadline.at <= next_event_at):
            # As in the workflow: a step whose time passed (say, during a force majeure) runs now.
            last_at = max(deadline.at, last_at)
            take(contract.on_deadline(state, deadline, last_at), last_at)
            continue
        if next_event_at is not None and next_event_at <= until:
            at, event = queue.pop(0)
            last_at = max(at, last_at)
            transition = contract.on_event(state, event, at)
            if transition.rejected:
                result.rejected.append((event, transition.rejected))
            take(transition, at)
            continue
        return state, result


def project(contract: Contract, state: ServiceState, now: datetime, until: datetime) -> list[TimelineEntry]:
    """What the contract does by itself from ``state`` until ``until`` if nothing else happens
    (no payment, no input): the steps it would take, on a copy of the state."""
    state = state.model_copy(deep=True)
    entries: list[TimelineEntry] = []
    last_at = now
    for _ in range(_PROJECTION_STEPS):
        deadline = contract.next_deadline(state)
        if deadline is None or deadline.at > until:
            break
        last_at = max(deadline.at, last_at)
        transition = contract.on_deadline(state, deadline, last_at)
        entries += transition.entries
        for refund in transition.refunds:
            entries += contract.refund_paid(state, refund, f"projected-{refund.key}", last_at).entries
    return entries


_PROJECTION_STEPS = 5000
