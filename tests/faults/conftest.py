"""Fault tests' fixtures: one Oferta (API + worker) per database for the tests that need no
deployment of their own; a migrated PostgreSQL schema per test and an SMTP sink that can go
down and come back for those that do."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller

from oferta.db.migrate import upgrade
from tests.api.harness import Oferta, oferta
from tests.fakes.smtp import start_smtp


@pytest_asyncio.fixture(scope="session")
async def api(dev_env, database_url) -> AsyncIterator[Oferta]:
    async with oferta(dev_env, database_url) as running:
        yield running


@pytest.fixture
def pg_url(_pg_schemas) -> str:
    """A fresh, migrated PostgreSQL schema (dropped at the end of the session)."""
    url = _pg_schemas.new()
    upgrade(url)
    return url


class Mail:
    """The real SMTP sink (tests/fakes/smtp.py) on a fixed port, which the test can take down
    (connections refused, as when a mail server is down) and bring back with the same inbox."""

    def __init__(self) -> None:
        self.controller: Controller | None
        self.controller, self.inbox, self.port = start_smtp()

    def down(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def up(self) -> None:
        if self.controller is None:
            self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
            self.controller.start()


@pytest.fixture
def mail() -> Iterator[Mail]:
    sink = Mail()
    try:
        yield sink
    finally:
        sink.down()
