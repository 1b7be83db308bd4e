"""PS.kz (seed 000, policy ps-kz): the contract's clauses, each checked on the engine.

Every date is worked by hand on the Kazakh calendar of 2027 (Asia/Almaty): weekends;
8 March; 15 March (Constitution Day in the package's 2027 calendar); Nauryz 22-24 March
(21 March, a Sunday, moves to the 24th); 7 May; 10 May (9 May, a Sunday, moves).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from oferta.timeline.state import BillingEvent
from tests.contracts.harness import Run, clause_in_seed, event, local, run, service

ID = "ps-kz"
PRICE = "2500.00"


def kzt(amount: str) -> tuple[str, str]:
    return (amount, "KZT")


def at(text: str) -> datetime:
    return local(ID, text)


def paid(*extra: tuple[str, BillingEvent], amount: str = PRICE, start: str = "2027-03-01 10:00",
         until: str = "2027-06-15 00:00", **changes: object) -> Run:
    """Ordered at ``start``, paid five minutes later, then ``extra`` events."""
    first_payment = start[:-2] + "05"
    return run(ID, service(ID, PRICE, **changes), start,
               [(first_payment, event("payment", amount=kzt(amount))), *extra], until=until)


# -- 1.12 + 5.8: "3 days" are working days; 4.2.4 suspends; 3.16-3.17 delete after 7 calendar days --------


def test_a_renewal_issued_before_nauryz_is_payable_for_three_working_days() -> None:
    """1.12: "Day — a working day, unless otherwise explicitly stated"; 5.8: "Invoices ... are paid
    within 3 (three) days from the date of issuance"; 4.2.4: on non-payment the Contractor may
    "without prior notice, suspend the provision of Services"; 3.16: "no later than 7 (seven)
    calendar days from the moment of Service suspension"; 3.17: "upon the expiration of the specified
    seven-day period ... the Customer's data ... is deleted".

    Paid Fri 26 Feb 15:05; the renewal goes out Fri 19 Mar 15:05. The working days after it: 20-21 a
    weekend, 22-24 Nauryz, so Thu 25, Fri 26, Mon 29 March: payable until 24:00 on 29 March.
    Suspended at 00:00 on 30 March. Seven calendar days from 30 March: 31 March to Tue 6 April, a
    working day: deleted at 00:00 on 7 April.
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
    """5.8 "within 3 (three) days": the term runs to 24:00 of its last day (Civil Code art. 176).

    Renewal issued Thu 25 March 10:05, payable through Tue 30 March (26, 29, 30). Paid at 23:59 on
    30 March: never suspended, no penalty (6.4), the next month starts on 1 April.
    """
    r = paid(("2027-03-30 23:59", event("payment", amount=kzt(PRICE))), until="2027-04-10 00:00")
    assert r.entries("invoice_issued")[1].detail["due_on"] == "2027-03-30"
    assert "suspended" not in r.types() and "late_fee" not in r.types()
    assert r.state.period_index == 1


# -- "debt is what is overdue": paying the arrears restores, the clocks re-anchor ------------------------


def test_paying_the_arrears_restores_although_a_newer_invoice_is_not_yet_due() -> None:
    """3.16: the Customer may "resume the use of Services by paying the arrears"; 4.2.4 suspends
    "until payment" of what is owed. An invoice not yet due is not in arrears.

    The renewal (payable through Tue 30 March) is unpaid: suspended 31 March 00:00. An extra invoice
    (5.16) of 1000 is issued Thu 1 April 12:00, payable through Tue 6 April (2, 5, 6 April). The
    renewal is paid at 15:00 on 1 April: resumed at once. The extra invoice then falls due unpaid:
    suspended again at 00:00 on 7 April, and a new 3.16 window runs: 8 to 14 April, deleted at 00:00
    on 15 April - not on 8 April, the first window's end.
    """
    r = paid(("2027-04-01 12:00", event("invoice", amount=kzt("1000.00"), invoice_id="x1")),
             ("2027-04-01 15:00", event("payment", amount=kzt(PRICE))), until="2027-04-30 00:00")
    assert [r.at_local(e) for e in r.entries("suspended")] == ["2027-03-31 00:00", "2027-04-07 00:00"]
    assert r.at_local(r.first("resumed")) == "2027-04-01 15:00"
    assert r.at_local(r.first("deleted")) == "2027-04-15 00:00"


# -- 6.4, 6.6: the penalty --------------------------------------------------------------------------------


