"""SMS waits for the morning in the customer's time zone; email goes at once (time-skipping)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from temporalio import activity

from activities.memory import MemoryLedger
from oferta.effects import NoticeRequest, NoticeResult
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


async def test_a_suspension_at_midnight_goes_by_email_now_and_by_sms_at_nine(time_env) -> None:
    # The renewal of a service paid at 23:00 on 1 March falls due by 24:00 on 30 March (3 working
    # days, 5.8 and 1.12): it is suspended at 00:00 on 31 March, inside the quiet hours.
    start = datetime(2027, 3, 1, 22, 55, tzinfo=ALMATY)
    sender = RecordingSender()
    result = await run_scenario(
        time_env, scenario("ps-kz", [pay(timedelta(minutes=5))], days=35, start=start), ledger=sender
    )
    suspended_step = next(e.at for e in result.timeline if e.type.value == "suspended").astimezone(ALMATY)
    assert suspended_step == datetime(2027, 3, 31, 0, 0, tzinfo=ALMATY)
    sent = {
        channel: (at.astimezone(ALMATY), ran)
        for template, channel, at, ran in sender.sends
        if template == "suspended"
    }
    assert sent["email"][0] == suspended_step
    assert sent["sms"][0] == suspended_step.replace(hour=9)
    # Not only stamped 09:00: the worker really ran the SMS nine (skipped) hours after the email.
    waited = sent["sms"][1] - sent["email"][1]
    assert abs(waited - timedelta(hours=9)) < timedelta(seconds=5), waited  # + the tasks' own real time
    entries = {
        e.detail["channel"]: e.at.astimezone(ALMATY)
        for e in result.timeline
        if e.type.value == "notice" and e.detail["template"] == "suspended"
    }
    assert entries == {"email": sent["email"][0], "sms": sent["sms"][0]}
