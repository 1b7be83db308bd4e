"""Who may call what: every route of the app × every kind of credential.

The table below names the access of each route. A route added to the app without a line
here fails the test, so no endpoint ships without someone deciding who may call it.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from enum import Enum

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from twilio.request_validator import RequestValidator

from oferta.db.api_keys import SCOPES, create_key, list_keys, revoke_key
from tests.api.harness import Oferta


class Open(Enum):
    PUBLIC = "anyone (documentation, health, metrics)"
    LOOPBACK_OR_OPS = "a caller on loopback, or an ops or admin key (customers' mail)"
    TWILIO = "Twilio: a valid X-Twilio-Signature, whatever the bearer"


BILLING, OPS, EITHER = ("billing",), ("ops",), ("billing", "ops")

# (method, path) -> the scopes that may call it (admin may always), or who else may.
ACCESS: dict[tuple[str, str], tuple[str, ...] | Open] = {
    ("GET", "/openapi.json"): Open.PUBLIC,
    ("GET", "/docs"): Open.PUBLIC,
    ("GET", "/docs/oauth2-redirect"): Open.PUBLIC,
    ("GET", "/redoc"): Open.PUBLIC,
    ("GET", "/health"): Open.PUBLIC,
    # Counts by route template and ledger status: no ids, no personal data.
    ("GET", "/metrics"): Open.PUBLIC,
    ("POST", "/v1/customers"): BILLING,
    ("GET", "/v1/customers/{customer_id}"): EITHER,
    ("PATCH", "/v1/customers/{customer_id}"): BILLING,
    ("POST", "/v1/services"): BILLING,
    ("GET", "/v1/services"): EITHER,
    ("GET", "/v1/services/{service_id}"): EITHER,
    ("GET", "/v1/services/{service_id}/timeline"): EITHER,
    ("POST", "/v1/services/{service_id}/payments"): BILLING,
    ("POST", "/v1/services/{service_id}/invoices"): BILLING,
    ("POST", "/v1/services/{service_id}/cancellation"): BILLING,
    ("DELETE", "/v1/services/{service_id}/cancellation"): BILLING,
    ("POST", "/v1/services/{service_id}/tariff-change"): BILLING,
    ("POST", "/v1/services/{service_id}/abuse"): BILLING,
    ("DELETE", "/v1/services/{service_id}/abuse"): BILLING,
    ("POST", "/v1/services/{service_id}/withdrawal"): BILLING,
    ("POST", "/v1/services/{service_id}/promise-to-pay"): BILLING,
    ("POST", "/v1/services/{service_id}/amendment-objection"): BILLING,
    ("POST", "/v1/services/{service_id}/provider-termination"): OPS,
    ("POST", "/v1/services/{service_id}/breach-termination"): OPS,
    ("POST", "/v1/services/{service_id}/overrides"): OPS,
    ("POST", "/v1/services/{service_id}/tariff-purchase"): BILLING,
    ("POST", "/v1/services/{service_id}/force-majeure-termination"): EITHER,
    ("POST", "/v1/force-majeure"): OPS,
    ("GET", "/v1/force-majeure/{force_majeure_id}"): EITHER,
    ("POST", "/v1/force-majeure/{force_majeure_id}/end"): OPS,
    # Holds on suspension and deletion: what operations see and release.
    ("GET", "/v1/holds"): OPS,
    ("POST", "/v1/services/{service_id}/hold/release"): OPS,
    ("POST", "/v1/policies/{policy_id}/holds/release"): OPS,
    ("POST", "/v1/imports"): OPS,
    ("GET", "/v1/imports/{import_id}"): OPS,
    # Webhook subscriptions: their secrets and delivery logs are operations' business.
    ("POST", "/v1/webhooks"): OPS,
    ("GET", "/v1/webhooks"): OPS,
    ("GET", "/v1/webhooks/{webhook_id}"): OPS,
    ("DELETE", "/v1/webhooks/{webhook_id}"): OPS,
    ("POST", "/v1/webhooks/{webhook_id}/enable"): OPS,
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): OPS,
    ("POST", "/v1/twilio/status"): Open.TWILIO,
    ("GET", "/inbox"): Open.LOOPBACK_OR_OPS,
    ("GET", "/inbox/{name}"): Open.LOOPBACK_OR_OPS,
}

REMOTE = ("203.0.113.9", 40000)  # a documentation address: anyone on the network
LOCAL = ("127.0.0.1", 40000)
DENIED = (401, 403)


def _routes(api: Oferta) -> set[tuple[str, str]]:
    found = set()
    for route in iter_route_contexts(api.app.routes):
        for method in route.methods or ():
            if method != "HEAD":  # HEAD rides along with GET
                found.add((method, str(route.path)))
    return found


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "nobody", path)


async def _credentials(api: Oferta) -> dict[str, str | None]:
    """Each way to call: no key, a made-up key, a revoked admin key, and a key of each scope."""
    _, revoked = await asyncio.to_thread(create_key, api.database_url, "revoked", ["admin"])
    info = await asyncio.to_thread(
        lambda: next(k for k in list_keys(api.database_url) if k.name == "revoked" and k.revoked_at is None)
    )
    assert await asyncio.to_thread(revoke_key, api.database_url, info.id)
    return {
        "none": None,
        "wrong": "ofk_" + uuid.uuid4().hex,
        "revoked": revoked,
        **{scope: api.keys[scope] for scope in SCOPES},
    }


def _client(api: Oferta, key: str | None, address: tuple[str, int] = REMOTE) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = httpx.ASGITransport(app=api.app, client=address)
    return httpx.AsyncClient(transport=transport, base_url="http://oferta.test", headers=headers, timeout=30)


def _expected(access: tuple[str, ...] | Open, credential: str) -> str:
    """'allowed', 401 or 403, for a caller on the network."""
    if access is Open.PUBLIC:
        return "allowed"
    if access is Open.TWILIO:
        return "403"  # unsigned, whatever the bearer
    if credential in ("none", "wrong", "revoked"):
        return "401"
    scopes = OPS if access is Open.LOOPBACK_OR_OPS else access
    return "allowed" if credential == "admin" or credential in scopes else "403"


def test_every_route_of_the_app_has_its_access_declared(api: Oferta) -> None:
    routes = _routes(api)
    assert routes - set(ACCESS) == set(), "routes with no access declared in ACCESS"
    assert set(ACCESS) - routes == set(), "ACCESS names routes the app no longer has"


async def test_each_route_answers_each_credential_as_declared(api: Oferta) -> None:
    credentials = await _credentials(api)
    wrong: list[str] = []
    for credential, key in credentials.items():
        async with _client(api, key) as http:
            for (method, path), access in sorted(ACCESS.items(), key=lambda item: item[0]):
                body = {} if method in ("POST", "PATCH") else None
                answer = await http.request(method, _url(path), json=body)
                got = str(answer.status_code) if answer.status_code in DENIED else "allowed"
                want = _expected(access, credential)
                if got != want:
                    wrong.append(f"{method} {path} with {credential}: {answer.status_code}, expected {want}")
    assert wrong == []


async def test_the_inbox_answers_loopback_without_a_key(api: Oferta) -> None:
    async with _client(api, None, LOCAL) as local, _client(api, None, REMOTE) as remote:
        assert (await local.get("/inbox")).status_code == 200
        assert (await local.get("/inbox/nobody.eml")).status_code == 404  # reached the route
        shown = await remote.get("/inbox")
        assert shown.status_code == 401 and "Local inbox" not in shown.text
    async with (
        _client(api, api.keys["ops"], REMOTE) as ops,
        _client(api, api.keys["billing"], REMOTE) as billing,
    ):
        assert (await ops.get("/inbox")).status_code == 200
        assert (await billing.get("/inbox")).status_code == 403


@pytest.mark.parametrize("credential", ["none", "admin"])
async def test_twilio_status_needs_a_valid_signature_whatever_the_bearer(
    api: Oferta, credential: str
) -> None:
    form = {"MessageSid": "SM" + uuid.uuid4().hex, "MessageStatus": "delivered"}
    url = "http://oferta.test/v1/twilio/status"  # as the app sees itself (no TWILIO_STATUS_CALLBACK_URL)
    valid = RequestValidator(api.settings.twilio_auth_token).compute_signature(url, form)
    forged = RequestValidator("not-the-token").compute_signature(url, form)
    key = api.keys["admin"] if credential == "admin" else None
    async with _client(api, key) as http:
        assert (await http.post("/v1/twilio/status", data=form)).status_code == 403
        bad = await http.post("/v1/twilio/status", data=form, headers={"X-Twilio-Signature": forged})
        assert bad.status_code == 403
        # Signed, but for other values than the ones posted: refused too.
        tampered = await http.post(
            "/v1/twilio/status",
            data=form | {"MessageStatus": "failed"},
            headers={"X-Twilio-Signature": valid},
        )
        assert tampered.status_code == 403
        # Raw bytes that are not UTF-8 cannot be signed: refused, not a server error.
        garbage = await http.post(
            "/v1/twilio/status",
            content=b"MessageSid=\xff\xfe&MessageStatus=delivered",
            headers={"X-Twilio-Signature": valid, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert garbage.status_code == 403
        signed = await http.post("/v1/twilio/status", data=form, headers={"X-Twilio-Signature": valid})
        # Accepted: the signature holds, and then the SID is looked up (no notice sent it here).
        assert signed.status_code == 404 and "message SID" in signed.text
