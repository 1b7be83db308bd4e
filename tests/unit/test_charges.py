"""Money, late fees and proration: Decimal with a currency, capped as the contract says."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oferta.policy.schema import LateFee
from oferta.timeline.charges import assess_late_fee, prorate
from oferta.timeline.money import CurrencyMismatch, Money

ALMATY = "Asia/Almaty"
PS_KZ_FEE = LateFee(rate_per_day=Decimal("0.001"), cap_ratio=Decimal("0.10"), clause="6.4")
UNCAPPED = LateFee(rate_per_day=Decimal("0.001"), cap_ratio=None, clause="7.9")
DUE = datetime.fromisoformat("2027-01-01T10:00:00+05:00")


def test_money_refuses_float_and_mixed_currencies() -> None:
    with pytest.raises(ValueError):
        Money(amount=0.1, currency="KZT")  # type: ignore[arg-type]
    with pytest.raises(CurrencyMismatch):
        Money.of("1", "KZT") + Money.of("1", "EUR")
    assert str(Money.of("2500", "KZT")) == "2500.00 KZT"


def test_late_fee_is_a_tenth_of_a_percent_per_day() -> None:
    fee = assess_late_fee(Money.of("2500", "KZT"), DUE, DUE + timedelta(days=6), PS_KZ_FEE, ALMATY)
    assert fee.fee == Money.of("15.00", "KZT")
    assert fee.days_late == 6 and not fee.capped


def test_late_fee_stops_at_ten_percent_of_the_debt() -> None:
    fee = assess_late_fee(Money.of("2500", "KZT"), DUE, DUE + timedelta(days=250), PS_KZ_FEE, ALMATY)
    assert fee.fee == Money.of("250.00", "KZT") and fee.capped


def test_no_fee_when_paid_on_time() -> None:
    fee = assess_late_fee(Money.of("2500", "KZT"), DUE, DUE, PS_KZ_FEE, ALMATY)
    assert fee.fee == Money.zero("KZT") and fee.days_late == 0


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2),
       st.integers(min_value=0, max_value=2000))
def test_capped_fee_never_exceeds_the_cap(amount: Decimal, days: int) -> None:
    debt = Money.of(amount, "KZT")
    capped = assess_late_fee(debt, DUE, DUE + timedelta(days=days), PS_KZ_FEE, ALMATY).fee
    uncapped = assess_late_fee(debt, DUE, DUE + timedelta(days=days), UNCAPPED, ALMATY).fee
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
