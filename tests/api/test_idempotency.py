"""Exactly once: retries with the same Idempotency-Key apply a billing input once."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from oferta.db.models import BillingEventRecord, IdempotencyRecord, Payment
from oferta.db.session import session_scope
from tests.api.harness import eventually, new_service


def _count(url: str, model, service_id: str) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(model).where(model.service_id == service_id))


async def test_concurrent_retries_of_one_payment_apply_it_once(api):
    async with api.http("billing") as http:
        service = await new_service(http)
        key = f"bank-tx-{uuid.uuid4().hex}"
        body = {"amount": "2500.00", "currency": "KZT"}
        responses = await asyncio.gather(
            *(
                http.post(
                    f"/v1/services/{service['id']}/payments", json=body, headers={"Idempotency-Key": key}
                )
                for _ in range(6)
            )
        )
        assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
        bodies = {r.text for r in responses}
        assert len(bodies) == 1  # every retry got the first answer
        replayed = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
        assert len(replayed) == 5

        shown = (await http.get(f"/v1/services/{service['id']}")).json()
        # One payment of 2500 paid the first invoice; a second would sit on the balance.
        assert shown["state"] == "active"
        assert shown["balance"] == {"amount": "0.00", "currency": "KZT"}

        async def recorded():
            return _count(api.database_url, Payment, service["id"]) >= 1

        await eventually(recorded)
        assert _count(api.database_url, Payment, service["id"]) == 1
        assert _count(api.database_url, BillingEventRecord, service["id"]) == 1

        # A later retry, after everything settled, still replays and changes nothing.
        again = await http.post(
            f"/v1/services/{service['id']}/payments", json=body, headers={"Idempotency-Key": key}
        )
        assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == responses[0].json()
        again_view = (await http.get(f"/v1/services/{service['id']}")).json()
        assert again_view["balance"]["amount"] == "0.00"


async def test_same_key_with_a_different_body_is_refused(api):
    async with api.http("billing") as http:
        service = await new_service(http)
        key = f"bank-tx-{uuid.uuid4().hex}"
        url = f"/v1/services/{service['id']}/payments"
        key_header = {"Idempotency-Key": key}
        first = await http.post(url, json={"amount": "1000", "currency": "KZT"}, headers=key_header)
        assert first.status_code == 200
        other = await http.post(url, json={"amount": "1500", "currency": "KZT"}, headers=key_header)
        assert other.status_code == 409
        assert other.json()["code"] == "idempotency_key_reused"
        elsewhere = await http.post("/v1/customers", json={"name": "X"}, headers={"Idempotency-Key": key})
        assert elsewhere.status_code == 409
        shown = (await http.get(f"/v1/services/{service['id']}")).json()
        assert shown["debt"]["amount"] == "1500.00"  # only the first 1000 was applied


async def test_refusals_are_replayed_too_and_other_keys_are_separate(api):
    async with api.http("billing") as http:
        service = await new_service(http)
        key = f"k-{uuid.uuid4().hex}"
        url = f"/v1/services/{service['id']}/cancellation"
        first = await http.delete(url, headers={"Idempotency-Key": key})
        assert first.status_code == 409 and first.json()["detail"] == "no cancellation is pending"
        again = await http.delete(url, headers={"Idempotency-Key": key})
        assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
    # Idempotency keys belong to the API key: another key's request with it is its own request.
    async with api.http("bootstrap") as admin:
        theirs = await admin.delete(url, headers={"Idempotency-Key": key})
        assert theirs.status_code == 409 and "Idempotent-Replayed" not in theirs.headers

    with session_scope(api.database_url) as session:
        stored = session.scalars(select(IdempotencyRecord).where(IdempotencyRecord.key == key)).all()
        assert [(r.status_code, r.method) for r in stored] == [(409, "DELETE"), (409, "DELETE")]
        assert len({r.api_key_id for r in stored}) == 2


async def test_creating_a_service_twice_with_one_key_starts_one_workflow(api):
    async with api.http("billing") as http:
        customer = (await http.post("/v1/customers", json={"name": "Once Ltd"})).json()
        key = f"create-{uuid.uuid4().hex}"
        body = {
            "customer_id": customer["id"],
            "policy": "ps-kz",
            "tariff": "VPS",
            "price": "9900",
            "currency": "KZT",
        }
        made = await asyncio.gather(
            *(http.post("/v1/services", json=body, headers={"Idempotency-Key": key}) for _ in range(3))
        )
        assert [m.status_code for m in made] == [201] * 3
        assert len({m.json()["id"] for m in made}) == 1
        listed = (await http.get("/v1/services", params={"customer_id": customer["id"]})).json()
        assert listed["total"] == 1
        # Same id again without the key: the service exists, no second workflow.
        again = await http.post("/v1/services", json=body | {"id": made[0].json()["id"]})
        assert again.status_code == 409
    query = f"WorkflowId = '{made[0].json()['workflow_id']}'"
    workflows = [w async for w in api.temporal.list_workflows(query)]
    assert len(workflows) == 1
