"""Money, late fees and proration: Decimal with a currency, capped as the contract says."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oferta.policy.schema import LateFee
from oferta.timeline.charges import assess_late_fee, prorate
from oferta.timeline.money import CurrencyMismatch, Money
from oferta.timeline.state import Installment, Invoice

ALMATY = "Asia/Almaty"
PS_KZ_FEE = LateFee(
    rate_per_day=Decimal("0.001"), cap_ratio=Decimal("0.10"), clause="6.4", base="unpaid_remainder"
)
UNCAPPED = LateFee(rate_per_day=Decimal("0.001"), cap_ratio=None, clause="7.9", base="unpaid_remainder")
PER_INVOICE = LateFee(rate_per_day=Decimal("0.001"), cap_ratio=None, clause="5.3", base="invoice_amount")
# The last day to pay is 1 January 2027; the invoice is overdue from 00:00 on 2 January.
DUE_ON = date(2027, 1, 1)
DUE = datetime.fromisoformat("2027-01-02T00:00:00+05:00")


def invoice(amount: str, *installments: tuple[datetime, str]) -> Invoice:
    total = sum((Decimal(a) for _, a in installments), Decimal(0))
    return Invoice(
        invoice_id="p1",
        kind="period",
        amount=Money.of(amount, "KZT"),
        paid=Money.of(total, "KZT"),
        issued_at=DUE - timedelta(days=4),
        due_at=DUE,
        due_on=DUE_ON,
        clause="5.8",
        installments=[Installment(at=at, amount=Money.of(a, "KZT")) for at, a in installments],
    )


def paid_in_full(amount: str, at: datetime) -> Invoice:
    return invoice(amount, (at, amount))


def test_money_refuses_float_and_mixed_currencies() -> None:
    with pytest.raises(ValueError):
        Money(amount=0.1, currency="KZT")  # type: ignore[arg-type]
    with pytest.raises(CurrencyMismatch):
        Money.of("1", "KZT") + Money.of("1", "EUR")
    assert str(Money.of("2500", "KZT")) == "2500.00 KZT"


def test_late_fee_is_a_tenth_of_a_percent_per_day() -> None:
    # Paid on 7 January: 2, 3, 4, 5, 6 and 7 January are six days of delay.
    paid_at = DUE + timedelta(days=5, hours=15)
    fee = assess_late_fee(paid_in_full("2500", paid_at), paid_at, PS_KZ_FEE, ALMATY)
    assert fee.fee == Money.of("15.00", "KZT")
    assert fee.days_late == 6 and not fee.capped


def test_late_fee_stops_at_ten_percent_of_the_debt() -> None:
    paid_at = DUE + timedelta(days=250)
    fee = assess_late_fee(paid_in_full("2500", paid_at), paid_at, PS_KZ_FEE, ALMATY)
    assert fee.fee == Money.of("250.00", "KZT") and fee.capped


def test_no_fee_when_paid_at_the_last_minute_of_the_last_day() -> None:
    paid_at = DUE - timedelta(seconds=1)  # 23:59:59 on 1 January
    fee = assess_late_fee(paid_in_full("2500", paid_at), paid_at, PS_KZ_FEE, ALMATY)
    assert fee.fee == Money.zero("KZT") and fee.days_late == 0


def test_fee_accrues_on_the_unpaid_remainder_only() -> None:
    # SmartApe 7.9 "0.1% of the unpaid amount": 90 of 100 paid in time, 10 paid 8 days late.
    last = DUE + timedelta(days=7, hours=12)
    late = invoice("100", (DUE - timedelta(days=1), "90"), (last, "10"))
    assert assess_late_fee(late, last, UNCAPPED, ALMATY).fee.rounded() == Money.of("0.08", "KZT")
    # ONELAB 5.3 charges "0.1% of the invoice amount" per day, as written.
    assert assess_late_fee(late, last, PER_INVOICE, ALMATY).fee.rounded() == Money.of("0.80", "KZT")


def test_a_part_paid_during_the_delay_lowers_the_following_days() -> None:
    # 1000 overdue from 2 January; 600 paid on 4 January, 400 on 6 January.
    # 2, 3, 4 Jan on 1000 (the day of payment still counts on what was due that morning),
    # 5, 6 Jan on 400: 0.1% x (3 x 1000 + 2 x 400) = 3.80.
    first, last = DUE + timedelta(days=2, hours=9), DUE + timedelta(days=4, hours=9)
    partial = invoice("1000", (first, "600"), (last, "400"))
    assert assess_late_fee(partial, last, UNCAPPED, ALMATY).fee == Money.of("3.80", "KZT")


@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2),
    st.integers(min_value=0, max_value=2000),
)
def test_capped_fee_never_exceeds_the_cap(amount: Decimal, days: int) -> None:
    paid_at = DUE + timedelta(days=days)
    debt = invoice(str(amount), (paid_at, str(amount)))
    capped = assess_late_fee(debt, paid_at, PS_KZ_FEE, ALMATY).fee
    uncapped = assess_late_fee(debt, paid_at, UNCAPPED, ALMATY).fee
    assert capped.amount <= (amount * Decimal("0.10")).quantize(Decimal("0.01")) + Decimal("0.01")
    assert capped.amount <= uncapped.amount
    assert capped.amount >= 0


def test_proration_by_calendar_days() -> None:
    start = datetime.fromisoformat("2027-02-01T00:00:00+05:00")
    end = datetime.fromisoformat("2027-03-01T00:00:00+05:00")
    cut = datetime.fromisoformat("2027-02-15T00:00:00+05:00")
    price = Money.of("2800", "KZT")
    assert prorate(price, start, end, start, cut, ALMATY) == Money.of("1400.00", "KZT")
    assert prorate(price, start, end, cut, end, ALMATY) == Money.of("1400.00", "KZT")


@given(st.integers(min_value=0, max_value=31), st.decimals(min_value=1, max_value=100000, places=2))
def test_proration_parts_add_up_to_the_price(cut_day: int, amount: Decimal) -> None:
    start = datetime.fromisoformat("2027-01-01T00:00:00+05:00")
    end = datetime.fromisoformat("2027-02-01T00:00:00+05:00")
    cut = start + timedelta(days=cut_day)
    price = Money.of(amount, "EUR")
    used = prorate(price, start, end, start, cut, ALMATY)
    unused = prorate(price, start, end, cut, end, ALMATY)
    assert abs((used + unused).amount - price.amount) <= Decimal("0.01")
