"""Operations' overrides through the API: in the customer's favour only, with who and why on record."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from oferta.policy import load_policy
from oferta.timeline.state import DeadlineAction, ServiceSpec
from tests.api.harness import eventually, new_customer
from tests.api.test_holds import _taken_over
from tests.workflows.scenarios import start_due_in

POLICY = load_policy("ps-kz")


async def test_a_longer_grace_moves_the_deletion_and_a_shorter_one_is_refused_with_its_clause(api) -> None:
    spec: ServiceSpec = await asyncio.to_thread(_taken_over, api.database_url)
    # Due for deletion in an hour: the grace granted now moves it five days.
    await start_due_in(api.temporal, api.settings.task_queue, POLICY, spec, DeadlineAction.DELETE_DATA, 3600)
    path = f"/v1/services/{spec.service_id}"
    async with api.http("ops") as ops, api.http("billing") as billing:

        async def live():
            body = (await ops.get(path)).json()
            return body if body.get("live") else None

        before = datetime.fromisoformat((await eventually(live))["next_deadline"]["at"])
        grant = {"kind": "extend_grace", "days": 5, "reason": "hospital stay, documents sent"}
        assert (await billing.post(f"{path}/overrides", json=grant)).status_code == 403
        missing = await ops.post(f"{path}/overrides", json={"kind": "extend_grace", "days": 5})
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "reason"
        shorter = await ops.post(f"{path}/overrides", json=grant | {"days": -2})
        assert shorter.status_code == 409 and "3.16" in shorter.json()["detail"]

        granted = await ops.post(f"{path}/overrides", json=grant)
        assert granted.status_code == 200, granted.text
        service = granted.json()["service"]
        moved = datetime.fromisoformat(service["next_deadline"]["at"])
        assert moved - before >= timedelta(days=5) - timedelta(hours=1)
        (override,) = service["overrides"]
        assert (override["kind"], override["days"], override["granted_by"]) == (
            "extend_grace",
            5,
            "api:test-ops",
        )

        async def recorded():
            timeline = (await ops.get(f"{path}/timeline")).json()
            found = [e for e in timeline["events"] if e["type"] == "override_granted"]
            return (found, timeline["audit"]) if found else None

        entries, trail = await eventually(recorded)
        assert entries[0]["detail"]["reason"] == "hospital stay, documents sent"
        assert entries[0]["clause"] is None and entries[0]["detail"]["moves_clause"] == "3.17"
        assert any(a["action"] == "input:override" and a["actor"] == "api:test-ops" for a in trail)
    await api.temporal.get_workflow_handle(f"service-{spec.service_id}").terminate("test over")


async def test_no_suspension_before_a_date_on_a_new_service_needs_a_date(api) -> None:
    async with api.http("billing") as billing:
        customer = await new_customer(billing)
        service = (
            await billing.post(
                "/v1/services",
                json={
                    "customer_id": customer["id"],
                    "policy": "ps-kz",
                    "tariff": "Basic",
                    "price": "2500",
                    "currency": "KZT",
                    "id": f"ov-{uuid.uuid4().hex[:8]}",
                },
            )
        ).json()
    async with api.http("ops") as ops:
        answer = await ops.post(
            f"/v1/services/{service['id']}/overrides", json={"kind": "no_suspension_before", "reason": "x"}
        )
        assert answer.status_code == 409 and answer.json()["detail"].startswith("until")
