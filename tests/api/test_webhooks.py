"""Signed outbound webhooks, end to end: the API, a real worker and its dispatcher workflow on
the dev server, and receivers on loopback that check every signature themselves.

The harness here shortens the dispatcher's poll, the backoff and the give-up window
(FAST), so a receiver that is down for a while, or for good, is seen in seconds.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from sqlalchemy import select

from activities.recorder import DatabaseRecorder
from oferta import webhooks
from oferta.db.models import TimelineEvent
from oferta.db.session import session_scope
from oferta.effects import TimelineRecord
from oferta.timeline.money import Money
from oferta.timeline.state import EntryType, ServiceStatus, TimelineEntry
from tests.api.harness import Oferta, eventually, new_service, oferta
from worker import ensure_webhook_dispatcher
from workflows.shared import webhook_dispatcher_id

try:  # the reference implementation, when the local index has it (a second opinion)
    from standardwebhooks.webhooks import Webhook as ReferenceVerifier
except ImportError:  # pragma: no cover - our own check below still runs
    ReferenceVerifier = None

FAST = {
    "OFERTA_WEBHOOKS_ALLOW_PRIVATE": True,
    "OFERTA_WEBHOOKS_POLL_SECONDS": 0.2,
    "OFERTA_WEBHOOKS_WAIT_SECONDS": 1.5,
    "OFERTA_WEBHOOKS_BACKOFF_SECONDS": 0.2,
    "OFERTA_WEBHOOKS_MAX_BACKOFF_SECONDS": 0.5,
    "OFERTA_WEBHOOKS_GIVE_UP_SECONDS": 4,
    "OFERTA_WEBHOOKS_TIMEOUT_SECONDS": 2,
}


def verify(secret: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The receiver's own check, written from the Standard Webhooks spec and nothing of Oferta's:
    HMAC-SHA256 over ``id.timestamp.body`` with the base64 key after ``whsec_``."""
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) < 300, "stale timestamp"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(mac).decode()
    assert any(hmac.compare_digest(sig, expected) for sig in headers["webhook-signature"].split()), (
        "bad signature"
    )
    if ReferenceVerifier is not None:
        ReferenceVerifier(secret).verify(body, headers)
    return json.loads(body)


