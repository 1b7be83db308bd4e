"""Which notice goes out on which channel, and when (quiet hours for SMS)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel

from oferta.legacy.v1.schema import Channel, NoticeTemplate, Policy, QuietHours


class NoticeIntent(BaseModel):
    """A notice the contract calls for, before it is split into channels."""

    template: NoticeTemplate
    key: str
    clause: str | None
    detail: dict[str, Any]


class Delivery(BaseModel):
    """One notice on one channel, ready to send at ``send_at``."""

    send_at: AwareDatetime
    template: NoticeTemplate
    channel: Channel
    key: str
    clause: str | None
    detail: dict[str, Any]
    period_index: int

    @property
    def idempotency_suffix(self) -> str:
        return f"{self.period_index}:{self.key}:{self.channel.value}"


def _parse(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def quiet_hours_end(now: datetime, quiet: QuietHours, tz: str) -> datetime:
    """``now`` if outside the quiet window, else the moment the window ends."""
    local = now.astimezone(ZoneInfo(tz))
    start, end = _parse(quiet.start), _parse(quiet.end)
    clock = local.time().replace(tzinfo=None)
    if start == end:
        return now
    wraps_midnight = start > end
    quiet_now = (clock >= start or clock < end) if wraps_midnight else start <= clock < end
    if not quiet_now:
        return now
    day = local.date()
    if wraps_midnight and clock >= start:
        day += timedelta(days=1)
    return datetime.combine(day, end, tzinfo=ZoneInfo(tz))


def deliveries_for(intent: NoticeIntent, policy: Policy, now: datetime, period_index: int) -> list[Delivery]:
    result = []
    for channel in policy.notices.get(intent.template, []):
        send_at = now
        if channel is Channel.SMS:
            send_at = quiet_hours_end(now, policy.quiet_hours, policy.provider.timezone)
        result.append(
            Delivery(
                send_at=send_at,
                template=intent.template,
                channel=channel,
                key=intent.key,
                clause=intent.clause,
                detail=intent.detail,
                period_index=period_index,
            )
        )
    return result
