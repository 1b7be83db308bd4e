"""Contract time: working days with public holidays, calendar days across DST, months."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from oferta.policy.schema import Term, TimeUnit
from oferta.timeline.calendar import (
    add_calendar_days,
    add_months,
    add_term,
    add_working_days,
    is_working_day,
    subtract_term,
)
from oferta.timeline.periods import parse_period, period_boundary

ALMATY = "Asia/Almaty"
TALLINN = "Europe/Tallinn"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_kazakh_public_holidays_are_not_working_days() -> None:
    assert not is_working_day(date(2027, 3, 8), "KZ")  # International Women's Day
    assert not is_working_day(date(2027, 12, 16), "KZ")  # Independence Day
    assert is_working_day(date(2027, 3, 9), "KZ")


def test_estonian_holidays_differ_from_kazakh() -> None:
    assert not is_working_day(date(2027, 2, 24), "EE")  # Independence Day (Estonia)
    assert is_working_day(date(2027, 2, 24), "KZ")


def test_fifteen_working_days_skip_weekends_and_nauryz() -> None:
    # Thursday 11 March 2027; Nauryz holidays 21-23 March (and their weekday transfers) fall inside.
    start = at("2027-03-11T12:00:00+05:00")
    end = add_working_days(start, 15, "KZ", ALMATY)
    plain_weekdays = 0
    day = start.date()
    while plain_weekdays < 15:
        day += timedelta(days=1)
        plain_weekdays += day.weekday() < 5
    assert end.date() > day, "holidays must push the deadline past the weekday-only count"
    assert end.timetz().replace(tzinfo=None) == start.timetz().replace(tzinfo=None)


def test_working_day_after_friday_is_monday() -> None:
    friday = at("2027-01-15T18:00:00+05:00")
    assert add_working_days(friday, 1, "KZ", ALMATY).date() == date(2027, 1, 18)


def test_calendar_days_keep_the_local_hour_across_dst() -> None:
    before_dst = at("2027-03-25T10:00:00+02:00")  # Tallinn switches to +03:00 on 28 March
    later = add_calendar_days(before_dst, 7, TALLINN)
    assert later.astimezone(ZoneInfo(TALLINN)).hour == 10
    assert later - before_dst == timedelta(days=7) - timedelta(hours=1)


def test_month_arithmetic_clamps_to_month_end() -> None:
    assert add_months(at("2027-01-31T10:00:00+05:00"), 1, ALMATY).date() == date(2027, 2, 28)
    assert add_months(at("2028-01-31T10:00:00+05:00"), 1, ALMATY).date() == date(2028, 2, 29)


def test_period_boundaries_do_not_drift_after_a_short_month() -> None:
    anchor = at("2027-01-31T10:00:00+05:00")
    boundaries = [period_boundary(anchor, i, "P1M", ALMATY).date() for i in range(4)]
    assert boundaries == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_period_parsing() -> None:
    assert parse_period("P1M") == (1, 0)
    assert parse_period("P1Y") == (12, 0)
    assert parse_period("P30D") == (0, 30)
    for bad in ("1M", "P", "P1M2D", "monthly"):
        try:
            parse_period(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was accepted")


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(ZoneInfo(ALMATY))
)


@given(moments, st.integers(min_value=1, max_value=40))
def test_working_days_land_on_working_days(start: datetime, count: int) -> None:
    end = add_working_days(start, count, "KZ", ALMATY)
    assert is_working_day(end.date(), "KZ")
    assert (end.date() - start.date()).days >= count


@given(
    moments,
    st.integers(min_value=0, max_value=60),
    st.sampled_from([TimeUnit.CALENDAR_DAYS, TimeUnit.HOURS, TimeUnit.MONTHS]),
)
def test_subtract_undoes_add_for_calendar_units(start: datetime, amount: int, unit: TimeUnit) -> None:
    term = Term(amount=amount, unit=unit, clause="x")
    later = add_term(start, term, "KZ", ALMATY)
    assert later >= start
    if unit is not TimeUnit.MONTHS or start.day <= 28:
        assert subtract_term(later, term, "KZ", ALMATY) == start


def test_a_weekend_the_government_made_a_working_day_counts_as_one() -> None:
    # KZ 2024: Sat 4 May was worked and its day off moved to Wed 8 May.
    assert is_working_day(date(2024, 5, 4), "KZ")
    assert not is_working_day(date(2024, 5, 8), "KZ")
    assert not is_working_day(date(2024, 5, 5), "KZ")  # an ordinary Sunday
