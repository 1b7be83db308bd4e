"""registry.kz / ТОО «Технологии Интернета» (seed 002): the contract's own words, run on the engine.

The contract is in Russian and is quoted in Russian. Its model (2.3, 6.2, 6.3, 3.3): the customer
tops up the Internal balance in advance; the Services are paid from it; there are no invoices, no
due dates, no debt and no late fee. The policy writes off each period's Tariff when the period
starts; when the balance cannot pay for the next period the Account is blocked (8.5.2), and it may be
deleted 5 calendar days after the balance stopped covering it (8.6.4, the policy's reading of
"обнуление"), with whatever is left on the balance written off (8.7).

Dates are Almaty time (UTC+5; the contract names no zone, the provider is in Almaty, 11). Holidays
used (KZ, `holidays`): 2027 - 8 Mar (Mon, Women's Day), 15 Mar, 21-24 Mar (Nauryz), 1/3 May, 7 May,
9/10 May; 2028 - 3-4 Jan, 7 Jan, 8 Mar. A period is P1M or P1Y of service time from the moment it
starts, at the same clock time. A term in calendar days (8.6.4, 5.1.3) runs from the day after its
event and ends at 24:00 of its last day, moved to the next working day when that day is off
(KZ Civil Code arts. 173, 175, 176).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from oferta.policy.schema import Channel
from oferta.timeline.state import ServiceStatus
from tests.contracts.harness import Run, clause_in_seed, event, local, policy_citations, run, service

ID = "registry-kz"
PRICE = "2500.00"


def kzt(amount: str) -> tuple[str, str]:
    return (amount, "KZT")


def at(text: str) -> datetime:
    return local(ID, text)


def pay(when: str, amount: str) -> tuple[str, object]:
    return (when, event("payment", amount=kzt(amount)))


def hosting(**changes: object):
    return service(ID, PRICE, **changes)


def local_iso(r: Run, value: str) -> str:
    """An ISO instant from an entry's detail, as the provider's clock shows it."""
    zone = ZoneInfo(r.policy.provider.timezone)
    return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def debits(r: Run) -> list[tuple[str, str]]:
    """(when, amount) of every write-off from the balance."""
    return [(r.at_local(e), e.detail["amount"]) for e in r.entries("balance_debited")]


def blocks(r: Run) -> list[str]:
    return [r.at_local(e) for e in r.entries("suspended") if e.detail.get("reason") == "non_payment"]


def paid_once(
    amount: str = PRICE,
    *extra: tuple[str, object],
    start: str = "2027-02-01 10:00",
    paid_at: str = "2027-02-01 10:05",
    until: str = "2027-06-01 00:00",
    **spec: object,
) -> Run:
    """A hosting service at 2500 KZT a month, topped up once with ``amount``, then ``extra``."""
    return run(ID, hosting(**spec), start, [pay(paid_at, amount), *extra], until=until)


# -- 6.3 / 3.3: prepayment; the service starts once the balance covers it -------------------------


def test_a_service_starts_only_when_the_balance_covers_it() -> None:
    """6.3: «Услуги оплачиваются Клиентом на условиях предоплаты». 3.3: «После регистрации Аккаунта
    и оплаты Услуг … Клиент получает возможность пользоваться Услугами с момента пополнения
    Внутреннего баланса.»

    1000 KZT on Mon 1 Feb does not pay for a 2500 KZT month: nothing starts, nothing is written off.
    1500 more on Tue 2 Feb 09:30 makes 2500: the service starts at that moment and the month's
    Tariff is written off then, leaving 0. The paid month runs to Tue 2 Mar 09:30.
    """
    r = run(
        ID,
        hosting(),
        "2027-02-01 10:00",
        [pay("2027-02-01 10:05", "1000.00"), pay("2027-02-02 09:30", "1500.00")],
        until="2027-02-20 00:00",
    )
    assert r.types() == ["payment_received", "payment_received", "activated", "balance_debited"]
    activated = r.first("activated")
    assert r.at_local(activated) == "2027-02-02 09:30" and activated.clause == "6.3"
    assert local_iso(r, activated.detail["paid_until"]) == "2027-03-02 09:30"
    assert debits(r) == [("2027-02-02 09:30", PRICE)]
    assert r.first("balance_debited").detail["balance"] == "0.00"
    assert r.result.provisioning == ["activate"]


def test_an_account_never_funded_is_never_blocked_or_deleted() -> None:
    """8.6.4 deletes «В случае если Клиент в течение 5 (пяти) календарных дней с момента обнуления
    баланса Лицевого счета не осуществит пополнение»; 8.6.5 gives an Account whose Services are not
    used «в течение 6 (шести) месяцев с момента регистрации Аккаунта» its own (manual) ground.

    A new Account is at zero from the start, but its balance was never "обнулен" (made zero): the
    policy does not count 8.6.4 for it. Ten months with no payment, or with a payment too small to
    start anything: no block, no deletion, and the small payment stays on the balance.
    """
    never = run(ID, hosting(), "2027-02-01 10:00", [], until="2027-12-05 00:00")
    assert never.types() == [] and never.state.status is ServiceStatus.AWAITING_PAYMENT
    small = run(
        ID, hosting(), "2027-02-01 10:00", [pay("2027-02-01 10:05", "1000.00")], until="2027-12-05 00:00"
    )
    assert small.types() == ["payment_received"]
    assert (
        small.state.status is ServiceStatus.AWAITING_PAYMENT and str(small.state.balance.amount) == "1000.00"
    )
    assert small.result.provisioning == []


# -- 6.2: the cost is what is written off the balance; no invoices, no late fees -----------------


def test_each_period_is_written_off_the_balance_when_it_starts() -> None:
    """6.2: «Общая стоимость Услуг определяется как суммарный объем денежных средств, списанных с
    Внутреннего баланса Аккаунта за оказанные Клиенту Услуги в соответствии с Тарифами». 2.3: the
    Internal balance is «баланс оплаченных и использованных Услуг, включая объем списанных за
    оказанные Услуги денежных средств и остаток на счете».

    7500 KZT on Mon 1 Feb 10:05 pays three months: 2500 is written off when each month starts (1 Feb,
    1 Mar, 1 Apr at 10:05), leaving 5000, 2500, 0. A top-up during a paid month (15 Feb) only adds
    to the balance and starts nothing. No invoice, no reminder, no late fee at any point.
    """
    r = paid_once("7500.00", pay("2027-02-15 12:00", "1000.00"), until="2027-04-20 00:00")
    assert debits(r) == [
        ("2027-02-01 10:05", PRICE),
        ("2027-03-01 10:05", PRICE),
        ("2027-04-01 10:05", PRICE),
    ]
    assert [e.detail["balance"] for e in r.entries("balance_debited")] == ["5000.00", "3500.00", "1000.00"]
    assert all(e.clause == "6.3" for e in r.entries("balance_debited"))
    assert not {"invoice_issued", "reminder", "late_fee", "suspended"} & set(r.types())
    assert r.state.status is ServiceStatus.ACTIVE and str(r.state.balance.amount) == "1000.00"
    assert r.state.debt().amount == 0 and r.state.late_fees_charged.amount == 0


def test_an_extra_invoice_is_refused_the_contract_has_none() -> None:
    """6.3: «Услуги оплачиваются Клиентом на условиях предоплаты»; 6.2: the cost is what is
    «списанных с Внутреннего баланса». The contract never issues an invoice for the Services (6.6's
    acts and invoices are posted documents, on request, after the fact)."""
    r = paid_once(
        PRICE, ("2027-02-10 10:00", event("invoice", amount=kzt("500.00"))), until="2027-02-20 00:00"
    )
    assert r.rejected() == ["the contract issues no invoices (6.3)"]
    assert "invoice_issued" not in r.types() and r.state.debt().amount == 0


# -- 8.5.2: blocked while the balance cannot cover the services -------------------------------------


def test_blocked_when_the_balance_cannot_cover_the_next_period() -> None:
    """8.5.2: the Account may be blocked «При нулевом балансе Внутреннего баланса или в случае, когда
    остаток денежных средств на Внутреннем балансе меньше общей стоимости Услуг, подключенных
    Клиентом на данный момент — до момента пополнения Клиентом Внутреннего баланса». 8.2: a block
    is «временную невозможность использования Клиентом Услуг независимо от Внутреннего баланса».

    3000 KZT on Mon 1 Feb pays one month and leaves 500, less than the next month's 2500. When the
    paid month ends (Mon 1 Mar 10:05) the Account is blocked at once, citing 8.5.2; the 500 is not
    written off for a month that is not rendered.
    """
    r = paid_once("3000.00", until="2027-03-05 00:00")
    assert blocks(r) == ["2027-03-01 10:05"]
    block = r.first("suspended")
    assert block.clause == "8.5.2"
    assert (block.detail["balance"], block.detail["needed"]) == ("500.00", PRICE)
    assert debits(r) == [("2027-02-01 10:05", PRICE)]
    assert r.result.provisioning == ["activate", "suspend"]
    assert r.state.status is ServiceStatus.SUSPENDED and str(r.state.balance.amount) == "500.00"


def test_a_covering_top_up_unblocks_at_once_and_starts_a_new_period() -> None:
    """8.5.2: the block lasts «до момента пополнения Клиентом Внутреннего баланса». 6.2: only what
    is written off «за оказанные Клиенту Услуги» is a cost, and a blocked Account renders nothing
    (8.2).

    Blocked Mon 1 Mar 10:05 with 500 left. 2000 more on Wed 3 Mar 15:00 makes 2500: the Account is
    unblocked at that moment, a new month is written off then and runs to Sat 3 Apr 15:00, when
    (nothing more paid) it is blocked again. The blocked days 1-3 Mar are not written off. The
    resume notice gives the outer bound of 2.3 ("на следующий рабочий день"): Thu 4 Mar is a
    working day, so restored by 24:00 of 4 Mar.
    """
    r = paid_once("3000.00", pay("2027-03-03 15:00", "2000.00"), until="2027-04-05 00:00")
    resumed = r.first("resumed")
    assert r.at_local(resumed) == "2027-03-03 15:00"
    assert resumed.clause == "8.5.2; 2.3"
    assert local_iso(r, resumed.detail["restore_by"]) == "2027-03-05 00:00"
    assert debits(r) == [("2027-02-01 10:05", PRICE), ("2027-03-03 15:00", PRICE)]
    assert blocks(r) == ["2027-03-01 10:05", "2027-04-03 15:00"]
    assert "deleted" not in r.types()
    assert r.result.provisioning == ["activate", "suspend", "resume", "suspend"]


def test_a_top_up_too_small_keeps_the_account_blocked() -> None:
    """8.5.2: blocked while «остаток денежных средств на Внутреннем балансе меньше общей стоимости
    Услуг, подключенных Клиентом»; 8.6.4: deleted unless the customer tops up «в размере и порядке,
    предусмотренном настоящими Условиями».

    Paid Tue 13 Apr, blocked Thu 13 May 10:05 at 0. 2000 on Fri 14 May is less than the 2500 the
    month costs: the Account stays blocked, nothing is written off, nothing resumes. By the policy's
    reading only a top-up that lifts the block stops the 8.6.4 clock, so the deletion stays at
    24:00 of Tue 18 May (5 calendar days from 13 May, a working day), and the 2000 is written off
    with it (8.7).
    """
    r = paid_once(
        PRICE,
        pay("2027-05-14 12:00", "2000.00"),
        start="2027-04-13 10:00",
        paid_at="2027-04-13 10:05",
        until="2027-06-01 00:00",
    )
    assert blocks(r) == ["2027-05-13 10:05"]
    assert "resumed" not in r.types()
    assert debits(r) == [("2027-04-13 10:05", PRICE)]
    deleted = r.first("deleted")
    assert r.at_local(deleted) == "2027-05-19 00:00"
    assert deleted.detail["balance_written_off"] == "2000.00"
    assert r.refunded().amount == 0


# -- 8.6.4: deletion 5 calendar days after the balance stopped covering the services -----------------


def test_deleted_at_24_00_of_the_fifth_calendar_day_after_the_block() -> None:
    """8.6.4: the Account may be deleted «В случае если Клиент в течение 5 (пяти) календарных дней с
    момента обнуления баланса Лицевого счета не осуществит пополнение Лицевого счета».

    Paid Tue 13 Apr 10:05; blocked at 0 on Thu 13 May 10:05 (the policy's moment of "обнуление").
    The 5 calendar days are 14-18 May; Tue 18 May is a working day, so the term runs out at 24:00
    of 18 May and the Account is deleted at 2027-05-19 00:00, not a minute before. The block notice
    tells the customer that date.
    """
    r = paid_once(PRICE, start="2027-04-13 10:00", paid_at="2027-04-13 10:05", until="2027-06-01 00:00")
    assert blocks(r) == ["2027-05-13 10:05"]
    assert local_iso(r, r.first("suspended").detail["deletion_at"]) == "2027-05-19 00:00"
    deleted = r.first("deleted")
    assert r.at_local(deleted) == "2027-05-19 00:00" and deleted.clause == "8.6.4"
    assert r.result.provisioning == ["activate", "suspend", "delete"]
    assert r.state.status is ServiceStatus.DELETED


def test_a_last_day_off_moves_the_deletion_to_the_next_working_day() -> None:
    """8.6.4: «в течение 5 (пяти) календарных дней с момента обнуления баланса»; KZ Civil Code
    art. 175: a term whose last day is a non-working day ends on the next working day.

    Blocked Mon 1 Mar 10:05. Day 5 is Sat 6 Mar; Sun 7 Mar is off and Mon 8 Mar is Women's Day, so
    the last day is Tue 9 Mar and the Account is deleted at 24:00 of 9 Mar (2027-03-10 00:00).
    A top-up on Tue 9 Mar at 23:00 is still in time.
    """
    r = paid_once(PRICE, until="2027-04-01 00:00")
    assert blocks(r) == ["2027-03-01 10:05"]
    assert r.at_local(r.first("deleted")) == "2027-03-10 00:00"
    in_time = paid_once(PRICE, pay("2027-03-09 23:00", PRICE), until="2027-03-20 00:00")
    assert "deleted" not in in_time.types()
    assert r.at_local(in_time.first("resumed")) == "2027-03-09 23:00"


def test_the_balance_left_is_written_off_on_deletion_and_nothing_is_refunded() -> None:
    """8.7: «Одновременно с удалением Аккаунта … Исполнитель списывает остаток денежных средств на
    соответствующем Внутреннем балансе в безакцептном порядке в полном объеме в качестве возмещения
    Исполнителю дополнительно понесенных расходов».

    3000 KZT paid, 2500 written off for February, 500 left: blocked Mon 1 Mar, deleted
    2027-03-10 00:00 (see the roll-over test). The 500 is written off with the deletion; no refund
    is scheduled or paid, nothing is owed and no late fee is charged.
    """
    r = paid_once("3000.00", until="2027-06-01 00:00")
    deleted = r.first("deleted")
    assert r.at_local(deleted) == "2027-03-10 00:00"
    assert deleted.detail["balance_written_off"] == "500.00"
    assert r.state.balance.amount == 0
    assert "refund_due" not in r.types() and "refund_paid" not in r.types()
    assert r.refunded().amount == 0 and r.state.late_fees_charged.amount == 0


def test_no_reminder_and_no_warning_before_the_block_or_the_deletion() -> None:
    """4.1.6: the customer undertakes «Самостоятельно следить за балансом Внутреннего баланса и
    своевременно осуществлять его пополнение». 8.8: a deletion may come «без предварительного
    предупреждения». The contract owes no reminder and no deletion warning.

    From the payment to the deletion the customer is told only what happened: the payment, the
    start, the block (8.2: «может направляться уведомление») and the deletion.
    """
    r = paid_once("3000.00", until="2027-06-01 00:00")
    assert r.types() == ["payment_received", "activated", "balance_debited", "suspended", "deleted"]
    templates = [d.template.value for d in r.result.deliveries]
    # The one notice beyond what happened is the provider's own low-balance reminder: no clause,
    # marked operational (the notice says it is not a contract term), three days before the block.
    assert templates == ["payment_received", "activated", "low_balance", "suspended", "deleted"]
    (reminder,) = [d for d in r.result.deliveries if d.template.value == "low_balance"]
    assert reminder.clause is None and reminder.detail["operational"] is True
    assert r.policy.billing.low_balance_warning_before is not None
    assert r.policy.billing.low_balance_warning_before.operational
    # February's debit left 500 KZT, short of March's 2500: the balance runs out at the period's
    # turn on 1 March 10:05 (the payment's time of day), and the reminder goes on 26 February.
    assert reminder.detail["runs_out_at"] == "2027-03-01T10:05:00+05:00"
    assert (
        reminder.send_at.astimezone(ZoneInfo("Asia/Almaty")).strftime("%Y-%m-%d %H:%M") == "2027-02-26 10:05"
    )
    assert r.policy.billing.reminders_before_due == [] and r.policy.billing.renewal_invoice_lead is None
    assert r.policy.suspension.deletion_warning_before is None


# -- 10.2: e-mail is the contract's channel; no SMS ---------------------------------------------------


def test_no_sms_is_ever_sent() -> None:
    """10.2: «Стороны признают юридическую силу уведомлений и сообщений, направленных Исполнителем в
    адрес Клиента на указанные им в персональных данных Аккаунта адреса электронной почты.» The
    contract has no SMS channel and never takes a phone number as a notice address.

    Across a block, a top-up, a deletion, a cancellation, a tariff change and a force majeure,
    every notice goes by e-mail and none by SMS.
    """
    runs = [
        paid_once("3000.00", pay("2027-03-03 15:00", "2000.00"), until="2027-06-01 00:00"),
        paid_once("4000.00", ("2027-02-10 11:00", event("cancel_request"))),
        paid_once(
            "7500.00",
            ("2027-02-22 12:00", event("tariff_change", new_price=kzt("3000.00"))),
            ("2027-02-25 12:00", event("force_majeure_start", reason="flood")),
            ("2027-02-26 12:00", event("force_majeure_end")),
        ),
    ]
    channels = {d.channel for r in runs for d in r.result.deliveries}
    assert channels == {Channel.EMAIL}
    assert {d.template.value for r in runs for d in r.result.deliveries} >= {
        "suspended",
        "resumed",
        "deleted",
        "termination_requested",
        "tariff_change_announced",
        "force_majeure_started",
        "force_majeure_ended",
    }
    assert all(Channel.SMS not in chans for chans in runs[0].policy.notices.values())


# -- 7.10 / 3.5: domains are not deleted ----------------------------------------------------------------


def test_a_domain_service_is_never_deleted() -> None:
    """7.10: «Клиент самостоятельно несет ответственность за своевременное и надлежащее продление
    регистрации доменного имени». 3.5: domains are registered by the provider «в качестве
    коммерческого представителя Клиента». No clause deletes a domain when the Account is deleted.

    A .kz domain at 5600 KZT a year, paid with 6000 on Mon 1 Feb 2027: the year is written off, 400
    is left. On Tue 1 Feb 2028 10:05 the balance cannot pay the next year: blocked (8.5.2). Day 5 is
    Sun 6 Feb 2028, so the 8.6.4 step comes at 24:00 of Mon 7 Feb (2028-02-08 00:00): the domain
    service ends there, it is not deleted and no data deletion is ordered; nothing is refunded.
    """
    r = run(
        ID,
        service(ID, "5600.00", kind="domain", period="P1Y"),
        "2027-02-01 10:00",
        [pay("2027-02-01 10:05", "6000.00")],
        until="2028-06-01 00:00",
    )
    assert debits(r) == [("2027-02-01 10:05", "5600.00")]
    assert blocks(r) == ["2028-02-01 10:05"]
    assert "deleted" not in r.types() and "delete" not in r.result.provisioning
    ended = r.first("terminated")
    assert r.at_local(ended) == "2028-02-08 00:00" and ended.clause == "8.6.4"
    assert r.result.provisioning == ["activate", "suspend", "terminate"]
    assert r.refunded().amount == 0 and "refund_due" not in r.types()


def test_the_domain_end_writes_off_the_balance_left() -> None:
    """8.7: «Одновременно с удалением Аккаунта в соответствии с настоящими Условиями Исполнитель
    списывает остаток денежных средств на соответствующем Внутреннем балансе … в полном объеме».

    The 8.6.4 step is the Account's deletion even when the service is a domain whose registration is
    left alone: the 400 KZT left is written off then, not kept on a balance the customer can no
    longer reach (8.3).
    """
    r = run(
        ID,
        service(ID, "5600.00", kind="domain", period="P1Y"),
        "2027-02-01 10:00",
        [pay("2027-02-01 10:05", "6000.00")],
        until="2028-06-01 00:00",
    )
    ended = r.first("terminated")
    assert ended.detail.get("balance_written_off") == "400.00"
    assert r.state.balance.amount == 0


# -- 8.6.1 / 10.3: the customer's exit is the deletion of the Account ----------------------------------


def test_cancellation_is_the_deletion_of_the_account_at_once_with_nothing_refunded() -> None:
    """8.6.1: the Account may be deleted «По собственному желанию Клиента либо при одностороннем
    отказе Клиента от исполнения настоящих Условий» - no notice period is stated. 10.3: the
    customer's notices count only «при составлении их в письменном виде … и направлении их по почте
    заказным письмом» (operations record the letter as cancel_request when it arrives). 8.7: the
    balance left is written off in full.

    4000 KZT paid, 2500 written off for February, 1500 left. The letter is recorded on Wed 10 Feb
    11:00: the request and the deletion are both at that moment, citing 8.6.1; the customer is told
    by e-mail; nothing is refunded, no later write-off or block follows.
    """
    r = paid_once("4000.00", ("2027-02-10 11:00", event("cancel_request", scope="contract")))
    requested, ended = r.first("termination_requested"), r.first("deleted")
    assert r.at_local(requested) == r.at_local(ended) == "2027-02-10 11:00"
    assert requested.clause == ended.clause == "8.6.1"
    assert local_iso(r, requested.detail["effective_at"]) == "2027-02-10 11:00"
    assert debits(r) == [("2027-02-01 10:05", PRICE)]
    assert "refund_due" not in r.types() and r.refunded().amount == 0
    assert [(d.template.value, d.channel.value) for d in r.result.deliveries][-2:] == [
        ("termination_requested", "email"),
        ("deleted", "email"),
    ]
    assert r.types()[-1] == "deleted" and r.state.status is ServiceStatus.DELETED


def test_cancellation_writes_off_the_balance_as_a_deletion() -> None:
    """8.6.1 is a ground of «удаление Аккаунта» (8.6), and 8.7: «Одновременно с удалением Аккаунта в
    соответствии с настоящими Условиями Исполнитель списывает остаток денежных средств … в полном
    объеме». 8.3: deletion means «невозможность доступа Клиента к Биллинговой панели Аккаунта».

    The 1500 KZT left when the customer's letter is recorded (Wed 10 Feb 11:00) is written off at
    that moment, and the Account is deleted, not merely ended.
    """
    r = paid_once("4000.00", ("2027-02-10 11:00", event("cancel_request", scope="contract")))
    end = r.entries("deleted") or r.entries("terminated")
    assert end and end[0].detail.get("balance_written_off") == "1500.00"
    assert r.state.balance.amount == 0
    assert "delete" in r.result.provisioning


def test_the_provider_has_no_termination_by_notice_only_deletion_for_a_breach() -> None:
    """8.6.3: the Account may be deleted «При грубом нарушении Клиентом настоящих Условий либо при
    отказе Клиента от устранения допущенных нарушений»; 8.8: «без предварительного предупреждения …
    остаток денежных средств на соответствующем Внутреннем балансе Клиенту не возвращается». No
    clause lets the provider end the contract by notice without a ground.

    A notice termination is refused; a breach termination recorded on Wed 3 Feb 10:00 ends the
    service at once, citing 8.6.3, and refunds nothing of the 500 left.
    """
    r = paid_once(
        "3000.00",
        ("2027-02-02 10:00", event("provider_termination")),
        ("2027-02-03 10:00", event("breach_termination", reason="phishing, 3.16")),
    )
    assert r.rejected() == ["the contract gives the provider no termination by notice"]
    ended = r.first("terminated")
    assert r.at_local(ended) == "2027-02-03 10:00" and ended.clause == "8.6.3"
    assert "refund_due" not in r.types() and r.refunded().amount == 0


def test_no_withdrawal_and_no_promised_payment_date() -> None:
    """The contract gives no right of withdrawal and no promised-payment date: its only exit is
    8.6.1 («По собственному желанию Клиента»), and the balance is watched by the customer (4.1.6:
    «Самостоятельно следить за балансом Внутреннего баланса»). A consumer's withdrawal and a promise
    to pay are refused with their reasons, and the block and deletion dates stay where they were."""
    r = paid_once(
        PRICE,
        ("2027-02-02 10:00", event("withdrawal")),
        ("2027-03-02 10:00", event("promise_to_pay", promised_at=at("2027-03-20 00:00"))),
        consumer=True,
        until="2027-04-01 00:00",
    )
    assert r.rejected() == [
        "the contract gives no right of withdrawal",
        "the contract gives no promised-payment date",
    ]
    assert blocks(r) == ["2027-03-01 10:05"] and r.at_local(r.first("deleted")) == "2027-03-10 00:00"


# -- 7.13: force majeure only excuses damages ----------------------------------------------------------


def test_force_majeure_never_terminates() -> None:
    """7.13: when performance is impossible for objective causes «ни одна из сторон не вправе
    требовать от другой стороны возмещения причиненных ненадлежащим исполнением или неисполнением
    настоящих Условий убытков (включая упущенную выгоду)». Nothing more: no notice term, no
    termination.

    A force majeure from Mon 15 Feb lasts two months, within the three months paid: no party may
    terminate for it (refused, citing 7.13) and the contract does not end by itself.
    """
    r = paid_once(
        "7500.00",
        ("2027-02-15 11:00", event("force_majeure_start", reason="flood")),
        ("2027-04-15 11:00", event("force_majeure_terminate", party="customer")),
        until="2027-04-20 00:00",
    )
    started = r.first("force_majeure_started")
    assert started.clause == "7.13" and started.detail["termination"] == "none"
    assert "terminates_at" not in started.detail and "option_from" not in started.detail
    assert r.rejected() == [
        "the contract gives no option to terminate for force majeure (7.13, termination: none)"
    ]
    assert "terminated" not in r.types() and "deleted" not in r.types()


def test_force_majeure_pushes_no_term_back() -> None:
    """7.13 frees the parties from damages only; it does not say that any term moves.

    A force majeure from Wed 3 Feb to Wed 17 Feb, inside a paid month: the next month is still
    written off on Mon 1 Mar 10:05 (not 14 days later), and with nothing more paid the Account is
    blocked on Thu 1 Apr 10:05 and deleted at 24:00 of Tue 6 Apr (day 5, a working day).
    """
    r = paid_once(
        "5000.00",
        ("2027-02-03 11:00", event("force_majeure_start", reason="flood")),
        ("2027-02-17 11:00", event("force_majeure_end")),
        until="2027-05-01 00:00",
    )
    assert r.first("force_majeure_ended").detail["deadlines_extended"] is False
    assert debits(r) == [("2027-02-01 10:05", PRICE), ("2027-03-01 10:05", PRICE)]
    assert blocks(r) == ["2027-04-01 10:05"]
    assert r.at_local(r.first("deleted")) == "2027-04-07 00:00"


def test_force_majeure_does_not_freeze_the_contract() -> None:
    """7.13 only bars claims for damages («ни одна из сторон не вправе требовать … возмещения …
    убытков»); it does not suspend 6.2 («списанных с Внутреннего баланса … за оказанные Клиенту
    Услуги»), 8.5.2 or 8.6.4.

    5000 KZT paid on Mon 1 Feb 10:05; a force majeure starts on Mon 15 Feb and is not (yet) over.
    The contract keeps running: March is written off on Mon 1 Mar 10:05, the Account is blocked on
    Thu 1 Apr 10:05 and may be deleted at 24:00 of Tue 6 Apr (day 5, a working day).
    """
    r = paid_once(
        "5000.00",
        ("2027-02-15 11:00", event("force_majeure_start", reason="flood")),
        until="2027-05-01 00:00",
    )
    assert debits(r) == [("2027-02-01 10:05", PRICE), ("2027-03-01 10:05", PRICE)]
    assert blocks(r) == ["2027-04-01 10:05"]
    assert r.at_local(r.first("deleted")) == "2027-04-07 00:00"


# -- 5.1.3 / 6.5: tariff changes --------------------------------------------------------------------------


def test_a_tariff_change_is_announced_five_calendar_days_ahead() -> None:
    """5.1.3: the provider publishes changes to the Terms and Tariffs «в срок не позднее 5
    календарных дней до даты введения их в действие». 6.5: a customer who does not object in time
    «считается согласившимся с изменением Тарифов, и списание денежных средств … осуществляется
    Исполнителем по новым Тарифам».

    Announced Mon 22 Feb 12:00 (3000 instead of 2500 a month). Five whole calendar days are 23-27
    Feb; 27 Feb is a Saturday, Sun 28 Feb is off, so the last day is Mon 1 Mar and the new Tariff
    applies from 2027-03-02 00:00. The month starting Mon 1 Mar 10:05 is still written off at 2500;
    the month starting Thu 1 Apr 10:05 at 3000.
    """
    r = paid_once(
        "10000.00",
        ("2027-02-22 12:00", event("tariff_change", new_price=kzt("3000.00"))),
        until="2027-04-20 00:00",
    )
    announced = r.first("tariff_change_announced")
    assert r.at_local(announced) == "2027-02-22 12:00" and announced.clause == "5.1.3"
    assert local_iso(r, announced.detail["effective_at"]) == "2027-03-02 00:00"
    assert debits(r) == [
        ("2027-02-01 10:05", PRICE),
        ("2027-03-01 10:05", PRICE),
        ("2027-04-01 10:05", "3000.00"),
    ]
    assert [d.channel for d in r.result.deliveries if d.template.value == "tariff_change_announced"] == [
        Channel.EMAIL
    ]


def test_a_tariff_change_cannot_take_effect_sooner_than_five_days_after_publication() -> None:
    """5.1.3: «в срок не позднее 5 календарных дней до даты введения их в действие».

    Published Fri 26 Mar 12:00 with an effective date of Sat 27 Mar: too early. Five whole calendar
    days are 27-31 Mar; Wed 31 Mar is a working day, so the new Tariff applies from 2027-04-01 00:00,
    in time for the month that starts Thu 1 Apr 10:05 (written off at 3000).
    """
    r = paid_once(
        "10000.00",
        (
            "2027-03-26 12:00",
            event("tariff_change", new_price=kzt("3000.00"), effective_at=at("2027-03-27 00:00")),
        ),
        until="2027-04-20 00:00",
    )
    announced = r.first("tariff_change_announced")
    assert local_iso(r, announced.detail["effective_at"]) == "2027-04-01 00:00"
    assert debits(r)[-1] == ("2027-04-01 10:05", "3000.00")


# -- every citation is the seed's ------------------------------------------------------------------------


def test_every_clause_the_policy_and_the_timeline_cite_exists_in_the_seed() -> None:
    """Every number comes from the contract and cites its clause; a cited clause must exist in
    seed 002 (several clauses are separated by "; ")."""
    p = paid_once("3000.00", pay("2027-03-03 15:00", "2000.00"), until="2027-06-01 00:00").policy
    cited = policy_citations(p)
    runs = [
        paid_once("3000.00", pay("2027-03-03 15:00", "2000.00"), until="2027-06-01 00:00"),
        paid_once("4000.00", ("2027-02-10 11:00", event("cancel_request"))),
    ]
    cited |= {e.clause for r in runs for e in r.result.entries if e.clause}
    missing = [c for c in sorted(cited) for part in c.split(";") if not clause_in_seed(ID, part.strip())]
    assert not missing, missing
    assert {"6.3", "8.5.2", "8.6.4", "8.6.1", "8.7", "5.1.3", "7.13"} <= {
        part.strip() for c in cited for part in c.split(";")
    }
