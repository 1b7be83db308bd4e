"""The notice ledger: each notice is sent once, skipped or failed visibly, never twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError

from oferta.db.models import Notice
from oferta.db.session import session_scope
from oferta.effects import NoticeRequest
from oferta.notices.email import EmailSender
from oferta.notices.ledger import LedgerNoticeSender
from oferta.notices.sms import SmsSender
from oferta.policy.schema import Channel, NoticeTemplate
from tests.notices.conftest import add_customer

DETAIL = {
    "service_id": "svc-1",
    "tariff": "Basic",
    "provider": "PS.kz",
    "policy_id": "ps-kz",
    "service_kind": "hosting",
    "reason": "non_payment",
    "note": None,
    "debt": "2500.00",
    "currency": "KZT",
    "restore_until": "2027-04-08T10:05:00+05:00",
    "deletion_at": "2027-04-08T10:05:00+05:00",
}


def request(customer_id: str, channel: Channel, key: str | None = None) -> NoticeRequest:
    return NoticeRequest(
        idempotency_key=key or f"service-svc-1:0:suspended:{uuid.uuid4().hex}:{channel.value}",
        service_id="svc-1",
        customer_id=customer_id,
        policy_id="ps-kz",
        provider_name="PS.kz",
        template=NoticeTemplate.SUSPENDED,
        channel=channel,
        clause="3.16",
        detail=DETAIL,
        at=datetime(2027, 4, 1, 5, 5, tzinfo=UTC),
    )


def ledger_row(url: str, key: str) -> Notice:
    with session_scope(url) as session:
        row = session.scalars(select(Notice).where(Notice.idempotency_key == key)).one()
        session.expunge(row)
        return row


def sender(url: str, settings) -> LedgerNoticeSender:
    return LedgerNoticeSender(url, EmailSender(settings), SmsSender(settings))


async def test_a_notice_is_sent_once_however_often_the_activity_runs(database_url, settings, smtp, twilio):
    inbox, _ = smtp
    customer = f"c-{uuid.uuid4().hex[:8]}"
    add_customer(database_url, customer, email=f"{customer}@example.kz", phone="+77010000009", locale="kk")
    for channel in (Channel.EMAIL, Channel.SMS):
        notice = request(customer, channel)
        first = await sender(database_url, settings).send(notice)
        again = await sender(database_url, settings).send(notice)  # a retry, or a new worker
        assert first.status == again.status == "sent" and first.locale == "kk"
        assert again.provider_message_id == first.provider_message_id
        row = ledger_row(database_url, notice.idempotency_key)
        assert (row.status, row.attempts, row.clause) == ("sent", 1, "3.16")
        assert row.subject == "«Basic» қызметі тоқтатылды"
    assert len(inbox.to(f"{customer}@example.kz")) == 1
    assert len(twilio.sent_to("+77010000009")) == 1


async def test_no_address_is_skipped_and_recorded(database_url, settings, twilio):
    customer = f"c-{uuid.uuid4().hex[:8]}"
    add_customer(database_url, customer, phone=None)
    notice = request(customer, Channel.SMS)
    result = await sender(database_url, settings).send(notice)
    assert result.status == "skipped" and twilio.attempts == 0
    assert ledger_row(database_url, notice.idempotency_key).status == "skipped"


async def test_an_invalid_number_fails_for_good_and_shows_as_failed(database_url, settings, twilio):
    customer = f"c-{uuid.uuid4().hex[:8]}"
    add_customer(database_url, customer, phone="+70000000000")
    twilio.invalid_numbers.add("+70000000000")
    notice = request(customer, Channel.SMS)
    with pytest.raises(ApplicationError) as raised:
        await sender(database_url, settings).send(notice)
    assert raised.value.type == "InvalidRecipient" and raised.value.non_retryable
    row = ledger_row(database_url, notice.idempotency_key)
    assert row.status == "failed" and "21211" in row.error


async def test_a_transient_failure_is_failed_until_the_retry_sends_it(database_url, settings, twilio):
    customer = f"c-{uuid.uuid4().hex[:8]}"
    add_customer(database_url, customer, phone="+77010000007")
    twilio.fail_next.append(500)
    notice = request(customer, Channel.SMS)
    with pytest.raises(Exception):  # noqa: B017 - whatever the client raises, the activity retries it
        await sender(database_url, settings).send(notice)
    assert ledger_row(database_url, notice.idempotency_key).status == "failed"
    assert (await sender(database_url, settings).send(notice)).status == "sent"
    row = ledger_row(database_url, notice.idempotency_key)
    assert (row.status, row.attempts) == ("sent", 2) and len(twilio.sent_to("+77010000007")) == 1


async def test_a_worker_that_died_after_sending_an_sms_does_not_send_it_again(database_url, settings, twilio):
    customer = f"c-{uuid.uuid4().hex[:8]}"
    add_customer(database_url, customer, phone="+77010000005")
    notice = request(customer, Channel.SMS)
    ledger = sender(database_url, settings)
    # The first worker claimed the row, marked it sending and got the SMS out, then died.
    claim = ledger._claim(notice)
    assert claim.status == "pending"
    from oferta.notices.render import render

    rendered = render(notice, "ru")
    ledger._sending(notice.idempotency_key, "+77010000005", rendered)
    sid = await SmsSender(settings).send("+77010000005", rendered.sms)
    # A new worker retries the activity: Twilio already has the message, so nothing is sent.
    result = await sender(database_url, settings).send(notice)
    assert result.status == "sent" and result.provider_message_id == sid
    assert len(twilio.sent_to("+77010000005")) == 1


async def test_a_refused_mailbox_fails_for_good(database_url, settings, smtp):
    inbox, _ = smtp
    customer = f"c-{uuid.uuid4().hex[:8]}"
    add_customer(database_url, customer, email=f"{customer}@example.kz")
    inbox.refused.add(f"{customer}@example.kz")
    notice = request(customer, Channel.EMAIL)
    with pytest.raises(ApplicationError) as raised:
        await sender(database_url, settings).send(notice)
    assert raised.value.type == "InvalidRecipient" and raised.value.non_retryable
    row = ledger_row(database_url, notice.idempotency_key)
    assert row.status == "failed" and "550" in row.error and inbox.messages == []


async def test_an_email_left_sending_by_a_dead_worker_goes_again_with_the_same_message_id(
    database_url, settings, smtp
):
    """SMTP cannot be asked what it delivered: the resend carries the first Message-ID, and mail
    clients (and most providers' inboxes) show one message per Message-ID."""
    inbox, _ = smtp
    customer = f"c-{uuid.uuid4().hex[:8]}"
    address = f"{customer}@example.kz"
    add_customer(database_url, customer, email=address)
    notice = request(customer, Channel.EMAIL)
    from oferta.notices.render import render

    rendered = render(notice, "ru")
    ledger = sender(database_url, settings)
    ledger._claim(notice)
    ledger._sending(notice.idempotency_key, address, rendered)
    first_id = await EmailSender(settings).send(address, rendered, notice.idempotency_key)  # then it died
    result = await sender(database_url, settings).send(notice)
    assert result.status == "sent" and result.provider_message_id == first_id
    assert {m["Message-ID"] for m in inbox.to(address)} == {first_id}
    row = ledger_row(database_url, notice.idempotency_key)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_an_sms_whose_answer_was_lost_is_found_not_sent_again(database_url, settings, twilio):
    """Twilio created the message but its answer never arrived (a 502): the retry asks Twilio first."""
    customer = f"c-{uuid.uuid4().hex[:8]}"
    add_customer(database_url, customer, phone="+77010000004")
    notice = request(customer, Channel.SMS)
    twilio.lose_next_response = True
    with pytest.raises(ApplicationError):
        await sender(database_url, settings).send(notice)
    assert ledger_row(database_url, notice.idempotency_key).status == "failed"
    result = await sender(database_url, settings).send(notice)
    [message] = twilio.sent_to("+77010000004")
    assert result.status == "sent" and result.provider_message_id == message["sid"]


async def test_the_same_text_sent_for_another_notice_is_not_taken_for_this_one(
    database_url, settings, twilio
):
    customer = f"c-{uuid.uuid4().hex[:8]}"
    add_customer(database_url, customer, phone="+77010000006")
    first, second = request(customer, Channel.SMS), request(customer, Channel.SMS)  # the same words
    twilio.fail_next.append(503)
    with pytest.raises(ApplicationError):
        await sender(database_url, settings).send(first)  # claimed, then Twilio was down
    other = await sender(database_url, settings).send(second)  # the same text goes out meanwhile
    retried = await sender(database_url, settings).send(first)
    assert retried.status == "sent" and retried.provider_message_id != other.provider_message_id
    assert len(twilio.sent_to("+77010000006")) == 2  # the first notice went out too
