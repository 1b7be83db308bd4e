"""Properties of all five contracts over random lives: what no sequence of events may break.

Each example is one service under one policy (a kind from its ``service_kinds``, with or without
a trial, a consumer or not, billed monthly, quarterly or yearly, in the policy's currency) and up
to fifteen inputs at random times over about six and a half months: payments of random sizes,
extra invoices, Tariff purchases, cancellations (either scope) and their withdrawal, a consumer's
withdrawal, promises to pay, force majeure and its end or a party's option, abuse blocks, price
changes, a new version of the offer (its deletion term two days shorter) and objections to it. The contract refuses what it does not allow; that is fine. What must hold:

(a) nothing is suspended for non-payment, deleted or terminated for debt while nothing is
    overdue. Checked on the state just before each such step: under the invoice model an invoice must be past its due
    date and unpaid (a suspension for non-payment too); under the balance model the account must
    be blocked because the balance could not pay for the services and no top-up covering them has
    come since; the tariff-purchase model never takes such a step. The only other
    deletion allowed is the customer's own exit where the contract makes it one (registry.kz
    8.6.1, ``exit_is_deletion``). Pinned examples: a force majeure lasting days plus hours
    (due dates move by whole days, a part day counting as one).
(b) the customer is never charged more than the contract allows: each late fee within its cap
    where the contract has one; refunds never above what was paid in; and what the customer paid
    in, less refunds and less money still its own on the balance, is at most the price of the
    periods the service had, plus one period billed or bought ahead (the tolerance: a renewal is
    invoiced before its period starts; Tariffs bought ahead are queued), plus extra invoices,
    late fees, and what the contract itself says is kept (a balance written off on deletion,
    registry.kz 8.7). Lives that end with a termination for a breach are left out of this last
    bound: the contracts let the provider keep the unused period then (PS.kz 7.7/3.12, ONELAB
    11.10.1, registry.kz 8.7, Center Pro 5.3.9). Pinned examples: money paid after termination
    beyond the debt is refunded.
(c) every clause a timeline entry, a notice or a pending deadline cites exists in that policy's
    seed. Decision on uncited steps: every timeline entry and every notice either cites a clause
    or is marked ``operational: true`` (the provider's own step: reminders, lead times, final
    warnings); there is no exemption for "records" - a payment received cites the billing
    model's clause. A deadline without a clause is operational or a bookkeeping step with no
    entry of its own (a paid period rolling over; a notice held back by quiet hours, whose
    delivery is checked like any other).
(d) the engine never raises, whatever arrives in whatever order, including the provider's and
    operations' inputs (provider termination, termination for a breach, withdrawn consent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from oferta.policy import load_policy
from oferta.policy.schema import PaymentModel, Policy
from oferta.timeline.engine import Contract, Transition
from oferta.timeline.engine.core import describe
from oferta.timeline.money import Money
from oferta.timeline.state import (
    AmendmentTerms,
    BillingEvent,
    CancelScope,
    DeadlineAction,
    EventType,
    ServiceSpec,
    ServiceState,
    SuspensionReason,
    TimelineEntry,
)
from tests.contracts.harness import clause_in_seed, local

POLICIES = ["ps-kz", "onelab", "registry-kz", "centerpro", "smartape"]
START = "2027-02-01 10:00"
DAYS = 200
PERIODS = ["P1M", "P1M", "P3M", "P1Y"]
# The customer's and billing's inputs, payments weighted up.
CUSTOMER_KINDS = [
    EventType.PAYMENT,
    EventType.PAYMENT,
    EventType.PAYMENT,
    EventType.INVOICE,
    EventType.TARIFF_PURCHASE,
    EventType.TARIFF_PURCHASE,
    EventType.CANCEL_REQUEST,
    EventType.CANCEL_WITHDRAWN,
    EventType.WITHDRAWAL,
    EventType.PROMISE_TO_PAY,
    EventType.FORCE_MAJEURE_START,
    EventType.FORCE_MAJEURE_END,
    EventType.ABUSE_SUSPEND,
    EventType.ABUSE_RESOLVED,
    EventType.FORCE_MAJEURE_TERMINATE,
    EventType.TARIFF_CHANGE,
    # A new version of the offer (its deletion term shorter where it has one), and an objection.
    EventType.AMENDMENT,
    EventType.AMENDMENT_OBJECTION,
]
# Operations' inputs as well, for (d).
ALL_KINDS = CUSTOMER_KINDS + [
    EventType.PROVIDER_TERMINATION,
    EventType.BREACH_TERMINATION,
    EventType.CONSENT_WITHDRAWN,
]
FACTORS = [Decimal("0.5"), Decimal("1"), Decimal("1.5"), Decimal("2"), Decimal("3")]
# Deadlines with no entry of their own: a paid period rolling over; a notice held back by quiet
# hours (the delivery carries its clause or its operational mark, checked in (c)).
BOOKKEEPING = {DeadlineAction.START_PERIOD, DeadlineAction.SEND_NOTICE}
DESTRUCTIVE = {DeadlineAction.DELETE_DATA, DeadlineAction.TERMINATE_FOR_DEBT}
# Steps taken for non-payment: the destructive ones, and an invoice model's suspension.
FOR_DEBT = DESTRUCTIVE | {DeadlineAction.SUSPEND}
SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Life:
    policy_id: str
    contract: Contract
    state: ServiceState
    steps: list[Transition] = field(default_factory=list)
    paid_in: Money | None = None
    refused_at_start: tuple[str, str] | None = None
    highest_price: Money | None = None
    checked_deletions: int = 0  # deleted entries produced by a step whose debt was checked
    exit_deletions: int = 0  # deleted entries produced by the customer's own exit (8.6.1)
    checked_debt_endings: int = 0  # terminations for debt produced by a step whose debt was checked
    # (a): steps taken for non-payment while nothing was overdue, as found on the state just before.
    debt_violations: list[str] = field(default_factory=list)

    @property
    def entries(self) -> list[TimelineEntry]:
        return [e for step in self.steps for e in step.entries]


def amended(policy_id: str) -> Policy:
    """The policy's next version: the same, with a data deletion two days sooner where it has one."""
    policy = load_policy(policy_id)
    data = policy.model_dump(mode="json")
    data["version"] = policy.version + 1
    deletion = data["suspension"].get("data_deletion_after")
    if deletion:
        deletion["amount"] = max(1, deletion["amount"] - 2)
    return Policy.model_validate(data)


