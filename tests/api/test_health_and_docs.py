"""Health, the published spec, and how the API behaves when Temporal does not answer."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import httpx

from api.main import create_app
from oferta.db.models import Notice
from oferta.db.session import session_scope
from tests.api.harness import BOOTSTRAP_KEY, new_customer, new_service, settings_for

STABLE_PATHS = {
    "/v1/customers",
    "/v1/customers/{customer_id}",
    "/v1/services",
    "/v1/services/{service_id}",
    "/v1/services/{service_id}/payments",
    "/v1/services/{service_id}/invoices",
    "/v1/services/{service_id}/cancellation",
    "/v1/services/{service_id}/tariff-change",
    "/v1/services/{service_id}/abuse",
    "/v1/services/{service_id}/timeline",
    "/v1/force-majeure",
    "/v1/force-majeure/{force_majeure_id}",
    "/v1/force-majeure/{force_majeure_id}/end",
    "/health",
}


async def test_health_spec_and_docs(api):
    async with api.http(None) as http:
        health = await http.get("/health")
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "database": True, "temporal": True}
        spec = (await http.get("/openapi.json")).json()
        assert STABLE_PATHS <= set(spec["paths"])
        assert "Idempotency-Key" in {
            p["name"] for p in spec["paths"]["/v1/services/{service_id}/payments"]["post"]["parameters"]
        }
        docs = await http.get("/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_without_temporal_reads_work_and_writes_say_503(dev_env, database_url):
    settings = settings_for(dev_env, database_url, "unused")
    settings.temporal_address = f"127.0.0.1:{_closed_port()}"
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport,
            base_url="http://oferta.test",
            headers={"Authorization": f"Bearer {BOOTSTRAP_KEY}"},
        ) as http,
    ):
        health = await http.get("/health")
        assert health.status_code == 503
        assert health.json() == {"status": "degraded", "database": True, "temporal": False}
        customer = await new_customer(http)  # the database alone is enough for customers
        body = {
            "customer_id": customer["id"],
            "policy": "ps-kz",
            "tariff": "Basic",
            "price": "2500",
            "currency": "KZT",
        }
        refused = await http.post("/v1/services", json=body)
        assert refused.status_code == 503 and refused.json()["code"] == "unavailable"
        listed = (await http.get("/v1/services", params={"customer_id": customer["id"]})).json()
        assert listed["total"] == 0  # nothing half-written


async def test_service_listing_pages_and_filters(api):
    async with api.http("billing") as http:
        customer = await new_customer(http)
        made = [await new_service(http, customer["id"]) for _ in range(3)]
        first = (await http.get("/v1/services", params={"customer_id": customer["id"], "limit": 2})).json()
        assert (first["total"], len(first["items"]), first["next_offset"]) == (3, 2, 2)
        rest = (
            await http.get(
                "/v1/services",
                params={"customer_id": customer["id"], "limit": 2, "offset": first["next_offset"]},
            )
        ).json()
        assert rest["next_offset"] is None
        assert [s["id"] for s in first["items"] + rest["items"]] == [s["id"] for s in made]
        none = await http.get("/v1/services", params={"customer_id": customer["id"], "state": "deleted"})
        assert none.json()["total"] == 0
        bad = await http.get("/v1/services", params={"state": "sleeping"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.state"


async def test_workflow_summary_and_search_attributes_carry_no_personal_data(api):
    async with api.http("billing") as http:
        customer = await new_customer(http, name="Aigerim Nurlanovna", email="aigerim@example.kz")
        service = await new_service(http, customer["id"], tariff="VPS-2")
    description = await api.temporal.get_workflow_handle(service["workflow_id"]).describe()
    summary = await description.static_summary()
    assert "VPS-2" in summary and service["id"] in summary and "ps-kz" in summary
    assert "Aigerim" not in summary and "aigerim@" not in summary
    attributes = {
        key.name: value
        for key, value in ((pair.key, pair.value) for pair in description.typed_search_attributes)
    }
    assert attributes["OfertaCustomerId"] == customer["id"]
    assert attributes["OfertaPolicy"] == "ps-kz"
    assert attributes["OfertaServiceState"] == "awaiting_payment"


async def test_timeline_lists_notices_in_the_order_they_were_due(api):
    async with api.http("billing") as http:
        service = await new_service(http)
    now = datetime.now(UTC).replace(microsecond=0)
    with session_scope(api.database_url) as session:  # as the notice sender records them
        for n, (template, offset) in enumerate(
            [("payment_reminder", 2), ("invoice_issued", 0), ("deletion_warning", 5)]
        ):
            session.add(
                Notice(
                    idempotency_key=f"{service['id']}:{n}",
                    service_id=service["id"],
                    customer_id=service["customer_id"],
                    template=template,
                    channel="sms",
                    status="sent",
                    contract_time=now + timedelta(days=offset),
                    clause="5.8",
                )
            )
    async with api.http("ops") as http:
        notices = (await http.get(f"/v1/services/{service['id']}/timeline")).json()["notices"]
    # The worker's own invoice email may be there too; these three are the SMS written above.
    notices = [n for n in notices if n["channel"] == "sms"]
    assert [n["template"] for n in notices] == ["invoice_issued", "payment_reminder", "deletion_warning"]
    assert "recipient" not in notices[0] and "body" not in notices[0]
