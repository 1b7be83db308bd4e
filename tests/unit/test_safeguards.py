"""The safeguards without Temporal: which steps they watch, the notice gate, the breaker."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from oferta.policy import load_policy
from oferta.timeline import safeguards
from oferta.timeline.dry_run import dry_run
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.safeguards import Breaker, BreakerSettings, PermitRequest
from oferta.timeline.state import BillingEvent, DeadlineAction, EventType, HoldKind, ServiceSpec, ServiceState

START = datetime.fromisoformat("2027-03-01T10:00:00+05:00")
DAY = timedelta(days=1)
PS_KZ = Contract(load_policy("ps-kz"))


def suspended_for_debt() -> ServiceState:
    """PS.kz: paid once, the renewal never paid, suspended (4.2.4) and waiting for 3.17's deletion."""
    spec = ServiceSpec(
        service_id="s-1", customer_id="c-1", policy_id="ps-kz", tariff="Basic", price=Money.of("2500", "KZT")
    )
    payment = BillingEvent(event_id="e1", type=EventType.PAYMENT, amount=Money.of("2500", "KZT"))
    state, _ = dry_run(PS_KZ, spec, START, [(START + timedelta(minutes=5), payment)], START + 33 * DAY)
    assert state.status.value == "suspended"
    advance_to(state, DeadlineAction.DELETE_DATA)
    return state


def advance_to(state: ServiceState, action: DeadlineAction) -> None:
    """Take every step (final warning, notices) due before the next ``action``."""
    deadline = PS_KZ.next_deadline(state)
    while deadline is not None and deadline.action is not action:
        PS_KZ.on_deadline(state, deadline, deadline.at)
        deadline = PS_KZ.next_deadline(state)


def test_a_deletion_for_debt_is_watched_and_irreversible() -> None:
    state = suspended_for_debt()
    deadline = PS_KZ.next_deadline(state)
    assert deadline is not None and deadline.action is DeadlineAction.DELETE_DATA
    risk = safeguards.step_risk(PS_KZ, state, deadline, deadline.at)
    assert risk is not None and risk.irreversible and risk.effects == ["delete"]
    assert risk.clause == "3.17"
    # Taking the step on a copy left the service as it was.
    assert state.status.value == "suspended" and state.terminal is None


def test_a_suspension_is_watched_but_not_irreversible() -> None:
    spec = ServiceSpec(
        service_id="s-2", customer_id="c-1", policy_id="ps-kz", tariff="Basic", price=Money.of("2500", "KZT")
    )
    payment = BillingEvent(event_id="e1", type=EventType.PAYMENT, amount=Money.of("2500", "KZT"))
    state, _ = dry_run(PS_KZ, spec, START, [(START + timedelta(minutes=5), payment)], START + 27 * DAY)
    advance_to(state, DeadlineAction.SUSPEND)
    deadline = PS_KZ.next_deadline(state)
    assert deadline is not None
    risk = safeguards.step_risk(PS_KZ, state, deadline, deadline.at)
    assert risk is not None and risk.effects == ["suspend"] and not risk.irreversible
    # A suspension is never held for want of a notice: the notice gate is for what cannot be undone.
    assert safeguards.notice_hold(state, risk, deadline.at) is None


def test_the_deletion_is_held_until_a_notice_announcing_it_reached_the_customer() -> None:
    state = suspended_for_debt()
    deadline = PS_KZ.next_deadline(state)
    assert deadline is not None
    risk = safeguards.step_risk(PS_KZ, state, deadline, deadline.at + 9 * DAY)
    assert risk is not None
    hold = safeguards.notice_hold(state, risk, deadline.at)
    assert hold is not None and hold.kind is HoldKind.NOTICE_NOT_DELIVERED
    # A notice delivered before this suspension (an earlier one) does not count ...
    assert state.suspended_at is not None
    state.note_delivered("suspended", state.suspended_at - DAY)
    assert safeguards.notice_hold(state, risk, deadline.at) is not None
    # ... the suspension notice of this one does.
    state.note_delivered("suspended", state.suspended_at)
    assert safeguards.notice_hold(state, risk, deadline.at) is None


def test_an_operator_release_lets_the_held_step_run() -> None:
    state = suspended_for_debt()
    deadline = PS_KZ.next_deadline(state)
    assert deadline is not None
    risk = safeguards.step_risk(PS_KZ, state, deadline, deadline.at + 9 * DAY)
    assert risk is not None
    state.release_step(risk.step)
    assert safeguards.notice_hold(state, risk, deadline.at) is None


