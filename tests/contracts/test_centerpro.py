"""Center Pro / TOO «MOBIX» (seed 003): the contract's own words, run on the engine.

The Russian text prevails (13.9) and is quoted here. The model (6.2-6.8, 5.3.10): payments top up
the Balance; the client itself buys a Tariff from the Balance and it starts then; nothing renews by
itself, nothing is ever owed, a paid Tariff is never refunded.

Dates are Almaty time (UTC+5). Holidays used (KZ 2027, `holidays`): 8 Mar (Mon, Women's Day),
15 Mar, 21-24 Mar (Nauryz). A Tariff is paid service time: it runs from the moment it is bought to
the same clock time one Tariff period (here P1M or P3M) later. A term in days (13.2, 11.2) runs from
the day after its event and ends at 24:00 of its last day, moved to the next working day when that
day is off (KZ CC arts. 173, 175, 176).
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from oferta.timeline.state import ServiceSpec, ServiceStatus
from tests.contracts.harness import (
    Run,
    clause_in_seed,
    event,
    local,
    policy_citations,
    run,
    seed_text,
    service,
)

ID = "centerpro"
PRICE = "5000.00"


def spec(period: str = "P1M") -> ServiceSpec:
    return service(ID, PRICE, kind="saas", period=period)


def kzt(amount: str) -> tuple[str, str]:
    return (amount, "KZT")


def at(text: str) -> datetime:
    return local(ID, text)


def limits(r: Run) -> list[str]:
    """When access was limited because a paid Tariff ended (5.3.10), local time."""
    return [r.at_local(e) for e in r.entries("suspended") if e.detail.get("reason") == "tariff_ended"]


def purchases(r: Run) -> list[tuple[str, str, str]]:
    """(bought at, starts at, amount) of every Tariff bought."""
    zone = ZoneInfo(r.policy.provider.timezone)
    return [
        (
            r.at_local(e),
            datetime.fromisoformat(e.detail["starts_at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            e.detail["amount"],
        )
        for e in r.entries("tariff_purchased")
    ]


def bought_once(
    *extra: tuple[str, object], until: str = "2027-06-01 00:00", period: str = "P1M", top_up: str = PRICE
) -> Run:
    """Top up at 10:05 and buy one Tariff at 10:10 on Mon 1 Feb 2027, then ``extra`` events."""
    events = [
        ("2027-02-01 10:05", event("payment", amount=kzt(top_up))),
        ("2027-02-01 10:10", event("tariff_purchase")),
        *extra,
    ]
    return run(ID, spec(period), "2027-02-01 10:00", events, until=until)


# -- 6.6 / Def. 14: a payment only tops up the Balance ---------------------------------------------


def test_a_payment_only_tops_up_the_balance_and_starts_nothing() -> None:
    """Def. 14: «Баланс – баланс в Личном кабинете, пополняемый Клиентом путем внесения суммы ...,
    с которого осуществляется оплата тарифов Center Pro.» 6.6: «После внесения оплаты Клиентом, в
    Личном кабинете пополняется его Баланс. Клиент производит оплату за Тариф с Баланса в Личном
    кабинете, после чего Тариф начинает действие.»

    A top-up of a full Tariff's price, and nothing else for four months: no Tariff is bought, nothing
    is activated, limited or charged; the money stays on the Balance.
    """
    r = run(
        ID,
        spec(),
        "2027-02-01 10:00",
        [("2027-02-01 10:05", event("payment", amount=kzt(PRICE)))],
        until="2027-06-01 00:00",
    )
    assert r.types() == ["payment_received"]
    assert r.first("payment_received").clause == "6.6"
    assert r.state.balance.amount == Decimal(PRICE)
    assert r.state.status is ServiceStatus.AWAITING_PAYMENT
    assert r.state.debt().amount == 0
    assert r.result.provisioning == []


# -- 6.6 / 6.7: the Tariff starts when the client buys it --------------------------------------------


def test_a_tariff_bought_from_the_balance_starts_at_the_purchase() -> None:
    """6.6: «Клиент производит оплату за Тариф с Баланса в Личном кабинете, после чего Тариф
    начинает действие.» 6.7: «Услуги считаются оказанными Оператором с даты начала действия Тарифа».
    5.3.10: «Оператор вправе ограничить доступ Клиента к продукту Center Pro после окончания действия
    Тарифа, предполагающего оплату, до приобретения Клиентом нового Тарифа.»

    Bought Mon 1 Feb 10:10 for one month: active from 10:10 that minute, the price taken from the
    Balance; the Tariff runs to Mon 1 Mar 10:10, when access is limited at once (no grace is given).
    """
    r = bought_once(until="2027-03-15 00:00")
    assert purchases(r) == [("2027-02-01 10:10", "2027-02-01 10:10", PRICE)]
    assert r.first("tariff_purchased").clause == "6.6"
    activated = r.first("activated")
    assert (r.at_local(activated), activated.clause) == ("2027-02-01 10:10", "6.6")
    assert r.state.balance.amount == 0
    assert limits(r) == ["2027-03-01 10:10"]
    assert r.first("suspended").clause == "5.3.10"
    assert r.result.provisioning == ["activate", "suspend"]


def test_a_lapsed_client_who_buys_again_is_not_backdated() -> None:
    """C1. 6.6: «Клиент производит оплату за Тариф с Баланса в Личном кабинете, после чего Тариф
    начинает действие.» 5.3.10: access is limited «до приобретения Клиентом нового Тарифа».

    The Tariff ended Mon 1 Mar 10:10 and access was limited; the client tops up and buys again on
    Tue 16 Mar 12:00. The new Tariff starts at that purchase: 16 Mar 12:00 - 16 Apr 12:00 (not
    1 Mar - 1 Apr: the 15 limited days are not billed). Access returns at the purchase (6.6) and
    is limited again on Fri 16 Apr 12:00.
    """
    r = bought_once(
        ("2027-03-16 11:55", event("payment", amount=kzt(PRICE))),
        ("2027-03-16 12:00", event("tariff_purchase")),
        until="2027-05-01 00:00",
    )
    assert purchases(r)[1] == ("2027-03-16 12:00", "2027-03-16 12:00", PRICE)
    resumed = r.first("resumed")
    assert (r.at_local(resumed), resumed.clause) == ("2027-03-16 12:00", "6.6")
    assert r.state.paid_until == at("2027-04-16 12:00")
    assert limits(r) == ["2027-03-01 10:10", "2027-04-16 12:00"]
    assert r.state.balance.amount == 0


# -- C2: nothing is bought from the Balance by itself --------------------------------------------------


def test_no_tariff_is_bought_from_the_balance_when_the_tariff_ends() -> None:
    """C2. 6.6: «Клиент производит оплату за Тариф с Баланса» - the client's own act. 5.3.10: the
    Operator «вправе ограничить доступ ... до приобретения Клиентом нового Тарифа».

    The client tops up three Tariffs' worth (15 000) and buys one on 1 Feb. When it ends on Mon
    1 Mar 10:10 nothing is bought from the 10 000 left: access is limited, nothing is owed, and three
    months later the Balance is still 10 000 and access still limited.
    """
    r = bought_once(until="2027-06-01 00:00", top_up="15000.00")
    assert len(r.entries("tariff_purchased")) == 1
    assert limits(r) == ["2027-03-01 10:10"]
    assert r.first("suspended").detail["debt"] == "0.00"
    assert r.state.balance.amount == Decimal("10000.00")
    assert r.state.debt().amount == 0
    assert r.state.status is ServiceStatus.SUSPENDED
    assert not r.entries("invoice_issued") and not r.entries("late_fee")


def test_a_purchase_the_balance_does_not_cover_is_refused() -> None:
    """6.6: «Клиент производит оплату за Тариф с Баланса в Личном кабинете»; 6.2: «Оплата по
    Тарифу, предполагающему оплату, производится по 100% предоплате».

    With 3 000 on the Balance a 5 000 Tariff cannot be bought: the purchase is refused, saying the
    balance does not cover the Tariff and citing 6.6; nothing starts, nothing is owed.
    """
    r = run(
        ID,
        spec(),
        "2027-02-01 10:00",
        [
            ("2027-02-01 10:05", event("payment", amount=kzt("3000.00"))),
            ("2027-02-01 10:10", event("tariff_purchase")),
        ],
        until="2027-04-01 00:00",
    )
    [reason] = r.rejected()
    assert "does not cover the Tariff" in reason and "(6.6)" in reason
    assert "3000.00" in reason and "5000.00" in reason
    assert not r.entries("activated") and not r.entries("tariff_purchased")
    assert r.state.balance.amount == Decimal("3000.00")
    assert r.state.debt().amount == 0


def test_a_tariff_bought_while_one_runs_starts_when_that_one_ends() -> None:
    """6.6: «Клиент производит оплату за Тариф с Баланса ..., после чего Тариф начинает действие»;
    6.10 keeps a paid Tariff «до полного их истечения срока», so a second Tariff bought on Mon 15 Feb
    does not cut the first short: it starts when the first ends, Mon 1 Mar 10:10, and runs to Thu
    1 Apr 10:10. Access is not limited on 1 Mar, only on 1 Apr 10:10.
    """
    r = bought_once(
        ("2027-02-15 09:00", event("payment", amount=kzt(PRICE))),
        ("2027-02-15 09:05", event("tariff_purchase")),
        until="2027-05-01 00:00",
    )
    assert purchases(r) == [
        ("2027-02-01 10:10", "2027-02-01 10:10", PRICE),
        ("2027-02-15 09:05", "2027-03-01 10:10", PRICE),
    ]
    assert limits(r) == ["2027-04-01 10:10"]
    assert r.state.balance.amount == 0


# -- C3: leaving; 6.8 no refund of a paid Tariff ----------------------------------------------------


def test_a_request_to_leave_takes_effect_when_the_paid_tariff_ends_without_refund() -> None:
    """C3. 13.7: «Соглашение вступает в силу с момента его акцепта Клиентом и действует бессрочно»
    - no termination by notice; the client leaves by stopping use («ВЫ ДОЛЖНЫ НЕМЕДЛЕННО ПРЕКРАТИТЬ
    ПОЛЬЗОВАНИЕ ПРОДУКТАМИ CENTER PRO») and not buying again. 6.8: «Клиенту не возвращаются денежные
    средства за оплаченный им Тариф в Личном кабинете Клиента.»

    A request on Wed 10 Feb is accepted and takes effect when the paid Tariff ends, Mon 1 Mar 10:10:
    the agreement ends then, nothing is refunded, nothing is owed, access is never "limited" first.
    """
    r = bought_once(("2027-02-10 16:00", event("cancel_request")), until="2027-06-01 00:00")
    assert r.rejected() == []
    requested = r.first("termination_requested")
    assert r.at_local(requested) == "2027-02-10 16:00"
    assert requested.clause == "13.7"
    assert datetime.fromisoformat(requested.detail["effective_at"]) == at("2027-03-01 10:10")
    terminated = r.first("terminated")
    assert (r.at_local(terminated), terminated.clause) == ("2027-03-01 10:10", "13.7")
    assert terminated.detail["debt"] == "0.00"
    assert limits(r) == []
    assert not r.entries("refund_due") and r.refunded().amount == 0
    assert r.state.status is ServiceStatus.TERMINATED


def test_a_request_to_leave_waits_for_a_tariff_already_bought_after_the_running_one() -> None:
    """6.10: Tariffs «за которые Клиент оплатил» run «до полного их истечения срока»; 6.8: a paid
    Tariff is not refunded. With a second Tariff bought (runs 1 Mar - 1 Apr 10:10), a request on
    Wed 10 Feb takes effect when that one ends: Thu 1 Apr 10:10.
    """
    r = bought_once(
        ("2027-02-05 09:00", event("payment", amount=kzt(PRICE))),
        ("2027-02-05 09:05", event("tariff_purchase")),
        ("2027-02-10 16:00", event("cancel_request")),
        until="2027-06-01 00:00",
    )
    assert r.at_local(r.first("terminated")) == "2027-04-01 10:10"
    assert limits(r) == []
    assert not r.entries("refund_due") and r.refunded().amount == 0


def test_a_tariff_bought_after_a_request_to_leave_is_not_lost() -> None:
    """6.6: «Клиент производит оплату за Тариф с Баланса ..., после чего Тариф начинает действие»;
    6.8: «Клиенту не возвращаются денежные средства за оплаченный им Тариф» - so a Tariff the client
    pays for must be one it gets.

    Tariff 1 Feb - Mon 1 Mar 10:10; request to leave Wed 10 Feb; on Mon 15 Feb the client tops up and
    buys another Tariff (1 Mar - Thu 1 Apr 10:10). Either the purchase is refused (the 5 000 stays on
    the Balance) or the agreement ends when that Tariff ends, 1 Apr 10:10 - it must not end on 1 Mar
    with the 5 000 spent on a Tariff that never starts.
    """
    r = bought_once(
        ("2027-02-10 16:00", event("cancel_request")),
        ("2027-02-15 09:00", event("payment", amount=kzt(PRICE))),
        ("2027-02-15 09:05", event("tariff_purchase")),
        until="2027-06-01 00:00",
    )
    if r.rejected():
        assert r.state.balance.amount == Decimal(PRICE)
    else:
        assert r.at_local(r.first("terminated")) == "2027-04-01 10:10"


def test_a_client_who_stops_buying_owes_nothing_and_may_leave_at_once() -> None:
    """C3. 5.3.10 limits access «до приобретения Клиентом нового Тарифа» - it creates no debt: 6.2
    is «100% предоплате», there is no invoice, due date or late fee in the contract.

    The Tariff ended Mon 1 Mar 10:10 and access was limited with nothing owed; a request to close on
    Wed 10 Mar 09:00, with no paid Tariff running, ends the agreement at once, with no debt.
    """
    r = bought_once(("2027-03-10 09:00", event("cancel_request")), until="2027-06-01 00:00")
    assert limits(r) == ["2027-03-01 10:10"]
    assert r.first("suspended").detail["debt"] == "0.00"
    terminated = r.first("terminated")
    assert r.at_local(terminated) == "2027-03-10 09:00"
    assert terminated.detail["debt"] == "0.00"
    assert r.state.debt().amount == 0
    assert not r.entries("refund_due")


def test_no_invoice_can_be_raised_against_the_client() -> None:
    """6.2: the only invoice is the client's own, for prepayment: «на основании счета на оплату,
    сформированного в Личном кабинете»; 6.6: the Balance is spent only by the client's purchase.
    An extra invoice from billing is refused, citing 6.6, and nothing becomes owed.
    """
    r = bought_once(
        ("2027-02-10 12:00", event("invoice", amount=kzt("1000.00"), invoice_id="x1")),
        until="2027-04-01 00:00",
    )
    [reason] = r.rejected()
    assert "issues no invoices" in reason and "(6.6)" in reason
    assert r.state.debt().amount == 0 and not r.entries("invoice_issued")


# -- 13.2: the Operator's notice; 5.3.8: severe breach -------------------------------------------------


def test_the_operator_terminates_with_ten_calendar_days_notice() -> None:
    """13.2: «Соглашение может быть расторгнуто Оператором в одностороннем внесудебном порядке путем
    уведомления Клиента за 10 (десять) календарных дней до даты расторжения.» 6.8: «Клиенту не
    возвращаются денежные средства за оплаченный им Тариф».

    Three-month Tariff bought Mon 1 Feb (to 1 May). Notice Thu 25 Feb 14:00: the ten days run
    26 Feb - Sun 7 Mar; 7 Mar is a Sunday and Mon 8 Mar is Women's Day, so the last day is Tue 9 Mar
    (art. 175) and the agreement ends at its 24:00, i.e. Wed 10 Mar 00:00. No refund is scheduled
    (the contract gives none; operations decide by hand).
    """
    r = bought_once(
        ("2027-02-25 14:00", event("provider_termination")), period="P3M", until="2027-06-01 00:00"
    )
    requested = r.first("termination_requested")
    assert requested.clause == "13.2" and requested.detail["by"] == "provider"
    terminated = r.first("terminated")
    assert (r.at_local(terminated), terminated.clause) == ("2027-03-10 00:00", "13.2")
    assert not r.entries("refund_due") and r.refunded().amount == 0
    assert limits(r) == []


def test_a_severe_breach_terminates_at_once_without_refund() -> None:
    """5.3.8: «Оператор вправе в одностороннем порядке в любое время без объяснения причин и
    какого-либо уведомления блокировать доступ Клиента к Center Pro и/или расторгнуть Соглашение с
    Клиентом в случае нарушения Клиентом обязательств, предусмотренных подпунктами 4.3.6-4.3.10 и
    5.2.7». 5.3.9: «Оператор не несет ответственность и не возмещает Клиенту какие-либо убытки».

    Terminated the moment it is entered, Wed 10 Feb 15:00, citing 5.3.8; the Tariff paid to 1 Mar
    is not refunded, no notice period runs.
    """
    r = bought_once(
        ("2027-02-10 15:00", event("breach_termination", reason="4.3.8: malware")), until="2027-06-01 00:00"
    )
    terminated = r.first("terminated")
    assert (r.at_local(terminated), terminated.clause) == ("2027-02-10 15:00", "5.3.8")
    assert terminated.detail["reason"] == "breach"
    assert not r.entries("termination_requested")
    assert not r.entries("refund_due") and r.refunded().amount == 0
    assert r.result.provisioning[-1] == "terminate"


def test_a_suspension_for_a_breach_does_not_extend_the_tariff() -> None:
    """5.3.7: «В случае нарушения Клиентом условий Соглашения, Оператор вправе - приостановить доступ
    Клиента к использованию Center Pro»; no term or compensation (5.3.9), and the Tariff runs to its
    own end (6.10 «до полного их истечения срока»).

    Suspended Wed 10 Feb 15:00, lifted Sat 20 Feb 12:00: the Tariff still ends Mon 1 Mar 10:10.
    """
    r = bought_once(
        ("2027-02-10 15:00", event("abuse_suspend", reason="5.2.3")),
        ("2027-02-20 12:00", event("abuse_resolved")),
        until="2027-04-01 00:00",
    )
    suspended = r.first("suspended")
    assert (r.at_local(suspended), suspended.clause) == ("2027-02-10 15:00", "5.3.7")
    assert r.at_local(r.first("resumed")) == "2027-02-20 12:00"
    assert limits(r) == ["2027-03-01 10:10"]


# -- 11.1 / 11.2: force majeure ----------------------------------------------------------------------


def test_force_majeure_never_terminates_however_long() -> None:
    """11.1: «Стороны не несут ответственности за не исполнение или ненадлежащее исполнение своих
    обязательств по настоящему Соглашению ... вследствие наступления обязательств непреодолимой силы»;
    11.2: «Клиент направляет Оператору уведомление в течение 5 календарных дней». No clause ends the
    agreement for force majeure, however long; 13.7 «действует бессрочно».

    Force majeure from Fri 5 Feb 2027 12:00, still going a year later: no termination. The client's
    notice is due within 5 calendar days: 6-10 Feb, Wed 10 Feb a working day, so by 24:00 10 Feb.
    """
    r = bought_once(
        ("2027-02-05 12:00", event("force_majeure_start", reason="flood")), until="2028-02-15 00:00"
    )
    started = r.first("force_majeure_started")
    assert started.clause == "11.2" and started.detail["termination"] == "none"
    assert datetime.fromisoformat(started.detail["notify_by"]) == at("2027-02-11 00:00")
    assert "terminates_at" not in started.detail and "option_from" not in started.detail
    assert not r.entries("terminated") and not r.entries("force_majeure_option")
    assert r.state.status is ServiceStatus.FORCE_MAJEURE
    assert r.rejected() == []


def test_force_majeure_does_not_push_back_the_end_of_a_paid_tariff() -> None:
    """11.1 releases the parties from liability («не несут ответственности за не исполнение») and
    says nothing more; the Tariff runs «до полного их истечения срока» (6.10). A force majeure of ten
    days (Wed 10 Feb - Sat 20 Feb) inside a Tariff ending Mon 1 Mar 10:10 leaves that end where it
    is: access is limited on 1 Mar 10:10, not 11 Mar; the ending says deadlines were not extended.
    """
    r = bought_once(
        ("2027-02-10 12:00", event("force_majeure_start")),
        ("2027-02-20 12:00", event("force_majeure_end")),
        until="2027-04-01 00:00",
    )
    ended = r.first("force_majeure_ended")
    assert ended.clause == "11.1"
    assert ended.detail["deadlines_extended"] is False and ended.detail["lasted_days"] == 10
    assert limits(r) == ["2027-03-01 10:10"]
    assert not r.entries("terminated")


def test_a_tariff_bought_during_force_majeure_after_the_old_one_expired_starts_at_the_purchase() -> None:
    """6.6: «Клиент производит оплату за Тариф с Баланса ..., после чего Тариф начинает действие»;
    6.10: a paid Tariff runs «до полного их истечения срока» - and no longer; 11.1 moves no term.

    Tariff 1 Feb 10:10 - Mon 1 Mar 10:10. Force majeure Sat 20 Feb 09:00 - Sat 20 Mar 09:00. The
    first Tariff expired on 1 Mar; the client buys another on Wed 10 Mar 12:00, which starts then and
    runs to Sat 10 Apr 12:00, when access is limited.
    """
    r = bought_once(
        ("2027-02-20 09:00", event("force_majeure_start")),
        ("2027-03-10 11:55", event("payment", amount=kzt(PRICE))),
        ("2027-03-10 12:00", event("tariff_purchase")),
        ("2027-03-20 09:00", event("force_majeure_end")),
        until="2027-05-01 00:00",
    )
    assert purchases(r)[1] == ("2027-03-10 12:00", "2027-03-10 12:00", PRICE)
    assert limits(r)[-1] == "2027-04-10 12:00"


# -- 6.10: a tariff change leaves paid Tariffs alone ---------------------------------------------------


def test_a_tariff_change_does_not_touch_a_paid_tariff() -> None:
    """6.10: «Оператор вправе в одностороннем порядке добавлять новые, изменять и отменять
    существующие Тарифы ..., изменять их условия и способы оплаты, кроме тех тарифов/пакетов, за
    которые Клиент оплатил, до полного их истечения срока.» 5.3.4 gives no lead time.

    Two Tariffs bought at 5 000 (1 Feb - 1 Mar, 1 Mar - 1 Apr 10:10). On Wed 10 Feb the price becomes
    8 000 at once. Both paid Tariffs run out untouched: nothing more is taken, access is limited only
    on Thu 1 Apr 10:10. A new Tariff then costs 8 000: with 5 000 on the Balance it is refused; after
    a further 3 000 it is bought at 8 000 and starts at once.
    """
    r = bought_once(
        ("2027-02-05 09:00", event("payment", amount=kzt(PRICE))),
        ("2027-02-05 09:05", event("tariff_purchase")),
        ("2027-02-10 11:00", event("tariff_change", new_price=kzt("8000.00"))),
        ("2027-04-01 11:00", event("payment", amount=kzt(PRICE))),
        ("2027-04-01 11:05", event("tariff_purchase")),
        ("2027-04-01 11:10", event("payment", amount=kzt("3000.00"))),
        ("2027-04-01 11:15", event("tariff_purchase")),
        until="2027-05-15 00:00",
    )
    announced = r.first("tariff_change_announced")
    assert announced.clause == "6.10"
    assert datetime.fromisoformat(announced.detail["effective_at"]) == at("2027-02-10 11:00")
    assert limits(r)[0] == "2027-04-01 10:10"
    [reason] = r.rejected()
    assert "does not cover the Tariff" in reason and "8000.00" in reason
    assert purchases(r) == [
        ("2027-02-01 10:10", "2027-02-01 10:10", PRICE),
        ("2027-02-05 09:05", "2027-03-01 10:10", PRICE),
        ("2027-04-01 11:15", "2027-04-01 11:15", "8000.00"),
    ]
    assert limits(r) == ["2027-04-01 10:10", "2027-05-01 11:15"]
    assert r.state.balance.amount == 0


# -- nothing is ever deleted -------------------------------------------------------------------------


def test_nothing_is_ever_deleted() -> None:
    """The contract deletes no client content at any point: 5.3.10 only limits access «до
    приобретения Клиентом нового Тарифа»; 5.4.2 keeps delivery records («хранение информации о факте
    доставки электронных документов ... в течение 3 (трёх) лет»), it does not delete the account.

    A client limited since Mon 1 Mar 2027 and silent for fifteen months: still limited, never
    deleted, never terminated; no deletion warning.
    """
    r = bought_once(until="2028-06-01 00:00")
    assert limits(r) == ["2027-03-01 10:10"]
    assert not r.entries("deleted") and not r.entries("terminated")
    assert "delete" not in r.result.provisioning
    assert not [d for d in r.result.deliveries if d.template.value == "deletion_warning"]
    assert r.state.status is ServiceStatus.SUSPENDED


# -- citations and quotations --------------------------------------------------------------------------


def cited_clauses() -> set[str]:
    """Every clause the policy cites (terms and rules)."""
    return policy_citations(run(ID, spec(), "2027-02-01 10:00", [], until="2027-02-01 10:00").policy)


def plain_seed() -> str:
    """The seed without its HTML tags, whitespace collapsed (both languages)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", seed_text(ID))))


