"""Statutory terms worked by hand: KZ CC arts. 172-176, EE GPCCA §§ 134-137 (see /work/shared/law-terms.md).

Holiday facts used below, from holidays.country_holidays (package 0.109):
KZ 2027: Nauryz Sun 21, Mon 22, Tue 23 March + Wed 24 March (transfer of the Sunday);
         Victory Day Sun 9 May + Mon 10 May (transfer). Asia/Almaty is UTC+5 all year.
EE 2027: Good Friday 26 March, Easter Sunday 28 March (Easter Monday is a working day);
         Victory Day Wed 23 June, Midsummer Thu 24 June; 24 Dec is a Friday, 25-26 Dec the weekend.
         Europe/Tallinn goes from +02:00 to +03:00 at 03:00 on Sunday 28 March 2027.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oferta.timeline.calendar import is_working_day
from oferta.timeline.terms import (
    TermRules,
    Unit,
    before,
    last_day,
    local_date,
    start_of_day,
    term_end,
    term_end_from_date,
    working_days_between,
)

KZ = TermRules(country="KZ", tz="Asia/Almaty")
EE = TermRules(country="EE", tz="Europe/Tallinn")
KZ_NO_ROLL = TermRules(country="KZ", tz="Asia/Almaty", roll_last_day_off=False)
EE_NO_ROLL = TermRules(country="EE", tz="Europe/Tallinn", roll_last_day_off=False)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_three_working_days_from_friday_before_nauryz() -> None:
    # Fri 19 March 2027 is the event day (not counted). Sat 20 weekend, Sun 21 / Mon 22 / Tue 23 Nauryz,
    # Wed 24 Nauryz transfer; Thu 25 = 1st, Fri 26 = 2nd, Sat 27 / Sun 28 weekend, Mon 29 = 3rd working day.
    assert last_day(date(2027, 3, 19), 3, Unit.WORKING_DAYS, KZ) == date(2027, 3, 29)
    end = term_end(at("2027-03-19T15:00+05:00"), 3, Unit.WORKING_DAYS, KZ)
    assert end == at("2027-03-30T00:00+05:00")
    assert str(end.tzinfo) == "Asia/Almaty"
    # Fri 19, Thu 25, Fri 26, Mon 29: the only working days in that span.
    assert working_days_between(date(2027, 3, 19), date(2027, 3, 29), "KZ") == 4


@pytest.mark.parametrize(
    ("rules", "event", "rolled", "unrolled"),
    [
        # KZ, Sat 3 April 2027 + 7 = Sat 10 April (weekend) -> Mon 12 April.
        (KZ, date(2027, 4, 3), date(2027, 4, 12), date(2027, 4, 10)),
        # KZ, Tue 16 March + 7 = Tue 23 March (Nauryz), Wed 24 (transfer) -> Thu 25 March.
        (KZ, date(2027, 3, 16), date(2027, 3, 25), date(2027, 3, 23)),
        # KZ, Sun 2 May + 7 = Sun 9 May (Victory Day), Mon 10 (transfer) -> Tue 11 May.
        (KZ, date(2027, 5, 2), date(2027, 5, 11), date(2027, 5, 9)),
        # EE, Thu 17 June + 7 = Thu 24 June (Midsummer) -> Fri 25 June.
        (EE, date(2027, 6, 17), date(2027, 6, 25), date(2027, 6, 24)),
        # EE, Wed 16 June + 7 = Wed 23 June (Victory Day), Thu 24 (Midsummer) -> Fri 25 June.
        (EE, date(2027, 6, 16), date(2027, 6, 25), date(2027, 6, 23)),
        # EE, Fri 17 Dec + 7 = Fri 24 Dec (Christmas Eve), 25 Sat, 26 Sun -> Mon 27 Dec.
        (EE, date(2027, 12, 17), date(2027, 12, 27), date(2027, 12, 24)),
    ],
)
def test_seven_days_after_suspension_roll_off_a_day_off(
    rules: TermRules, event: date, rolled: date, unrolled: date
) -> None:
    assert last_day(event, 7, Unit.CALENDAR_DAYS, rules) == rolled
    no_roll = TermRules(rules.country, rules.tz, roll_last_day_off=False)
    assert last_day(event, 7, Unit.CALENDAR_DAYS, no_roll) == unrolled
    assert term_end_from_date(event, 7, Unit.CALENDAR_DAYS, rules) == start_of_day(
        rolled + timedelta(days=1), rules.tz
    )


def test_christmas_eve_week_term_ends_at_tallinn_midnight() -> None:
    # Fri 17 Dec 2027 + 1 week = Fri 24 Dec -> Mon 27 Dec; ends 24:00 Mon = Tue 28 Dec 00:00 (+02:00, winter).
    assert term_end(at("2027-12-17T10:00+02:00"), 1, Unit.WEEKS, EE) == at("2027-12-28T00:00+02:00")


def test_event_late_in_the_evening_starts_the_term_next_day() -> None:
    # Wed 7 April 2027 23:30 in Almaty (18:30 UTC): 1 day -> last day Thu 8 April, ends Fri 9 April 00:00.
    end = term_end(at("2027-04-07T23:30+05:00"), 1, Unit.CALENDAR_DAYS, KZ)
    assert end == at("2027-04-09T00:00+05:00")
    assert at("2027-04-08T23:59:59+05:00") < end  # an act at 23:59:59 of the last day is in time
    assert not at("2027-04-09T00:00+05:00") < end  # at 24:00 (= term_end) it is late: the end is exclusive
    assert end.astimezone(ZoneInfo("Asia/Almaty")).time().isoformat() == "00:00:00"


def test_event_day_is_the_local_date_not_the_utc_date() -> None:
    # 21:00 UTC on Wed 7 April is 02:00 Thu 8 April in Almaty: Thu is the event day, Fri 9 the last day.
    event = at("2027-04-07T21:00+00:00")
    assert local_date(event, "Asia/Almaty") == date(2027, 4, 8)
    assert term_end(event, 1, Unit.CALENDAR_DAYS, KZ) == at("2027-04-10T00:00+05:00")


def test_months_are_counted_from_the_start_and_clamped() -> None:
    # 31 Jan 2027 + 1 month: February 2027 has 28 days -> Sun 28 Feb (unrolled).
    assert last_day(date(2027, 1, 31), 1, Unit.MONTHS, KZ_NO_ROLL) == date(2027, 2, 28)
    # ... rolled: Sun 28 Feb -> Mon 1 March (a working day in KZ).
    assert last_day(date(2027, 1, 31), 1, Unit.MONTHS, KZ) == date(2027, 3, 1)
    # 31 Jan 2028 + 1 month -> Tue 29 Feb 2028 (leap year, working day).
    assert last_day(date(2028, 1, 31), 1, Unit.MONTHS, KZ) == date(2028, 2, 29)
    # 31 Jan 2027 + 2 months -> Wed 31 March, not 28 March as chaining via 28 Feb would give.
    assert last_day(date(2027, 1, 31), 2, Unit.MONTHS, KZ) == date(2027, 3, 31)
    # 29 Feb 2028 + 1 year -> Wed 28 Feb 2029 (no 29 Feb in 2029).
    assert last_day(date(2028, 2, 29), 1, Unit.YEARS, KZ) == date(2029, 2, 28)
    # Weeks keep the weekday: Fri 19 March 2027 + 2 weeks = Fri 2 April.
    assert last_day(date(2027, 3, 19), 2, Unit.WEEKS, KZ) == date(2027, 4, 2)


def test_term_across_the_estonian_dst_change_ends_at_local_midnight() -> None:
    # Wed 24 March 2027 09:00 (+02:00) + 5 days = Mon 29 March (Easter Monday is not a holiday in EE).
    # Clocks went forward on Sun 28 March, so the end is Tue 30 March 00:00 at +03:00 = 21:00 UTC Mon.
    end = term_end(at("2027-03-24T09:00+02:00"), 5, Unit.CALENDAR_DAYS, EE)
    assert end == at("2027-03-30T00:00+03:00")
    assert end.utcoffset() == timedelta(hours=3)
    assert end.astimezone(UTC) == at("2027-03-29T21:00+00:00")
    # Thu 25 March + 3 = Sun 28 March (Easter Sunday, the DST day); Good Friday is inside and still counts.
    assert last_day(date(2027, 3, 25), 3, Unit.CALENDAR_DAYS, EE) == date(2027, 3, 29)


def test_exceeding_thirty_days_from_the_due_date() -> None:
    # Due Mon 1 March 2027; 30 days -> last day Wed 31 March (working in both countries);
    # the arrears "exceed 30 days" from 00:00 of day N+1 = Thu 1 April.
    assert term_end_from_date(date(2027, 3, 1), 30, Unit.CALENDAR_DAYS, KZ) == at("2027-04-01T00:00+05:00")
    assert term_end_from_date(date(2027, 3, 1), 30, Unit.CALENDAR_DAYS, EE) == at("2027-04-01T00:00+03:00")


def test_hours_are_exact_and_never_roll() -> None:
    # Sat 20 March 2027 10:00 Almaty + 48 h = Mon 22 March 10:00, a Nauryz holiday: no roll-over.
    assert term_end(at("2027-03-20T10:00+05:00"), 48, Unit.HOURS, KZ) == at("2027-03-22T10:00+05:00")
    # Across the EE DST change 48 real hours read 13:00 on the clock: Sat 27 12:00 (+02) -> Mon 29 13:00 (+03).
    assert term_end(at("2027-03-27T12:00+02:00"), 48, Unit.HOURS, EE) == at("2027-03-29T13:00+03:00")
    with pytest.raises(ValueError):
        last_day(date(2027, 3, 20), 48, Unit.HOURS, KZ)
    with pytest.raises(ValueError):
        term_end_from_date(date(2027, 3, 20), 48, Unit.HOURS, KZ)


def test_zero_amount() -> None:
    event = at("2027-03-20T10:00+05:00")
    assert term_end(event, 0, Unit.CALENDAR_DAYS, KZ) == event  # "at once": the event instant itself
    # From a date: the date itself is the last day, rolled: Sat 20 March 2027 -> Thu 25 March (Nauryz run).
    assert last_day(date(2027, 3, 20), 0, Unit.CALENDAR_DAYS, KZ) == date(2027, 3, 25)
    assert term_end_from_date(date(2027, 3, 20), 0, Unit.CALENDAR_DAYS, KZ) == at("2027-03-26T00:00+05:00")


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2027, 3, 19, 12, 0)
    with pytest.raises(ValueError):
        term_end(naive, 3, Unit.WORKING_DAYS, KZ)
    with pytest.raises(ValueError):
        local_date(naive, "Asia/Almaty")
    with pytest.raises(ValueError):
        before(naive, 1, Unit.CALENDAR_DAYS, KZ)


def test_before_counts_back_without_rolling() -> None:
    # 1 calendar day before Thu 1 April 2027 00:00 -> Wed 31 March 00:00.
    assert before(at("2027-04-01T00:00+05:00"), 1, Unit.CALENDAR_DAYS, KZ) == at("2027-03-31T00:00+05:00")
    # 3 days before Tue 23 March 10:00 -> Sat 20 March 10:00: a weekend, and it stays there.
    assert before(at("2027-03-23T10:00+05:00"), 3, Unit.CALENDAR_DAYS, KZ) == at("2027-03-20T10:00+05:00")
    # 2 working days before Thu 25 March 2027 10:00 KZ: Wed 24 / Tue 23 / Mon 22 Nauryz, Sun 21 / Sat 20
    # off, Fri 19 = 1st, Thu 18 = 2nd -> Thu 18 March 10:00.
    assert before(at("2027-03-25T10:00+05:00"), 2, Unit.WORKING_DAYS, KZ) == at("2027-03-18T10:00+05:00")
    # 1 working day before Mon 27 Dec 2027 09:00 EE: Sun 26, Sat 25, Fri 24 (Christmas Eve) off -> Thu 23 Dec.
    assert before(at("2027-12-27T09:00+02:00"), 1, Unit.WORKING_DAYS, EE) == at("2027-12-23T09:00+02:00")
    # Same local clock across DST: 1 day before Sun 28 March 12:00 (+03) is Sat 27 March 12:00 (+02), 23 h back.
    assert before(at("2027-03-28T12:00+03:00"), 1, Unit.CALENDAR_DAYS, EE) == at("2027-03-27T12:00+02:00")
    # 1 month before Wed 31 March 2027 -> Sun 28 Feb (clamped, not rolled); 24 hours are exact.
    assert before(at("2027-03-31T08:00+05:00"), 1, Unit.MONTHS, KZ) == at("2027-02-28T08:00+05:00")
    assert before(at("2027-03-29T13:00+03:00"), 48, Unit.HOURS, EE) == at("2027-03-27T12:00+02:00")


DAY_UNITS = [Unit.CALENDAR_DAYS, Unit.WORKING_DAYS, Unit.WEEKS, Unit.MONTHS, Unit.YEARS]


@given(
    event=st.datetimes(
        min_value=datetime(2021, 1, 1), max_value=datetime(2043, 12, 31), timezones=st.just(UTC)
    ),
    amount=st.integers(min_value=1, max_value=60),
    unit=st.sampled_from(DAY_UNITS),
    rules=st.sampled_from([KZ, EE, KZ_NO_ROLL, EE_NO_ROLL]),
)
def test_term_end_properties(event: datetime, amount: int, unit: Unit, rules: TermRules) -> None:
    amount = min(amount, 2) if unit is Unit.YEARS else amount
    end = term_end(event, amount, unit, rules)
    local_end = end.astimezone(ZoneInfo(rules.tz))
    assert local_end.time().isoformat() == "00:00:00" and end.utcoffset() == local_end.utcoffset()
    assert end > event
    last = local_end.date() - timedelta(days=1)
    start = local_date(event, rules.tz)
    assert last == last_day(start, amount, unit, rules)
    unrolled = last_day(start, amount, unit, TermRules(rules.country, rules.tz, roll_last_day_off=False))
    assert last >= unrolled
    if rules.roll_last_day_off:
        assert is_working_day(last, rules.country)
        assert all(
            not is_working_day(unrolled + timedelta(days=i), rules.country)
            for i in range((last - unrolled).days)
        )
    else:
        assert last == unrolled
