"""Email through SMTP (aiosmtplib): multipart text and HTML, a Message-ID stable across retries."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from oferta.notices.render import RenderedNotice
from oferta.settings import Settings


class PermanentEmailError(Exception):
    """The server refused the recipient for good (5xx to RCPT)."""


def message_id(idempotency_key: str, domain: str = "oferta") -> str:
    """The same notice always carries the same Message-ID, so a resend is recognisable."""
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@{domain}>"


def build_message(sender: str, to: str, notice: RenderedNotice, idempotency_key: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = notice.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id(idempotency_key, sender.rpartition("@")[2] or "oferta")
    message.set_content(notice.text)
    message.add_alternative(notice.html, subtype="html")
    message["Content-Language"] = notice.locale  # after the body: set_content resets Content-*
    return message


class EmailSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, to: str, notice: RenderedNotice, idempotency_key: str) -> str:
        s = self.settings
        message = build_message(s.mail_from, to, notice, idempotency_key)
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password,
                start_tls=s.smtp_starttls or None,
                use_tls=s.smtp_tls,
                timeout=30,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [error.code for error in exc.recipients]
            if codes and all(500 <= code < 600 for code in codes):
                raise PermanentEmailError(f"recipient refused: {codes}") from exc
            raise
        return message["Message-ID"]
