"""PS.kz (seed 000, policy ps-kz): the contract's clauses, each checked on the engine.

Quotes are from the seed's first English translation (its second says the same). Every date
is worked by hand on the Kazakh calendar of 2027 (Asia/Almaty, the `holidays` package):
weekends; 8 March; 15 March (Constitution Day in the package's 2027 calendar); Nauryz 21-23
March (21 March, a Sunday, moves to Wed 24 March: 22-24 March are off); 3 May (1 May, a
Saturday, moves); 7 May; 10 May (9 May, a Sunday, moves). No holiday in August.

Term rules (KZ Civil Code arts. 173-176): a term runs from the day after its event and ends at
24:00 of its last day, moved to the next working day when that day is off. A step taken at
24:00 is recorded as 00:00 of the next day; a term counted from such a step (the 3.16 window
after a suspension, the 5.25 refund after a termination) starts the day after that date.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from oferta.timeline.state import BillingEvent
from tests.contracts.harness import Run, clause_in_seed, event, local, run, service

ID = "ps-kz"
PRICE = "2500.00"


def kzt(amount: str) -> tuple[str, str]:
    return (amount, "KZT")


def at(text: str) -> datetime:
    return local(ID, text)


def paid(
    *extra: tuple[str, BillingEvent],
    amount: str = PRICE,
    start: str = "2027-03-01 10:00",
    until: str = "2027-06-15 00:00",
    **changes: Any,
) -> Run:
    """Ordered at ``start``, paid five minutes later, then ``extra`` events.

    Ordered Mon 1 March 10:00 and paid 10:05, the first month runs to 1 April 10:05; the
    renewal goes out 7 calendar days earlier (operational), Thu 25 March 10:05, payable within
    3 working days (5.8, 1.12): 26, 29, 30 March - until 24:00 on Tue 30 March.
    """
    first_payment = start[:-2] + "05"
    return run(
        ID,
        service(ID, PRICE, **changes),
        start,
        [(first_payment, event("payment", amount=kzt(amount))), *extra],
        until=until,
    )


# -- 1.12 + 5.8: "3 days" are working days; 4.2.4 suspends; 3.16-3.17 delete after 7 calendar days --------


def test_a_renewal_issued_before_nauryz_is_payable_for_three_working_days() -> None:
    """Audit P1. 1.12: "Day — a working day, unless otherwise explicitly stated"; 5.8: "All invoices
    issued by the Contractor to the Customer under this Agreement must be paid within 3 (three) days
    from the date of issuance"; 4.2.4: "without prior notice, suspend the provision of Services
    (disable access to Services) until payment"; 3.16: "no later than 7 (seven) calendar days from
    the moment of Service suspension"; 3.17: "Upon the expiration of the specified seven-day period,
    the Contractor deletes the Customer's data for the suspended Service".

    Paid Fri 26 Feb 15:05; the renewal goes out Fri 19 Mar 15:05. The working days after it: 20-21 a
    weekend (21 also Nauryz), 22-24 Nauryz and its transfer, so Thu 25, Fri 26, Mon 29 March: payable
    until 24:00 on 29 March, suspended then (00:00 on 30 March), not earlier. Seven calendar days from
    30 March: 31 March to Tue 6 April, a working day, so no move: deleted at 24:00 on 6 April.
    """
    r = paid(start="2027-02-26 15:00", until="2027-04-20 00:00")
    renewal = r.entries("invoice_issued")[1]
    assert r.at_local(renewal) == "2027-03-19 15:05"
    assert (renewal.clause, renewal.detail["due_on"]) == ("5.8", "2027-03-29")
    suspended = r.first("suspended")
    assert (r.at_local(suspended), suspended.clause) == ("2027-03-30 00:00", "4.2.4")
    assert datetime.fromisoformat(suspended.detail["restore_until"]) == at("2027-04-07 00:00")
    deleted = r.first("deleted")
    assert (r.at_local(deleted), deleted.clause) == ("2027-04-07 00:00", "3.17")
    assert r.result.provisioning == ["activate", "suspend", "delete"]


def test_a_payment_at_23_59_on_the_last_day_is_in_time() -> None:
    """5.8 "within 3 (three) days from the date of issuance": the term runs to 24:00 of its last day
    (Civil Code art. 176); 6.4 charges a penalty only "In the event of late payment".

    Renewal issued Thu 25 March 10:05, payable through Tue 30 March (26, 29, 30). Paid at 23:59 on
    30 March: never suspended, no penalty, the next month starts on 1 April.
    """
    r = paid(("2027-03-30 23:59", event("payment", amount=kzt(PRICE))), until="2027-04-10 00:00")
    assert r.entries("invoice_issued")[1].detail["due_on"] == "2027-03-30"
    assert "suspended" not in r.types() and "late_fee" not in r.types()
    assert r.state.period_index == 1 and r.state.debt().amount == 0


# -- 3.16, 4.4.5: the window to pay the arrears; "debt is what is overdue" -------------------------------


def test_paying_on_the_last_day_of_the_window_restores_and_a_minute_after_it_is_too_late() -> None:
    """3.16: "the Customer has the right to resume the provision of Services ... by paying the amount
    of the arrears for Services no later than 7 (seven) calendar days from the moment of Service
    suspension"; 4.4.5 restates the right ("within 7 (seven) days"; the policy follows 3.16's explicit
    calendar days, see its readings); 3.17: after the seven-day period "the resumption of Services is
    not possible".

    Suspended at 00:00 on Wed 31 March (the renewal was payable through 30 March). The seven days are
    1 to 7 April (Wed, a working day): paid at 23:59 on 7 April it is restored, with 8 days of the 6.4
    penalty (31 March - 7 April, 0.1% of 2500 each: 20.00). Paid at 00:01 on 8 April it is refused:
    the data was deleted at 24:00 on 7 April.
    """
    in_time = paid(("2027-04-07 23:59", event("payment", amount=kzt(PRICE))), until="2027-04-20 00:00")
    assert in_time.at_local(in_time.first("suspended")) == "2027-03-31 00:00"
    assert in_time.at_local(in_time.first("resumed")) == "2027-04-07 23:59"
    assert "deleted" not in in_time.types()
    assert in_time.first("late_fee").detail["amount"] == "20.00"

    too_late = paid(("2027-04-08 00:01", event("payment", amount=kzt(PRICE))), until="2027-04-20 00:00")
    assert too_late.at_local(too_late.first("deleted")) == "2027-04-08 00:00"
    assert too_late.rejected() == ["the service is deleted; payment cannot be applied"]
    assert "resumed" not in too_late.types()


def test_paying_the_arrears_restores_although_an_extra_invoice_is_not_yet_due() -> None:
    """Audit O1. 3.16: the Customer may resume the Services "by paying the amount of the arrears";
    4.2.4 suspends "In case of non-payment" - an invoice still within its 5.8/5.16 term is not
    unpaid yet. 5.16: additional Services are paid "within 3 (three) days based on an additional
    invoice".

    Ordered Wed 3 Feb; the renewal p1, issued Wed 24 Feb 10:05, is payable through Mon 1 March (25, 26
    Feb, 1 March): suspended at 00:00 on Tue 2 March. An extra invoice x1 of 1000 is issued 2 March
    09:00, payable through Fri 5 March (3, 4, 5 March). p1 is paid at 15:00 on 2 March: restored at
    once (x1 is not in arrears), with one day of 6.4 penalty on p1 (2.50). x1 then falls due unpaid:
    suspended again at 00:00 on Sat 6 March, and a new 3.16 window runs 7 to 13 March; 13 March is a
    Saturday, 14 a Sunday, 15 a holiday, so it ends at 24:00 on Tue 16 March (art. 175): deleted at
    00:00 on 17 March - not on 10 March, the end of the first window.
    """
    r = run(
        ID,
        service(ID, PRICE),
        "2027-02-03 10:00",
        [
            ("2027-02-03 10:05", event("payment", amount=kzt(PRICE))),
            ("2027-03-02 09:00", event("invoice", amount=kzt("1000.00"), invoice_id="x1")),
            ("2027-03-02 15:00", event("payment", amount=kzt(PRICE))),
        ],
        until="2027-04-01 00:00",
    )
    first, second = r.entries("suspended")
    assert (r.at_local(first), first.detail["restore_until"]) == (
        "2027-03-02 00:00",
        at("2027-03-10 00:00").isoformat(),
    )
    extra = r.entries("invoice_issued")[2]
    assert (extra.detail["invoice_id"], extra.detail["due_on"]) == ("x1", "2027-03-05")
    assert r.at_local(r.first("resumed")) == "2027-03-02 15:00"
    assert r.first("late_fee").detail["amount"] == "2.50"
    assert r.at_local(second) == "2027-03-06 00:00" and second.detail["debt"] == "1000.00"
    assert r.at_local(r.first("deleted")) == "2027-03-17 00:00"


# -- 6.4, 6.6: the penalty --------------------------------------------------------------------------------


def test_the_penalty_accrues_on_what_is_still_unpaid_and_is_invoiced_for_three_working_days() -> None:
    """6.4: "a penalty of 0.1% (zero point one percent) of the payable amount for each day of delay
    until the date of actual payment, but not more than 10% (ten percent) of the total debt amount";
    6.6: "The payment of the penalty will be made on the basis of an additional invoice within 3
    (three) days from the date of its issuance" - working days (1.12).

    Renewal payable through Tue 30 March. 1500 paid Fri 2 April 12:00, 1000 Mon 5 April 12:00.
    31 March, 1 and 2 April on 2500: 7.50; 3, 4 and 5 April on the 1000 left: 3.00; 10.50 in all.
    Its invoice, issued 5 April, is payable through Thu 8 April (6, 7, 8 April).
    """
    r = paid(
        ("2027-04-02 12:00", event("payment", amount=kzt("1500.00"))),
        ("2027-04-05 12:00", event("payment", amount=kzt("1000.00"))),
        until="2027-04-10 00:00",
    )
    fee = r.first("late_fee")
    assert (fee.clause, fee.detail["days_late"], fee.detail["amount"]) == ("6.4", 6, "10.50")
    assert not fee.detail["capped"]
    fee_invoice = next(i for i in r.state.invoices if i.kind == "late_fee")
    assert fee_invoice.due_on.isoformat() == "2027-04-08" and fee_invoice.clause == "6.6"


def test_the_penalty_stops_at_ten_percent_of_the_debt() -> None:
    """6.4: "... for each day of delay until the date of actual payment, but not more than 10% (ten
    percent) of the total debt amount"; 7.5: on termination "neither Party is released from
    liability or obligations towards the other Party ... which arose ... before the date of
    termination".

    A domain (kind without data of the provider's, see the policy) is suspended at 00:00 on 31 March
    and ends at the 3.17 step, 00:00 on 8 April. The renewal month (1 April 10:05 - 1 May 10:05, 30
    days) is billed to the end (4.3.16, 5.17): 1-7 April, 7 of 30 days, 583.33. Paid Mon 2 August:
    125 days late (31 March; 30 + 31 + 30 + 31 days of April-July; 1 and 2 August) = 12.5% > 10%, so
    the penalty is 58.33, invoiced for 3 working days: 3, 4, 5 August.
    """
    r = paid(
        ("2027-08-02 12:00", event("payment", amount=kzt("583.33"))), kind="domain", until="2027-08-20 00:00"
    )
    terminated = r.first("terminated")
    assert (r.at_local(terminated), terminated.detail["debt"]) == ("2027-04-08 00:00", "583.33")
    fee = r.first("late_fee")
    assert (fee.detail["days_late"], fee.detail["amount"], fee.detail["capped"]) == (125, "58.33", True)
    fee_invoice = next(i for i in r.state.invoices if i.kind == "late_fee")
    assert fee_invoice.due_on.isoformat() == "2027-08-05"


def test_money_paid_after_the_end_beyond_the_debt_is_returned() -> None:
    """7.5: obligations that arose before termination survive it, so a debt can be paid after the
    end; 5.25: "Upon the Customer's refusal to continue using Services or termination of this
    Agreement, the Contractor recalculates the cost for actually provided Services within 15
    (fifteen) working days, refunds the remaining amount to the Customer's personal account".

    The domain of the previous scenario ends on 8 April owing 583.33. On Mon 2 August the customer
    pays 1000.00: 583.33 settles the debt, 58.33 the capped penalty (6.4, set off at once); the
    remaining 358.34 goes back to the personal account within 15 working days counted from the
    payment, the day the remainder arose: 3-6, 9-13, 16-20 and 23 August (no holiday in August) - by
    24:00 on Mon 23 August.
    """
    r = paid(
        ("2027-08-02 12:00", event("payment", amount=kzt("1000.00"))), kind="domain", until="2027-09-30 00:00"
    )
    assert r.first("late_fee").detail["amount"] == "58.33"
    refund = r.first("refund_due")
    assert (refund.clause, refund.detail["amount"], refund.detail["destination"]) == (
        "5.25",
        "358.34",
        "personal_account",
    )
    assert datetime.fromisoformat(refund.detail["due_by"]) == at("2027-08-24 00:00")
    assert r.refunded().amount == Decimal("358.34")


def test_restored_within_one_business_day_of_the_payment() -> None:
    """3.16: "The Contractor grants the Customer access to the Service within 1 (one) business day
    from the receipt of funds in the Contractor's bank account".

    Suspended 31 March; paid in full Fri 2 April 12:00: the next business day is Mon 5 April, so
    access is due back by 24:00 on 5 April (Oferta restores it at once)."""
    r = paid(("2027-04-02 12:00", event("payment", amount=kzt(PRICE))), until="2027-04-10 00:00")
    resumed = r.first("resumed")
    assert (r.at_local(resumed), resumed.clause) == ("2027-04-02 12:00", "3.16")
    assert datetime.fromisoformat(resumed.detail["restore_by"]) == at("2027-04-06 00:00")
    assert r.result.provisioning == ["activate", "suspend", "resume"]


# -- 4.3.16, 5.17, 5.25: the customer's notice and the refund -----------------------------------------------


def test_thirty_days_notice_bills_to_the_date_of_cessation_and_refunds_the_rest() -> None:
    """4.3.16: "notify the Contractor in writing at least 30 (thirty) calendar days in advance, settle
    any existing debts, and pay for Services provided up to the date of cessation of Services"; 5.17:
    "Payments for an incomplete month are made proportionally to the number of calendar days of the
    month during which Services were actually provided"; 5.25: the Contractor "recalculates the cost
    for actually provided Services within 15 (fifteen) working days, refunds the remaining amount to
    the Customer's personal account".

    7500 paid 1 March (three months). Notice Mon 5 April 10:00: the last day is Wed 5 May, the end
    24:00. The month from 1 May is billed for 1-5 May: 5 of 31 days, 403.23. Refund 7500 - 2500 -
    2500 - 403.23 = 2096.77, due within 15 working days from the end (00:00 on 6 May): 7 and 10 May
    are holidays; 11-14, 17-21, 24-28 and 31 May are fifteen: by 24:00 on 31 May.
    """
    r = paid(("2027-04-05 10:00", event("cancel_request")), amount="7500.00")
    requested, terminated = r.first("termination_requested"), r.first("terminated")
    assert requested.clause == "4.3.16"
    assert datetime.fromisoformat(requested.detail["effective_at"]) == at("2027-05-06 00:00")
    assert r.at_local(terminated) == "2027-05-06 00:00"
    assert r.entries("invoice_issued")[-1].detail["amount"] == "403.23"
    refund = r.first("refund_due")
    assert (refund.clause, refund.detail["amount"], refund.detail["destination"]) == (
        "5.25",
        "2096.77",
        "personal_account",
    )
    assert datetime.fromisoformat(refund.detail["due_by"]) == at("2027-06-01 00:00")
    assert r.refunded().amount == Decimal("2096.77")


# -- 7.2: the provider's notice; 7.7: termination for a violation ------------------------------------------


def test_the_provider_terminates_with_thirty_calendar_days_notice() -> None:
    """7.2: "The Parties have the right to terminate the Agreement fully or partially with mandatory
    written notification to the other Party no later than 30 (thirty) calendar days before the
    intended date of termination". Notice Mon 5 April 10:00: ends at 24:00 on Wed 5 May, citing 7.2;
    what was paid beyond it is refunded (5.25), as in the customer's case: 2096.77."""
    r = paid(("2027-04-05 10:00", event("provider_termination", reason="closing the line")), amount="7500.00")
    requested, terminated = r.first("termination_requested"), r.first("terminated")
    assert (requested.clause, requested.detail["by"]) == ("7.2", "provider")
    assert (r.at_local(terminated), terminated.clause, terminated.detail["reason"]) == (
        "2027-05-06 00:00",
        "7.2",
        "provider_notice",
    )
    assert r.first("refund_due").detail["amount"] == "2096.77"


def test_termination_for_an_unremedied_violation_refunds_nothing() -> None:
    """7.7: "If the Customer does not remedy the violation that caused the suspension of Services, the
    Contractor has the right to terminate the Agreement with the Customer unilaterally and
    extrajudicially without any compensation for losses to the latter"; 3.12: "the Contractor reserves
    the right to refuse to provide Services without refunding the remaining amount for the unused
    period". Suspended for spam (4.2.5) on 5 March, terminated 10 March: of 7500 paid, nothing back."""
    r = paid(
        ("2027-03-05 10:00", event("abuse_suspend", reason="spam")),
        ("2027-03-10 10:00", event("breach_termination", reason="spam not removed")),
        amount="7500.00",
        until="2027-04-01 00:00",
    )
    assert r.first("suspended").clause == "4.2.5"
    terminated = r.first("terminated")
    assert (r.at_local(terminated), terminated.clause, terminated.detail["reason"]) == (
        "2027-03-10 10:00",
        "7.7",
        "breach",
    )
    assert "refund_due" not in r.types() and r.refunded().amount == 0


# -- 7.4: withdrawn consent ----------------------------------------------------------------------------------


def test_withdrawn_consent_suspends_and_terminates_after_ten_working_days() -> None:
    """7.4: "The Customer's withdrawal of consent for the Contractor to process Registration data is a
    ground for suspending Services, and upon expiration of 10 (ten) days from the moment of
    suspension, is a ground for terminating this Agreement" - working days (1.12).

    Withdrawn Thu 4 March 10:00, suspended at once. The ten working days: 5; 9-12; 16-19; 25 March
    (8 and 15 March and 20-24 March are days off): terminated at 24:00 on 25 March. Calendar days
    would have ended on Sun 14 March, moved past 15 March to Tue 16 March: nine days earlier.
    """
    r = paid(("2027-03-04 10:00", event("consent_withdrawn")), until="2027-04-01 00:00")
    suspended = r.first("suspended")
    assert (r.at_local(suspended), suspended.clause) == ("2027-03-04 10:00", "7.4")
    assert datetime.fromisoformat(suspended.detail["terminates_at"]) == at("2027-03-26 00:00")
    terminated = r.first("terminated")
    assert (r.at_local(terminated), terminated.clause, terminated.detail["reason"]) == (
        "2027-03-26 00:00",
        "7.4",
        "consent_withdrawn",
    )


# -- 6.15, 6.16, 6.17: force majeure --------------------------------------------------------------------------


def test_force_majeure_over_a_month_ends_the_agreement_and_refunds_the_time_it_took() -> None:
    """6.16: the affected Party notifies "no later than 14 (fourteen) calendar days from the start of
    their effect"; 6.17: "If the force majeure circumstances last more than 1 (one) month, and the
    Party to this Agreement cannot provide or use Services, the Agreement shall be considered
    terminated (suspended) upon expiration of 1 (one) month from the date of the occurrence of force
    majeure circumstances".

    Declared Sat 6 March 10:00: fourteen days end on Sat 20 March, a day off, and so are 21 (Sunday)
    and 22-24 March (Nauryz): notice by 24:00 on Thu 25 March (art. 175). One month from 6 March ends
    on Tue 6 April: terminated at 00:00 on 7 April. The month paid (1 March 10:05 - 1 April 10:05)
    could not be used from 6 March: 26 of its 31 days, 2096.77, refunded (5.25).
    """
    r = paid(("2027-03-06 10:00", event("force_majeure_start", reason="flood")), until="2027-05-01 00:00")
    started = r.first("force_majeure_started")
    assert started.clause == "6.16"
    assert datetime.fromisoformat(started.detail["notify_by"]) == at("2027-03-26 00:00")
    terminated = r.first("terminated")
    assert (r.at_local(terminated), terminated.clause, terminated.detail["reason"]) == (
        "2027-04-07 00:00",
        "6.17",
        "force_majeure",
    )
    assert "suspended" not in r.types() and "invoice_issued" not in r.types()[1:]
    assert r.first("refund_due").detail["amount"] == "2096.77"


def test_force_majeure_shorter_than_a_month_moves_the_terms_on_and_ends_nothing() -> None:
    """6.17 ends the Agreement only if force majeure lasts "more than 1 (one) month"; 6.15: the Parties
    "are exempt from liability ... for delays in their fulfillment" caused by it (the policy reads it
    as moving every term on by the force majeure's length).

    From Sat 20 March 10:00 to Tue 30 March 10:00: ten days. The paid month, which ended on 1 April
    10:05, now ends on 11 April 10:05; the renewal goes out 7 days earlier, Sun 4 April 10:05, payable
    through Wed 7 April (5, 6, 7 April); unpaid, suspended at 00:00 on 8 April.
    """
    r = paid(
        ("2027-03-20 10:00", event("force_majeure_start", reason="flood")),
        ("2027-03-30 10:00", event("force_majeure_end")),
        until="2027-04-10 00:00",
    )
    ended = r.first("force_majeure_ended")
    assert (ended.detail["lasted_days"], ended.detail["deadlines_extended"]) == (10, True)
    assert "terminated" not in r.types()
    renewal = r.entries("invoice_issued")[1]
    assert (r.at_local(renewal), renewal.detail["due_on"]) == ("2027-04-04 10:05", "2027-04-07")
    assert datetime.fromisoformat(renewal.detail["covers_until"]) == at("2027-05-11 10:05")
    assert r.at_local(r.first("suspended")) == "2027-04-08 00:00"


def test_after_a_force_majeure_of_part_days_the_suspension_waits_for_the_debt() -> None:
    """6.15 (the policy moves every term on by the force majeure's length); 4.2.4: "In case of
    non-payment by the Customer ... suspend the provision of Services"; a term in days ends at
    24:00 of its last day (Civil Code art. 176).

    The renewal (payable through Tue 30 March) is interrupted by a force majeure from Fri 26 March
    10:00 to Mon 29 March 11:00: three days and an hour. However the new last day to pay is counted,
    it ends at 24:00 of a day, and the service is suspended only once the renewal is overdue, with
    the 2500 owed on the notice.
    """
    r = paid(
        ("2027-03-26 10:00", event("force_majeure_start", reason="storm")),
        ("2027-03-29 11:00", event("force_majeure_end")),
        until="2027-04-20 00:00",
    )
    renewal = next(i for i in r.state.invoices if i.invoice_id == "p1")
    assert renewal.due_at.astimezone(at("2027-01-01 00:00").tzinfo).strftime("%H:%M") == "00:00"
    suspended = r.first("suspended")
    assert suspended.at >= renewal.due_at
    assert suspended.detail["debt"] == "2500.00"


# -- 3.17 for a domain; 4.2.7 tariffs ---------------------------------------------------------------------------


def test_a_domain_ends_at_the_deletion_step_instead_of_being_deleted() -> None:
    """3.17: "the Contractor deletes the Customer's data for the suspended Service": a domain holds no
    data of the Contractor's to delete, so at the 3.17 step (24:00 on Wed 7 April, seven calendar days
    from the suspension at 00:00 on 31 March) it ends; nothing is "deleted", and no deletion warning
    is sent."""
    r = paid(kind="domain", until="2027-04-20 00:00")
    suspended = r.first("suspended")
    assert datetime.fromisoformat(suspended.detail["terminates_at"]) == at("2027-04-08 00:00")
    terminated = r.first("terminated")
    assert (r.at_local(terminated), terminated.clause) == ("2027-04-08 00:00", "3.17")
    assert "deleted" not in r.types() and "delete" not in r.result.provisioning
    assert not [d for d in r.result.deliveries if d.template.value == "deletion_warning"]


def test_a_new_tariff_is_announced_thirty_days_ahead_and_spares_the_paid_period() -> None:
    """4.2.7: the Contractor may change "Service prices ... by publishing notifications of such
    changes on the Contractor's website https://www.sphera.kz/, at least 30 (thirty) calendar days
    before the changes take effect"; 5.14: "The Contractor has no right to unilaterally review
    Tariffs and payment terms for fully paid Services".

    Announced Wed 3 March 12:00: the thirty days end on Fri 2 April, effective at 00:00 on 3 April.
    The April month (1 April 10:05 - 1 May 10:05) was invoiced on 25 March and paid on 26 March at
    2500; it keeps that price. The next month, invoiced Sat 24 April 10:05 (payable 26, 27, 28 April),
    is billed at 3000.
    """
    r = paid(
        ("2027-03-03 12:00", event("tariff_change", new_price=kzt("3000.00"), new_tariff="Pro")),
        ("2027-03-26 10:00", event("payment", amount=kzt(PRICE))),
        until="2027-04-26 00:00",
    )
    announced = r.first("tariff_change_announced")
    assert announced.clause == "4.2.7"
    assert datetime.fromisoformat(announced.detail["effective_at"]) == at("2027-04-03 00:00")
    invoices = [(r.at_local(e), e.detail["amount"], e.detail["due_on"]) for e in r.entries("invoice_issued")]
    assert invoices[1:] == [
        ("2027-03-25 10:05", "2500.00", "2027-03-30"),
        ("2027-04-24 10:05", "3000.00", "2027-04-28"),
    ]


# -- what the contract does not give; honest citations ------------------------------------------------------------


def test_what_the_contract_does_not_give_is_refused_with_its_reason() -> None:
    """The offer has no trial, no withdrawal right, no promised-payment date and no party's option to
    end a force majeure (6.17 ends it by itself after a month): each is refused, with the reason."""
    r = paid(
        ("2027-03-02 10:00", event("withdrawal")),
        ("2027-03-03 10:00", event("promise_to_pay", promised_at=at("2027-04-05 10:00"))),
        ("2027-03-04 10:00", event("force_majeure_terminate", party="customer")),
        consumer=True,
        until="2027-03-10 00:00",
    )
    assert r.rejected() == [
        "the contract gives no right of withdrawal",
        "the contract gives no promised-payment date",
        "the contract gives no option to terminate for force majeure (6.15, termination: automatic)",
    ]
    assert "terminated" not in r.types()
    assert r.contract.start_refusal(service(ID, PRICE, trial=True)) == (
        "trial",
        "the contract offers no trial period",
    )


def test_steps_the_contract_does_not_require_cite_no_clause() -> None:
    """The courtesy reminder, the renewal's lead time and the final warning are the provider's own
    steps (5.4 only says "Payments ... are made by the Customer in advance"; 4.2.4 suspends "without
    prior notice"): they cite no clause and say they are operational; every clause shown exists in
    the seed."""
    r = paid(until="2027-04-20 00:00")
    reminder = r.first("reminder")
    assert r.at_local(reminder) == "2027-03-29 10:00"
    assert reminder.clause is None and reminder.detail["operational"] is True
    warnings = [d for d in r.result.deliveries if d.template.value == "deletion_warning"]
    assert warnings and all(d.clause is None and d.detail["operational"] for d in warnings)
    deadline = r.contract.next_deadline(paid(until="2027-03-02 00:00").state)
    assert deadline is not None and deadline.action.value == "issue_invoice" and deadline.operational
    assert deadline.clause is None and deadline.at == at("2027-03-25 10:05")
    cited = {e.clause for e in r.result.entries if e.clause} | {
        d.clause for d in r.result.deliveries if d.clause
    }
    assert cited and all(clause_in_seed(ID, c) for c in cited), cited
    uncited = [e for e in r.result.entries if e.clause is None]
    assert all(e.detail.get("operational") is True for e in uncited), uncited


def test_every_clause_the_policy_cites_is_in_the_seed() -> None:
    from tests.contracts.harness import load_policy, policy_citations

    policy = load_policy(ID)
    cited = policy_citations(policy)
    assert len(cited) > 15
    missing = sorted(c for c in cited if not clause_in_seed(ID, c))
    assert missing == [], missing
    assert policy.late_fee is not None
    assert (Decimal(policy.late_fee.rate_per_day), Decimal(policy.late_fee.cap_ratio or 0)) == (
        Decimal("0.001"),
        Decimal("0.10"),
    )
