"""Billing periods written as ISO-8601 durations (P1M, P3M, P1Y, P30D)."""

from __future__ import annotations

import re
from datetime import datetime

from oferta.legacy.v1.calendar import add_calendar_days, add_months

_PERIOD = re.compile(r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?$")


def parse_period(text: str) -> tuple[int, int]:
    """(months, days) of a period; a year is twelve months."""
    match = _PERIOD.match(text)
    if not match or text == "P":
        raise ValueError(f"period must look like P1M, P3M, P1Y or P30D, not {text!r}")
    years, months, days = (int(match.group(k) or 0) for k in ("years", "months", "days"))
    months += 12 * years
    if months and days:
        raise ValueError(f"period {text!r} mixes months and days")
    if not months and not days:
        raise ValueError(f"period {text!r} is empty")
    return months, days


def period_boundary(anchor: datetime, index: int, period: str, tz: str) -> datetime:
    """The start of period ``index`` (0-based) counted from ``anchor``.

    Counting every boundary from the anchor, not from the previous boundary,
    keeps a 31 January start on the 31st in later months (no drift to the 28th).
    """
    months, days = parse_period(period)
    if months:
        return add_months(anchor, months * index, tz)
    return add_calendar_days(anchor, days * index, tz)
