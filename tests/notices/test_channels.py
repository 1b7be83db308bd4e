"""Email through a real SMTP server and SMS through the real twilio client, both on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError

from oferta.notices.email import EmailSender, message_id
from oferta.notices.render import RenderedNotice
from oferta.notices.sms import PermanentSmsError, SmsSender

NOTICE = RenderedNotice(
    locale="ru",
    subject="Услуга «Basic» приостановлена",
    text="Услуга приостановлена.\n\nОснование: п. 3.16 договора-оферты PS.kz.",
    html="<!doctype html><html><body><p>Услуга приостановлена.</p></body></html>",
    sms="PS.kz: услуга приостановлена. (п. 3.16)",
)


async def test_email_arrives_multipart_with_a_stable_message_id(settings, smtp) -> None:
    inbox, _ = smtp
    sent_id = await EmailSender(settings).send("client@example.kz", NOTICE, "service-1:0:suspended:email")
    [message] = inbox.to("client@example.kz")
    assert message["Subject"] == NOTICE.subject
    assert message["Message-ID"] == sent_id == message_id("service-1:0:suspended:email", "ps.example")
    assert message["From"] == "billing@ps.example" and message["Content-Language"] == "ru"
    assert message.get_body(("plain",)).get_content().strip().endswith("п. 3.16 договора-оферты PS.kz.")
    assert "<p>Услуга приостановлена.</p>" in message.get_body(("html",)).get_content()


async def test_sms_goes_through_the_twilio_client_and_returns_the_sid(settings, twilio) -> None:
    sid = await SmsSender(settings).send("+77010000001", NOTICE.sms)
    [message] = twilio.sent_to("+77010000001")
    assert message["sid"] == sid and sid.startswith("SM")
    assert message["body"] == NOTICE.sms and message["from"] == "+77000000000"


async def test_invalid_number_is_permanent_rate_limit_is_not(settings, twilio) -> None:
    twilio.invalid_numbers.add("+70000000000")
    with pytest.raises(PermanentSmsError, match="21211"):
        await SmsSender(settings).send("+70000000000", "x")
    twilio.fail_next.append(429)
    twilio.retry_after = "17"
    with pytest.raises(ApplicationError) as raised:
        await SmsSender(settings).send("+77010000001", "x")
    # Retryable, and Temporal waits as long as Twilio asked before the next attempt.
    assert raised.value.type == "SmsRateLimited" and not raised.value.non_retryable
    assert raised.value.next_retry_delay == timedelta(seconds=17)
    twilio.fail_next.append(500)
    with pytest.raises(ApplicationError) as raised:
        await SmsSender(settings).send("+77010000001", "x")
    assert raised.value.type == "SmsProviderError" and raised.value.next_retry_delay is None
    assert await SmsSender(settings).send("+77010000001", "x")  # the next try goes through
    assert len(twilio.sent_to("+77010000001")) == 1


async def test_a_sent_sms_is_found_again_by_number_and_body(settings, twilio) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    sid = await SmsSender(settings).send("+77010000001", "hello")
    assert await SmsSender(settings).find_sent("+77010000001", "hello", since) == sid
    assert await SmsSender(settings).find_sent("+77010000001", "other", since) is None
