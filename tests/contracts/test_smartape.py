"""SmartApe OÜ, Estonia (seed 004): the contract's own words, run on the engine.

The contract is in English and quoted as written. Invoices, monthly and 100% in advance, are payable
within 5 working days (5.1); non-payment suspends at once and, past 20 days from the invoice date,
terminates (2.2.5); suspended time is payable (2.2.10); 0.1% a day on the unpaid amount (7.9).

Dates are Tallinn time (EET +02:00 until Sun 28 Mar 2027, EEST +03:00 after). Estonian days off used
(EE 2027, `holidays`): Wed 24 Feb (Independence Day), Fri 26 Mar (Good Friday); Easter Monday is a
working day in Estonia. A term in days runs from the day after its event and ends at 24:00 of its last
day, moved to the next working day when that day is off (TsÜS §§ 135, 136(8), 137). A bare "day" in
this contract is a calendar day (the policy's definitions).

The customer in most scenarios: a 100 EUR monthly service started Mon 1 Feb 2027 10:00 and paid at
10:05, so its paid periods run from 1 Feb 10:05 (1 Mar 10:05, 1 Apr 10:05, ...). The renewal invoice
is issued 5 working days before the period ends (an operational lead): for 1 Mar 10:05 that is
Fri 19 Feb 10:05 (26, 25, [24 off], 23, 22, 19 Feb).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

import pytest

from oferta.policy import load_policy
from oferta.timeline.engine import Contract
from oferta.timeline.state import BillingEvent, ServiceSpec, ServiceStatus
from tests.contracts.harness import Run, clause_in_seed, event, local, run, seed_text, service

ID = "smartape"
PRICE = "100.00"


def eur(amount: str) -> tuple[str, str]:
    return (amount, "EUR")


def at(text: str) -> datetime:
    return local(ID, text)


def spec(**changes: object) -> ServiceSpec:
    changes.setdefault("kind", "hosting")
    return service(ID, changes.pop("price", PRICE), **changes)  # type: ignore[arg-type]


PAID = ("2027-02-01 10:05", event("payment", amount=eur(PRICE)))


def paid_month(*extra: tuple[str, BillingEvent], until: str = "2027-06-01 00:00", **changes: object) -> Run:
    """Started Mon 1 Feb 10:00, the first month paid at 10:05, then ``extra`` events."""
    return run(ID, spec(**changes), "2027-02-01 10:00", [PAID, *extra], until=until)


def invoice(r: Run, invoice_id: str) -> dict:
    found = [e.detail for e in r.entries("invoice_issued") if e.detail["invoice_id"] == invoice_id]
    assert found, f"no invoice {invoice_id}: {[e.detail['invoice_id'] for e in r.entries('invoice_issued')]}"
    return found[0]


# -- the seed says what the tests quote ------------------------------------------------------------


def test_the_quoted_words_are_the_seeds() -> None:
    text = " ".join(seed_text(ID).split())
    for words in (
        "within 5 (five) working days from the date of invoicing by the Contractor",
        "to immediately suspend the provision of Services until payment, notifying the Client",
        "if the delay in payment exceeds 20 (twenty) days from the date of the invoice",
        "The time of suspension shall be payable",
        "a penalty of 0.1% of the unpaid amount for each day of delay",
        "at least 10 working days ahead and on the terms specified in paragraph 7.11",
        "by notifying the other Party one (1) month in advance",
        "within 14 days without giving any reason, from the day of the conclusion of the Contract",
        "the funds are not returned to the Client for the period actually remaining until the end of the minimum period",
        "return the cost of unused Services",
        "use the Service free of charge for 10 (ten) days",
        "he will have the opportunity to return the previously transferred funds",
        "THE COSTS AND TARIFFS FOR THE VIRTUAL SERVER PROVISION",
        "this period shall be extended for the duration of the relevant circumstances",
        "consistent for two months and show no signs of termination, this Contract may be terminated by either Party",
        "within 20 (twenty) days from the date of the violation",
    ):
        assert words in text, words


# -- 5.1: 5 working days to pay, with an Estonian holiday inside ----------------------------------------


def test_the_renewal_invoice_is_due_in_5_working_days_past_independence_day() -> None:
    """5.1: "The Services payment under this Contract is made by the Client on a monthly basis by
    transferring the payment 100% (one hundred) in advance for the Services within 5 (five) working days
    from the date of invoicing by the Contractor."

    The invoice for the month from 1 Mar is issued Fri 19 Feb 10:05 (operational lead, no clause of its
    own). Its 5 working days: Mon 22, Tue 23, [Wed 24 Feb Independence Day], Thu 25, Fri 26 Feb, Mon
    1 Mar: the last day to pay is Mon 1 Mar, until 24:00. Paid at 23:30 that day: in time - no
    suspension, no penalty. A one-day courtesy reminder (operational, no clause) goes out Sun 28 Feb.
    """
    r = paid_month(("2027-03-01 23:30", event("payment", amount=eur(PRICE))), until="2027-03-20 00:00")
    p1 = [e for e in r.entries("invoice_issued") if e.detail["invoice_id"] == "p1"][0]
    assert r.at_local(p1) == "2027-02-19 10:05"
    assert p1.clause == "5.1"
    assert p1.detail["due_on"] == "2027-03-01"
    assert datetime.fromisoformat(p1.detail["due_at"]) == at("2027-03-02 00:00")
    assert (p1.detail["amount"], p1.detail["currency"]) == ("100.00", "EUR")
    reminder = r.first("reminder")
    assert r.at_local(reminder) == "2027-02-28 10:00"
    assert reminder.clause is None and reminder.detail.get("operational") is True
    assert not r.entries("suspended") and not r.entries("late_fee")
    assert r.state.paid_until == at("2027-04-01 10:05")


def test_the_first_invoice_is_due_in_5_working_days() -> None:
    """5.1: "within 5 (five) working days from the date of invoicing". The first invoice, issued at the
    order on Mon 1 Feb 10:00: Tue 2, Wed 3, Thu 4, Fri 5, Mon 8 Feb - payable until 24:00 of Mon 8 Feb.
    """
    r = run(ID, spec(), "2027-02-01 10:00", [], until="2027-02-02 00:00")
    p0 = invoice(r, "p0")
    assert p0["due_on"] == "2027-02-08"
    assert datetime.fromisoformat(p0["due_at"]) == at("2027-02-09 00:00")


# -- 2.2.5: suspension at once when the term has run out -----------------------------------------------


def test_an_unpaid_invoice_suspends_at_24_00_of_its_last_day() -> None:
    """2.2.5: the Contractor may, "in case of non-receipt of payment from the Client or receipt of
    payment is not full, to immediately suspend the provision of Services until payment, notifying the
    Client".

    The invoice of Fri 19 Feb is payable through Mon 1 Mar (5.1). Nothing arrives: the service is
    suspended at 24:00 of 1 Mar, i.e. Tue 2 Mar 00:00 Tallinn time, citing 2.2.5, with the 100 EUR
    arrears in the notice; the e-mail goes at once, the SMS waits for 09:00.
    """
    r = paid_month(until="2027-03-05 00:00")
    suspended = r.first("suspended")
    assert r.at_local(suspended) == "2027-03-02 00:00"
    assert suspended.clause == "2.2.5"
    assert (suspended.detail["reason"], suspended.detail["debt"]) == ("non_payment", "100.00")
    assert r.result.provisioning == ["activate", "suspend"]
    sent = {
        (d.channel.value, d.send_at.astimezone(at("2027-03-02 00:00").tzinfo).strftime("%m-%d %H:%M"))
        for d in r.result.deliveries
        if d.template.value == "suspended"
    }
    assert sent == {("email", "03-02 00:00"), ("sms", "03-02 09:00")}


def test_a_partial_payment_does_not_prevent_the_suspension() -> None:
    """2.2.5: "... or receipt of payment is not full, to immediately suspend the provision of Services
    until payment". 90 of the 100 EUR arrive Fri 26 Feb: on Tue 2 Mar 00:00 the service is suspended
    for the 10 EUR still unpaid, and restored when they arrive (Tue 9 Mar 12:00).
    """
    r = paid_month(
        ("2027-02-26 12:00", event("payment", amount=eur("90.00"))),
        ("2027-03-09 12:00", event("payment", amount=eur("10.00"))),
        until="2027-03-20 00:00",
    )
    suspended = r.first("suspended")
    assert r.at_local(suspended) == "2027-03-02 00:00"
    assert suspended.detail["debt"] == "10.00"
    assert r.at_local(r.first("resumed")) == "2027-03-09 12:00"
    assert r.state.status is ServiceStatus.ACTIVE


# -- 2.2.5: termination once the delay exceeds 20 days from the invoice date ---------------------------


def test_termination_for_debt_comes_on_day_21_after_the_invoice_billed_only_to_that_day() -> None:
    """2.2.5: "if the delay in payment exceeds 20 (twenty) days from the date of the invoice by the
    Client - unilaterally terminate this Contract. In case of the Contract termination for these
    reasons, the Client is not exempt from the obligation to repay the debt". 2.2.10: "The time of
    suspension shall be payable".

    Invoice Fri 19 Feb; day 1 is Sat 20 Feb, day 20 is Thu 11 Mar (a working day): the 20 days run out
    at 24:00 of 11 Mar, and on Fri 12 Mar 00:00 - day 21, the delay now exceeding 20 days - the
    contract is terminated, citing 2.2.5. Still suspended and not terminated at 23:59 of 11 Mar.

    The debt that survives is the month from Mon 1 Mar 10:05 billed to the termination only: 11 of the
    31 days of March (1-11 Mar, the suspended days included, 2.2.10): 100 x 11/31 = 35.48 EUR, not the
    whole month.
    """
    before = paid_month(until="2027-03-11 23:59")
    assert not before.entries("terminated") and before.state.status is ServiceStatus.SUSPENDED
    r = paid_month(until="2027-06-01 00:00")
    [terminated] = r.entries("terminated")
    assert r.at_local(terminated) == "2027-03-12 00:00"
    assert terminated.clause == "2.2.5"
    assert (terminated.detail["reason"], terminated.detail["debt"]) == ("debt", "35.48")
    assert r.state.debt().amount == Decimal("35.48")
    assert r.state.status is ServiceStatus.TERMINATED
    assert not r.entries("refund_due")
    assert r.result.provisioning == ["activate", "suspend", "terminate"]


# -- 7.9: 0.1% a day on the unpaid amount ----------------------------------------------------------------


def test_the_penalty_runs_on_the_unpaid_remainder_only() -> None:
    """7.9: "In case of late payment of bills, the Contractor reserves the right to charge a penalty of
    0.1% of the unpaid amount for each day of delay." 7.10: "Payment of the penalty does not release
    the Client from the performance of its obligations".

    Invoice of 100 EUR due Mon 1 Mar; 90 paid in time (Fri 26 Feb), the last 10 on Tue 9 Mar: 8 days
    of delay (2-9 Mar) on the 10 EUR unpaid: 0.001 x 10 x 8 = 0.08 EUR (not 0.80 on the invoice).
    """
    r = paid_month(
        ("2027-02-26 12:00", event("payment", amount=eur("90.00"))),
        ("2027-03-09 12:00", event("payment", amount=eur("10.00"))),
        until="2027-03-20 00:00",
    )
    fee = r.first("late_fee")
    assert fee.clause == "7.9"
    assert r.at_local(fee) == "2027-03-09 12:00"
    assert (fee.detail["amount"], fee.detail["days_late"], fee.detail["base"]) == (
        "0.08",
        8,
        "unpaid_remainder",
    )
    assert fee.detail["cap_ratio"] is None
    assert r.state.late_fees_charged.amount == Decimal("0.08")


def test_the_penalty_is_0_1_percent_a_day_of_the_amount_not_rounded_day_by_day() -> None:
    """7.9: "a penalty of 0.1% of the unpaid amount for each day of delay".

    A 123.45 EUR month; the March invoice (due Mon 1 Mar) is paid in full on Thu 11 Mar: 10 days of
    delay (2-11 Mar) on 123.45 EUR: 0.001 x 123.45 x 10 = 1.2345, i.e. 1.23 EUR. Rounding each day to
    the cent first (0.12 a day) would charge 1.20; on other amounts it would overcharge (e.g. 35.48:
    0.04 a day instead of 0.03548).
    """
    r = run(
        ID,
        spec(price="123.45"),
        "2027-02-01 10:00",
        [
            ("2027-02-01 10:05", event("payment", amount=eur("123.45"))),
            ("2027-03-11 12:00", event("payment", amount=eur("123.45"))),
        ],
        until="2027-03-20 00:00",
    )
    fee = r.first("late_fee")
    assert fee.detail["days_late"] == 10
    assert fee.detail["amount"] == "1.23"


def test_the_debt_that_survives_termination_can_still_be_paid() -> None:
    """2.2.5: "In case of the Contract termination for these reasons, the Client is not exempt from the
    obligation to repay the debt".

    Terminated for debt Fri 12 Mar 00:00 owing 35.48 EUR (March billed to the termination, as above).
    The client pays the 35.48 EUR on Mon 15 Mar: the payment is received and the invoice is settled.
    What is left is the 7.9 penalty for the days of delay ("0.1% of the unpaid amount for each day"):
    14 days on 35.48 EUR = 0.4967, 0.50 EUR.
    """
    r = paid_month(("2027-03-15 12:00", event("payment", amount=eur("35.48"))))
    assert r.at_local(r.first("terminated")) == "2027-03-12 00:00"
    assert r.rejected() == []
    assert r.at_local(r.entries("payment_received")[-1]) == "2027-03-15 12:00"
    fee = r.first("late_fee")
    assert fee.detail["days_late"] == 14 and fee.detail["amount"] == "0.50"
    assert str(r.state.debt().amount) == "0.50"


# -- 2.4.10 vs 11.3: refusing one service, terminating the contract --------------------------------------


def test_refusing_one_service_takes_10_working_days() -> None:
    """2.4.10: the Client may "refuse the ordered Services subject to notification of the Contractor
    through the ticket system at least 10 working days ahead and on the terms specified in paragraph
    7.11. The refusal takes effect from the moment of service deactivation in the Control Panel."

    Notice Wed 10 Feb 14:00. Ten Estonian working days: 11, 12, 15, 16, 17, 18, 19, 22, 23 Feb,
    [24 Feb off], 25 Feb: the last day is Thu 25 Feb; deactivated at 24:00, Fri 26 Feb 00:00, citing
    2.4.10. Nothing is billed after it (no invoice for March), nothing refunded: the paid month is the
    minimum period (7.11) and ends 1 Mar.
    """
    r = paid_month(("2027-02-10 14:00", event("cancel_request", scope="service")))
    requested = r.first("termination_requested")
    assert requested.clause == "2.4.10"
    assert datetime.fromisoformat(requested.detail["effective_at"]) == at("2027-02-26 00:00")
    [terminated] = r.entries("terminated")
    assert (r.at_local(terminated), terminated.clause) == ("2027-02-26 00:00", "2.4.10")
    assert [e.detail["invoice_id"] for e in r.entries("invoice_issued")] == ["p0"]
    assert r.state.debt().amount == 0 and r.refunded().amount == 0


def test_a_cancellation_without_scope_is_the_refusal_of_that_service() -> None:
    """2.4.10 (one Service, 10 working days) is the default of a cancellation: the notice of Wed
    10 Feb ends the service Fri 26 Feb 00:00, as above, not a month later."""
    r = paid_month(("2027-02-10 14:00", event("cancel_request")))
    assert r.at_local(r.first("terminated")) == "2027-02-26 00:00"
    assert r.first("terminated").clause == "2.4.10"


def test_terminating_the_whole_contract_takes_one_month() -> None:
    """11.3: "This Contract may be terminated prematurely by a Party without a valid reason by
    notifying the other Party one (1) month in advance."

    Notice for the whole contract Wed 10 Feb 14:00: one month to Wed 10 Mar (a working day), ending at
    24:00: terminated Thu 11 Mar 00:00, citing 11.3. The March invoice (issued Fri 19 Feb) bills only
    1 Mar 10:05 - 11 Mar 00:00: 10 of 31 days = 32.26 EUR; once paid, nothing is owed or refunded.
    """
    r = paid_month(
        ("2027-02-10 14:00", event("cancel_request", scope="contract")),
        ("2027-02-25 12:00", event("payment", amount=eur("32.26"))),
    )
    requested = r.first("termination_requested")
    assert requested.clause == "11.3"
    assert datetime.fromisoformat(requested.detail["effective_at"]) == at("2027-03-11 00:00")
    p1 = invoice(r, "p1")
    assert p1["amount"] == "32.26"
    assert datetime.fromisoformat(p1["covers_until"]) == at("2027-03-11 00:00")
    [terminated] = r.entries("terminated")
    assert (r.at_local(terminated), terminated.clause) == ("2027-03-11 00:00", "11.3")
    assert terminated.detail["debt"] == "0.00"
    assert not r.entries("suspended")
    assert r.refunded().amount == 0


# -- 11.6: a consumer's withdrawal -----------------------------------------------------------------------


def test_a_consumer_withdraws_within_14_days_and_pays_only_the_days_used() -> None:
    """11.6: "If the Client is considered as a consumer, then the Client is entitled to withdraw from the
    distance contract within 14 days without giving any reason, from the day of the conclusion of the
    Contract". 11.6.1: a consumer who asked for an early start "shall indemnify all reasonable expenses".

    A consumer pays 100 EUR for Mon 1 Feb 10:05 - Mon 1 Mar 10:05 (28 days) and withdraws Sat 6 Feb
    12:00. The contract ends at that moment (11.6); the 5 days used (1-5 Feb) are kept, 23/28 of the
    month is refunded by bank transfer: 82.14 EUR. No minimum period (7.11) is kept on a withdrawal.
    """
    r = paid_month(("2027-02-06 12:00", event("withdrawal", reason="changed my mind")), consumer=True)
    assert r.rejected() == []
    [terminated] = r.entries("terminated")
    assert (r.at_local(terminated), terminated.clause) == ("2027-02-06 12:00", "11.6")
    assert terminated.detail["reason"] == "withdrawal"
    refund = r.first("refund_due")
    assert (refund.detail["amount"], refund.detail["destination"]) == ("82.14", "bank_transfer")
    assert r.refunded().amount == Decimal("82.14")
    assert len(r.entries("invoice_issued")) == 1


def test_a_business_client_cannot_withdraw() -> None:
    """11.6: "If the Client is considered as a consumer, then the Client is entitled to withdraw". A
    business client's withdrawal on Sat 6 Feb is refused, naming 11.6 and the consumer condition; the
    service runs on."""
    r = paid_month(("2027-02-06 12:00", event("withdrawal")), until="2027-02-18 00:00")
    [reason] = r.rejected()
    assert "11.6" in reason and "consumer" in reason
    assert not r.entries("terminated") and r.state.status is ServiceStatus.ACTIVE


def test_a_withdrawal_on_day_15_is_refused() -> None:
    """11.6: "within 14 days ... from the day of the conclusion of the Contract". Concluded Mon 1 Feb;
    day 1 is Tue 2 Feb, day 14 is Mon 15 Feb (a working day): the right lasts until 24:00 of 15 Feb.
    At 23:30 on 15 Feb the withdrawal ends the contract; at 09:00 on Tue 16 Feb (day 15) it is refused,
    saying the 14 days ended at 16 Feb 00:00."""
    in_time = paid_month(("2027-02-15 23:30", event("withdrawal")), consumer=True)
    assert in_time.at_local(in_time.first("terminated")) == "2027-02-15 23:30"
    late = paid_month(("2027-02-16 09:00", event("withdrawal")), consumer=True, until="2027-02-20 00:00")
    [reason] = late.rejected()
    assert "11.6" in reason and "2027-02-16T00:00:00+02:00" in reason
    assert not late.entries("terminated")


# -- Annex 11, 4.3: the free vps trial ------------------------------------------------------------------


def test_refusing_the_trial_costs_nothing() -> None:
    """Annex 11, 4.3: "The Client has the right to use a one-time test period for this Service. The test
    period allows you to use the Service free of charge for 10 (ten) days. ... If the Client wants to
    refuse the service, he will have the opportunity to return the previously transferred funds."

    A vps on trial from Mon 1 Feb 10:00 (to 24:00 of Thu 11 Feb); refused Thu 4 Feb 15:00: the service
    ends at once, citing Annex 11, 4.3. No invoice is ever issued, nothing is owed, nothing is
    suspended, and no termination for debt (2.2.5) follows.
    """
    r = run(
        ID,
        spec(kind="vps", trial=True),
        "2027-02-01 10:00",
        [("2027-02-04 15:00", event("cancel_request"))],
        until="2027-06-01 00:00",
    )
    activated = r.first("activated")
    assert activated.clause == "Annex 11, 4.3"
    assert datetime.fromisoformat(activated.detail["trial_until"]) == at("2027-02-12 00:00")
    [terminated] = r.entries("terminated")
    assert (r.at_local(terminated), terminated.clause) == ("2027-02-04 15:00", "Annex 11, 4.3")
    assert (terminated.detail["reason"], terminated.detail["debt"]) == ("trial_refused", "0.00")
    assert r.types() == ["activated", "terminated"]
    assert r.state.debt().amount == 0


def test_refusing_the_trial_returns_what_was_paid() -> None:
    """Annex 11, 4.3: "he will have the opportunity to return the previously transferred funds".

    The first paid month is invoiced 5 working days before the trial ends (Fri 5 Feb 00:00) and the
    client pays it, 100 EUR, on Sat 6 Feb; refusing on Tue 9 Feb, still inside the trial, ends the
    service at once and returns all 100 EUR: none of the paid month had begun.
    """
    r = run(
        ID,
        spec(kind="vps", trial=True),
        "2027-02-01 10:00",
        [
            ("2027-02-06 12:00", event("payment", amount=eur(PRICE))),
            ("2027-02-09 12:00", event("cancel_request")),
        ],
        until="2027-06-01 00:00",
    )
    assert r.at_local(r.first("invoice_issued")) == "2027-02-05 00:00"
    [terminated] = r.entries("terminated")
    assert (r.at_local(terminated), terminated.detail["reason"]) == ("2027-02-09 12:00", "trial_refused")
    assert r.first("refund_due").detail["amount"] == "100.00"
    assert r.refunded().amount == Decimal("100.00")
    assert not r.entries("suspended")


def test_the_trial_exists_for_the_virtual_server_only() -> None:
    """Annex 11, section 4, "THE COSTS AND TARIFFS FOR THE VIRTUAL SERVER PROVISION", 4.3: "The Client
    has the right to use a one-time test period for this Service." No other annex offers it: a hosting
    trial is refused with the reason, a vps trial accepted; a hosting service asked for on trial is
    billed from the start (its first invoice issued at the order)."""
    contract = Contract(load_policy(ID))
    reason = contract.trial_refusal(spec(kind="hosting", trial=True))
    assert reason is not None and "Annex 11, 4.3" in reason and "vps" in reason and "hosting" in reason
    for kind in ("domain", "cloud", "dedicated", "colocation", "licence"):
        assert contract.trial_refusal(spec(kind=kind, trial=True)) is not None, kind
    assert contract.trial_refusal(spec(kind="vps", trial=True)) is None
    r = run(ID, spec(kind="hosting", trial=True), "2027-02-01 10:00", [], until="2027-02-02 00:00")
    assert r.types() == ["invoice_issued"] and invoice(r, "p0")["due_on"] == "2027-02-08"


# -- 7.11 / 11.4: a year paid ahead; only the minimum month is kept ----------------------------------------


def test_a_year_paid_ahead_refused_after_two_months_gets_the_unused_time_back() -> None:
    """11.4: "Upon termination of the Contract before the expiration of the paid period, the Contractor
    shall return the cost of unused Services. No refund will be made for the period actually remaining
    until the end of the minimum period". Annex 2, 1.1: "The minimum period of service is 1 (one)
    month." 5.1: the Client "determines the period of service provision".

    1200 EUR paid Mon 1 Feb 2027 10:05 for a year (to 1 Feb 2028, 365 days). Refusal (2.4.10) Thu
    1 Apr: 10 working days - 2, 5, 6, 7, 8, 9, 12, 13, 14, 15 Apr - ends at 24:00 of Thu 15 Apr. The
    minimum month ended 1 Mar; the 291 days from 16 Apr 2027 to 1 Feb 2028 come back: 1200 x 291/365 =
    956.71 EUR.
    """
    r = run(
        ID,
        spec(period="P1Y", price="1200.00"),
        "2027-02-01 10:00",
        [
            ("2027-02-01 10:05", event("payment", amount=eur("1200.00"))),
            ("2027-04-01 10:00", event("cancel_request")),
        ],
        until="2027-06-01 00:00",
    )
    assert r.at_local(r.first("terminated")) == "2027-04-16 00:00"
    refund = r.first("refund_due")
    assert refund.detail["amount"] == "956.71"
    assert refund.clause == "11.4" and refund.detail["proration_clause"] == "11.4"
    assert r.refunded().amount == Decimal("956.71")


def test_a_year_refused_in_the_first_month_keeps_only_the_minimum_month() -> None:
    """7.11: "If the Client refuses the Services ... before the end of the minimum period of provision
    of such Services fixed in the relevant Annex, the funds are not returned to the Client for the
    period actually remaining until the end of the minimum period of service."

    The year of 1200 EUR from Mon 1 Feb 10:05 is refused Fri 5 Feb: 10 working days end at 24:00 of
    Fri 19 Feb. The rest of the minimum month (to 1 Mar 10:05) is kept; the 337 days from 1 Mar 2027
    to 1 Feb 2028 come back: 1200 x 337/365 = 1107.95 EUR.
    """
    r = run(
        ID,
        spec(period="P1Y", price="1200.00"),
        "2027-02-01 10:00",
        [
            ("2027-02-01 10:05", event("payment", amount=eur("1200.00"))),
            ("2027-02-05 10:00", event("cancel_request")),
        ],
        until="2027-06-01 00:00",
    )
    assert r.at_local(r.first("terminated")) == "2027-02-20 00:00"
    assert r.first("refund_due").detail["amount"] == "1107.95"


def test_a_refusal_in_the_second_month_returns_the_days_after_it() -> None:
    """11.4: "Upon termination of the Contract before the expiration of the paid period, the Contractor
    shall return the cost of unused Services. No refund will be made for the period actually remaining
    until the end of the minimum period". 7.11: the minimum period is the first month of the Service
    ("1 (one) month", Annex 2 1.1), which ended Mon 1 Mar 10:05.

    The March invoice (100 EUR, 1 Mar 10:05 - 1 Apr 10:05) is paid Mon 22 Feb; the refusal (2.4.10) is
    sent Wed 24 Feb, a holiday: 10 working days from Thu 25 Feb (25, 26 Feb, 1, 2, 3, 4, 5, 8, 9,
    10 Mar) end at 24:00 of Wed 10 Mar. The 21 days from 11 Mar to 1 Apr were paid and not used:
    100 x 21/31 = 67.74 EUR come back.
    """
    r = paid_month(
        ("2027-02-22 12:00", event("payment", amount=eur(PRICE))),
        ("2027-02-24 12:00", event("cancel_request")),
    )
    [terminated] = r.entries("terminated")
    assert (r.at_local(terminated), terminated.clause) == ("2027-03-11 00:00", "2.4.10")
    assert r.refunded().amount == Decimal("67.74")


# -- 2.2.10: suspended time is payable ----------------------------------------------------------------------


def test_suspended_time_is_still_billed() -> None:
    """2.2.10: "time of suspension of services for the reasons specified in p.p. 2.2.5. ... shall not be
    considered as a break in the provision of the Services ... The time of suspension shall be payable".

    The March invoice goes unpaid; suspended Tue 2 Mar 00:00, the client pays 100 EUR on Mon 8 Mar
    12:00 and is restored. The paid month still ends Thu 1 Apr 10:05 (the 6 suspended days are not
    added), the April invoice is the full 100 EUR, issued Wed 24 Mar 10:05 (31, 30, 29 Mar, [Good
    Friday 26 Mar], 25, 24 Mar) and due Thu 1 Apr (25, [26], 29, 30, 31 Mar, 1 Apr). The penalty: 7
    days (2-8 Mar) x 0.1% x 100 = 0.70 EUR (7.9).
    """
    r = paid_month(("2027-03-08 12:00", event("payment", amount=eur(PRICE))), until="2027-03-31 00:00")
    assert r.at_local(r.first("suspended")) == "2027-03-02 00:00"
    assert r.at_local(r.first("resumed")) == "2027-03-08 12:00"
    assert r.state.paid_until == at("2027-04-01 10:05")
    p2 = [e for e in r.entries("invoice_issued") if e.detail["invoice_id"] == "p2"][0]
    assert r.at_local(p2) == "2027-03-24 10:05"
    assert (p2.detail["amount"], p2.detail["due_on"]) == ("100.00", "2027-04-01")
    assert r.first("late_fee").detail["amount"] == "0.70"


# -- 8.2-8.5: force majeure -------------------------------------------------------------------------------


FM_START = ("2027-02-15 12:00", event("force_majeure_start", force_majeure_id="fm-flood", reason="flood"))


def test_force_majeure_over_two_months_opens_an_option_and_ends_nothing_by_itself() -> None:
    """8.5: "If the force majeure circumstances are consistent for two months and show no signs of
    termination, this Contract may be terminated by either Party unilaterally by sending a written
    notice". 8.2: "this period shall be extended for the duration of the relevant circumstances".

    Force majeure from Mon 15 Feb 12:00. Two months: to Thu 15 Apr, ending at 24:00 - on Fri 16 Apr
    00:00 (EEST) both parties are told the option is open (force_majeure_option, citing 8.5). Nobody
    uses it: on 1 Jun the contract still runs, under force majeure, never terminated; and no term ran
    out meanwhile (no March invoice, no suspension: 8.2 extends them).
    """
    r = paid_month(FM_START)
    started = r.first("force_majeure_started")
    assert started.detail["termination"] == "option"
    assert datetime.fromisoformat(started.detail["option_from"]) == at("2027-04-16 00:00")
    assert started.detail["deadlines_extended"] is True
    [option] = r.entries("force_majeure_option")
    assert (r.at_local(option), option.clause) == ("2027-04-16 00:00", "8.5")
    assert not r.entries("terminated")
    assert r.state.status is ServiceStatus.FORCE_MAJEURE
    assert [e.detail["invoice_id"] for e in r.entries("invoice_issued")] == ["p0"]
    assert not r.entries("suspended")


def test_the_force_majeure_option_is_refused_before_two_months_and_accepted_after() -> None:
    """8.5: "consistent for two months ... this Contract may be terminated by either Party".

    The provider tries on Wed 14 Apr: refused, the option opens 16 Apr 00:00 (8.5). The customer
    exercises it Tue 20 Apr 09:00: the contract ends then, citing 8.5.
    """
    r = paid_month(
        FM_START,
        ("2027-04-14 12:00", event("force_majeure_terminate", party="provider")),
        ("2027-04-20 09:00", event("force_majeure_terminate", party="customer")),
    )
    [reason] = r.rejected()
    assert "2027-04-16T00:00:00+03:00" in reason and "8.5" in reason
    [terminated] = r.entries("terminated")
    assert (r.at_local(terminated), terminated.clause) == ("2027-04-20 09:00", "8.5")
    assert terminated.detail["reason"] == "force_majeure"
    assert "customer" in terminated.detail["note"]


# -- 11.3 for the provider; 7.5 breach -----------------------------------------------------------------------


def test_the_provider_terminates_on_one_months_notice() -> None:
    """11.3: "This Contract may be terminated prematurely by a Party without a valid reason by notifying
    the other Party one (1) month in advance." The provider's notice Wed 10 Feb 14:00 ends the contract
    at 24:00 of Wed 10 Mar: Thu 11 Mar 00:00, citing 11.3; March is billed to that day only (32.26)."""
    r = paid_month(
        ("2027-02-10 14:00", event("provider_termination")),
        ("2027-02-25 12:00", event("payment", amount=eur("32.26"))),
    )
    requested = r.first("termination_requested")
    assert (requested.clause, requested.detail["by"]) == ("11.3", "provider")
    assert invoice(r, "p1")["amount"] == "32.26"
    assert r.at_local(r.first("terminated")) == "2027-03-11 00:00"


def test_an_uncured_violation_ends_the_contract_at_once_and_unused_prepaid_time_is_returned() -> None:
    """7.5: "If the Client has not eliminated the violation that caused the suspension of the Services
    within 20 (twenty) days from the date of the violation, the Contractor shall be entitled to terminate
    this Contract with the Client unilaterally without any compensation to the latter." 11.4: "the
    Contractor shall return the cost of unused Services".

    A year paid (1200 EUR from 1 Feb); suspended for a violation Mon 1 Mar; still uncured on Thu 25 Mar
    (more than 20 days), operations terminate: ended at once, citing 7.5. "Without any compensation" is
    no damages; the prepaid days from 25 Mar 2027 to 1 Feb 2028 (313 of 365) come back under 11.4:
    1200 x 313/365 = 1029.04 EUR.
    """
    r = run(
        ID,
        spec(period="P1Y", price="1200.00"),
        "2027-02-01 10:00",
        [
            ("2027-02-01 10:05", event("payment", amount=eur("1200.00"))),
            ("2027-03-01 09:00", event("abuse_suspend", reason="spam")),
            ("2027-03-25 12:00", event("breach_termination", reason="spam not removed")),
        ],
        until="2027-06-01 00:00",
    )
    assert r.first("suspended").clause == "Annex 10, 5"
    [terminated] = r.entries("terminated")
    assert (r.at_local(terminated), terminated.clause, terminated.detail["reason"]) == (
        "2027-03-25 12:00",
        "7.5",
        "breach",
    )
    assert r.first("refund_due").detail["amount"] == "1029.04"


# -- every clause the engine shows is in the seed ----------------------------------------------------------


def test_every_clause_shown_is_in_the_seed() -> None:
    """Each timeline entry, notice and refusal the scenarios produce names a clause the seed has."""
    runs = [
        paid_month(until="2027-06-01 00:00"),
        paid_month(
            ("2027-02-26 12:00", event("payment", amount=eur("90.00"))),
            ("2027-03-09 12:00", event("payment", amount=eur("10.00"))),
        ),
        paid_month(("2027-02-10 14:00", event("cancel_request", scope="contract"))),
        paid_month(("2027-02-10 14:00", event("cancel_request"))),
        paid_month(("2027-02-06 12:00", event("withdrawal")), consumer=True),
        paid_month(("2027-02-06 12:00", event("withdrawal"))),
        paid_month(
            FM_START,
            ("2027-03-01 12:00", event("force_majeure_terminate")),
            ("2027-05-01 12:00", event("force_majeure_terminate")),
        ),
        paid_month(FM_START, ("2027-03-15 12:00", event("force_majeure_end"))),
        paid_month(("2027-02-10 14:00", event("provider_termination"))),
        paid_month(
            ("2027-02-25 12:00", event("payment", amount=eur(PRICE))),
            ("2027-03-01 09:00", event("abuse_suspend")),
            ("2027-03-02 09:00", event("abuse_resolved")),
            ("2027-03-03 09:00", event("abuse_suspend")),
            ("2027-03-25 12:00", event("breach_termination")),
        ),
        paid_month(("2027-02-10 14:00", event("tariff_change", new_price=eur("120.00")))),
        run(
            ID,
            spec(kind="vps", trial=True),
            "2027-02-01 10:00",
            [("2027-02-09 12:00", event("cancel_request"))],
            until="2027-06-01 00:00",
        ),
    ]
    shown = {e.clause for r in runs for e in r.result.entries if e.clause}
    shown |= {d.clause for r in runs for d in r.result.deliveries if d.clause}
    assert {
        "5.1",
        "2.2.5",
        "7.9",
        "11.3",
        "2.4.10",
        "11.6",
        "8.5",
        "7.5",
        "Annex 11, 4.3",
        "Annex 10, 5",
        "2.2.6",
        "8.2",
        "8.4",
    } <= shown
    refusals = [reason for r in runs for reason in r.rejected()]
    assert len(refusals) == 2  # the business client's withdrawal, the option before two months
    shown |= {c for reason in refusals for c in re.findall(r"\b\d+(?:\.\d+)+\b", reason)}
    assert {"11.6", "8.5"} <= shown
    missing = sorted(c for c in shown if not clause_in_seed(ID, c))
    assert missing == [], missing
    policy = runs[0].policy
    cited = {
        policy.billing.model_clause,
        policy.suspension.after_due.clause,  # type: ignore[union-attr]
        policy.refunds.destination_clause,
        policy.force_majeure.clause,
        policy.tariff_change.clause,
    }
    assert all(clause_in_seed(ID, c) for c in cited if c)


@pytest.mark.parametrize("operational", ["renewal_invoice_lead", "reminders_before_due"])
def test_steps_the_contract_does_not_require_cite_no_clause(operational: str) -> None:
    """The contract never says when the monthly invoice is issued (5.1: only "100% ... in advance") nor
    requires a reminder (2.3.8: the Client reads the website weekly): both are Oferta's own steps."""
    billing = load_policy(ID).billing
    terms = getattr(billing, operational)
    for term in terms if isinstance(terms, list) else [terms]:
        assert term.operational and term.clause is None
