"""Held steps through the API: what operations see, and a release with its reason on record.

The service is one taken over mid-contract (its rows written as an import would, its workflow
started right before PS.kz's deletion) for a customer with no e-mail and no phone: no notice
can reach it, so the deletion is held instead of done silently.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from oferta.db.models import Customer, Service
from oferta.db.session import session_scope
from oferta.policy import load_policy
from oferta.timeline.money import Money
from oferta.timeline.state import DeadlineAction, ServiceSpec
from tests.api.harness import eventually
from tests.workflows.scenarios import start_due_in
from workflows.shared import service_workflow_id

POLICY = load_policy("ps-kz")


def _taken_over(url: str) -> ServiceSpec:
    """Rows for a customer without contacts and its hosting service, as an import writes them."""
    spec = ServiceSpec(
        service_id=f"held-{uuid.uuid4().hex[:8]}",
        customer_id=f"mute-{uuid.uuid4().hex[:8]}",
        policy_id="ps-kz",
        tariff="Basic",
        price=Money.of("2500", "KZT"),
    )
    with session_scope(url) as session:
        session.add(Customer(id=spec.customer_id, name="No contacts LLP", email=None, phone=None))
        session.flush()
        session.add(
            Service(
                id=spec.service_id,
                customer_id=spec.customer_id,
                policy_id="ps-kz",
                kind="hosting",
                tariff="Basic",
                price=Decimal("2500"),
                currency="KZT",
                period="P1M",
                workflow_id=service_workflow_id(spec.service_id),
                state="suspended",
            )
        )
    return spec


async def test_a_deletion_nobody_was_told_of_is_held_listed_and_released_with_a_reason(api) -> None:
    spec = await asyncio.to_thread(_taken_over, api.database_url)
    await start_due_in(api.temporal, api.settings.task_queue, POLICY, spec, DeadlineAction.DELETE_DATA, 1)
    path = f"/v1/services/{spec.service_id}"

    async with api.http("ops") as ops, api.http("billing") as billing:

        async def held():
            body = (await ops.get(path)).json()
            return body if body.get("hold") else None

        service = await eventually(held, timeout=30)
        assert service["state"] == "suspended"
        assert service["hold"]["hold"] == "notice_not_delivered"
        assert service["hold"]["step"] == "delete_data" and service["hold"]["clause"] == "3.17"

        async def listed():
            holds = (await ops.get("/v1/holds", params={"policy_id": "ps-kz"})).json()
            return [h for h in holds["services"] if h["service_id"] == spec.service_id]

        assert (await eventually(listed, timeout=30))[0]["hold"] == "notice_not_delivered"

        # Only operations see and release holds; a release must say why.
        assert (await billing.get("/v1/holds")).status_code == 403
        release = f"{path}/hold/release"
        assert (await billing.post(release, json={"reason": "x"})).status_code == 403
        missing = await ops.post(release, json={})
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "reason"
        assert (await ops.get("/v1/holds", params={"policy_id": "nope"})).status_code == 422

        released = await ops.post(release, json={"reason": "customer confirmed by registered letter"})
        assert released.status_code == 200, released.text
        assert released.json()["hold"] is None

        async def deleted():
            return (await ops.get(path)).json()["state"] == "deleted"

        await eventually(deleted, timeout=30)
        again = await ops.post(release, json={"reason": "twice"})
        assert again.status_code == 409

        async def recorded():  # the timeline is written down by an activity, just after the step
            timeline = (await ops.get(f"{path}/timeline")).json()
            return timeline if any(e["type"] == "deleted" for e in timeline["events"]) else None

        timeline = await eventually(recorded, timeout=30)
        steps = [e for e in timeline["events"] if e["type"] != "notice"]  # notices: skipped, no address
        assert [e["type"] for e in steps][-4:] == ["held", "hold_lifted", "archived", "deleted"]
        lifted = steps[-3]
        assert lifted["detail"]["reason"] == "customer confirmed by registered letter"
        assert lifted["detail"]["released_by"] == "api:test-ops"
        trail = [a for a in timeline["audit"] if a["action"] == "hold_released"]
        assert trail and trail[0]["actor"] == "api:test-ops"
        assert trail[0]["detail"]["reason"] == "customer confirmed by registered letter"
