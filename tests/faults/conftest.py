"""One Oferta (API + worker) per database for the fault tests that need no deployment of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.api.harness import Oferta, oferta


@pytest_asyncio.fixture(scope="session")
async def api(dev_env, database_url) -> AsyncIterator[Oferta]:
    async with oferta(dev_env, database_url) as running:
        yield running