def test_the_final_warning_sent_again_says_it_is_the_providers_reminder() -> None:
    state = suspended_for_debt()
    deadline = PS_KZ.next_deadline(state)
    assert deadline is not None
    risk = safeguards.step_risk(PS_KZ, state, deadline, deadline.at + 9 * DAY)
    assert risk is not None
    hold = safeguards.notice_hold(state, risk, deadline.at)
    assert hold is not None
    first = safeguards.warn_again(PS_KZ, state, hold, deadline.at)
    hold.resends += 1
    second = safeguards.warn_again(PS_KZ, state, hold, deadline.at + timedelta(hours=6))
    assert first and all(d.template.value == "deletion_warning" and d.clause is None for d in first)
    assert all(d.detail["operational"] for d in first)
    assert {d.key for d in first}.isdisjoint({d.key for d in second})  # each try is its own notice


# -- the breaker ------------------------------------------------------------------------------

NOW = datetime.fromisoformat("2027-04-01T00:00:00+05:00")


def ask(key: str, open_services: int = 100, last_input: datetime | None = None, **settings) -> PermitRequest:
    return PermitRequest(
        key=key,
        service_id=key,
        policy_id="ps-kz",
        effects=["suspend"],
        open_services=open_services,
        last_billing_input=last_input or NOW,
        settings=BreakerSettings(**settings),
    )


def test_the_breaker_trips_past_the_share_of_open_services_and_holds_every_later_step() -> None:
    breaker = Breaker()
    # 10 % of 100 open services: ten steps in the hour pass, the eleventh trips it.
    permits = [breaker.decide(ask(f"s{i}"), NOW + timedelta(minutes=i)) for i in range(11)]
    assert all(p.granted for p in permits[:10])
    assert not permits[10].granted and permits[10].hold is HoldKind.MASS_ACTION
    assert "would exceed 10" in (permits[10].reason or "")
    # Tripped: even a step outside the window waits now, until operations release the policy.
    later = breaker.decide(ask("s99"), NOW + timedelta(hours=5))
    assert not later.granted and set(breaker.held) == {"s10", "s99"}


def test_a_small_provider_is_not_tripped_below_the_minimum_number_of_steps() -> None:
    breaker = Breaker()
    # Three services: every one of them suspended at once is 100 %, but fewer than min_steps.
    assert all(breaker.decide(ask(f"s{i}", open_services=3), NOW).granted for i in range(3))


def test_steps_outside_the_window_do_not_count() -> None:
    breaker = Breaker()
    for i in range(10):
        assert breaker.decide(ask(f"a{i}"), NOW).granted
    assert breaker.decide(ask("b0"), NOW + timedelta(hours=1, minutes=1)).granted


def test_asking_again_for_the_same_step_is_not_counted_twice() -> None:
    breaker = Breaker()
    for _ in range(30):
        assert breaker.decide(ask("same"), NOW).granted
    assert len(breaker.granted) == 1


def test_release_grants_the_held_steps_and_starts_the_window_afresh() -> None:
    breaker = Breaker()
    for i in range(12):
        breaker.decide(ask(f"s{i}"), NOW)
    released = breaker.release(NOW + timedelta(minutes=5), "ops-alice", "the billing export was late")
    assert sorted(r.key for r in released) == ["s10", "s11"]
    assert breaker.tripped is None and not breaker.held
    assert breaker.decide(ask("s10"), NOW + timedelta(minutes=6)).granted  # approved by the release
    assert breaker.releases[-1].actor == "ops-alice" and breaker.releases[-1].released == 2


def test_a_silent_billing_feed_holds_steps_once_enough_fall_due() -> None:
    breaker = Breaker()
    silent_since = NOW - timedelta(hours=30)
    permits = [
        breaker.decide(ask(f"s{i}", open_services=10_000, last_input=silent_since, min_steps=3), NOW)
        for i in range(3)
    ]
    assert [p.granted for p in permits] == [True, True, False]
    assert permits[2].hold is HoldKind.BILLING_FEED_SILENT
    assert silent_since.isoformat() in (permits[2].reason or "")


def test_a_feed_that_spoke_recently_does_not_hold() -> None:
    breaker = Breaker()
    recent = NOW - timedelta(hours=2)
    assert all(
        breaker.decide(ask(f"s{i}", open_services=10_000, last_input=recent, min_steps=3), NOW).granted
        for i in range(5)
    )


def test_the_share_is_a_decimal_setting() -> None:
    breaker = Breaker()
    settings = {"max_share": Decimal("0.5"), "min_steps": 1}
    permits = [breaker.decide(ask(f"s{i}", open_services=4, **settings), NOW) for i in range(3)]
    assert [p.granted for p in permits] == [True, True, False]