AMENDED = {policy_id: amended(policy_id) for policy_id in POLICIES}


def price_of(policy_id: str) -> Money:
    currency = load_policy(policy_id).provider.currency
    return Money.of("20.00" if currency == "EUR" else "2500.00", currency)


def make_event(
    n: int, kind: EventType, price: Money, factor: Decimal, at: datetime, flag: bool, policy_id: str = "ps-kz"
) -> BillingEvent:
    fields: dict[str, object] = {}
    if kind is EventType.AMENDMENT:
        fields["amendment"] = AmendmentTerms(
            version=AMENDED[policy_id].version,
            published_at=at,
            effective_at=at + timedelta(days=int(factor * 12)),
        )
    if kind in (EventType.PAYMENT, EventType.INVOICE):
        fields["amount"] = price.times(factor).rounded()
    if kind is EventType.TARIFF_CHANGE:
        fields["new_price"] = price.times(factor).rounded()
    if kind is EventType.PROMISE_TO_PAY:
        fields["promised_at"] = at + timedelta(days=int(factor * 6))
    if kind is EventType.FORCE_MAJEURE_TERMINATE:
        fields["party"] = "customer" if flag else "provider"
    if kind is EventType.CANCEL_REQUEST:
        fields["scope"] = CancelScope.SERVICE if flag else CancelScope.CONTRACT
    if kind in (
        EventType.ABUSE_SUSPEND,
        EventType.BREACH_TERMINATION,
        EventType.PROVIDER_TERMINATION,
        EventType.FORCE_MAJEURE_START,
    ):
        fields["reason"] = "random"
    return BillingEvent(event_id=f"e{n}", type=kind, **fields)  # type: ignore[arg-type]


