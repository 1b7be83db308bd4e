"""Twilio's delivery callbacks reach the ledger; the local inbox page shows the mail a customer got."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from api.main import create_app
from oferta.db.migrate import upgrade
from oferta.dev.mailsink import start_sink
from oferta.notices.email import EmailSender
from oferta.notices.ledger import LedgerNoticeSender
from oferta.notices.sms import SmsSender
from oferta.policy.schema import Channel
from oferta.settings import Settings
from tests.fakes.smtp import free_port
from tests.notices.conftest import add_customer
from tests.notices.test_ledger import ledger_row, request

CALLBACK = "https://oferta.example.kz/v1/twilio/status"


def api(settings: Settings) -> httpx.AsyncClient:
    # No lifespan: these routes need the database only, not Temporal.
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://oferta.test"
    )


@pytest.fixture
def api_settings(settings: Settings, tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'oferta.db'}"
    upgrade(url)
    return settings.model_copy(update={"database_url": url, "twilio_status_callback_url": CALLBACK})


async def test_a_signed_status_callback_updates_the_ledger(api_settings: Settings, twilio) -> None:
    url = api_settings.effective_database_url
    add_customer(url, "c-status", phone="+77010000003")
    notice = request("c-status", Channel.SMS)
    sent = await LedgerNoticeSender(url, EmailSender(api_settings), SmsSender(api_settings), CALLBACK).send(
        notice
    )
    [message] = twilio.sent_to("+77010000003")
    assert twilio.status_callbacks[message["sid"]] == CALLBACK  # Twilio is told where to report

    def signed(form: dict[str, str], token: str = "secret") -> dict[str, str]:
        return {"X-Twilio-Signature": RequestValidator(token).compute_signature(CALLBACK, form)}

    async with api(api_settings) as client:
        delivered = {
            "MessageSid": sent.provider_message_id,
            "MessageStatus": "delivered",
            "AccountSid": api_settings.twilio_account_sid,
        }
        forged = await client.post("/v1/twilio/status", data=delivered, headers=signed(delivered, "guess"))
        assert forged.status_code == 403
        assert ledger_row(url, notice.idempotency_key).delivery_status is None
        answer = await client.post("/v1/twilio/status", data=delivered, headers=signed(delivered))
        assert answer.status_code == 204
        assert ledger_row(url, notice.idempotency_key).delivery_status == "delivered"

        undelivered = {
            "MessageSid": sent.provider_message_id,
            "MessageStatus": "undelivered",
            "ErrorCode": "30003",
        }
        await client.post("/v1/twilio/status", data=undelivered, headers=signed(undelivered))
        row = ledger_row(url, notice.idempotency_key)
        assert row.status == "sent" and row.delivery_status == "undelivered" and "30003" in row.error

        unknown = {"MessageSid": "SM" + uuid.uuid4().hex, "MessageStatus": "delivered"}
        assert (
            await client.post("/v1/twilio/status", data=unknown, headers=signed(unknown))
        ).status_code == 404


async def test_the_inbox_lists_and_shows_the_mail_the_sink_received(api_settings: Settings) -> None:
    port = free_port()
    sink = start_sink("127.0.0.1", port, api_settings.data_dir / "mail")
    settings = api_settings.model_copy(update={"smtp_port": port})
    url = settings.effective_database_url
    add_customer(url, "c-inbox", email="inbox@example.kz", locale="kk")
    try:
        notice = request("c-inbox", Channel.EMAIL)
        await LedgerNoticeSender(url, EmailSender(settings), SmsSender(settings)).send(notice)
    finally:
        sink.stop()
    [eml] = (settings.data_dir / "mail").glob("*.eml")
    subject = ledger_row(url, notice.idempotency_key).subject
    async with api(settings) as client:
        listing = (await client.get("/inbox")).text
        assert "inbox@example.kz" in listing and subject in listing and eml.name in listing
        shown = (await client.get(f"/inbox/{eml.name}")).text
        assert subject in shown and "3.16-тармағы" in shown  # the clause, in Kazakh
        assert (await client.get("/inbox/..%2Foferta.db")).status_code == 404
    async with api(settings.model_copy(update={"inbox_enabled": False})) as client:
        assert (await client.get("/inbox")).status_code == 404