def test_the_penalty_accrues_on_what_is_still_unpaid_and_is_invoiced_for_three_working_days() -> None:
    """6.4: "a penalty of 0.1% of the amount due for each day of delay until payment, but not more
    than 10% of the total debt"; 6.6: the penalty is paid "on the basis of an additional invoice
    within 3 (three) days" - working days (1.12).

    Renewal payable through Tue 30 March. 1500 paid Fri 2 April 12:00, 1000 Mon 5 April 12:00.
    31 March, 1 and 2 April on 2500: 7.50; 3, 4 and 5 April on the 1000 left: 3.00; 10.50 in all.
    Its invoice, issued 5 April, is payable through Thu 8 April (6, 7, 8 April).
    """
    r = paid(("2027-04-02 12:00", event("payment", amount=kzt("1500.00"))),
             ("2027-04-05 12:00", event("payment", amount=kzt("1000.00"))), until="2027-04-10 00:00")
    fee = r.first("late_fee")
    assert (fee.clause, fee.detail["days_late"], fee.detail["amount"]) == ("6.4", 6, "10.50")
    assert not fee.detail["capped"]
    fee_invoice = next(i for i in r.state.invoices if i.kind == "late_fee")
    assert fee_invoice.due_on.isoformat() == "2027-04-08" and fee_invoice.clause == "6.6"


def test_restored_within_one_business_day_of_the_payment() -> None:
    """3.16: access is restored "within 1 (one) business day from the moment the funds are received
    on the Contractor's account". Paid in full Mon 5 April 12:00: restored by 24:00 on Tue 6 April."""
    r = paid(("2027-04-05 12:00", event("payment", amount=kzt(PRICE))), until="2027-04-10 00:00")
    resumed = r.first("resumed")
    assert (r.at_local(resumed), resumed.clause) == ("2027-04-05 12:00", "3.16")
    assert datetime.fromisoformat(resumed.detail["restore_by"]) == at("2027-04-07 00:00")


# -- 4.3.16, 5.17, 5.25: the customer's notice and the refund -----------------------------------------------


def test_thirty_days_notice_bills_to_the_date_of_cessation_and_refunds_the_rest() -> None:
    """4.3.16: the Customer notifies "no later than 30 (thirty) calendar days" ahead and pays "up to
    the date of cessation"; 5.17: an incomplete month is paid "in proportion to the calendar days";
    5.25: the unused amount is recalculated "within 15 (fifteen) working days" and returned "to the
    Customer's personal account".

    7500 paid 1 March (three months). Notice Mon 5 April 10:00: the last day is Wed 5 May, the end
    24:00. May is billed 1 May to 6 May: 5 of 31 days, 403.23. Refund 7500 - 2500 - 2500 - 403.23 =
    2096.77, due within 15 working days from 6 May: 7 and 10 May are holidays; 11-14, 17-21, 24-28
    and 31 May are fifteen: by 24:00 on 31 May.
    """
    r = paid(("2027-04-05 10:00", event("cancel_request")), amount="7500.00")
    requested, terminated = r.first("termination_requested"), r.first("terminated")
    assert requested.clause == "4.3.16"
    assert r.at_local(terminated) == "2027-05-06 00:00"
    assert r.entries("invoice_issued")[-1].detail["amount"] == "403.23"
    refund = r.first("refund_due")
    assert (refund.clause, refund.detail["amount"], refund.detail["destination"]) == (
        "5.25", "2096.77", "personal_account")
    assert datetime.fromisoformat(refund.detail["due_by"]) == at("2027-06-01 00:00")


# -- 7.2: the provider's notice; 7.7: termination for a violation ------------------------------------------


def test_the_provider_terminates_with_thirty_calendar_days_notice() -> None:
    """7.2: either party may terminate "by written notice to the other Party no later than 30 (thirty)
    calendar days before the expected date". Notice Mon 5 April 10:00: ends at 24:00 on Wed 5 May,
    citing 7.2; what was paid beyond it is refunded (5.25)."""
    r = paid(("2027-04-05 10:00", event("provider_termination", reason="closing the line")),
             amount="7500.00")
    requested, terminated = r.first("termination_requested"), r.first("terminated")
    assert (requested.clause, requested.detail["by"]) == ("7.2", "provider")
    assert (r.at_local(terminated), terminated.clause, terminated.detail["reason"]) == (
        "2027-05-06 00:00", "7.2", "provider_notice")
    assert r.first("refund_due").detail["amount"] == "2096.77"


def test_termination_for_an_unremedied_violation_refunds_nothing() -> None:
    """7.7: if the Customer "does not remedy the violation that caused the suspension of Services,
    the Contractor has the right to terminate the Agreement ... without any compensation for losses";
    3.12: services may then be refused without a refund of the unused period."""
    r = paid(("2027-03-05 10:00", event("abuse_suspend", reason="spam")),
             ("2027-03-10 10:00", event("breach_termination", reason="spam not removed")),
             amount="7500.00", until="2027-04-01 00:00")
    terminated = r.first("terminated")
    assert (terminated.clause, terminated.detail["reason"]) == ("7.7", "breach")
    assert "refund_due" not in r.types() and r.refunded().amount == 0


# -- 7.4: withdrawn consent ----------------------------------------------------------------------------------


def test_withdrawn_consent_suspends_and_terminates_after_ten_working_days() -> None:
    """7.4: withdrawing consent "is a ground for suspending Services, and upon expiration of 10 (ten)
    days from the moment of suspension, is a ground for terminating" - working days (1.12).

    Withdrawn Thu 4 March: 5, 9-12, 16-19 and 25 March are the ten working days (8 and 15 March and
    22-24 March are days off): terminated at 00:00 on 26 March - not on 15 March, as calendar days
    would have it."""
    r = paid(("2027-03-04 10:00", event("consent_withdrawn")), until="2027-04-01 00:00")
    assert r.first("suspended").clause == "7.4"
    terminated = r.first("terminated")
    assert (r.at_local(terminated), terminated.detail["reason"]) == ("2027-03-26 00:00", "consent_withdrawn")