def live(
    policy_id: str,
    kind_index: int,
    trial: bool,
    consumer: bool,
    period: str,
    inputs: list[tuple[int, int, int, Decimal, bool]],
    kinds: list[EventType],
) -> Life:
    """The same loop as the workflow and ``dry_run``, checking each destructive step before it runs."""
    policy = load_policy(policy_id)
    contract = Contract(policy)
    price = price_of(policy_id)
    kind = policy.service_kinds[kind_index % len(policy.service_kinds)]
    spec = ServiceSpec(
        service_id="s",
        customer_id="c",
        policy_id=policy_id,
        kind=kind,
        tariff="T",
        price=price,
        period=period,
        trial=trial,
        consumer=consumer,
    )
    start = local(policy_id, START)
    state = ServiceState.new(spec, start)
    life = Life(
        policy_id=policy_id,
        contract=contract,
        state=state,
        paid_in=Money.zero(price.currency),
        highest_price=price,
    )
    refusal = contract.start_refusal(spec)
    if refusal is not None:  # the workflow never starts it (a trial the contract does not offer)
        life.refused_at_start = refusal
        return life
    until = start + timedelta(days=DAYS)
    events = sorted(
        (
            (
                start + timedelta(days=d, hours=h),
                make_event(n, kinds[k % len(kinds)], price, f, start + timedelta(days=d), flag, policy_id),
            )
            for n, (d, h, k, f, flag) in enumerate(inputs)
        ),
        key=lambda pair: pair[0],
    )
    life.steps.append(contract.start(state, start))
    last = start
    while True:
        deadline = contract.next_deadline(state)
        next_at = events[0][0] if events else None
        if deadline and deadline.at <= until and (next_at is None or deadline.at <= next_at):
            assert deadline.clause is None or clause_in_seed(policy_id, deadline.clause), deadline
            assert deadline.clause or deadline.operational or deadline.action in BOOKKEEPING, (
                policy_id,
                deadline,
            )
            last = max(deadline.at, last)
            destructive = deadline.action in DESTRUCTIVE
            customer_exit = (
                deadline.action is DeadlineAction.TERMINATE
                and policy.termination.exit_is_deletion
                and state.cancellation_reason != "provider_notice"
            )
            if deadline.action in FOR_DEBT:
                life.debt_violations += debt_violation(contract, state, last, deadline.action)
            step = contract.on_deadline(state, deadline, last)
            if step.policy_version is not None:  # the new version governs from here, as in the workflow
                contract = life.contract = Contract(AMENDED[policy_id])
                policy = contract.policy
            deleted = sum(e.type.value == "deleted" for e in step.entries)
            debt_endings = sum(map(for_debt, step.entries))
            if destructive:
                life.checked_deletions += deleted
                life.checked_debt_endings += debt_endings
            elif customer_exit:
                life.exit_deletions += deleted
                assert not debt_endings, (policy_id, deadline.action, "terminated for debt unchecked")
            else:
                assert not deleted and not debt_endings, (
                    policy_id,
                    deadline.action,
                    "deleted or terminated for debt outside the debt path",
                )
            life.steps.append(step)
        elif next_at is not None and next_at <= until:
            at, event = events.pop(0)
            last = max(at, last)
            step = contract.on_event(state, event, last)
            if not step.rejected:
                if event.type is EventType.PAYMENT and event.amount:
                    life.paid_in = (life.paid_in or price) + event.amount
                if event.type is EventType.TARIFF_CHANGE and event.new_price:
                    life.highest_price = max(
                        life.highest_price or price, event.new_price, key=lambda m: m.amount
                    )
            assert not [e for e in step.entries if e.type.value == "deleted" or for_debt(e)], (
                policy_id,
                event.type,
                "deleted or terminated for debt by an input",
            )
            life.steps.append(step)
        else:
            break
        for refund in life.steps[-1].refunds:
            life.steps.append(contract.refund_paid(state, refund, "ref", last))
    describe(contract.view(state, last))  # the operators' view of any state can be built
    return life


def for_debt(entry: TimelineEntry) -> bool:
    """A termination for debt (SmartApe 2.2.5), or a kind without data ended at the deletion step."""
    return entry.type.value == "terminated" and entry.detail.get("reason") in ("debt", "non_payment")


def debt_violation(
    contract: Contract, state: ServiceState, at: datetime, action: DeadlineAction
) -> list[str]:
    """(a), on the state just before a step taken for non-payment: what is wrong, if anything."""
    policy_id = contract.policy.id
    model = contract.policy.billing.model
    story = (
        f"; {state.spec.kind} {state.spec.period} trial={state.spec.trial}; timeline: "
        + ", ".join(f"{e.at:%Y-%m-%d %H:%M} {e.type.value} {e.clause} {e.detail}" for e in state.timeline)
        + "; invoices: "
        + ", ".join(
            f"{i.invoice_id} {i.amount} paid {i.paid} due {i.due_on} ({i.due_at:%Y-%m-%d %H:%M})"
            for i in state.invoices
        )
    )
    if model is PaymentModel.INVOICE:
        if not contract.billing.overdue_amount(state, at).is_positive:
            return [f"{policy_id}: {action.value} at {at} with nothing overdue" + story]
    elif model is PaymentModel.BALANCE:
        # Blocked because the balance could not pay for the services, and no top-up covering them
        # since: 8.5.2 blocks "до момента пополнения" (until a top-up), so a price cut announced
        # meanwhile does not lift the block by itself.
        blocked = (
            SuspensionReason.NON_PAYMENT in state.suspension_reasons and state.balance_short_since is not None
        )
        needed = max(
            contract.price_for(state, state.balance_short_since or at).amount,
            contract.price_for(state, at).amount,
        )
        if not (blocked and state.balance.amount < needed):
            return [f"{policy_id}: {action.value} at {at} while the balance covers the services" + story]
    else:
        return [f"{policy_id}: the tariff-purchase model never acts for debt ({action.value})"]
    return []


