"""Contract timelines on the time-skipping server: months pass in milliseconds.

Each test runs the real workflow and activities (in-memory back ends) and checks
what a customer or an operator would see: states, dates, amounts and clauses.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from activities.memory import MemoryLedger
from oferta.policy import load_policy
from oferta.simulate import run_scenario
from oferta.timeline.charges import prorate
from oferta.timeline.money import Money
from tests.workflows.scenarios import POLICY_IDS, pay, scenario

DAY = timedelta(days=1)
ALMATY = ZoneInfo("Asia/Almaty")


def almaty(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ALMATY)


def of_type(result, kind: str) -> list:
    return [e for e in result.timeline if e.type.value == kind]


def paid(after: timedelta, policy_id: str) -> list[dict]:
    """A payment; under Center Pro the client then buys the next Tariff with it (6.6)."""
    events = [pay(after, policy_id=policy_id)]
    if load_policy(policy_id).billing.model.value == "tariff_purchase":
        events.append({"after": after + timedelta(minutes=1), "type": "tariff_purchase"})
    return events


@pytest.mark.parametrize("policy_id", POLICY_IDS)
async def test_paid_on_time_stays_active_period_after_period(time_env, policy_id: str) -> None:
    # Pay on activation and a week before each of the next two periods ends.
    events = paid(timedelta(minutes=5), policy_id)
    for i in range(2):
        events += paid(timedelta(days=24 + 30 * i), policy_id)
    result = await run_scenario(time_env, scenario(policy_id, events, days=80))
    assert result.final_state == "active"
    assert not of_type(result, "suspended")
    assert not of_type(result, "late_fee")
    assert result.view.period_index == 2
    assert len(of_type(result, "payment_received")) == 3
    # Every step cites its clause, except the provider's own operational steps, which say so.
    assert all(e.clause or e.detail.get("operational") for e in result.timeline if e.type.value != "notice")


@pytest.mark.parametrize("policy_id", POLICY_IDS)
async def test_never_paid_follows_the_contracts_own_end(time_env, policy_id: str) -> None:
    policy = load_policy(policy_id)
    rules = policy.suspension
    result = await run_scenario(
        time_env, scenario(policy_id, paid(timedelta(minutes=5), policy_id), days=250)
    )
    suspended = of_type(result, "suspended")
    limited = policy.billing.model.value == "tariff_purchase"
    # A Tariff that ends is not a debt: access is limited until the client buys again (5.3.10).
    assert suspended and suspended[0].detail["reason"] == ("tariff_ended" if limited else "non_payment")
    if rules.data_deletion_after:
        assert result.final_state == "deleted"
        deleted = of_type(result, "deleted")[0]
        assert deleted.clause == rules.data_deletion_after.clause
    elif rules.terminate_for_debt_after:
        assert result.final_state == "terminated"
        assert of_type(result, "terminated")[0].clause == rules.terminate_for_debt_after.clause
    else:
        # The contract sets no end: the service waits, suspended, for payment.
        assert result.final_state == "suspended"


async def test_ps_kz_reference_timeline_dates_and_clauses(time_env) -> None:
    # Paid Mon 1 March 2027 10:05; the month runs to 1 April 10:05.
    result = await run_scenario(time_env, scenario("ps-kz", [pay(timedelta(minutes=5))], days=60))
    renewal = of_type(result, "invoice_issued")[1]
    # Issued 7 calendar days ahead (the provider's choice, cited to no clause); 5.8 + 1.12:
    # 3 working days from Thu 25 March are Fri 26, Mon 29, Tue 30 March.
    assert (renewal.at, renewal.clause) == (almaty("2027-03-25 10:05"), "5.8")
    assert renewal.detail["due_on"] == "2027-03-30"
    suspended = of_type(result, "suspended")[0]
    # 4.2.4: suspended once the term has run out, at 24:00 on 30 March.
    assert (suspended.at, suspended.clause) == (almaty("2027-03-31 00:00"), "4.2.4")
    # 3.16: 7 calendar days from 31 March, the last being Wed 7 April, to 24:00.
    assert suspended.detail["restore_until"] == almaty("2027-04-08 00:00").isoformat()
    deleted = of_type(result, "deleted")[0]
    assert (deleted.at, deleted.clause) == (almaty("2027-04-08 00:00"), "3.17")
    notices = {(e.detail["template"], e.detail["channel"]) for e in of_type(result, "notice")}
    assert {
        ("suspended", "email"),
        ("suspended", "sms"),
        ("deletion_warning", "email"),
        ("deleted", "email"),
        ("payment_reminder", "sms"),
    } <= notices


async def test_ps_kz_paid_inside_the_grace_is_restored_with_a_late_fee(time_env) -> None:
    # The renewal fell due by 24:00 on 30 March; paid Wed 7 April 10:00, inside the 3.16 window.
    events = [pay(timedelta(minutes=5)), pay(timedelta(days=31 + 6))]
    result = await run_scenario(time_env, scenario("ps-kz", events, days=45))
    assert result.final_state == "active"
    resumed = of_type(result, "resumed")[0]
    assert resumed.clause == "3.16"
    # "within 1 business day": Thu 8 April, to 24:00.
    assert resumed.detail["restore_by"] == almaty("2027-04-09 00:00").isoformat()
    fee = of_type(result, "late_fee")[0]
    # 31 March to 7 April: 8 days of delay on the whole 2500 (6.4).
    assert fee.clause == "6.4" and fee.detail["days_late"] == 8
    assert Decimal(fee.detail["amount"]) == Decimal("20.00")
    assert not of_type(result, "deleted")


async def test_ps_kz_payment_after_deletion_restores_nothing(time_env) -> None:
    events = [pay(timedelta(minutes=5)), pay(timedelta(days=31 + 9))]
    result = await run_scenario(time_env, scenario("ps-kz", events, days=50))
    assert result.final_state == "deleted"
    assert not of_type(result, "resumed")
    assert len(result.ignored) == 1 and "ended" in result.ignored[0]
    assert len(of_type(result, "payment_received")) == 1


async def test_ps_kz_cancellation_refunds_the_unused_balance(time_env) -> None:
    policy = load_policy("ps-kz")
    # Three months paid up front; notice given 35 days in: it ends 30 days later, in month three.
    events = [
        pay(timedelta(minutes=5), amount="7500.00"),
        {"after": timedelta(days=35), "type": "cancel_request"},
    ]
    result = await run_scenario(time_env, scenario("ps-kz", events, days=120))
    assert result.final_state == "terminated"
    requested = of_type(result, "termination_requested")[0]
    terminated = of_type(result, "terminated")[0]
    assert requested.clause == "4.3.16"
    # Notice on Mon 5 April: 30 calendar days end at 24:00 on Wed 5 May.
    assert terminated.at == almaty("2027-05-06 00:00")
    invoices = of_type(result, "invoice_issued")
    activated = of_type(result, "activated")[0].at
    third_start = activated.replace(month=activated.month + 2)
    third_end = activated.replace(month=activated.month + 3)
    # The last month is billed only up to the date of cessation (5.17).
    assert Money.of(invoices[-1].detail["amount"], "KZT") == prorate(
        Money.of("2500", "KZT"), third_start, third_end, third_start, terminated.at, "Asia/Almaty"
    )
    billed = sum(Decimal(i.detail["amount"]) for i in invoices)
    refund = of_type(result, "refund_due")[0]
    assert Decimal(refund.detail["amount"]) == Decimal("7500.00") - billed > 0
    assert refund.clause == "5.25" and policy.refunds.deadline is not None
    # 15 working days from 6 May: 7 and 10 May are holidays; 11-14, 17-21, 24-28 and 31 May.
    assert refund.detail["due_by"] == almaty("2027-06-01 00:00").isoformat()
    assert of_type(result, "refund_paid")[0].detail["amount"] == refund.detail["amount"]


async def test_force_majeure_shorter_than_the_limit_extends_deadlines(time_env) -> None:
    events = [
        pay(timedelta(minutes=5)),
        {"after": timedelta(days=10), "type": "force_majeure_start", "reason": "flood"},
        {"after": timedelta(days=20), "type": "force_majeure_end"},
    ]
    result = await run_scenario(time_env, scenario("ps-kz", events, days=36))
    started = of_type(result, "force_majeure_started")[0]
    assert started.clause == "6.16"
    # 6.16: 14 calendar days from Thu 11 March, the last being Thu 25 March.
    assert started.detail["notify_by"] == almaty("2027-03-26 00:00").isoformat()
    assert of_type(result, "force_majeure_ended")[0].detail["lasted_days"] == 10
    renewal = of_type(result, "invoice_issued")[1]
    # Without the force majeure the renewal would go out on 25 March, 7 days before the month ends.
    assert renewal.at == almaty("2027-03-25 10:05") + 10 * DAY
    assert result.final_state in {"active", "invoice_due"}


async def test_force_majeure_longer_than_a_month_terminates_with_refund(time_env) -> None:
    events = [
        pay(timedelta(minutes=5)),
        {"after": timedelta(days=5), "type": "force_majeure_start", "reason": "war"},
    ]
    result = await run_scenario(time_env, scenario("ps-kz", events, days=60))
    assert result.final_state == "terminated"
    started = of_type(result, "force_majeure_started")[0]
    terminated = of_type(result, "terminated")[0]
    assert terminated.clause == "6.17" and terminated.detail["reason"] == "force_majeure"
    # "upon expiration of 1 (one) month" from Sat 6 March: the last day is Tue 6 April.
    assert terminated.at == almaty("2027-04-07 00:00")
    # The paid month could not be used from the force majeure on: those days are refunded.
    refund = of_type(result, "refund_due")[0]
    activated = of_type(result, "activated")[0].at
    unused = prorate(
        Money.of("2500", "KZT"),
        activated,
        activated.replace(month=activated.month + 1),
        started.at,
        activated.replace(month=activated.month + 1),
        "Asia/Almaty",
    )
    assert Money.of(refund.detail["amount"], "KZT") == unused


async def test_force_majeure_without_a_termination_right_just_lasts(time_env) -> None:
    events = paid(timedelta(minutes=5), "centerpro") + [
        {"after": timedelta(days=5), "type": "force_majeure_start"}
    ]
    result = await run_scenario(time_env, scenario("centerpro", events, days=120))
    assert load_policy("centerpro").force_majeure.termination == "none"
    assert result.final_state == "force_majeure"
    assert not of_type(result, "terminated")


async def test_late_fee_stops_at_the_cap(time_env) -> None:
    # PS.kz's cap (10%, clause 6.4) is reached after 100 days; give this variant a long grace.
    base = load_policy("ps-kz")
    long_grace = base.suspension.model_copy(
        update={
            "grace_to_restore": base.suspension.grace_to_restore.model_copy(update={"amount": 400}),
            "data_deletion_after": base.suspension.data_deletion_after.model_copy(update={"amount": 400}),
        }
    )
    policy = base.model_copy(update={"suspension": long_grace})
    events = [pay(timedelta(minutes=5)), pay(timedelta(days=31 + 150), amount="3000.00")]
    result = await run_scenario(time_env, scenario("ps-kz", events, days=200), policy=policy)
    fee = of_type(result, "late_fee")[0]
    # Overdue from 31 March, paid on 29 August: 152 days of delay, capped at 10% (6.4).
    assert fee.detail["capped"] is True and fee.detail["days_late"] == 152
    assert Decimal(fee.detail["amount"]) == Decimal("250.00")
    assert of_type(result, "resumed"), "the arrears and the fee were paid in full"


async def test_each_notice_is_sent_once(time_env) -> None:
    ledger = MemoryLedger()
    await run_scenario(time_env, scenario("ps-kz", [pay(timedelta(minutes=5))], days=60), ledger=ledger)
    assert ledger.send_attempts == len(ledger.notices)
    sent = [
        (e.detail["template"], e.detail["channel"])
        for e in ledger.timeline[next(iter(ledger.timeline))]
        if e.type.value == "notice"
    ]
    assert sorted(sent) == sorted((n.template.value, n.channel.value) for n in ledger.notices.values())
