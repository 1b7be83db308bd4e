"""Real SMTP and a Twilio-compatible server on loopback; settings pointing at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from oferta.db.models import Customer
from oferta.db.session import session_scope
from oferta.settings import Settings
from tests.fakes.smtp import Inbox, start_smtp
from tests.fakes.twilio_server import FakeTwilio


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    controller, inbox, port = start_smtp()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest_asyncio.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    server = await FakeTwilio(auth_token="secret").start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def settings(smtp, twilio, tmp_path: Path) -> Settings:
    _, port = smtp
    return Settings(
        OFERTA_DATA_DIR=tmp_path,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        OFERTA_MAIL_FROM="billing@ps.example",
        TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        TWILIO_AUTH_TOKEN="secret",
        TWILIO_FROM_NUMBER="+77000000000",
        TWILIO_BASE_URL=twilio.base_url,
    )


def add_customer(
    url: str,
    customer_id: str,
    *,
    email: str | None = "client@example.kz",
    phone: str | None = "+77010000001",
    locale: str = "ru",
) -> None:
    with session_scope(url) as session:
        session.add(Customer(id=customer_id, name="ТОО Ромашка", email=email, phone=phone, locale=locale))