def _opening(kinds: list[EventType], opening: str) -> list[tuple[int, int, int, Decimal, bool]]:
    """Most lives start the way a customer does: paying at once (and, for a Tariff, buying one)."""
    pay, buy = kinds.index(EventType.PAYMENT), kinds.index(EventType.TARIFF_PURCHASE)
    if opening == "none":
        return []
    first = [(0, 1, pay, Decimal("1"), True)]
    return first + [(0, 2, buy, Decimal("1"), True)] if opening == "pay_and_buy" else first


def lives(kinds: list[EventType]) -> st.SearchStrategy[Life]:
    inputs = st.lists(
        st.tuples(
            st.integers(0, DAYS - 10),
            st.integers(0, 23),
            st.integers(0, len(kinds) - 1),
            st.sampled_from(FACTORS),
            st.booleans(),
        ),
        max_size=15,
    )
    openings = st.sampled_from(["none", "pay", "pay_and_buy", "pay_and_buy"]).map(
        lambda opening: _opening(kinds, opening)
    )
    return st.builds(
        live,
        st.sampled_from(POLICIES),
        st.integers(0, 20),  # the kind: an index into the policy's service_kinds
        st.sampled_from([False, False, False, True]),  # trial
        st.booleans(),  # consumer
        st.sampled_from(PERIODS),
        st.builds(lambda first, rest: first + rest, openings, inputs),
        st.just(kinds),
    )


def _check_nothing_for_debt_unless_overdue(life: Life) -> None:
    # ``live`` checked the state before every step taken for non-payment; every deletion and
    # every termination for debt went through such a step (or was the customer's own exit).
    assert life.debt_violations == []
    deleted = [e for e in life.entries if e.type.value == "deleted"]
    assert len(deleted) == life.checked_deletions + life.exit_deletions
    assert sum(map(for_debt, life.entries)) == life.checked_debt_endings


# A force majeure of 14 days and 1 hour: due dates move by 15 whole days (a part day counts as
# one), so a step for non-payment still waits until something is overdue.
_K = CUSTOMER_KINDS
_PART_DAY_FM = [
    (0, 1, _K.index(EventType.PAYMENT), Decimal("1"), True),
    (0, 2, _K.index(EventType.INVOICE), Decimal("2"), True),
    (0, 3, _K.index(EventType.FORCE_MAJEURE_START), Decimal("1"), True),
    (14, 4, _K.index(EventType.FORCE_MAJEURE_END), Decimal("1"), True),
]


@example(life=live("smartape", 0, False, False, "P1M", _PART_DAY_FM, CUSTOMER_KINDS))
@example(life=live("ps-kz", 0, False, False, "P1M", _PART_DAY_FM, CUSTOMER_KINDS))
@SETTINGS
@given(lives(CUSTOMER_KINDS))
def test_nothing_is_done_for_debt_while_nothing_is_overdue_even_after_a_part_day_force_majeure(
    life: Life,
) -> None:
    """(a) for every life, whatever the length of its force majeure."""
    _check_nothing_for_debt_unless_overdue(life)


@SETTINGS
@given(lives(CUSTOMER_KINDS))
def test_late_fees_within_their_cap_and_refunds_within_what_was_paid(life: Life) -> None:
    if life.refused_at_start:
        return
    policy = life.contract.policy
    state, entries = life.state, life.entries
    assert life.paid_in is not None
    zero = Decimal(0)

    # Late fees: within the cap of the invoice they are charged on; none where the contract has none.
    fees = [e for e in entries if e.type.value == "late_fee"]
    if policy.late_fee is None:
        assert not fees
    elif policy.late_fee.cap_ratio is not None:
        billed = {
            e.detail["invoice_id"]: Decimal(e.detail["amount"])
            for e in entries
            if e.type.value == "invoice_issued"
        }
        for fee in fees:
            cap = billed[fee.detail["invoice_id"]] * policy.late_fee.cap_ratio
            assert Decimal(fee.detail["amount"]) <= cap + Decimal("0.005"), fee.detail
    assert sum((Decimal(f.detail["amount"]) for f in fees), zero) == state.late_fees_charged.amount

    # Refunds: never more than was paid in; none where the contract refunds nothing.
    refunded = sum((Decimal(e.detail["amount"]) for e in entries if e.type.value == "refund_paid"), zero)
    assert refunded == state.refunded.amount <= life.paid_in.amount
    if policy.refunds.destination.value == "none":
        assert refunded == 0


