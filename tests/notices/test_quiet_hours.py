"""SMS waits for the morning in the customer's time zone; email goes at once (time-skipping)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from temporalio import activity

from activities.memory import MemoryLedger
from activities.models import NoticeRequest, NoticeResult
from oferta.simulate import run_scenario
from tests.workflows.scenarios import pay, scenario

ALMATY = ZoneInfo("Asia/Almaty")


@dataclass
class RecordingSender(MemoryLedger):
    """Records each send: its channel, the contract time it names and when Temporal ran it."""

    sends: list[tuple[str, str, datetime, datetime]] = field(default_factory=list)

    async def send(self, request: NoticeRequest) -> NoticeResult:
        ran_at = activity.info().current_attempt_scheduled_time
        self.sends.append((request.template.value, request.channel.value, request.at, ran_at))
        return await super().send(request)


async def test_a_reminder_due_at_night_goes_by_email_now_and_by_sms_at_nine(time_env) -> None:
    # Paid five minutes after the start: the period, and so its reminder, begins at 23:00.
    start = datetime(2027, 3, 1, 22, 55, tzinfo=ALMATY)
    sender = RecordingSender()
    result = await run_scenario(time_env, scenario("ps-kz", [pay(timedelta(minutes=5))], days=40, start=start),
                                ledger=sender)
    reminder_step = next(e.at for e in result.timeline if e.type.value == "reminder").astimezone(ALMATY)
    assert (reminder_step.hour, reminder_step.minute) == (23, 0)
    sent = {channel: (at.astimezone(ALMATY), ran) for template, channel, at, ran in sender.sends
            if template == "payment_reminder"}
    assert sent["email"][0] == reminder_step
    assert sent["sms"][0] == (reminder_step + timedelta(days=1)).replace(hour=9, minute=0)
    # Not only stamped 09:00: the worker really ran the SMS ten (skipped) hours after the email.
    waited = sent["sms"][1] - sent["email"][1]
    assert abs(waited - timedelta(hours=10)) < timedelta(seconds=5), waited  # + the tasks' own real time
    entries = {e.detail["channel"]: e.at.astimezone(ALMATY) for e in result.timeline
               if e.type.value == "notice" and e.detail["template"] == "payment_reminder"}
    assert entries == {"email": sent["email"][0], "sms": sent["sms"][0]}
