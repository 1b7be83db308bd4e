"""SMS waits for the morning in the customer's time zone; email goes at once (time-skipping)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from oferta.simulate import run_scenario
from tests.workflows.scenarios import pay, scenario

ALMATY = ZoneInfo("Asia/Almaty")


async def test_a_reminder_due_at_night_goes_by_email_now_and_by_sms_at_nine(time_env) -> None:
    start = datetime(2027, 3, 1, 22, 30, tzinfo=ALMATY)
    result = await run_scenario(time_env, scenario("ps-kz", [pay(timedelta(minutes=5))], days=40, start=start))
    reminders = {e.detail["channel"]: e.at.astimezone(ALMATY) for e in result.timeline
                 if e.type.value == "notice" and e.detail["template"] == "payment_reminder"}
    reminder_step = next(e.at for e in result.timeline if e.type.value == "reminder").astimezone(ALMATY)
    assert reminder_step.hour == 22
    assert reminders["email"] == reminder_step
    assert reminders["sms"] == (reminder_step + timedelta(days=1)).replace(hour=9, minute=0)