def test_every_cited_clause_is_in_the_seed() -> None:
    missing = sorted(c for c in cited_clauses() if not clause_in_seed(ID, c))
    assert missing == []


def test_every_cited_clause_is_numbered_in_the_seed_text() -> None:
    """The same check on the tag-stripped text: each clause the policy cites is numbered there."""
    text = plain_seed()
    missing = sorted(c for c in cited_clauses() if not re.search(rf"(?:^|\s){re.escape(c)}\.?\s", text))
    assert missing == [], missing
    assert {"6.6", "5.3.10", "6.8", "13.2", "13.7", "5.3.8", "11.1", "11.2", "6.10"} <= cited_clauses()


QUOTES = [
    "Клиент производит оплату за Тариф с Баланса в Личном кабинете, после чего Тариф начинает действие.",
    "Услуги считаются оказанными Оператором с даты начала действия Тарифа в Личном кабинете Клиента.",
    "Клиенту не возвращаются денежные средства за оплаченный им Тариф в Личном кабинете Клиента.",
    "Оператор вправе ограничить доступ Клиента к продукту Center Pro после окончания действия Тарифа,"
    " предполагающего оплату, до приобретения Клиентом нового Тарифа.",
    "путем уведомления Клиента за 10 (десять) календарных дней до даты расторжения.",
    "Соглашение вступает в силу с момента его акцепта Клиентом и действует бессрочно.",
    "в любое время без объяснения причин и какого-либо уведомления блокировать доступ Клиента к Center"
    " Pro и/или расторгнуть Соглашение с Клиентом",
    "Клиент направляет Оператору уведомление в течение 5 календарных дней",
    "кроме тех тарифов/пакетов, за которые Клиент оплатил, до полного их истечения срока.",
    "Стороны не несут ответственности за не исполнение или ненадлежащее исполнение своих обязательств",
    "производится по 100% предоплате на основании счета на оплату, сформированного в Личном кабинете",
    "ВЫ ДОЛЖНЫ НЕМЕДЛЕННО ПРЕКРАТИТЬ ПОЛЬЗОВАНИЕ ПРОДУКТАМИ CENTER PRO.",
    "Оператор не несет ответственность и не возмещает Клиенту какие-либо убытки",
]


@pytest.mark.parametrize("quote", QUOTES, ids=range(len(QUOTES)))
def test_the_words_quoted_here_are_the_seeds(quote: str) -> None:
    assert quote in plain_seed()
