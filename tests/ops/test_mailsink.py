"""The local SMTP sink keeps every message it receives as an .eml file the inbox can show."""

from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage
from pathlib import Path

from oferta.dev.mailsink import read_messages, start_sink


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_sent_message_lands_in_the_maildir(tmp_path: Path) -> None:
    port = _free_port()
    controller = start_sink("127.0.0.1", port, tmp_path / "mail")
    try:
        message = EmailMessage()
        message["From"], message["To"] = "noreply@oferta.local", "client@example.kz"
        message["Subject"] = "Услуга приостановлена"
        message.set_content("Оплатите счёт до 20 декабря (п. 5.8).")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(message)
    finally:
        controller.stop()
    [(path, received)] = read_messages(tmp_path / "mail")
    assert path.suffix == ".eml"
    assert received["Subject"] == "Услуга приостановлена"
    assert "п. 5.8" in received.get_body().get_content()


async def test_the_local_sms_sink_answers_the_real_twilio_client(tmp_path: Path) -> None:
    """./run points the SMS sender here when no Twilio account is set: sent, kept, found again."""
    from datetime import UTC, datetime, timedelta

    from oferta.dev.smssink import read_sms, start_sms_sink
    from oferta.notices.sms import SmsSender
    from oferta.settings import Settings

    port = _free_port()
    runner = await start_sms_sink("127.0.0.1", port, tmp_path / "sms")
    try:
        sender = SmsSender(Settings(TWILIO_BASE_URL=f"http://127.0.0.1:{port}"))
        before = datetime.now(UTC) - timedelta(seconds=1)
        sid = await sender.send("+77010000001", "Услуга приостановлена: оплатите 2 500 ₸")
        assert sid.startswith("SM")
        # The sender looks for a message it already sent before sending again after a crash.
        assert (
            await sender.find_sent("+77010000001", "Услуга приостановлена: оплатите 2 500 ₸", before) == sid
        )
        assert (
            await sender.find_sent("+77010000002", "Услуга приостановлена: оплатите 2 500 ₸", before) is None
        )
        later = datetime.now(UTC) + timedelta(minutes=1)
        assert (
            await sender.find_sent("+77010000001", "Услуга приостановлена: оплатите 2 500 ₸", later) is None
        )
    finally:
        await runner.cleanup()
    [kept] = read_sms(tmp_path / "sms")
    assert kept["to"] == "+77010000001" and kept["body"].endswith("2 500 ₸")
