"""Force majeure fan-out: one declaration reaches every chosen service, and its end too."""

from __future__ import annotations

import uuid

from tests.api.harness import eventually, new_customer, new_service


async def test_force_majeure_reaches_each_service_and_ends(api):
    async with api.http("billing") as billing:
        customer = await new_customer(billing)
        services = [await new_service(billing, customer["id"]) for _ in range(4)]
        paid = services[0]["id"]
        assert (
            await billing.post(f"/v1/services/{paid}/payments", json={"amount": "2500", "currency": "KZT"})
        ).status_code == 200
    chosen = [s["id"] for s in services[:3]]
    untouched = services[3]["id"]

    async with api.http("ops") as ops:
        declared = await ops.post(
            "/v1/force-majeure",
            json={
                "scope": "services",
                "service_ids": chosen,
                "reason": "regional power outage",
            },
            headers={"Idempotency-Key": f"fm-{uuid.uuid4().hex}"},
        )
        assert declared.status_code == 202, declared.text
        fm = declared.json()
        assert fm["total"] == 3 and fm["workflow_id"] == f"force-majeure-{fm['id']}"

        async def in_effect():
            progress = (await ops.get(f"/v1/force-majeure/{fm['id']}")).json()
            return progress if progress["phase"] == "in_effect" else None

        progress = await eventually(in_effect)
        assert (progress["started"], progress["failed"]) == (3, 0)

        async def states(ids):
            return [(await ops.get(f"/v1/services/{sid}")).json()["state"] for sid in ids]

        async def all_in_force_majeure():
            return await states(chosen) == ["force_majeure"] * 3

        await eventually(all_in_force_majeure)
        assert await states([untouched]) == ["awaiting_payment"]

        ended = await ops.post(f"/v1/force-majeure/{fm['id']}/end", json={"reason": "power restored"})
        assert ended.status_code == 200, ended.text
        again = await ops.post(f"/v1/force-majeure/{fm['id']}/end", json={})
        assert again.status_code == 409

        async def over():
            progress = (await ops.get(f"/v1/force-majeure/{fm['id']}")).json()
            return progress if progress["phase"] == "ended" else None

        assert (await eventually(over))["ended"] == 3

        async def back():
            return await states(chosen) == ["active", "awaiting_payment", "awaiting_payment"]

        await eventually(back)

        async def recorded():  # the live state is the workflow's; its record follows the notices
            timeline = (await ops.get(f"/v1/services/{paid}/timeline")).json()
            types = [e["type"] for e in timeline["events"]]
            return types if "force_majeure_ended" in types else None

        types = await eventually(recorded)
        assert types.index("force_majeure_started") < types.index("force_majeure_ended")


async def test_force_majeure_by_policy_and_bad_declarations(api):
    async with api.http("ops") as ops:
        unknown = await ops.post(
            "/v1/force-majeure", json={"scope": "policy", "policy": "nope", "reason": "x"}
        )
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "policy"
        missing = await ops.post(
            "/v1/force-majeure", json={"scope": "services", "service_ids": ["ghost-1"], "reason": "x"}
        )
        assert missing.status_code == 422 and "ghost-1" in missing.json()["detail"]
        empty = await ops.post(
            "/v1/force-majeure", json={"scope": "services", "service_ids": [], "reason": "x"}
        )
        assert empty.status_code == 422
        assert (await ops.get("/v1/force-majeure/never-declared")).status_code == 404
        assert (await ops.post("/v1/force-majeure/never-declared/end", json={})).status_code == 404
