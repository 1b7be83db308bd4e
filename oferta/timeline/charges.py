"""Late fees, proration and refunds: the money side of the timeline."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from oferta.policy.schema import LateFee
from oferta.timeline.calendar import calendar_days_between
from oferta.timeline.money import Money
from oferta.timeline.state import Invoice


class LateFeeAssessment(BaseModel):
    fee: Money
    days_late: int
    capped: bool


def assess_late_fee(invoice: Invoice, paid_at: datetime, rule: LateFee, tz: str) -> LateFeeAssessment:
    """Penalty for each calendar day of delay, capped at a share of the debt.

    A day of delay is each day after the last day to pay, up to and including the
    day the invoice was paid in full. The rate applies to what was still unpaid at
    the start of that day (``base: unpaid_remainder``, SmartApe 7.9, PS.kz 6.4) or
    to the whole invoice as written (``base: invoice_amount``, ONELAB 5.3).
    """
    zone = ZoneInfo(tz)
    paid_on = paid_at.astimezone(zone).date()
    days = max(0, (paid_on - invoice.due_on).days)
    total = Decimal(0)  # exact: rounded to the cent once, at the end
    for offset in range(1, days + 1):
        day = invoice.due_on + timedelta(days=offset)
        if rule.base == "invoice_amount":
            base = invoice.amount.amount
        else:
            paid_before = sum(
                (i.amount.amount for i in invoice.installments if i.at.astimezone(zone).date() < day),
                Decimal(0),
            )
            base = max(Decimal(0), invoice.amount.amount - paid_before)
        total += base * rule.rate_per_day
    fee = Money.of(total, invoice.amount.currency)
    capped = False
    if rule.cap_ratio is not None:
        cap = invoice.amount.times(rule.cap_ratio)
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
