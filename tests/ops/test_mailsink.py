"""The local SMTP sink keeps every message it receives as an .eml file the inbox can show."""

from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage
from pathlib import Path

from oferta.mailsink import read_messages, start_sink


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
