"""Safeguards before a step that cuts a customer off or destroys its data.

Pure and deterministic: the service workflow asks ``step_risk`` whether a deadline
would suspend, delete or terminate for non-payment, and ``undelivered`` whether the
customer was told; the policy's guard workflow keeps a ``Breaker`` that holds every
such step of a policy when too many come at once or the billing feed has gone quiet
(the failures that make billing panels suspend and delete en masse after an outage).

A hold never moves a contract term: the step runs later than the contract allows at
the earliest, which only favours the customer, and an operator can release it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, Field

from oferta.policy.schema import NoticeTemplate
from oferta.timeline.engine import Contract
from oferta.timeline.notices import Delivery, NoticeIntent, deliveries_for
from oferta.timeline.state import Deadline, DeadlineAction, Hold, HoldKind, ServiceState

# Steps the contract takes by itself because the customer has not paid. Steps the customer
# asked for (its own termination) or the contract's other exits are not second-guessed.
NON_PAYMENT_STEPS = frozenset(
    {
        DeadlineAction.SUSPEND,
        DeadlineAction.DELETE_DATA,
        DeadlineAction.TERMINATE_FOR_DEBT,
        DeadlineAction.DEBIT_BALANCE,
        DeadlineAction.END_TARIFF,
    }
)
WATCHED_ACTIONS = ("suspend", "delete", "terminate")
# The notices that tell the customer its data or contract is about to go: the suspension
# notice (it names the deletion date), the final warning, and a lapsed Tariff's notice.
ANNOUNCING = (NoticeTemplate.SUSPENDED, NoticeTemplate.DELETION_WARNING, NoticeTemplate.TARIFF_ENDED)


class StepRisk(BaseModel):
    """What a due step would do that the safeguards watch."""

    step: str  # a key for the step: its action and deadline, stable across retries
    action: DeadlineAction
    clause: str | None
    effects: list[str]  # suspend / delete / terminate, in order

    @property
    def irreversible(self) -> bool:
        return any(effect != "suspend" for effect in self.effects)


def step_key(deadline: Deadline) -> str:
    return f"{deadline.action.value}@{deadline.at.isoformat()}"


def step_risk(contract: Contract, state: ServiceState, deadline: Deadline, now: datetime) -> StepRisk | None:
    """The watched effects of ``deadline`` if taken ``now``, found by taking it on a copy."""
    if deadline.action not in NON_PAYMENT_STEPS:
        return None
    trial = contract.on_deadline(state.model_copy(deep=True), deadline, now)
    effects: list[str] = [i.action for i in trial.provisioning if i.action in WATCHED_ACTIONS]
    if not effects:
        return None
    return StepRisk(step=step_key(deadline), action=deadline.action, clause=deadline.clause, effects=effects)


def announced_from(state: ServiceState) -> datetime:
    """Since when a notice counts as announcing the step: the suspension, else the start of the
    arrears (a balance that stopped covering the services, the oldest unpaid invoice)."""
    if state.suspended_at is not None:
        return state.suspended_at
    if state.balance_short_since is not None:
        return state.balance_short_since
    unpaid = [invoice.issued_at for invoice in state.open_invoices]
    return min(unpaid) if unpaid else state.created_at


def undelivered(state: ServiceState) -> list[NoticeTemplate]:
    """The announcing notices, when none of them reached the customer since the arrears began;
    empty when at least one did on at least one channel."""
    since = announced_from(state)
    for template in ANNOUNCING:
        delivered = state.notices_delivered.get(template.value)
        if delivered is not None and delivered >= since:
            return []
    return list(ANNOUNCING)


def notice_hold(state: ServiceState, risk: StepRisk, now: datetime) -> Hold | None:
    """Hold an irreversible step that no announcing notice reached the customer for."""
    if not risk.irreversible or risk.step in state.released_steps:
        return None
    if not undelivered(state):
        return None
    return Hold(
        kind=HoldKind.NOTICE_NOT_DELIVERED,
        step=risk.step,
        action=risk.action.value,
        clause=risk.clause,
        reason="no notice announcing it (suspension notice or final warning) reached the customer",
        since=now,
    )


def warn_again(contract: Contract, state: ServiceState, hold: Hold, now: datetime) -> list[Delivery]:
    """The final warning, sent again while a step waits for a notice to get through: the
    provider's reminder (operational, no clause), on the channels open now (SMS in quiet
    hours waits for the next try)."""
    detail = contract.common_detail(state) | {
        "deletion_at": now.isoformat(),
        "debt": str(contract.billing.overdue_amount(state, now).amount),
        "currency": state.spec.price.currency,
        "operational": True,
    }
    intent = NoticeIntent(
        template=NoticeTemplate.DELETION_WARNING,
        key=f"held:{hold.step}:{hold.resends}",
        clause=None,
        detail=detail,
    )
    return [d for d in deliveries_for(intent, contract.policy, now, state.period_index) if d.send_at <= now]


# -- the policy-wide breaker (kept by the guard workflow) -----------------------------


class BreakerSettings(BaseModel):
    """When the guard holds every destructive step of a policy (settings, with defaults)."""

    window: timedelta = timedelta(hours=1)
    # More than this share of the policy's open services within the window trips it ...
    max_share: Decimal = Decimal("0.10")
    # ... but never fewer steps than this (a small provider's three suspensions are no outage).
    min_steps: int = Field(default=10, ge=1)
    # No billing input for this long while at least min_steps steps fall due: the feed is down.
    feed_silence: timedelta | None = timedelta(hours=24)


class PermitRequest(BaseModel):
    """A service asks its policy's guard whether a destructive step may run."""

    key: str  # unique per service and step: asking again gets the same answer
    service_id: str
    policy_id: str
    effects: list[str]
    open_services: int = 0
    last_billing_input: AwareDatetime | None = None
    settings: BreakerSettings = Field(default_factory=BreakerSettings)