class Receiver:
    """A subscriber on loopback: answers ``answer`` (200 or an error), or nothing when stopped."""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret
        self.answer = 200
        self.requests = 0
        self.events: list[tuple[str, dict[str, Any]]] = []  # (webhook-id, payload), answered 2xx
        self.bad: list[str] = []
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            assert self.secret is not None
            payload = verify(self.secret, headers, body)
        except Exception as exc:  # a wrong signature is what this receiver exists to catch
            self.bad.append(repr(exc))
            return web.Response(status=401)
        if self.answer != 200:
            return web.Response(status=self.answer, text="not now")
        self.events.append((headers["webhook-id"], payload))
        return web.Response(status=204)

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hooks", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await self.listen()
        return self

    async def listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await self._site.start()
        self.port = self._runner.addresses[-1][1]

    async def stop_listening(self) -> None:
        assert self._site is not None
        await self._site.stop()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def of(self, service_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [(i, p) for i, p in self.events if p["data"]["service_id"] == service_id]


@pytest_asyncio.fixture(scope="module")
async def hooks(dev_env, database_url) -> AsyncIterator[Oferta]:
    async with oferta(dev_env, database_url, settings_overrides=FAST) as running:
        yield running


@pytest_asyncio.fixture
async def receivers(hooks: Oferta) -> AsyncIterator[list[Receiver]]:
    """Receivers made by a test; closed, and their endpoints deleted, when it ends."""
    made: list[Receiver] = []
    yield made
    async with hooks.http("ops") as http:
        for endpoint in (await http.get("/v1/webhooks")).json():
            if any(endpoint["url"] == r.url for r in made):
                await http.delete(f"/v1/webhooks/{endpoint['id']}")
    for receiver in made:
        await receiver.close()


async def subscribe(
    http: httpx.AsyncClient, receivers: list[Receiver], event_types: list[str], own_secret: bool = False
) -> tuple[Receiver, dict]:
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode() if own_secret else None
    receiver = await Receiver(secret).start()
    receivers.append(receiver)
    body: dict[str, Any] = {"url": receiver.url, "event_types": event_types}
    if secret:
        body["secret"] = secret
    created = await http.post("/v1/webhooks", json=body)
    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert endpoint["secret"] == (secret or endpoint["secret"]) and endpoint["secret"].startswith("whsec_")
    receiver.secret = endpoint["secret"]
    return receiver, endpoint


async def suspended_service(api: Oferta) -> str:
    """A new service, suspended for abuse: a few timeline entries, the last one ``suspended``."""
    async with api.http("billing") as http:
        service = await new_service(http)
        blocked = await http.post(f"/v1/services/{service['id']}/abuse", json={"reason": "phishing site"})
        assert blocked.status_code == 200, blocked.text
        return service["id"]


async def timeline(api: Oferta, service_id: str) -> list[tuple[int, str]]:
    async with api.http("billing") as http:
        events = (await http.get(f"/v1/services/{service_id}/timeline")).json()["events"]
    return sorted((e["sequence"], e["type"]) for e in events)  # shown by time, compared by number


async def deliveries(http: httpx.AsyncClient, endpoint_id: str) -> list[dict[str, Any]]:
    answer = await http.get(f"/v1/webhooks/{endpoint_id}/deliveries")
    assert answer.status_code == 200, answer.text
    return answer.json()["deliveries"]


async def quiet_for(seconds: float) -> None:
    """Long enough for several dispatcher polls (FAST polls every 0.2 s) to have run."""
    await asyncio.sleep(seconds)


async def test_each_subscriber_gets_its_types_signed_and_once(hooks: Oferta, receivers: list[Receiver]):
    async with hooks.http("ops") as http:
        everything, all_endpoint = await subscribe(http, receivers, ["*"])
        only_suspended, _ = await subscribe(http, receivers, ["suspended"], own_secret=True)
        sid = await suspended_service(hooks)

        async def all_delivered() -> bool:
            recorded = await timeline(hooks, sid)
            got = sorted((p["data"]["sequence"], p["type"]) for _, p in everything.of(sid))
            return "suspended" in {t for _, t in recorded} and got == recorded

        await eventually(all_delivered, timeout=20)
        await eventually(lambda: _true(only_suspended.of(sid)), timeout=10)

        # The same record written three times (an activity retried, twice at once) is one event.
        twice = _record(f"twice-{uuid.uuid4().hex[:8]}")
        recorder = DatabaseRecorder(hooks.database_url)
        await asyncio.gather(recorder.record(twice), recorder.record(twice))
        await recorder.record(twice)
        await eventually(lambda: _true(everything.of(twice.service_id)), timeout=10)
        await quiet_for(1.0)

        assert everything.bad == [] and only_suspended.bad == []
        ids = Counter(i for i, _ in everything.events)
        assert [i for i, n in ids.items() if n > 1] == []  # nothing twice
        assert [i for i, _ in everything.of(twice.service_id)] == [f"evt_{twice.service_id}_7"]
        # The other subscriber got the suspension, and nothing but suspensions.
        assert [p["type"] for _, p in only_suspended.of(sid)] == ["suspended"]
        assert {p["type"] for _, p in only_suspended.events} == {"suspended"}
        suspended = only_suspended.of(sid)[0]
        # Its id is the entry's key's (the step and type): the same however its write was grouped.
        with session_scope(hooks.database_url) as session:
            key = session.scalars(
                select(TimelineEvent.entry_key).where(
                    TimelineEvent.service_id == sid, TimelineEvent.type == "suspended"
                )
            ).one()
        assert key.startswith("event:") and key.endswith("/suspended")
        assert suspended[0] == webhooks.event_id(sid, key) and suspended[0].startswith(f"evt_{sid}_k")
        assert suspended[1]["data"]["state"] == "suspended" and suspended[1]["data"]["clause"]

        log = await deliveries(http, all_endpoint["id"])
        mine = [d for d in log if d["service_id"] == sid]
        assert mine and all(
            d["status"] == "delivered" and d["attempts"] == 1 and d["last_status_code"] == 204 for d in mine
        )
        listed = {e["id"]: e for e in (await http.get("/v1/webhooks")).json()}
        assert (
            listed[all_endpoint["id"]]["status"] == "enabled" and "secret" not in listed[all_endpoint["id"]]
        )


async def test_a_receiver_down_for_a_while_gets_the_events_late_but_once(
    hooks: Oferta, receivers: list[Receiver]
):
    async with hooks.http("ops") as http:
        receiver, endpoint = await subscribe(http, receivers, ["suspended", "held"])
        receiver.answer = 500
        sid = await suspended_service(hooks)

        async def failed_with(predicate) -> bool:
            return any(
                d["service_id"] == sid and predicate(d) for d in await deliveries(http, endpoint["id"])
            )

        await eventually(lambda: failed_with(lambda d: d["attempts"] >= 2 and d["last_status_code"] == 500))
        await receiver.stop_listening()  # now nothing answers at all
        await eventually(lambda: failed_with(lambda d: d["last_status_code"] is None and d["last_error"]))
        receiver.answer = 200
        await receiver.listen()

        await eventually(lambda: _true(receiver.of(sid)), timeout=10)
        await quiet_for(1.0)
        assert receiver.bad == []
        assert [p["type"] for _, p in receiver.of(sid)] == ["suspended"]  # late, and once
        [row] = [d for d in await deliveries(http, endpoint["id"]) if d["service_id"] == sid]
        assert row["status"] == "delivered" and row["attempts"] >= 3 and row["last_status_code"] == 204
        assert (await http.get(f"/v1/webhooks/{endpoint['id']}")).json()["status"] == "enabled"


async def test_an_endpoint_failing_past_the_window_is_disabled_then_enabled_by_operations(
    hooks: Oferta, receivers: list[Receiver]
):
    async with hooks.http("ops") as http:
        receiver, endpoint = await subscribe(http, receivers, ["*"])
        receiver.answer = 503
        sid = await suspended_service(hooks)

        async def disabled() -> dict | None:
            shown = (await http.get(f"/v1/webhooks/{endpoint['id']}")).json()
            return shown if shown["status"] == "disabled" else None

        shown = await eventually(disabled, timeout=20)  # the window is 4 s here (24 h by default)
        assert "failed for 4 s" in shown["disabled_reason"] and "HTTP 503" in shown["disabled_reason"]
        log = [d for d in await deliveries(http, endpoint["id"]) if d["service_id"] == sid]
        assert log and all(d["status"] == "pending" for d in log)
        assert max(d["attempts"] for d in log) >= 3 and {d["last_status_code"] for d in log} <= {503, None}

        # Disabled: nothing is sent, but what happens meanwhile is queued.
        async with hooks.http("billing") as billing:
            assert (await billing.delete(f"/v1/services/{sid}/abuse")).status_code == 200
        asked = receiver.requests
        await quiet_for(0.8)
        assert receiver.requests == asked

        receiver.answer = 200
        enabled = await http.post(f"/v1/webhooks/{endpoint['id']}/enable")
        assert enabled.status_code == 200 and enabled.json()["status"] == "enabled"
        assert enabled.json()["disabled_reason"] is None

        async def caught_up() -> bool:
            recorded = await timeline(hooks, sid)
            got = sorted((p["data"]["sequence"], p["type"]) for _, p in receiver.of(sid))
            return got == recorded and len(recorded) > 0

        await eventually(caught_up, timeout=20)
        await quiet_for(1.0)
        assert receiver.bad == []
        assert sorted(Counter(i for i, _ in receiver.of(sid)).values())[-1] == 1  # each once
        types = [p["type"] for _, p in receiver.of(sid)]
        assert "suspended" in types and types.index("suspended") < len(types) - 1  # and what followed
        assert all(d["status"] == "delivered" for d in await deliveries(http, endpoint["id"]))


async def test_subscriptions_are_listed_read_and_deleted(hooks: Oferta, receivers: list[Receiver]):
    async with hooks.http("ops") as http:
        _, endpoint = await subscribe(http, receivers, ["payment_received", "deleted"])
        secret = base64.b64decode(endpoint["secret"].removeprefix("whsec_"))
        assert len(secret) >= 24  # generated: base64 of 24+ random bytes
        shown = (await http.get(f"/v1/webhooks/{endpoint['id']}")).json()
        assert "secret" not in shown  # shown once, at creation
        assert shown["event_types"] == ["deleted", "payment_received"] and shown["status"] == "enabled"
        assert (await http.delete(f"/v1/webhooks/{endpoint['id']}")).status_code == 204
        assert (await http.get(f"/v1/webhooks/{endpoint['id']}")).status_code == 404
        assert (await http.get(f"/v1/webhooks/{endpoint['id']}/deliveries")).status_code == 404
        assert (await http.post(f"/v1/webhooks/{endpoint['id']}/enable")).status_code == 404


async def test_the_dispatcher_ends_with_no_endpoint_and_starts_again(
    hooks: Oferta, receivers: list[Receiver]
):
    dispatcher = hooks.temporal.get_workflow_handle(webhook_dispatcher_id(hooks.settings.task_queue))

    async def status() -> str:
        return (await dispatcher.describe()).status.name

    async with hooks.http("ops") as http:
        await subscribe(http, receivers, ["deleted"])  # the dispatcher runs
        assert await status() == "RUNNING"
        for endpoint in (await http.get("/v1/webhooks")).json():
            await http.delete(f"/v1/webhooks/{endpoint['id']}")
        # Nothing enabled: no poller is left running (its current wait ends, then the workflow).
        await eventually(lambda: _completed(status), timeout=15)
        receiver, _ = await subscribe(http, receivers, ["suspended"])  # started again
        assert await status() == "RUNNING"
        # Stopped by hand (say, terminated from the UI): the worker's start-up brings it back.
        await dispatcher.terminate("test: stopped by hand")
        await ensure_webhook_dispatcher(hooks.temporal, hooks.settings)
        assert await status() == "RUNNING"
        sid = await suspended_service(hooks)
        await eventually(lambda: _true(receiver.of(sid)), timeout=10)
        assert receiver.bad == []


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "ftp://hooks.test/x", "event_types": ["*"]}, "url", "http"),
        ({"url": "http://127.0.0.1:9/x", "event_types": ["*"]}, "url", "OFERTA_WEBHOOKS_ALLOW_PRIVATE"),
        ({"url": "http://10.1.2.3/x", "event_types": ["*"]}, "url", "private"),
        ({"url": "http://[::1]/x", "event_types": ["*"]}, "url", "loopback"),
        ({"url": "http://localhost:8000/x", "event_types": ["*"]}, "url", "this machine"),
        ({"url": "https://hooks.example.com/x", "event_types": ["*"]}, "url", "documentation"),
        ({"url": "https:///nohost", "event_types": ["*"]}, "url", "host"),
        ({"url": "http://203.0.113.9/x", "event_types": ["paid"]}, "event_types.0", ""),
        ({"url": "http://203.0.113.9/x", "event_types": []}, "event_types", ""),
        ({"url": "http://203.0.113.9/x", "event_types": ["*"], "secret": "hunter2"}, "secret", "whsec_"),
        ({"url": "http://203.0.113.9/x", "event_types": ["*"], "secret": "whsec_c2hvcnQ="}, "secret", "24"),
    ],
)
async def test_a_bad_subscription_is_422_naming_the_field(api: Oferta, body, field, words):
    # The shared API: private targets refused there (OFERTA_WEBHOOKS_ALLOW_PRIVATE unset).
    async with api.http("ops") as http:
        answer = await http.post("/v1/webhooks", json=body)
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert any(e["field"].startswith(field) and words in e["message"] for e in errors), errors


async def test_billing_keys_may_not_subscribe(api: Oferta):
    async with api.http("billing") as http:
        answer = await http.post("/v1/webhooks", json={"url": "http://203.0.113.9/x", "event_types": ["*"]})
    assert answer.status_code == 403


async def _true(value: Any) -> Any:
    return value


async def _completed(status) -> bool:
    return await status() == "COMPLETED"


def _record(service_id: str) -> TimelineRecord:
    return TimelineRecord(
        service_id=service_id,
        customer_id="cust-twice",
        policy_id="ps-kz",
        entries=[
            TimelineEntry(
                at=datetime.now(UTC),
                type=EntryType.PAYMENT_RECEIVED,
                clause="3.1",
                detail={"amount": "2500.00", "currency": "KZT", "event_id": "pay-1"},
            )
        ],
        first_sequence=7,
        state=ServiceStatus.ACTIVE,
        period_index=0,
        paid_until=None,
        next_deadline=None,
        debt=Money.zero("KZT"),
    )
