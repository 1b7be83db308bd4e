"""Oferta as the billing system sees it: the API app, a real worker, a real Temporal dev server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.factory import build_activities
from api.main import create_app
from oferta.db.api_keys import create_key
from oferta.importer import import_batch
from oferta.settings import Settings
from tests.fakes.smtp import Inbox, start_smtp
from tests.fakes.twilio_server import FakeTwilio
from workflows.client import ask_guard
from workflows.registry import WORKFLOWS

BOOTSTRAP_KEY = "bootstrap-" + uuid.uuid4().hex


@dataclass
class Oferta:
    app: FastAPI
    settings: Settings
    temporal: Client
    keys: dict[str, str]
    base_url: str = "http://oferta.test"

    def http(self, scope: str | None = "billing", **headers: str) -> httpx.AsyncClient:
        """An HTTP client as an integrator with a key of ``scope`` (None: no key at all)."""
        if scope is not None:
            headers.setdefault("Authorization", f"Bearer {self.keys[scope]}")
        transport = httpx.ASGITransport(app=self.app) if self.base_url == "http://oferta.test" else None
        return httpx.AsyncClient(transport=transport, base_url=self.base_url, headers=headers, timeout=60)

    @property
    def database_url(self) -> str:
        return self.settings.effective_database_url


@cache
def mail_server() -> tuple[Inbox, int]:
    """One real SMTP server on loopback for the API tests' notices (stopped with the process)."""
    _controller, inbox, port = start_smtp()
    return inbox, port


def settings_for(
    env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    twilio_url: str | None = None,
    smtp_port: int | None = None,
    **overrides: Any,
) -> Settings:
    """Settings for an Oferta on ``env``; notices go to the shared mail server unless ``smtp_port``
    names another (the fault tests stop and restart their own); ``overrides`` by their environment
    names (OFERTA_WEBHOOKS_…)."""
    if smtp_port is None:
        _, smtp_port = mail_server()
    return Settings(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
        OFERTA_TASK_QUEUE=task_queue,
        OFERTA_BOOTSTRAP_API_KEY=BOOTSTRAP_KEY,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_port,
        TWILIO_BASE_URL=twilio_url,
        **overrides,
    )


@asynccontextmanager
async def worker(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[None]:
    async with Worker(
        env.client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(
            settings,
            partial(ask_guard, env.client, settings.task_queue),
            partial(import_batch, env.client, settings.effective_database_url, settings.task_queue),
        ).all(),
    ):
        yield


def _keys(url: str) -> dict[str, str]:
    keys = {"bootstrap": BOOTSTRAP_KEY}
    for scope in ("billing", "ops", "admin"):
        keys[scope] = create_key(url, f"test-{scope}", [scope])[1]
    return keys


@asynccontextmanager
async def oferta(
    env: WorkflowEnvironment,
    database_url: str,
    *,
    with_worker: bool = True,
    serve: bool = False,
    smtp_port: int | None = None,
    settings_overrides: dict[str, Any] | None = None,
    **app_options: Any,
) -> AsyncIterator[Oferta]:
    """The API in process (or on a real port with ``serve``), with a worker on its own task queue."""
    twilio = await FakeTwilio().start()
    queue = f"oferta-{uuid.uuid4().hex[:10]}"
    settings = settings_for(
        env, database_url, queue, twilio.base_url, smtp_port, **(settings_overrides or {})
    )
    app = create_app(settings, temporal_client=env.client, **app_options)
    try:
        async with _maybe_worker(env, settings, with_worker), _running(app, serve) as base_url:
            keys = await asyncio.to_thread(_keys, database_url)
            yield Oferta(app=app, settings=settings, temporal=env.client, keys=keys, base_url=base_url)
    finally:
        await twilio.stop()


@asynccontextmanager
async def _maybe_worker(env: WorkflowEnvironment, settings: Settings, enabled: bool) -> AsyncIterator[None]:
    if not enabled:
        yield
        return
    async with worker(env, settings):
        yield


@asynccontextmanager
async def _running(app: FastAPI, serve: bool) -> AsyncIterator[str]:
    if not serve:
        async with app.router.lifespan_context(app):
            yield "http://oferta.test"
        return
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)  # waits for the condition "uvicorn is listening"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def eventually(check, timeout: float = 20.0, interval: float = 0.1):
    """Poll ``check`` (async, returning a truthy value when satisfied) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {result!r}")
        await asyncio.sleep(interval)


async def new_customer(http: httpx.AsyncClient, **extra: Any) -> dict:
    body = {
        "name": "Too Ltd",
        "email": "billing@example.kz",
        "phone": "+77012345678",
        "locale": "ru",
        "timezone": "Asia/Almaty",
    } | extra
    response = await http.post("/v1/customers", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def new_service(http: httpx.AsyncClient, customer_id: str | None = None, **extra: Any) -> dict:
    if customer_id is None:
        customer_id = (await new_customer(http))["id"]
    body = {
        "customer_id": customer_id,
        "policy": "ps-kz",
        "tariff": "Hosting Basic",
        "price": "2500",
        "currency": "KZT",
    } | extra
    response = await http.post("/v1/services", json=body)
    assert response.status_code == 201, response.text
    return response.json()
