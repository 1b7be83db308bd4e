"""ONELAB / 1host.kz (seed 001): the contract's own words, run on the engine.

The seed is an English translation and is quoted as written. Services are paid in advance (5.1);
an invoice, for services on credit (5.3) and, in Oferta, for the next prepaid period, is payable
"within 3 (three) business days from the date of billing" (5.3); an outstanding payment suspends at
once (5.2) and is restored within 24 hours of payment (5.2); the data is removed once the delay
"exceeds 30 (thirty) calendar days from the date of payment due date" (3.2.4), unless the Subscriber
has named the date it will pay (11.11.1).

Dates are Almaty time (UTC+5, no DST). Kazakh days off used (KZ 2027, `holidays`): Mon 8 Mar
(Women's Day), Mon 15 Mar (Constitution Day), Sun 21 - Wed 24 Mar (Nauryz, 24 Mar observed). A term
in days runs from the day after its event and ends at 24:00 of its last day, moved to the next
working day when that day is off (Civil Code arts. 173, 175, 176). The contract defines no "day" and
uses no bare one: it says "calendar days" or "business days".

The customer in most scenarios: a 10,000 KZT monthly hosting service started Mon 1 Feb 2027 10:00 and
paid at 10:05, so its paid periods run from 1 Feb 10:05 (1 Mar 10:05, 1 Apr 10:05, ...). The invoice
for the month from 1 Mar is issued 3 working days before (an operational lead): Wed 24 Feb 10:05
(26, 25, 24 Feb); its 3 business days are Thu 25, Fri 26 Feb, Mon 1 Mar: payable through Mon 1 Mar.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import BaseModel

from oferta.policy import load_policy
from oferta.policy.schema import Term
from oferta.timeline.state import BillingEvent, ServiceSpec, ServiceStatus
from tests.contracts.harness import Run, clause_in_seed, event, local, run, seed_text, service

ID = "onelab"
PRICE = "10000.00"


def kzt(amount: str) -> tuple[str, str]:
    return (amount, "KZT")


def at(text: str) -> datetime:
    return local(ID, text)


def spec(**changes: object) -> ServiceSpec:
    changes.setdefault("kind", "hosting")
    return service(ID, changes.pop("price", PRICE), **changes)  # type: ignore[arg-type]


PAID = ("2027-02-01 10:05", event("payment", amount=kzt(PRICE)))
# February and March paid at once: the March invoice is paid from the Personal Account when issued.
TWO_MONTHS = ("2027-02-01 10:05", event("payment", amount=kzt("20000.00")))


def paid_month(
    *extra: tuple[str, BillingEvent],
    until: str = "2027-06-01 00:00",
    first: tuple[str, BillingEvent] = PAID,
    **changes: object,
) -> Run:
    """Started Mon 1 Feb 10:00, paid at 10:05 (``first``), then ``extra`` events."""
    return run(ID, spec(**changes), "2027-02-01 10:00", [first, *extra], until=until)


def yearly(*extra: tuple[str, BillingEvent], until: str = "2027-06-01 00:00") -> Run:
    """A year of hosting, 120,000 KZT paid in advance Mon 1 Feb 10:05 (5.1: at most 12 months)."""
    return run(
        ID,
        spec(price="120000.00", period="P1Y"),
        "2027-02-01 10:00",
        [("2027-02-01 10:05", event("payment", amount=kzt("120000.00"))), *extra],
        until=until,
    )


def credit(when: str, amount: str = "30000.00", invoice_id: str = "x1") -> tuple[str, BillingEvent]:
    """An invoice for services provided on credit (5.3), entered by billing."""
    return (when, event("invoice", amount=kzt(amount), invoice_id=invoice_id))


def invoice(r: Run, invoice_id: str) -> dict:
    found = [e.detail for e in r.entries("invoice_issued") if e.detail["invoice_id"] == invoice_id]
    assert found, f"no invoice {invoice_id}: {[e.detail['invoice_id'] for e in r.entries('invoice_issued')]}"
    return found[0]


def promise(when: str, promised: str) -> tuple[str, BillingEvent]:
    return (when, event("promise_to_pay", promised_at=at(promised)))


# -- the seed says what the tests quote ------------------------------------------------------------


def test_the_quoted_words_are_the_seeds() -> None:
    text = " ".join(seed_text(ID).split())
    for words in (
        "The Subscriber is responsible for making payments in advance before receiving the Services",
        "The Subscriber makes payments for any number of months of estimated time of use of the Services",
        "Services (access to Services) are provided only if there is no outstanding payment for Services",
        "The Operator reserves the right to immediately suspend the provision of Services (block access to"
        " Services) to the Subscriber if there is an outstanding payment for Services",
        "within 24 hours of receiving the documents confirming settlement of the outstanding payment",
        "who shall pay the invoice within 3 (three) business days from the date of billing",
        "claim a late payment fee of 0.1% of the invoice amount for each day of payment default",
        "In case of receipt of payment from the Subscriber that is not in full",
        "In the event that the payment delay exceeds 30 (thirty) calendar days from the date of payment due"
        " date, the Operator shall immediately and without prior notice",
        "If the payment default of the Subscriber's debt exceeds 6 (six) months, the present Agreement shall"
        " be terminated unilaterally",
        "and does not notify the Operator of the payment deadline",
        "Ensure the operating conditions and preservation of the subscriber's equipment",
        "remove the resource (WEB-site, WEB-mail) and/or other information and data of the Subscriber",
        "terminate this Agreement and discontinue the Operator's services at any time in a unilateral manner",
        "the unused funds will be returned from the Subscriber's Account",
        "The funds will only be returned in non-cash form",
        "no later than 30 (thirty) calendar days before the expected date of termination of the Contract",
        "The parties shall perform the necessary actions to settle their mutual obligations",
        "systematic (three or more times) violations",
        "the remaining funds on the Subscriber's Personal Account is considered a penalty fee",
        "no later than fourteen (14) calendar days after the start of such circumstances",
        "If the force majeure circumstances persist for more than one (1) month, the Agreement shall be"
        " deemed terminated after one (1) month from the moment of the force majeure circumstances",
        "Keep track of their Personal Account in the Operator's Accounting System (Control Panel) on their own",
    ):
        assert words in text, words


# -- 5.3: 3 business days to pay an invoice ------------------------------------------------------------


def test_a_credit_invoice_is_due_in_3_business_days_past_nauryz() -> None:
    """5.3: "The Operator may, at its discretion, provide the Services and/or Products to the Subscriber
    on credit, with subsequent billing of the Subscriber, who shall pay the invoice within 3 (three)
    business days from the date of billing."

    A credit invoice of 30,000 KZT issued Thu 18 Mar 12:00. Business days: Fri 19 Mar (1); Sat 20, Sun
    21, Mon 22, Tue 23, Wed 24 Mar are off (weekend and Nauryz); Thu 25 (2), Fri 26 Mar (3). Payable
    until 24:00 of Fri 26 Mar (counting calendar days it would have been Sun 21, rolled to Thu 25).
    Paid at 23:50 that day: in time, no suspension and no fee.
    """
    r = paid_month(
        credit("2027-03-18 12:00"),
        ("2027-03-26 23:50", event("payment", amount=kzt("30000.00"))),
        first=TWO_MONTHS,
        until="2027-04-01 00:00",
    )
    [x1] = [e for e in r.entries("invoice_issued") if e.detail["invoice_id"] == "x1"]
    assert (r.at_local(x1), x1.detail["kind"], x1.clause) == ("2027-03-18 12:00", "extra", "5.3")
    assert x1.detail["due_on"] == "2027-03-26"
    assert datetime.fromisoformat(x1.detail["due_at"]) == at("2027-03-27 00:00")
    assert not r.entries("suspended") and not r.entries("late_fee")


def test_an_unpaid_credit_invoice_suspends_when_its_last_business_day_ends() -> None:
    """5.3: "In the event of overdue payment of the invoice, the Operator may immediately suspend the
    provision of Services (block access to the Services)"; 5.2: "immediately suspend ... if there is an
    outstanding payment for Services".

    The same invoice (Thu 18 Mar, payable through Fri 26 Mar) is not paid: suspended at 24:00 of
    26 Mar, Sat 27 Mar 00:00, not during the Nauryz days before it.
    """
    r = paid_month(credit("2027-03-18 12:00"), first=TWO_MONTHS, until="2027-04-10 00:00")
    [suspended] = r.entries("suspended")
    assert r.at_local(suspended) == "2027-03-27 00:00"
    assert (suspended.clause, suspended.detail["debt"]) == ("5.2", "30000.00")


def test_the_prepaid_month_is_invoiced_so_that_it_falls_due_as_the_month_ends() -> None:
    """5.1: "The Subscriber is responsible for making payments in advance before receiving the
    Services"; 5.3: "within 3 (three) business days from the date of billing".

    The invoice for March is issued Wed 24 Feb 10:05 (3 working days before Mon 1 Mar: an operational
    lead, no clause of its own) and is payable through Mon 1 Mar (Thu 25, Fri 26 Feb, Mon 1 Mar).
    Paid Mon 1 Mar at 23:30: in time - no suspension; paid until Thu 1 Apr 10:05. The courtesy
    reminder (operational: 3.3.3 makes the account the Subscriber's to watch) goes Sun 28 Feb 10:00.
    """
    r = paid_month(("2027-03-01 23:30", event("payment", amount=kzt(PRICE))), until="2027-03-20 00:00")
    p1 = [e for e in r.entries("invoice_issued") if e.detail["invoice_id"] == "p1"][0]
    assert r.at_local(p1) == "2027-02-24 10:05"
    assert p1.detail["due_on"] == "2027-03-01"
    assert datetime.fromisoformat(p1.detail["due_at"]) == at("2027-03-02 00:00")
    reminder = r.first("reminder")
    assert r.at_local(reminder) == "2027-02-28 10:00"
    assert reminder.clause is None and reminder.detail.get("operational") is True
    assert not r.entries("suspended")
    assert r.state.paid_until == at("2027-04-01 10:05")


def test_a_month_ending_on_nauryz_is_never_suspended_before_it_ends() -> None:
    """5.1: payment "in advance before receiving the Services"; 5.3: "within 3 (three) business days".

    A service started Mon 22 Feb 2027 10:00, paid at 10:05: its month ends Mon 22 Mar 10:05, a Nauryz
    day. The renewal invoice goes 3 working days before: [21, 20 Mar off] Fri 19 (1), Thu 18 (2),
    Wed 17 Mar (3) - Wed 17 Mar 10:05. Its 3 business days: Thu 18, Fri 19, [20-24 off], Thu 25 Mar:
    payable through Thu 25 Mar. Unpaid, it suspends Fri 26 Mar 00:00 - after the paid month, never
    inside it.
    """
    r = run(
        ID,
        spec(),
        "2027-02-22 10:00",
        [("2027-02-22 10:05", event("payment", amount=kzt(PRICE)))],
        until="2027-04-01 00:00",
    )
    p1 = invoice(r, "p1")
    assert (
        r.at_local([e for e in r.entries("invoice_issued") if e.detail["invoice_id"] == "p1"][0])
        == "2027-03-17 10:05"
    )
    assert p1["due_on"] == "2027-03-25"
    suspended = r.first("suspended")
    assert r.at_local(suspended) == "2027-03-26 00:00"
    assert suspended.at > at("2027-03-22 10:05")


# -- 5.2: suspension at once, restored within 24 hours -------------------------------------------------


def test_an_outstanding_payment_suspends_at_24_00_of_the_last_day_to_pay() -> None:
    """5.2: "The Operator reserves the right to immediately suspend the provision of Services (block
    access to Services) to the Subscriber if there is an outstanding payment for Services."

    The March invoice is payable through Mon 1 Mar; nothing arrives: suspended at 24:00 of 1 Mar, i.e.
    Tue 2 Mar 00:00, citing 5.2, for 10,000 KZT. The notice names the 3.2.4 removal date, 00:00 of
    Thu 1 Apr (see below). Not suspended a minute earlier.
    """
    before = paid_month(until="2027-03-01 23:59")
    assert not before.entries("suspended")
    r = paid_month(until="2027-03-10 00:00")
    [suspended] = r.entries("suspended")
    assert r.at_local(suspended) == "2027-03-02 00:00"
    assert suspended.clause == "5.2"
    assert (suspended.detail["reason"], suspended.detail["debt"]) == ("non_payment", "10000.00")
    assert datetime.fromisoformat(suspended.detail["deletion_at"]) == at("2027-04-01 00:00")
    assert r.result.provisioning == ["activate", "suspend"]
    assert r.state.status is ServiceStatus.SUSPENDED


def test_payment_restores_the_service_within_24_hours() -> None:
    """5.2: "The Operator resumes provision of Services (re-opens access to Services) to the Subscriber
    within 24 hours of receiving the documents confirming settlement of the outstanding payment for
    Services." 5.6: "The date of payment shall be considered the date of receipt of funds".

    Suspended Tue 2 Mar 00:00; the 10,000 KZT arrive Wed 3 Mar 15:00: resumed at once, citing 5.2,
    the notice promising access by Thu 4 Mar 15:00 at the latest (24 hours). The month paid is a
    month of use (5.1, see test_months_the_service_was_blocked_are_not_billed): it runs from the
    payment to Sat 3 Apr 15:00, the blocked hours not billed.
    """
    r = paid_month(("2027-03-03 15:00", event("payment", amount=kzt(PRICE))), until="2027-03-20 00:00")
    resumed = r.first("resumed")
    assert r.at_local(resumed) == "2027-03-03 15:00"
    assert resumed.clause == "5.2"
    assert datetime.fromisoformat(resumed.detail["restore_by"]) == at("2027-03-04 15:00")
    assert r.result.provisioning == ["activate", "suspend", "resume"]
    assert r.state.status is ServiceStatus.ACTIVE
    assert r.state.paid_until == at("2027-04-03 15:00")


# -- 3.2.4: removal once the delay exceeds 30 calendar days ----------------------------------------------


def test_the_data_is_removed_on_day_31_after_the_due_date_not_on_day_30() -> None:
    """3.2.4: "In the event that the payment delay exceeds 30 (thirty) calendar days from the date of
    payment due date, the Operator shall immediately and without prior notice, at its discretion,
    remove the resource (WEB-site, WEB-mail) and/or other information and data of the Subscriber."

    Due date Mon 1 Mar. Day 1 of the delay is Tue 2 Mar, day 30 is Wed 31 Mar (a working day): the 30
    days end at 24:00 of 31 Mar, and at Thu 1 Apr 00:00 - day 31, the delay now exceeding 30 days - the
    data is removed, citing 3.2.4. Still suspended, data kept, at 23:59 of 31 Mar. The final warning
    3 days before (Mon 29 Mar) is operational: 3.2.4 needs no notice.
    """
    day_30 = paid_month(until="2027-03-31 23:59")
    assert not day_30.entries("deleted") and day_30.state.status is ServiceStatus.SUSPENDED
    r = paid_month(until="2027-05-01 00:00")
    [deleted] = r.entries("deleted")
    assert r.at_local(deleted) == "2027-04-01 00:00"
    assert deleted.clause == "3.2.4"
    assert r.result.provisioning == ["activate", "suspend", "delete"]
    assert r.state.status is ServiceStatus.DELETED
    warnings = [d for d in r.result.deliveries if d.template.value == "deletion_warning"]
    assert warnings and {d.send_at.date().isoformat() for d in warnings} == {"2027-03-29"}
    assert all(d.clause is None and d.detail.get("operational") is True for d in warnings)


def test_a_30th_day_that_is_a_sunday_moves_the_removal_to_after_monday() -> None:
    """3.2.4: "exceeds 30 (thirty) calendar days from the date of payment due date"; Civil Code
    art. 175: a term whose last day is a day off ends on the next working day.

    The credit invoice of Thu 18 Mar is payable through Fri 26 Mar (Nauryz, above). Day 30 of the delay
    is Sun 25 Apr, a day off: the term ends at 24:00 of Mon 26 Apr, and the data is removed Tue 27 Apr
    00:00 - not Mon 26 Apr.
    """
    r = paid_month(credit("2027-03-18 12:00"), first=TWO_MONTHS, until="2027-05-10 00:00")
    [deleted] = r.entries("deleted")
    assert r.at_local(deleted) == "2027-04-27 00:00"
    assert deleted.detail["debt"] == "30000.00"


def test_paying_the_overdue_invoice_while_a_newer_one_is_not_due_restores_and_re_anchors_the_removal() -> (
    None
):
    """5.2: restored "within 24 hours of receiving the documents confirming settlement of the
    outstanding payment"; 3.2.4: removal when "the payment delay exceeds 30 (thirty) calendar days from
    the date of payment due date" (audit O1).

    The March invoice (due Mon 1 Mar) is unpaid: suspended Tue 2 Mar 00:00. A credit invoice x1 of
    30,000 KZT is issued Wed 3 Mar 12:00: Thu 4 (1), Fri 5 (2), [Sat 6, Sun 7, Mon 8 Mar off], Tue 9
    Mar (3): payable through Tue 9 Mar. On Fri 5 Mar 15:00 the Subscriber pays the 10,000 KZT overdue:
    nothing is outstanding any more (x1 is not yet due) - resumed at once. x1 stays unpaid: suspended
    Wed 10 Mar 00:00, and the removal counts from x1's due date: day 30 is Thu 8 Apr, removal Fri 9 Apr
    00:00 - not Thu 1 Apr, 30 days from the March invoice already paid.
    """
    r = paid_month(
        credit("2027-03-03 12:00"),
        ("2027-03-05 15:00", event("payment", amount=kzt(PRICE))),
        until="2027-05-01 00:00",
    )
    suspended = r.entries("suspended")
    assert [r.at_local(s) for s in suspended] == ["2027-03-02 00:00", "2027-03-10 00:00"]
    assert r.at_local(r.first("resumed")) == "2027-03-05 15:00"
    assert invoice(r, "x1")["due_on"] == "2027-03-09"
    assert datetime.fromisoformat(suspended[1].detail["deletion_at"]) == at("2027-04-09 00:00")
    [deleted] = r.entries("deleted")
    assert r.at_local(deleted) == "2027-04-09 00:00"
    assert deleted.detail["debt"] == "30000.00"


def test_a_payment_not_in_full_keeps_the_service_suspended() -> None:
    """3.2.3: "In case of receipt of payment from the Subscriber that is not in full ... suspend the
    provision of Services ... until payment is made".

    Suspended Tue 2 Mar 00:00 for 10,000 KZT; 6,000 arrive Wed 3 Mar: still suspended, 4,000 overdue;
    the other 4,000 arrive Fri 5 Mar 12:00: resumed then.
    """
    r = paid_month(
        ("2027-03-03 12:00", event("payment", amount=kzt("6000.00"))),
        ("2027-03-05 12:00", event("payment", amount=kzt("4000.00"))),
        until="2027-03-20 00:00",
    )
    [resumed] = r.entries("resumed")
    assert r.at_local(resumed) == "2027-03-05 12:00"
    mid = paid_month(("2027-03-03 12:00", event("payment", amount=kzt("6000.00"))), until="2027-03-04 00:00")
    assert mid.state.status is ServiceStatus.SUSPENDED
    assert mid.contract.view(mid.state, at("2027-03-04 00:00")).overdue_amount == Decimal("4000.00")


# -- 11.11.1: a Subscriber who names its payment date ---------------------------------------------------


def test_a_promise_to_pay_postpones_the_removal_until_the_promised_date_has_passed() -> None:
    """11.11.1: "If the Subscriber does not make a deposit to their Personal Account (payment under the
    Agreement) within 30 calendar days from the moment a zero or negative balance is formed and does
    not notify the Operator of the payment deadline, ... the resource (WEB-site, WEB-mail) and all
    information and data of the Subscriber will be deleted".

    Suspended Tue 2 Mar 00:00 (the March invoice, due Mon 1 Mar); 3.2.4 would remove the data Thu 1 Apr
    00:00. On Wed 10 Mar the Subscriber tells the Operator it will pay by Thu 15 Apr: recorded, citing
    11.11.1. The removal waits until the promised day has passed: 24:00 of Thu 15 Apr (a working day),
    i.e. Fri 16 Apr 00:00. The service stays suspended meanwhile (5.2: until payment).
    """
    r = paid_month(promise("2027-03-10 12:00", "2027-04-15 18:00"), until="2027-05-01 00:00")
    recorded = r.first("promise_to_pay")
    assert (recorded.clause, recorded.detail["promised_on"]) == ("11.11.1", "2027-04-15")
    mid = paid_month(promise("2027-03-10 12:00", "2027-04-15 18:00"), until="2027-04-15 23:59")
    assert not mid.entries("deleted") and mid.state.status is ServiceStatus.SUSPENDED
    [deleted] = r.entries("deleted")
    assert r.at_local(deleted) == "2027-04-16 00:00"
    assert deleted.clause == "3.2.4"


def test_a_promise_kept_restores_the_service_and_nothing_is_removed() -> None:
    """11.11.1: data is deleted only if the Subscriber "does not make a deposit ... and does not notify
    the Operator of the payment deadline"; 5.2: restored "within 24 hours" of the payment.

    Promise of Wed 10 Mar to pay by Thu 15 Apr; the 10,000 KZT arrive Thu 15 Apr 20:00: resumed then,
    and nothing is removed on 1 Apr or 16 Apr.
    """
    r = paid_month(
        promise("2027-03-10 12:00", "2027-04-15 18:00"),
        ("2027-04-15 20:00", event("payment", amount=kzt(PRICE))),
        until="2027-04-30 00:00",
    )
    assert r.at_local(r.first("resumed")) == "2027-04-15 20:00"
    assert not r.entries("deleted")


def test_a_promise_to_pay_is_refused_when_nothing_is_overdue_or_the_date_has_passed() -> None:
    """11.11.1 concerns a Subscriber who has not paid ("does not make a deposit ... and does not notify
    the Operator of the payment deadline").

    On Wed 10 Feb the February month is paid and nothing is overdue: the promise is refused, saying so.
    On Wed 10 Mar (suspended since 2 Mar) a promise to pay by Mon 1 Mar - already past - is refused too;
    the removal stays on Thu 1 Apr 00:00.
    """
    r = paid_month(promise("2027-02-10 12:00", "2027-02-20 12:00"), until="2027-02-11 00:00")
    [reason] = r.rejected()
    assert "nothing is overdue" in reason
    assert not r.entries("promise_to_pay")
    late = paid_month(promise("2027-03-10 12:00", "2027-03-01 12:00"), until="2027-05-01 00:00")
    [reason] = late.rejected()
    assert "already passed" in reason
    assert late.at_local(late.first("deleted")) == "2027-04-01 00:00"


def test_a_promise_beyond_six_months_meets_the_3_2_5_termination() -> None:
    """3.2.5: "If the payment default of the Subscriber's debt exceeds 6 (six) months, the present
    Agreement shall be terminated unilaterally." The outer limit of an 11.11.1 promise.

    A credit invoice of Mon 1 Mar 12:00 is payable through Thu 4 Mar (Tue 2, Wed 3, Thu 4); suspended
    Fri 5 Mar 00:00. The Subscriber promises on 5 Mar to pay by Fri 1 Oct. Six months from 4 Mar end on
    Sat 4 Sep, a day off, moved to Mon 6 Sep (art. 175): on Tue 7 Sep 00:00 the default exceeds six
    months and the Agreement ends, citing 3.2.5, the 30,000 KZT still owed. Nothing is removed before.
    """
    r = paid_month(
        credit("2027-03-01 12:00"),
        promise("2027-03-05 11:00", "2027-10-01 12:00"),
        first=TWO_MONTHS,
        until="2027-10-10 00:00",
    )
    assert r.first("promise_to_pay").detail["promised_on"] == "2027-10-01"
    assert not r.entries("deleted")
    [terminated] = r.entries("terminated")
    assert r.at_local(terminated) == "2027-09-07 00:00"
    assert terminated.clause == "3.2.5"
    assert (terminated.detail["reason"], terminated.detail["debt"]) == ("debt", "30000.00")


# -- 3.1.8 / 3.2.4: a domain or a colocated server is not "removed" ----------------------------------------


@pytest.mark.parametrize("kind", ["domain", "colocation"])
def test_a_domain_or_colocated_server_ends_instead_of_being_deleted(kind: str) -> None:
    """3.2.4 removes "the resource (WEB-site, WEB-mail) and/or other information and data of the
    Subscriber"; 3.1.8: the Operator shall "Ensure the operating conditions and preservation of the
    subscriber's equipment provided to the operator according to the acceptance-delivery act".

    The same unpaid March (due Mon 1 Mar): at the 3.2.4 step, Thu 1 Apr 00:00, the service ends -
    terminated for non-payment, provisioning told to "terminate" - and nothing is "deleted".
    """
    r = paid_month(kind=kind, until="2027-05-01 00:00")
    assert not r.entries("deleted")
    [terminated] = r.entries("terminated")
    assert r.at_local(terminated) == "2027-04-01 00:00"
    assert (terminated.clause, terminated.detail["reason"]) == ("3.2.4", "non_payment")
    assert r.result.provisioning == ["activate", "suspend", "terminate"]
    assert "delete" not in r.result.provisioning
    assert r.state.status is ServiceStatus.TERMINATED


def test_a_colocation_customer_is_not_told_its_data_will_be_deleted() -> None:
    """3.1.8: "Ensure the operating conditions and preservation of the subscriber's equipment"; 3.2.4
    removes "the resource (WEB-site, WEB-mail) and/or other information and data".

    A colocated server is the Subscriber's own equipment: the suspension of Tue 2 Mar must announce the
    end of the service on Thu 1 Apr 00:00 (terminates_at), not a deletion of data, and no "data will
    be deleted" warning is sent.
    """
    r = paid_month(kind="colocation", until="2027-05-01 00:00")
    suspended = r.first("suspended")
    assert "deletion_at" not in suspended.detail
    assert datetime.fromisoformat(suspended.detail["terminates_at"]) == at("2027-04-01 00:00")
    assert not [d for d in r.result.deliveries if d.template.value == "deletion_warning"]


# -- 5.3: the late payment fee ----------------------------------------------------------------------------


def test_the_late_fee_is_0_1_percent_a_day_of_the_whole_invoice_amount() -> None:
    """5.3: "In the event of overdue payment of the invoice, the Operator may ... claim a late payment
    fee of 0.1% of the invoice amount for each day of payment default from the Subscriber."

    A credit invoice of 30,000 KZT, Mon 1 Mar, payable through Thu 4 Mar. 20,000 arrive Fri 5 Mar (the
    service stays suspended: not in full, 3.2.3), the last 10,000 Mon 15 Mar 11:00. Days of default:
    5-15 Mar = 11. The fee is on "the invoice amount" as written: 0.001 x 30,000 x 11 = 330.00 KZT
    (on the unpaid remainder it would be 30 + 10 x 10 = 130). Resumed on the full payment.
    """
    r = paid_month(
        credit("2027-03-01 12:00"),
        ("2027-03-05 11:00", event("payment", amount=kzt("20000.00"))),
        ("2027-03-15 11:00", event("payment", amount=kzt("10000.00"))),
        first=TWO_MONTHS,
        until="2027-03-20 00:00",
    )
    assert r.at_local(r.first("suspended")) == "2027-03-05 00:00"
    assert r.at_local(r.first("resumed")) == "2027-03-15 11:00"
    [fee] = r.entries("late_fee")
    assert fee.clause == "5.3"
    assert r.at_local(fee) == "2027-03-15 11:00"
    assert (fee.detail["amount"], fee.detail["days_late"], fee.detail["base"]) == (
        "330.00",
        11,
        "invoice_amount",
    )
    assert r.state.late_fees_charged.amount == Decimal("330.00")


def test_the_late_fee_has_no_cap() -> None:
    """5.3: "0.1% of the invoice amount for each day of payment default" - no maximum is stated.

    The credit invoice of Mon 1 Mar (payable through Thu 4 Mar) is paid Fri 2 Jul, as promised on 5 Mar
    (11.11.1, so nothing was removed): 120 days of default (27 in March, 30 + 31 + 30, 2 in July):
    0.001 x 30,000 x 120 = 3,600.00 KZT, 12% of the invoice, not cut at any cap.
    """
    r = paid_month(
        credit("2027-03-01 12:00"),
        promise("2027-03-05 11:00", "2027-07-02 12:00"),
        ("2027-07-02 11:00", event("payment", amount=kzt("30000.00"))),
        first=TWO_MONTHS,
        until="2027-07-03 00:00",
    )
    [fee] = r.entries("late_fee")
    assert (fee.detail["amount"], fee.detail["days_late"], fee.detail["capped"]) == ("3600.00", 120, False)
    assert fee.detail["cap_ratio"] is None


def test_no_late_fee_on_the_advance_invoice_for_a_month() -> None:
    """5.3: the fee is for services provided "on credit, with subsequent billing"; a month paid in
    advance (5.1) carries none.

    The March invoice (due Mon 1 Mar) is paid 10 days late, Thu 11 Mar: restored, no fee.
    """
    r = paid_month(("2027-03-11 11:00", event("payment", amount=kzt(PRICE))), until="2027-03-20 00:00")
    assert r.at_local(r.first("resumed")) == "2027-03-11 11:00"
    assert not r.entries("late_fee")
    assert r.state.late_fees_charged.amount == 0


# -- 11.7 / 11.8: the Subscriber leaves at any time ----------------------------------------------------------


def test_the_subscriber_may_terminate_at_any_time_and_gets_the_unused_funds_back() -> None:
    """11.7: "The subscriber has the right to terminate this Agreement and discontinue the Operator's
    services at any time in a unilateral manner". 11.8: "the unused funds will be returned from the
    Subscriber's Account ... The funds will only be returned in non-cash form".

    No notice period: a request Mon 15 Feb 12:00 ends the service at that moment, citing 11.7. Of the
    month paid (1 Feb 10:05 - 1 Mar 10:05, 28 days), 14 days (15 Feb - 1 Mar) are unused: 10,000 x
    14/28 = 5,000.00 KZT, by bank transfer, with no deadline (11.8 gives none).
    """
    r = paid_month(("2027-02-15 12:00", event("cancel_request")), until="2027-03-20 00:00")
    requested = r.first("termination_requested")
    assert requested.clause == "11.7"
    assert datetime.fromisoformat(requested.detail["effective_at"]) == at("2027-02-15 12:00")
    [terminated] = r.entries("terminated")
    assert (r.at_local(terminated), terminated.clause, terminated.detail["reason"]) == (
        "2027-02-15 12:00",
        "11.7",
        "customer_notice",
    )
    refund = r.first("refund_due")
    assert (refund.detail["amount"], refund.detail["destination"], refund.detail["due_by"]) == (
        "5000.00",
        "bank_transfer",
        None,
    )
    assert refund.clause == "11.8"
    assert r.refunded().amount == Decimal("5000.00")
    assert [e.detail["invoice_id"] for e in r.entries("invoice_issued")] == ["p0"]


# -- 11.4: the Operator's notice -------------------------------------------------------------------------------


def test_the_operator_terminates_with_30_calendar_days_notice_and_settles() -> None:
    """11.4: "The Operator may at any time unilaterally terminate the Contract with mandatory
    notification to the subscriber, ... no later than 30 (thirty) calendar days before the expected
    date of termination of the Contract. The parties shall perform the necessary actions to settle
    their mutual obligations."

    A year paid in advance (120,000 KZT, 1 Feb 2027 - 1 Feb 2028, 365 days). Notice Wed 10 Feb 12:00;
    30 calendar days end on Fri 12 Mar (a working day) at 24:00: terminated Sat 13 Mar 00:00, citing
    11.4. Unused: 13 Mar 2027 - 1 Feb 2028 = 325 days: 120,000 x 325/365 = 106,849.32 KZT refunded.
    """
    r = yearly(("2027-02-10 12:00", event("provider_termination")))
    requested = r.first("termination_requested")
    assert (requested.clause, requested.detail["by"]) == ("11.4", "provider")
    assert datetime.fromisoformat(requested.detail["effective_at"]) == at("2027-03-13 00:00")
    [terminated] = r.entries("terminated")
    assert (r.at_local(terminated), terminated.clause, terminated.detail["reason"]) == (
        "2027-03-13 00:00",
        "11.4",
        "provider_notice",
    )
    assert r.first("refund_due").detail["amount"] == "106849.32"
    assert r.refunded().amount == Decimal("106849.32")


# -- 11.10.1: systematic violations ---------------------------------------------------------------------------


def test_termination_for_systematic_violations_forfeits_the_funds() -> None:
    """11.10.1: "In cases of systematic (three or more times) violations of the terms of this Agreement
    ... the Operator is entitled to immediately terminate the Agreement without any compensation to the
    Subscriber (the remaining funds on the Subscriber's Personal Account is considered a penalty fee)."

    The third violation is established Mon 1 Mar 12:00: terminated at once, citing 11.10.1; the
    remaining eleven months of the year paid are not refunded.
    """
    r = yearly(("2027-03-01 12:00", event("breach_termination", reason="third violation")))
    [terminated] = r.entries("terminated")
    assert (r.at_local(terminated), terminated.clause, terminated.detail["reason"]) == (
        "2027-03-01 12:00",
        "11.10.1",
        "breach",
    )
    assert not r.entries("refund_due")
    assert r.refunded().amount == 0


# -- 8: force majeure ---------------------------------------------------------------------------------------------


def test_a_force_majeure_lasting_over_a_month_terminates_the_agreement_with_a_refund() -> None:
    """8.3: "If the force majeure circumstances persist for more than one (1) month, the Agreement shall
    be deemed terminated after one (1) month from the moment of the force majeure circumstances."
    8.2: notice "no later than fourteen (14) calendar days after the start of such circumstances".

    Force majeure from Mon 1 Mar 12:00, never ended. 8.2: 14 days end Mon 15 Mar, Constitution Day, so
    Tue 16 Mar at 24:00. 8.3: one month ends Thu 1 Apr at 24:00: terminated Fri 2 Apr 00:00, citing
    8.3, no party's act needed. The year paid is refunded from the start of the force majeure (1 Mar
    2027 - 1 Feb 2028, 337 of 365 days): 120,000 x 337/365 = 110,794.52 KZT.
    """
    r = yearly(("2027-03-01 12:00", event("force_majeure_start", reason="flood at the data center")))
    started = r.first("force_majeure_started")
    assert started.clause == "8.2"
    assert datetime.fromisoformat(started.detail["notify_by"]) == at("2027-03-17 00:00")
    assert datetime.fromisoformat(started.detail["terminates_at"]) == at("2027-04-02 00:00")
    [terminated] = r.entries("terminated")
    assert (r.at_local(terminated), terminated.clause, terminated.detail["reason"]) == (
        "2027-04-02 00:00",
        "8.3",
        "force_majeure",
    )
    assert r.first("refund_due").detail["amount"] == "110794.52"
    assert r.refunded().amount == Decimal("110794.52")


def test_a_force_majeure_ended_within_the_month_changes_nothing() -> None:
    """8.3 ends the Agreement only if force majeure "persist[s] for more than one (1) month"; 8.1
    relieves the parties of obligations, it does not extend the contract's terms.

    Force majeure Mon 1 - Sat 20 Mar: no termination; the year paid still runs to 1 Feb 2028 10:05.
    """
    r = yearly(
        ("2027-03-01 12:00", event("force_majeure_start")), ("2027-03-20 12:00", event("force_majeure_end"))
    )
    assert r.first("force_majeure_ended").detail["deadlines_extended"] is False
    assert not r.entries("terminated")
    assert r.state.status is ServiceStatus.ACTIVE
    assert r.state.paid_until == at("2028-02-01 10:05")


# -- 5.1: a payment buys months of use ----------------------------------------------------------------------------


def test_months_the_service_was_blocked_are_not_billed() -> None:
    """5.1: "The Subscriber is responsible for making payments in advance before receiving the Services
    (access to the Services) ... The Subscriber makes payments for any number of months of estimated time
    of use of the Services ... Services (access to Services) are provided only if there is no outstanding
    payment for Services."

    The March invoice is unpaid: blocked from Tue 2 Mar. With a promise (11.11.1) the data is kept; the
    10,000 KZT arrive Tue 15 Jun 11:00. That is the payment of one month of use: access reopens then and
    runs to Thu 15 Jul 11:00. April and May, when access was blocked, are not invoiced.
    """
    r = paid_month(
        promise("2027-03-05 11:00", "2027-06-15 12:00"),
        ("2027-06-15 11:00", event("payment", amount=kzt(PRICE))),
        until="2027-06-30 00:00",
    )
    assert r.at_local(r.first("resumed")) == "2027-06-15 11:00"
    assert r.state.paid_until == at("2027-07-15 11:00")
    blocked = [
        e.detail["invoice_id"]
        for e in r.entries("invoice_issued")
        if e.detail["covers_until"]
        and datetime.fromisoformat(e.detail["covers_until"]) <= at("2027-06-15 11:00")
        and e.detail["invoice_id"] != "p1"
    ]
    assert blocked == []
    assert len(r.entries("suspended")) == 1


# -- every citation is the seed's --------------------------------------------------------------------------------


def _terms(value: object) -> list[Term]:
    if isinstance(value, Term):
        return [value]
    if isinstance(value, list):
        return [t for item in value for t in _terms(item)]
    if isinstance(value, BaseModel):
        return [t for name in type(value).model_fields for t in _terms(getattr(value, name))]
    return []


def test_every_clause_the_policy_and_the_engine_cite_is_in_the_seed() -> None:
    """Each term, rule and timeline entry names a clause that exists in seed 001 (or none, when it is
    an operational step the contract does not require)."""
    policy = load_policy(ID)
    cited = {t.clause for t in _terms(policy) if t.clause}
    cited |= {r.clause for r in policy.other_rules.values() if r.clause}
    for rule in (
        policy.termination.customer_right,
        policy.termination.serious_breach,
        policy.termination.promise_to_pay,
        policy.suspension.abuse,
    ):
        assert rule is not None and rule.clause
        cited.add(rule.clause)
    cited |= {
        policy.billing.model_clause,
        policy.late_fee.clause if policy.late_fee else "5.3",
        policy.force_majeure.clause,
        policy.tariff_change.clause,
    }
    runs = [
        paid_month(until="2027-05-01 00:00"),
        paid_month(kind="domain", until="2027-05-01 00:00"),
        paid_month(
            credit("2027-03-01 12:00"),
            promise("2027-03-05 11:00", "2027-07-02 12:00"),
            ("2027-07-02 11:00", event("payment", amount=kzt("30000.00"))),
            first=TWO_MONTHS,
            until="2027-10-10 00:00",
        ),
        paid_month(("2027-02-15 12:00", event("cancel_request"))),
        yearly(("2027-02-10 12:00", event("provider_termination"))),
        yearly(("2027-03-01 12:00", event("force_majeure_start"))),
        yearly(("2027-03-01 12:00", event("breach_termination"))),
        yearly(("2027-03-01 12:00", event("abuse_suspend")), ("2027-03-02 12:00", event("abuse_resolved"))),
    ]
    for r in runs:
        cited |= {e.clause for e in r.result.entries if e.clause}
        cited |= {d.clause for d in r.result.deliveries if d.clause}
    missing = sorted(c for c in cited if not clause_in_seed(ID, c))
    assert missing == []
    assert {
        "5.1",
        "5.2",
        "5.3",
        "3.2.4",
        "3.2.5",
        "11.11.1",
        "11.7",
        "11.8",
        "11.4",
        "11.10.1",
        "8.2",
        "8.3",
        "7.3",
    } <= cited


def test_operational_steps_cite_no_clause() -> None:
    """3.3.3: the Subscriber shall "Keep track of their Personal Account in the Operator's Accounting
    System (Control Panel) on their own"; 3.2.4 removes data "without prior notice". The reminder before
    the last day to pay, the renewal invoice's lead and the final warning are Oferta's own steps: they
    cite no clause and say so."""
    policy = load_policy(ID)
    assert policy.billing.renewal_invoice_lead is not None and policy.billing.renewal_invoice_lead.operational
    assert all(t.operational and t.clause is None for t in policy.billing.reminders_before_due)
    warning = policy.suspension.deletion_warning_before
    assert warning is not None and warning.operational and warning.clause is None
    r = paid_month(until="2027-05-01 00:00")
    assert all(e.clause is None for e in r.entries("reminder"))
    assert all(e.detail.get("operational") for e in r.entries("reminder"))
    assert r.first("suspended").at - r.first("reminder").at == timedelta(hours=38)


# -- 4.5: prices changed with an e-mail, no lead time ------------------------------------------------------


def test_a_new_price_is_announced_by_email_and_applies_from_the_next_period() -> None:
    """4.5: the Operator may review prices "by making changes to the tariffs for services and/or
    products and informing the Subscriber about such changes by sending a notice to the Subscriber's
    email address" - no lead time is set.

    Paid for February (10,000 KZT, 1 Feb - 1 Mar 10:05) with 20,000 more on the balance. The new
    price of 12,000 is announced Wed 10 Feb 12:00, by e-mail only, effective at once (clause 4.5).
    February keeps its price; the March invoice, issued for the period from 1 Mar, is 12,000.
    """
    r = paid_month(
        ("2027-02-10 12:00", event("tariff_change", new_price=kzt("12000.00"), new_tariff="Pro")),
        first=("2027-02-01 10:05", event("payment", amount=kzt("30000.00"))),
        until="2027-03-10 00:00",
    )
    announced = r.first("tariff_change_announced")
    assert announced.clause == "4.5"
    assert datetime.fromisoformat(announced.detail["effective_at"]) == at("2027-02-10 12:00")
    channels = {d.channel.value for d in r.result.deliveries if d.template.value == "tariff_change_announced"}
    assert channels == {"email"}
    amounts = {e.detail["invoice_id"]: e.detail["amount"] for e in r.entries("invoice_issued")}
    assert amounts == {"p0": "10000.00", "p1": "12000.00"}
    assert r.state.spec.tariff == "Pro" and r.state.balance.amount == Decimal("8000.00")
