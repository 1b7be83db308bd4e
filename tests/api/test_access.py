"""API keys and scopes: 401 without a valid key, 403 with the wrong scope."""

from __future__ import annotations

import asyncio

from oferta.db.api_keys import create_key, list_keys, revoke_key
from tests.api.harness import new_service


async def test_no_key_or_an_unknown_key_is_401(api):
    async with api.http(None) as anonymous:
        response = await anonymous.get("/v1/services")
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
        assert (await anonymous.get("/health")).status_code == 200  # health needs no key
    async with api.http(None, Authorization="Bearer ofk_not-a-real-key") as stranger:
        assert (await stranger.get("/v1/services")).status_code == 401
    async with api.http(None, Authorization="Basic dXNlcjpwYXNz") as basic:
        assert (await basic.get("/v1/services")).status_code == 401


async def test_a_revoked_key_stops_working(api):
    info, key = await asyncio.to_thread(create_key, api.database_url, "short-lived", ["billing"])
    async with api.http(None, Authorization=f"Bearer {key}") as http:
        assert (await http.get("/v1/services")).status_code == 200
        assert await asyncio.to_thread(revoke_key, api.database_url, info.id)
        assert (await http.get("/v1/services")).status_code == 401
    listed = {k.id: k for k in await asyncio.to_thread(list_keys, api.database_url)}
    assert listed[info.id].revoked_at is not None
    assert key not in repr(listed[info.id]) and key.startswith(listed[info.id].prefix)


async def test_scopes_decide_what_a_key_may_do(api):
    async with api.http("billing") as billing:
        service = await new_service(billing)
        forbidden = await billing.post("/v1/force-majeure", json={"scope": "all", "reason": "flood"})
        assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
    async with api.http("ops") as ops:
        assert (await ops.get(f"/v1/services/{service['id']}")).status_code == 200
        pay = await ops.post(
            f"/v1/services/{service['id']}/payments", json={"amount": "1", "currency": "KZT"}
        )
        assert pay.status_code == 403
        assert (await ops.post("/v1/customers", json={"name": "No"})).status_code == 403
    async with api.http("bootstrap") as admin:  # OFERTA_BOOTSTRAP_API_KEY made an admin key
        paid = await admin.post(
            f"/v1/services/{service['id']}/payments", json={"amount": "2500", "currency": "KZT"}
        )
        assert paid.status_code == 200 and paid.json()["service"]["state"] == "active"
