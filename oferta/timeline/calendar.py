"""Contract time: calendar days, working days with public holidays, months.

Times are timezone-aware datetimes. Day and month arithmetic happens on the
provider's local wall clock (Asia/Almaty, Europe/Tallinn), so "7 calendar days"
keeps its hour across a daylight-saving change.
"""

from __future__ import annotations

import calendar as _calendar
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from oferta.policy.schema import Term, TimeUnit

# Years outside this window are filled in lazily by the holidays package.
_PRELOADED_YEARS = range(2020, 2046)


@cache
def _holidays(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=_PRELOADED_YEARS)


# Load the calendars at import, outside any workflow sandbox: the package imports
# its helpers lazily, which the sandbox would otherwise see mid-workflow.
for _country in ("KZ", "EE"):
    _holidays(_country)


def is_working_day(day: date, country: str) -> bool:
    """Mon–Fri except public holidays and the days off they move; a Saturday or Sunday the
    government made a working day (KZ transfers, e.g. Sat 4 May 2024) is a working day."""
    calendar = _holidays(country)
    if day in calendar.weekend_workdays:
        return True
    return day.weekday() < 5 and day not in calendar


def add_working_days(start: datetime, count: int, country: str, tz: str) -> datetime:
    """The same local time on the ``count``-th working day after ``start``'s date."""
    local = start.astimezone(ZoneInfo(tz))
    day = local.date()
    remaining = count
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day, country):
            remaining -= 1
    return _at_local(day, local, tz)


def add_calendar_days(start: datetime, count: int, tz: str) -> datetime:
    local = start.astimezone(ZoneInfo(tz))
    return _at_local(local.date() + timedelta(days=count), local, tz)


def add_months(start: datetime, count: int, tz: str) -> datetime:
    """Calendar months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    local = start.astimezone(ZoneInfo(tz))
    month_index = local.month - 1 + count
    year, month = local.year + month_index // 12, month_index % 12 + 1
    day = min(local.day, _calendar.monthrange(year, month)[1])
    return _at_local(date(year, month, day), local, tz)


def add_term(start: datetime, term: Term, country: str, tz: str) -> datetime:
    match term.unit:
        case TimeUnit.HOURS:
            return start + timedelta(hours=term.amount)
        case TimeUnit.CALENDAR_DAYS:
            return add_calendar_days(start, term.amount, tz)
        case TimeUnit.WORKING_DAYS:
            return add_working_days(start, term.amount, country, tz)
        case TimeUnit.MONTHS:
            return add_months(start, term.amount, tz)
    raise ValueError(f"unknown unit {term.unit}")


def subtract_term(end: datetime, term: Term, country: str, tz: str) -> datetime:
    """The moment ``term`` before ``end`` (used for leads and reminders)."""
    match term.unit:
        case TimeUnit.HOURS:
            return end - timedelta(hours=term.amount)
        case TimeUnit.CALENDAR_DAYS:
            return add_calendar_days(end, -term.amount, tz)
        case TimeUnit.MONTHS:
            return add_months(end, -term.amount, tz)
        case TimeUnit.WORKING_DAYS:
            local = end.astimezone(ZoneInfo(tz))
            day, remaining = local.date(), term.amount
            while remaining > 0:
                day -= timedelta(days=1)
                if is_working_day(day, country):
                    remaining -= 1
            return _at_local(day, local, tz)
    raise ValueError(f"unknown unit {term.unit}")


def calendar_days_between(start: datetime, end: datetime, tz: str) -> int:
    """Whole local calendar days from ``start``'s date to ``end``'s date."""
    zone = ZoneInfo(tz)
    return (end.astimezone(zone).date() - start.astimezone(zone).date()).days


def _at_local(day: date, like: datetime, tz: str) -> datetime:
    naive = datetime.combine(day, like.timetz().replace(tzinfo=None))
    return naive.replace(tzinfo=ZoneInfo(tz))