class Permit(BaseModel):
    granted: bool
    hold: HoldKind | None = None
    reason: str | None = None


class Trip(BaseModel):
    kind: HoldKind
    at: AwareDatetime
    reason: str


class Release(BaseModel):
    at: AwareDatetime
    actor: str
    reason: str
    released: int


class Breaker(BaseModel):
    """The guard's memory: steps granted in the window, the trip, who waits, who let them go."""

    granted: list[tuple[AwareDatetime, str]] = Field(default_factory=list)
    approved: list[str] = Field(default_factory=list)
    tripped: Trip | None = None
    held: dict[str, PermitRequest] = Field(default_factory=dict)
    releases: list[Release] = Field(default_factory=list)

    def decide(self, request: PermitRequest, now: datetime) -> Permit:
        if request.key in self.approved or any(key == request.key for _, key in self.granted):
            return Permit(granted=True)
        settings = request.settings
        self.granted = [(at, key) for at, key in self.granted if now - at < settings.window]
        if self.tripped is None:
            self.tripped = self._trip(request, now)
        if self.tripped is not None:
            self.held[request.key] = request
            return Permit(granted=False, hold=self.tripped.kind, reason=self.tripped.reason)
        self.granted.append((now, request.key))
        return Permit(granted=True)

    def _trip(self, request: PermitRequest, now: datetime) -> Trip | None:
        settings = request.settings
        steps = len(self.granted) + 1
        limit = max(settings.min_steps, math.floor(settings.max_share * request.open_services))
        if steps > limit:
            return Trip(
                kind=HoldKind.MASS_ACTION,
                at=now,
                reason=f"{steps} suspensions, deletions or terminations within {settings.window} "
                f"would exceed {limit} ({settings.max_share:.0%} of {request.open_services} open "
                f"services, at least {settings.min_steps})",
            )
        last = request.last_billing_input
        if settings.feed_silence is not None and last is not None and now - last > settings.feed_silence:
            since_input = sum(1 for at, _ in self.granted if at > last) + 1
            if since_input >= settings.min_steps:
                return Trip(
                    kind=HoldKind.BILLING_FEED_SILENT,
                    at=now,
                    reason=f"no billing input since {last.isoformat()} (over {settings.feed_silence}) "
                    f"while {since_input} steps fell due",
                )
        return None

    def release(self, now: datetime, actor: str, reason: str) -> list[PermitRequest]:
        """Operations let every held step go; the window starts afresh."""
        waiting = list(self.held.values())
        self.approved = (self.approved + [request.key for request in waiting])[-APPROVED_KEPT:]
        self.held = {}
        self.tripped = None
        self.granted = []
        self.releases = [*self.releases, Release(at=now, actor=actor, reason=reason, released=len(waiting))][
            -RELEASES_KEPT:
        ]
        return waiting


APPROVED_KEPT = 20_000
RELEASES_KEPT = 50