# Pinned lives where a debt paid after termination is overpaid (PS.kz 7.5 + 5.25, SmartApe 2.2.5
# + 11.4): the engine keeps the excess on the ended service and refunds nothing.
_OVERPAID_AFTER_END_PS = (
    "ps-kz",
    3,
    False,
    False,
    "P1M",
    [(0, 1, 0, Decimal("1"), True), (150, 2, 0, Decimal("3"), True)],
)
_OVERPAID_AFTER_END_SA = ("smartape", 2, True, False, "P1Y", [(68, 2, 0, Decimal("1.5"), True)])


@example(life=live(*_OVERPAID_AFTER_END_PS, CUSTOMER_KINDS))
@example(life=live(*_OVERPAID_AFTER_END_SA, CUSTOMER_KINDS))
@SETTINGS
@given(lives(CUSTOMER_KINDS))
def test_what_is_kept_is_at_most_the_periods_used(life: Life) -> None:
    if life.refused_at_start:
        return
    policy = life.contract.policy
    state, entries = life.state, life.entries
    assert life.paid_in is not None and life.highest_price is not None
    zero = Decimal(0)
    if any(e.type.value == "terminated" and e.detail.get("reason") == "breach" for e in entries):
        return  # the contract lets the provider keep the unused period (see the module's docstring)
    refunded = state.refunded.amount
    refunds_on_end = policy.refunds.destination.value != "none"
    # Money on the balance is still the customer's, unless an ending has settled it (refunded).
    still_own = state.balance.amount if not (state.terminal and refunds_on_end) else zero
    kept = life.paid_in.amount - refunded - still_own
    periods = state.period_index + 1 if state.billing_anchor is not None else 0
    ahead = 1 + state.tariffs_queued
    extras = sum(
        (
            Decimal(e.detail["amount"])
            for e in entries
            if e.type.value == "invoice_issued" and e.detail.get("kind") == "extra"
        ),
        zero,
    )
    written_off = sum((Decimal(e.detail.get("balance_written_off") or 0) for e in entries), zero)
    allowed = (
        life.highest_price.amount * (max(periods, 0) + ahead)
        + extras
        + state.late_fees_charged.amount
        + written_off
    )
    assert kept <= allowed, (
        f"{life.policy_id} {state.spec.kind} {state.spec.period}: kept {kept} > allowed {allowed} "
        f"(periods {periods}, ahead {ahead}, extras {extras}, fees {state.late_fees_charged}, "
        f"written off {written_off}); {[e.type.value for e in entries]}"
    )


@SETTINGS
@given(lives(CUSTOMER_KINDS))
def test_every_cited_clause_is_in_the_seed_and_every_uncited_step_says_it_is_operational(life: Life) -> None:
    policy_id = life.policy_id
    for step in life.steps:
        for entry in step.entries:
            if entry.clause:
                assert clause_in_seed(policy_id, entry.clause), (policy_id, entry.type, entry.clause)
            else:
                assert entry.detail.get("operational") is True, (policy_id, entry.type, entry.detail)
        for delivery in step.deliveries:
            if delivery.clause:
                assert clause_in_seed(policy_id, delivery.clause), (
                    policy_id,
                    delivery.template,
                    delivery.clause,
                )
            else:
                assert delivery.detail.get("operational") is True, (policy_id, delivery.template)
        for refund in step.refunds:
            assert refund.clause and clause_in_seed(policy_id, refund.clause), (policy_id, refund)


@SETTINGS
@given(lives(ALL_KINDS))
def test_the_engine_never_raises_whatever_operations_send(life: Life) -> None:
    # ``live`` raised nothing and built the operators' view; a refusal is a reason, never an error.
    for step in life.steps:
        if step.rejected:
            assert isinstance(step.rejected, str) and step.rejected
    if life.refused_at_start:
        field_name, reason = life.refused_at_start
        assert field_name in ("kind", "trial") and reason
