"""The contract state machine without Temporal: each rule, applied step by step."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from oferta.policy import load_policy
from oferta.policy.schema import Rule, Term, TimeUnit, Trial
from oferta.timeline.dry_run import dry_run
from oferta.timeline.engine import Contract, describe
from oferta.timeline.money import Money
from oferta.timeline.notices import quiet_hours_end
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec, ServiceState

START = datetime.fromisoformat("2027-03-01T10:00:00+05:00")
PS_KZ = load_policy("ps-kz")
DAY = timedelta(days=1)


def spec(**changes) -> ServiceSpec:
    return ServiceSpec(
        service_id="s-1",
        customer_id="c-1",
        policy_id="ps-kz",
        tariff="Basic",
        price=Money.of("2500", "KZT"),
        **changes,
    )


def event(event_id: str, kind: EventType, **fields) -> BillingEvent:
    return BillingEvent(event_id=event_id, type=kind, **fields)


def pay(event_id: str, amount: str = "2500") -> BillingEvent:
    return event(event_id, EventType.PAYMENT, amount=Money.of(amount, "KZT"))


def run(events, days: int, policy=PS_KZ, **spec_changes):
    return dry_run(
        Contract(policy),
        spec(**spec_changes),
        START,
        [(START + at, e) for at, e in events],
        START + days * DAY,
    )


def types(result) -> list[str]:
    return [e.type.value for e in result.entries]


def test_a_new_service_waits_for_its_first_payment_without_deadlines() -> None:
    state, result = run([], days=90)
    assert state.status.value == "awaiting_payment"
    assert types(result) == ["invoice_issued"]
    assert Contract(PS_KZ).next_deadline(state) is None


def test_partial_payment_keeps_the_service_suspended_until_the_debt_is_paid() -> None:
    events = [
        (timedelta(minutes=5), pay("p1")),
        (32 * DAY + timedelta(hours=1), pay("p2", "1000")),
        (32 * DAY + timedelta(hours=2), pay("p3", "1500")),
    ]
    state, result = run(events, days=40)
    assert types(result).count("resumed") == 1
    resumed_at = next(e.at for e in result.entries if e.type.value == "resumed")
    assert resumed_at == START + 32 * DAY + timedelta(hours=2)
    # Only the late-fee invoice of 6.6 is open; it does not hold the service back.
    assert state.status.value == "active"
    # Renewal due by 24:00 on Tue 30 March (3 working days from Thu 25 March); 31 March, 1 and 2
    # April are days of delay, each on the 2500 unpaid that morning: 0.1% x 3 x 2500.
    assert state.debt() == Money.of("7.50", "KZT")


def test_overpayment_pays_the_next_renewal_from_the_balance() -> None:
    state, result = run([(timedelta(minutes=5), pay("p1", "5000"))], days=40)
    assert state.status.value == "active" and state.period_index == 1
    assert "suspended" not in types(result)
    assert state.balance == Money.zero("KZT")


def test_a_billing_event_is_applied_once() -> None:
    contract = Contract(PS_KZ)
    state = ServiceState.new(spec(), START)
    contract.start(state, START)
    contract.on_event(state, pay("same"), START + DAY)
    assert state.applied_event_ids == ["same"]
    # The workflow drops a known id before the engine sees it; the engine remembers it.
    assert state.balance == Money.zero("KZT") and state.status.value == "active"


def test_refusals_name_the_reason() -> None:
    contract = Contract(PS_KZ)
    state = ServiceState.new(spec(), START)

    def refusal(e: BillingEvent) -> str:
        return contract.refusal(state, e, START) or ""

    assert "differs" in refusal(event("e", EventType.PAYMENT, amount=Money.of("1", "EUR")))
    assert "positive" in refusal(event("e", EventType.PAYMENT, amount=Money.of("-1", "KZT")))
    assert "no cancellation" in refusal(event("e", EventType.CANCEL_WITHDRAWN))
    state.terminal = "deleted"
    assert "deleted" in refusal(pay("late"))


def test_withdrawn_cancellation_keeps_the_service_running() -> None:
    events = [
        (timedelta(minutes=5), pay("p1", "7500")),
        (5 * DAY, event("c", EventType.CANCEL_REQUEST)),
        (10 * DAY, event("w", EventType.CANCEL_WITHDRAWN)),
    ]
    state, result = run(events, days=70)
    assert "termination_withdrawn" in types(result) and "terminated" not in types(result)
    assert state.status.value == "active"


def test_abuse_block_suspends_and_resumes_without_touching_billing() -> None:
    events = [
        (timedelta(minutes=5), pay("p1")),
        (3 * DAY, event("a", EventType.ABUSE_SUSPEND, reason="spam")),
        (4 * DAY, event("r", EventType.ABUSE_RESOLVED)),
    ]
    state, result = run(events, days=10)
    suspended = next(e for e in result.entries if e.type.value == "suspended")
    assert suspended.detail["reason"] == "abuse" and suspended.detail["note"] == "spam"
    assert suspended.clause == PS_KZ.suspension.abuse.clause == "4.2.5"
    assert result.provisioning == ["activate", "suspend", "resume"]
    assert state.status.value == "active"


def test_withdrawn_consent_terminates_after_ten_days() -> None:
    events = [(timedelta(minutes=5), pay("p1")), (3 * DAY, event("k", EventType.CONSENT_WITHDRAWN))]
    state, result = run(events, days=30)
    terminated = next(e for e in result.entries if e.type.value == "terminated")
    # 7.4 "10 (ten) days" are working days (1.12): withdrawn Thu 4 March 2027. Days off: 8 March
    # (Women's Day), 15 March (Constitution Day in the 2027 calendar), 22-24 March (Nauryz) and the
    # weekends. Working days: 5, 9, 10, 11, 12, 16, 17, 18, 19, 25 March: the term ends at 24:00 on 25 March.
    assert terminated.clause == "7.4"
    assert terminated.at == datetime(2027, 3, 26, tzinfo=ZoneInfo("Asia/Almaty"))
    assert terminated.detail["reason"] == "consent_withdrawn"


def test_tariff_change_is_announced_thirty_days_ahead_and_applies_from_the_next_period() -> None:
    events = [
        (timedelta(minutes=5), pay("p1", "10000")),
        (2 * DAY, event("t", EventType.TARIFF_CHANGE, new_price=Money.of("3000", "KZT"), new_tariff="Pro")),
    ]
    state, result = run(events, days=70)
    announced = next(e for e in result.entries if e.type.value == "tariff_change_announced")
    assert announced.clause == "4.2.7"
    effective = datetime.fromisoformat(announced.detail["effective_at"])
    # 30 calendar days from Wed 3 March: the last day is Fri 2 April, the change applies from 24:00.
    assert effective == datetime(2027, 4, 3, tzinfo=ZoneInfo("Asia/Almaty"))
    invoices = [e for e in result.entries if e.type.value == "invoice_issued"]
    # Period 1 starts on 1 April, before the change: old price; period 2 (1 May): new price.
    assert [i.detail["amount"] for i in invoices] == ["2500.00", "2500.00", "3000.00"]
    assert state.spec.tariff == "Pro"


def test_trial_runs_free_then_bills_the_first_period() -> None:
    trial = Trial(
        length=Term(amount=10, unit=TimeUnit.CALENDAR_DAYS, clause="annex 4.3"),
        service_kinds=["hosting"],
        refusal=Rule(clause="annex 4.3", text="free"),
    )
    policy = PS_KZ.model_copy(update={"trial": trial})
    state, result = run([], days=15, policy=policy, trial=True)
    assert types(result)[0] == "activated"
    first_invoice = next(e for e in result.entries if e.type.value == "invoice_issued")
    # The trial ends at 24:00 on 11 March; the first invoice goes out 7 days (the policy's
    # operational lead) before that.
    assert first_invoice.at == datetime(2027, 3, 5, tzinfo=ZoneInfo("Asia/Almaty"))
    assert state.status.value == "suspended"  # nobody paid after the trial


def test_sms_waits_for_the_end_of_quiet_hours_email_does_not() -> None:
    late = datetime.fromisoformat("2027-03-05T23:00:00+05:00")
    morning = quiet_hours_end(late, PS_KZ.quiet_hours, "Asia/Almaty")
    assert morning == datetime(2027, 3, 6, 9, 0, tzinfo=ZoneInfo("Asia/Almaty"))
    noon = datetime.fromisoformat("2027-03-05T12:00:00+05:00")
    assert quiet_hours_end(noon, PS_KZ.quiet_hours, "Asia/Almaty") == noon
    # A service activated at 22:00: its reminder SMS is held, its email is not.
    evening = datetime.fromisoformat("2027-03-01T22:00:00+05:00")
    state, result = dry_run(Contract(PS_KZ), spec(), evening, [(evening, pay("p1"))], evening + 40 * DAY)
    # The renewal falls due at 24:00 on 30 March: the suspension's email goes at 00:00, its SMS at 09:00.
    suspended = [d for d in result.deliveries if d.template.value == "suspended"]
    assert {d.channel.value: d.send_at.astimezone(ZoneInfo("Asia/Almaty")).hour for d in suspended} == {
        "email": 0,
        "sms": 9,
    }


def test_describe_says_the_state_next_step_and_clause() -> None:
    state, _ = run([(timedelta(minutes=5), pay("p1"))], days=2)
    text = describe(Contract(PS_KZ).view(state))
    # The renewal invoice's timing is the provider's choice, not a contract term: no clause is cited.
    assert text.startswith("active; next: issue invoice at 2027-03-25") and "operational" in text
    assert "clause" not in text


def test_late_fee_is_not_charged_on_the_first_invoice() -> None:
    state, result = run([(10 * DAY, pay("p1"))], days=12)
    assert "late_fee" not in types(result) and state.status.value == "active"
    assert state.late_fees_charged.amount == Decimal("0")


def test_cancellation_before_the_first_payment_ends_the_order_after_the_notice() -> None:
    state, result = run([(DAY, event("c", EventType.CANCEL_REQUEST))], days=40)
    assert state.status.value == "terminated"
    assert "refund_due" not in types(result) and "activated" not in types(result)
