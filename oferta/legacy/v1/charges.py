"""Late fees, proration and refunds: the money side of the timeline."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from oferta.legacy.v1.calendar import calendar_days_between
from oferta.legacy.v1.schema import LateFee
from oferta.timeline.money import Money


class LateFeeAssessment(BaseModel):
    fee: Money
    days_late: int
    capped: bool


def assess_late_fee(
    debt: Money, due_at: datetime, paid_at: datetime, rule: LateFee, tz: str
) -> LateFeeAssessment:
    """Penalty for each calendar day of delay, capped at a share of the debt."""
    days = max(0, calendar_days_between(due_at, paid_at, tz)) if paid_at > due_at else 0
    fee = debt.times(rule.rate_per_day * days)
    capped = False
    if rule.cap_ratio is not None:
        cap = debt.times(rule.cap_ratio)
        if fee.amount > cap.amount:
            fee, capped = cap, True
    return LateFeeAssessment(fee=fee, days_late=days, capped=capped)


def prorate(
    price: Money,
    period_start: datetime,
    period_end: datetime,
    used_from: datetime,
    used_to: datetime,
    tz: str,
) -> Money:
    """The share of ``price`` for the calendar days in [used_from, used_to) of the period."""
    total = calendar_days_between(period_start, period_end, tz)
    used_from, used_to = max(used_from, period_start), min(used_to, period_end)
    if total <= 0 or used_to <= used_from:
        return Money.zero(price.currency)
    days = calendar_days_between(used_from, used_to, tz)
    return price.times(Decimal(days) / Decimal(total))
