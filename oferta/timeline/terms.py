"""Statutory terms: when a contractual term has run out (KZ CC arts. 172-176, EE GPCCA §§ 134-137).

A term starts the day after its event, ends at 24:00 local of its last day, and a last day
that is a day off moves to the next working day. Pure and deterministic: no I/O, no clock,
so it runs inside Temporal workflows. See /work/shared/law-terms.md, "What a contract engine must do".
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from oferta.timeline.calendar import is_working_day

_ONE_DAY = timedelta(days=1)


class Unit(StrEnum):
    """The units a law or contract counts a term in."""

    HOURS = "hours"
    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"
    WEEKS = "weeks"
    MONTHS = "months"
    YEARS = "years"


@dataclass(frozen=True)
class TermRules:
    """How one contract counts its terms."""

    country: str  # "KZ" or "EE": the calendar of public holidays/days off
    tz: str  # "Asia/Almaty" or "Europe/Tallinn": the governing law's civil time
    roll_last_day_off: bool = True  # a last day off moves to the next working day (KZ art. 175, EE § 136(8))


def _aware(instant: datetime) -> datetime:
    """Terms are legal facts about instants: a naive time has no meaning, so refuse it."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant!r}: pass a timezone-aware one")
    return instant


def local_date(instant: datetime, tz: str) -> date:
    """The local calendar date of an aware instant: the day that counts as the term's event day."""
    return _aware(instant).astimezone(ZoneInfo(tz)).date()


def start_of_day(day: date, tz: str) -> datetime:
    """00:00 local of ``day``: the instant a day begins (and the previous day's 24:00)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))


def _add_months(day: date, months: int) -> date:
    """Same day-of-month ``months`` later (or earlier), clamped to a shorter month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def _roll(day: date, country: str) -> date:
    """The first working day on or after ``day`` (only ever forward: KZ art. 175, EE § 136(8))."""
    while not is_working_day(day, country):
        day += _ONE_DAY
    return day


def last_day(start: date, amount: int, unit: Unit, rules: TermRules) -> date:
    """The last day of a term of ``amount`` units that starts with an event on local date ``start``.

    The event's own day is not counted (KZ art. 173, EE § 135(1)); months and years are computed
    from ``start``, never chained (KZ art. 174). HOURS have no last day and are refused.
    """
    if amount < 0:
        raise ValueError(f"a term cannot be negative: {amount}")
    match unit:
        case Unit.CALENDAR_DAYS:
            day = start + timedelta(days=amount)
        case Unit.WEEKS:
            day = start + timedelta(weeks=amount)
        case Unit.MONTHS:
            day = _add_months(start, amount)
        case Unit.YEARS:
            day = _add_months(start, 12 * amount)
        case Unit.WORKING_DAYS:
            day, remaining = start, amount
            while remaining > 0:
                day += _ONE_DAY
                remaining -= is_working_day(day, rules.country)
        case _:
            raise ValueError(f"{unit} terms have no last day: use term_end")
    return _roll(day, rules.country) if rules.roll_last_day_off else day


def term_end(start: datetime, amount: int, unit: Unit, rules: TermRules) -> datetime:
    """The instant a term from event ``start`` has run out: 24:00 local of its last day (exclusive).

    An act at 23:59:59 on the last day is in time; at the returned instant it is late.
    HOURS run exactly from the event instant, without roll-over. ``amount == 0`` means "at once":
    the event instant itself (expressed in the rules' time zone).
    """
    zone = ZoneInfo(rules.tz)
    if amount == 0:
        return _aware(start).astimezone(zone)
    if unit is Unit.HOURS:
        return (_aware(start).astimezone(UTC) + timedelta(hours=amount)).astimezone(zone)
    return start_of_day(last_day(local_date(start, rules.tz), amount, unit, rules) + _ONE_DAY, rules.tz)


def term_end_from_date(start: date, amount: int, unit: Unit, rules: TermRules) -> datetime:
    """Like ``term_end`` for a term counted from a calendar date ("30 days from the due date").

    ``amount == 0`` ends at 24:00 of ``start`` itself (rolled if that is a day off).
    """
    if unit is Unit.HOURS:
        raise ValueError("an hours term needs an instant: use term_end")
    return start_of_day(last_day(start, amount, unit, rules) + _ONE_DAY, rules.tz)


def working_days_between(first: date, last: date, country: str) -> int:
    """Working days in [first, last], both included; 0 when ``last`` is before ``first``."""
    return sum(is_working_day(first + timedelta(days=i), country) for i in range((last - first).days + 1))


def before(end: datetime, amount: int, unit: Unit, rules: TermRules) -> datetime:
    """An operational lead ("remind 1 day before"): ``amount`` units before ``end``, same local clock.

    Counts calendar days/weeks/months/years back, or working days back; HOURS are exact.
    Never rolls: it is for reminders, never for legal terms.
    """
    zone = ZoneInfo(rules.tz)
    local = _aware(end).astimezone(zone)
    if amount < 0:
        raise ValueError(f"a lead cannot be negative: {amount}")
    match unit:
        case Unit.HOURS:
            return (local.astimezone(UTC) - timedelta(hours=amount)).astimezone(zone)
        case Unit.CALENDAR_DAYS:
            day = local.date() - timedelta(days=amount)
        case Unit.WEEKS:
            day = local.date() - timedelta(weeks=amount)
        case Unit.MONTHS:
            day = _add_months(local.date(), -amount)
        case Unit.YEARS:
            day = _add_months(local.date(), -12 * amount)
        case Unit.WORKING_DAYS:
            day, remaining = local.date(), amount
            while remaining > 0:
                day -= _ONE_DAY
                remaining -= is_working_day(day, rules.country)
        case _:
            raise ValueError(f"unknown unit {unit}")
    # Through UTC so a clock time skipped by a DST change becomes a real instant.
    return datetime.combine(day, local.time(), tzinfo=zone).astimezone(UTC).astimezone(zone)