# -- 6.16, 6.17: force majeure --------------------------------------------------------------------------------


def test_force_majeure_over_a_month_ends_the_agreement_and_refunds_the_time_it_took() -> None:
    """6.16: the affected party notifies "no later than 14 (fourteen) calendar days" from its start;
    6.17: if it lasts "more than 1 (one) month ... the Agreement shall be considered terminated
    (suspended) upon expiration of 1 (one) month".

    Declared Sat 6 March 10:00: fourteen days end on Sat 20 March, a day off, and so do 21 (Sunday)
    and 22-24 March (Nauryz): notice by 24:00 on Thu 25 March (art. 175). One month from 6 March ends on Tue
    6 April: terminated at 00:00 on 7 April. The month paid (1 March - 1 April) could not be used
    from 6 March: 26 of 31 days, 2096.77, refunded (5.25)."""
    r = paid(("2027-03-06 10:00", event("force_majeure_start", reason="flood")), until="2027-05-01 00:00")
    started = r.first("force_majeure_started")
    assert started.clause == "6.16"
    assert datetime.fromisoformat(started.detail["notify_by"]) == at("2027-03-26 00:00")
    terminated = r.first("terminated")
    assert (r.at_local(terminated), terminated.clause, terminated.detail["reason"]) == (
        "2027-04-07 00:00", "6.17", "force_majeure")
    assert r.first("refund_due").detail["amount"] == "2096.77"


# -- 3.17 for a domain; 4.2.7 tariffs; honest citations -------------------------------------------------------


def test_a_domain_ends_at_the_deletion_step_instead_of_being_deleted() -> None:
    """3.17 deletes "the Customer's data" of the suspended service: a domain holds none of the
    Contractor's, so at the 3.17 step (00:00 on 8 April) it ends; nothing is "deleted"."""
    r = paid(kind="domain", until="2027-04-20 00:00")
    terminated = r.first("terminated")
    assert (r.at_local(terminated), terminated.clause) == ("2027-04-08 00:00", "3.17")
    assert "deleted" not in r.types() and "delete" not in r.result.provisioning


def test_a_new_tariff_is_announced_thirty_days_ahead_and_spares_the_paid_period() -> None:
    """4.2.7: tariffs are changed by posting "at least 30 (thirty) calendar days before" they take
    effect; 5.14: no revision "for fully paid Services".

    Announced Wed 3 March 12:00: effective at 00:00 on 3 April (the last day is Fri 2 April). April,
    which starts on 1 April, keeps 2500; May is billed at 3000."""
    r = paid(("2027-03-03 12:00", event("tariff_change", new_price=kzt("3000.00"), new_tariff="Pro")),
             amount="10000.00", until="2027-05-05 00:00")
    announced = r.first("tariff_change_announced")
    assert announced.clause == "4.2.7"
    assert datetime.fromisoformat(announced.detail["effective_at"]) == at("2027-04-03 00:00")
    amounts = [e.detail["amount"] for e in r.entries("invoice_issued")]
    assert amounts == ["2500.00", "2500.00", "3000.00"]


def test_steps_the_contract_does_not_require_cite_no_clause() -> None:
    """The courtesy reminder, the renewal's lead time and the final warning are the provider's own
    steps: they cite no clause and say they are operational; every clause shown exists in the seed."""
    r = paid(until="2027-04-20 00:00")
    reminder = r.first("reminder")
    assert reminder.clause is None and reminder.detail["operational"] is True
    warnings = [d for d in r.result.deliveries if d.template.value == "deletion_warning"]
    assert warnings and all(d.clause is None and d.detail["operational"] for d in warnings)
    deadline = r.contract.next_deadline(paid(until="2027-03-02 00:00").state)
    assert deadline is not None and deadline.action.value == "issue_invoice" and deadline.operational
    cited = {e.clause for e in r.result.entries if e.clause} | {d.clause for d in r.result.deliveries if d.clause}
    assert cited and all(clause_in_seed(ID, c) for c in cited), cited


def test_every_clause_the_policy_cites_is_in_the_seed() -> None:
    from tests.contracts.harness import load_policy

    policy = load_policy(ID)
    cited: set[str] = set()

    def walk(node: object) -> None:
        from pydantic import BaseModel

        if isinstance(node, BaseModel):
            clause = getattr(node, "clause", None)
            if isinstance(clause, str):
                cited.add(clause)
            for name in type(node).model_fields:
                walk(getattr(node, name))
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(policy)
    assert len(cited) > 15
    missing = sorted(c for c in cited if not clause_in_seed(ID, c))
    assert missing == [], missing
    assert Decimal(policy.late_fee.rate_per_day if policy.late_fee else 0) == Decimal("0.001")
