"""Properties of all five contracts over random lives: what no sequence of events may break.

Each example is a service under one policy and up to a dozen inputs at random times over six
months (payments of random sizes, extra invoices, Tariff purchases, cancellations, withdrawals,
promises to pay, force majeure, abuse blocks). The contract refuses what it does not allow; that
is fine. What must hold whatever happens:

* nothing is deleted, and nothing is terminated for debt, while nothing is overdue (or blocked);
* the customer is never charged more than the contract allows: no more periods than it had, late
  fees within their cap, refunds within what was paid;
* every clause a step or a notice cites exists in the seed, and a step that cites none says it is
  the provider's own (operational);
* the engine never fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oferta.policy import load_policy
from oferta.timeline.engine import Contract, Transition
from oferta.timeline.money import Money
from oferta.timeline.state import (
    BillingEvent,
    DeadlineAction,
    EventType,
    ServiceSpec,
    ServiceState,
    SuspensionReason,
)
from tests.contracts.harness import clause_in_seed, local

POLICIES = ["ps-kz", "onelab", "registry-kz", "centerpro", "smartape"]
START = "2027-02-01 10:00"
DAYS = 200
KINDS = [EventType.PAYMENT, EventType.PAYMENT, EventType.PAYMENT, EventType.INVOICE,
         EventType.TARIFF_PURCHASE, EventType.TARIFF_PURCHASE, EventType.CANCEL_REQUEST,
         EventType.CANCEL_WITHDRAWN, EventType.WITHDRAWAL, EventType.PROMISE_TO_PAY,
         EventType.FORCE_MAJEURE_START, EventType.FORCE_MAJEURE_END, EventType.ABUSE_SUSPEND,
         EventType.ABUSE_RESOLVED, EventType.FORCE_MAJEURE_TERMINATE]
DESTRUCTIVE = {DeadlineAction.DELETE_DATA, DeadlineAction.TERMINATE_FOR_DEBT}


@dataclass
class Life:
    state: ServiceState
    steps: list[Transition]
    paid_in: Money


def _price(policy_id: str) -> Money:
    currency = load_policy(policy_id).provider.currency
    return Money.of("20.00" if currency == "EUR" else "2500.00", currency)


def _event(n: int, kind: EventType, price: Money, factor: Decimal, at: datetime) -> BillingEvent:
    fields: dict[str, object] = {}
    if kind in (EventType.PAYMENT, EventType.INVOICE):
        fields["amount"] = price.times(factor)
    if kind is EventType.PROMISE_TO_PAY:
        fields["promised_at"] = at + timedelta(days=10)
    if kind is EventType.FORCE_MAJEURE_TERMINATE:
        fields["party"] = "customer"
    return BillingEvent(event_id=f"e{n}", type=kind, **fields)  # type: ignore[arg-type]


def live(policy_id: str, consumer: bool, inputs: list[tuple[int, int, int, Decimal]]) -> Life:
    """The same loop as the workflow and ``dry_run``, checking each destructive step before it runs."""
    policy = load_policy(policy_id)
    contract = Contract(policy)
    price = _price(policy_id)
    kind = "hosting" if "hosting" in policy.service_kinds else policy.service_kinds[0]
    spec = ServiceSpec(service_id="s", customer_id="c", policy_id=policy_id, kind=kind, tariff="T",
                       price=price, consumer=consumer)
    start = local(policy_id, START)
    until = start + timedelta(days=DAYS)
    events = sorted(((start + timedelta(days=d, hours=h), _event(n, KINDS[k], price, f, start))
                     for n, (d, h, k, f) in enumerate(inputs)), key=lambda pair: pair[0])
    state = ServiceState.new(spec, start)
    steps = [contract.start(state, start)]
    paid_in = Money.zero(price.currency)
    last = start
    while True:
        deadline = contract.next_deadline(state)
        next_at = events[0][0] if events else None
        if deadline and deadline.at <= until and (next_at is None or deadline.at <= next_at):
            last = max(deadline.at, last)
            if deadline.action in DESTRUCTIVE:
                overdue = contract.billing.overdue_amount(state, last)
                blocked = SuspensionReason.NON_PAYMENT in state.suspension_reasons
                assert overdue.is_positive or blocked, (
                    f"{policy_id}: {deadline.action.value} at {last} with nothing overdue")
            steps.append(contract.on_deadline(state, deadline, last))
        elif next_at is not None and next_at <= until:
            at, event = events.pop(0)
            last = max(at, last)
            step = contract.on_event(state, event, last)
            if not step.rejected and event.type is EventType.PAYMENT and event.amount:
                paid_in = paid_in + event.amount
            steps.append(step)
        else:
            break
        for refund in steps[-1].refunds:
            steps.append(contract.refund_paid(state, refund, "ref", last))
    return Life(state=state, steps=steps, paid_in=paid_in)


lives = st.tuples(
    st.sampled_from(POLICIES),
    st.booleans(),
    st.lists(st.tuples(st.integers(0, DAYS - 20), st.integers(0, 23), st.integers(0, len(KINDS) - 1),
                       st.sampled_from([Decimal("0.5"), Decimal("1"), Decimal("2"), Decimal("3")])),
             max_size=12),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lives)
def test_no_deletion_or_debt_termination_while_nothing_is_overdue(life: tuple) -> None:
    live(*life)  # the assertion runs before every destructive step


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lives)
def test_never_charged_more_than_the_contract_allows(life: tuple) -> None:
    policy_id = life[0]
    policy = load_policy(policy_id)
    result = live(*life)
    state, price = result.state, _price(policy_id)
    entries = [e for step in result.steps for e in step.entries]
    # Periods: no more than one per period the service had, plus the one billed ahead.
    periods = [Decimal(e.detail["amount"]) for e in entries
               if e.type.value == "invoice_issued" and e.detail.get("kind") == "period"]
    periods += [Decimal(e.detail["amount"]) for e in entries
                if e.type.value in ("balance_debited", "tariff_purchased")]
    assert sum(periods, Decimal(0)) <= price.amount * (state.period_index + 2)
    # Late fees within the cap, on invoices that exist.
    if policy.late_fee is None:
        assert not [e for e in entries if e.type.value == "late_fee"]
    elif policy.late_fee.cap_ratio is not None:
        for fee in (e for e in entries if e.type.value == "late_fee"):
            billed = next(Decimal(i.detail["amount"]) for i in entries if i.type.value == "invoice_issued"
                          and i.detail["invoice_id"] == fee.detail["invoice_id"])
            assert Decimal(fee.detail["amount"]) <= billed * policy.late_fee.cap_ratio + Decimal("0.01")
    # Refunds never exceed what the customer paid in.
    assert state.refunded.amount <= result.paid_in.amount
    if policy.refunds.destination.value == "none":
        assert not state.refunded.is_positive


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lives)
def test_every_cited_clause_is_in_the_seed_and_every_uncited_step_says_it_is_operational(life: tuple) -> None:
    policy_id = life[0]
    result = live(*life)
    for step in result.steps:
        for entry in step.entries:
            if entry.clause:
                assert clause_in_seed(policy_id, entry.clause), (policy_id, entry.type, entry.clause)
            else:
                assert entry.detail.get("operational") is True, (policy_id, entry.type, entry.detail)
        for delivery in step.deliveries:
            if delivery.clause:
                assert clause_in_seed(policy_id, delivery.clause), (policy_id, delivery.template, delivery.clause)
            else:
                assert delivery.detail.get("operational") is True, (policy_id, delivery.template)
