"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the tests to read."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)  # mailboxes answered 550, as for an unknown user

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options) -> str:
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(
            message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        )
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    # aiosmtpd's controller probes its own port once started, so it needs a real one, not 0.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_smtp() -> tuple[Controller, Inbox, int]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox, port
