"""A local SMTP sink: every message it receives becomes a readable .eml file.

The embedded default (``./run``) sends the customers' email here, so a new user
sees the notices (``<data_dir>/mail/`` and the API's ``/inbox`` page). When the notices
package ships its own sink (``oferta.notices.sink.start_sink``), ``main`` runs that one.

    python -m oferta.dev.mailsink [--sms]    (SMTP_HOST / SMTP_PORT / OFERTA_SMS_SINK_PORT / OFERTA_DATA_DIR)
"""

from __future__ import annotations

import asyncio
import re
import signal
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class MaildirHandler:
    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        maildir.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else content.encode()
        message = message_from_bytes(data, policy=policy.default)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        ident = _UNSAFE.sub("_", str(message.get("Message-ID", "")).strip("<>"))[:80] or "message"
        path = self.maildir / f"{stamp}-{ident}.eml"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(data)
        temporary.rename(path)  # readers never see half a message
        return "250 Message accepted for delivery"


def start_sink(host: str, port: int, maildir: Path) -> Controller:
    """Start the sink in a background thread; ``controller.stop()`` ends it."""
    controller = Controller(MaildirHandler(maildir), hostname=host, port=port)
    controller.start()
    return controller


def read_messages(maildir: Path, limit: int = 100) -> list[tuple[Path, EmailMessage]]:
    """The newest messages first."""
    paths = sorted(maildir.glob("*.eml"), reverse=True)[:limit] if maildir.exists() else []
    return [(p, message_from_bytes(p.read_bytes(), policy=policy.default)) for p in paths]


def main() -> None:
    """The local sinks of ``./run``: SMTP always, and with ``--sms`` the local SMS sink too."""
    import sys

    from oferta.dev.smssink import start_sms_sink
    from oferta.settings import get_settings

    settings = get_settings()
    maildir = settings.data_dir / "mail"
    try:
        from oferta.notices.sink import start_sink as start  # the notices package's own sink
    except ModuleNotFoundError as exc:
        if exc.name != "oferta.notices.sink":
            raise
        start = start_sink
    controller = start(settings.smtp_host, settings.smtp_port, maildir)
    print(f"SMTP sink on {settings.smtp_host}:{settings.smtp_port}, writing to {maildir}", flush=True)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        sms = None
        if "--sms" in sys.argv[1:]:
            smsdir = settings.data_dir / "sms"
            sms = await start_sms_sink("127.0.0.1", settings.sms_sink_port, smsdir)
            print(f"SMS sink on 127.0.0.1:{settings.sms_sink_port}, writing to {smsdir}", flush=True)
        try:
            await stop.wait()
        finally:
            if sms:
                await sms.cleanup()

    try:
        asyncio.run(serve())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
