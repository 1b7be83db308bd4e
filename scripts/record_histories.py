"""Records workflow histories for the replay tests (tests/histories/*.json).

Run after a deliberate, replay-safe change to the workflow to add new histories;
never regenerate the old ones to make a failing replay pass — that failure is
the point (use workflow.patched for the change instead).

    .venv/bin/python scripts/record_histories.py              # the scenarios, under VERSION
    .venv/bin/python scripts/record_histories.py amendment    # one service told of a new version
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from oferta.simulate import run_scenario
from oferta.temporal import quiet_runtime, test_server_path
from tests.workflows.scenarios import pay, scenario
from workflows.client import service_handle

OUT = Path(__file__).resolve().parents[1] / "tests" / "histories"
# Bump when the workflow's commands change (behind workflow.patched); older files stay.
# v5: timeline records as local activities, one write per step (ROUND_TRIPS_PATCH).
# v6: the writes as ordinary activities (RECORDS_AS_ACTIVITIES_PATCH).
# v7: local writes again, each entry with its key (KEYED_RECORDS_PATCH).
VERSION = "v7-local-records-keyed"

SCENARIOS = {
    "ps-kz-grace-then-deleted": scenario("ps-kz", [pay(timedelta(minutes=5)), pay(timedelta(days=36))], 75),
    "ps-kz-cancel-refund": scenario(
        "ps-kz",
        [
            pay(timedelta(minutes=5), amount="7500.00"),
            {"after": timedelta(days=35), "type": "cancel_request"},
        ],
        90,
    ),
    "ps-kz-force-majeure": scenario(
        "ps-kz",
        [
            pay(timedelta(minutes=5)),
            {"after": timedelta(days=5), "type": "force_majeure_start", "reason": "flood"},
        ],
        60,
    ),
}


async def record_amendment() -> None:
    """ONELAB: a service paid for three months is told of v3 (in effect 2 days later, 11.6), moves to
    it, and the customer objects within the 10 days: the contract ends at once with a refund."""
    import uuid

    from temporalio.worker import Worker

    from activities.memory import MemoryLedger
    from activities.service_activities import ServiceActivities
    from oferta.db.policy_versions import MemoryPolicyStore
    from oferta.policy import load_policy
    from oferta.policy.schema import Policy
    from oferta.timeline.money import Money
    from oferta.timeline.state import BillingEvent, EventType, ServiceSpec
    from workflows.client import apply_event, start_service, tell_service
    from workflows.registry import WORKFLOWS
    from workflows.service_messages import AmendmentNotice

    old = load_policy("onelab")
    new = Policy.model_validate(old.model_dump(mode="json") | {"version": old.version + 1})
    ledger = MemoryLedger()
    spec = ServiceSpec(
        service_id="onelab-amendment",
        customer_id="c-1",
        policy_id="onelab",
        tariff="Basic",
        price=Money.of("10000", "KZT"),
    )
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=test_server_path(),
        runtime=quiet_runtime(),
    ) as env:
        activities = ServiceActivities(ledger, ledger, ledger, ledger, policies=MemoryPolicyStore(new))
        async with Worker(env.client, task_queue="record", workflows=WORKFLOWS, activities=activities.all()):
            handle = await start_service(
                env.client, old, spec, task_queue="record", publish_search_attributes=False
            )
            payment = BillingEvent(event_id="pay-1", type=EventType.PAYMENT, amount=Money.of("30000", "KZT"))
            await apply_event(env.client, spec.service_id, payment, timeout=30)
            now = await env.get_current_time()
            notice = AmendmentNotice(
                policy_id="onelab",
                version=new.version,
                published_at=now,
                effective_at=now + timedelta(days=2),
            )
            await tell_service(env.client, spec.service_id, notice)
            await env.sleep(timedelta(days=5))
            objection = BillingEvent(event_id=uuid.uuid4().hex, type=EventType.AMENDMENT_OBJECTION)
            await apply_event(env.client, spec.service_id, objection, timeout=30)
            await handle.result()
            await _save(env, spec.service_id, handle.first_execution_run_id, "onelab-amendment-objection")


async def _save(env: WorkflowEnvironment, service_id: str, run_id: str | None, name: str) -> None:
    """Every run of the service's workflow, from ``run_id`` on, one file each."""
    part = 0
    while run_id:
        handle = service_handle(env.client, service_id, run_id=run_id)
        history = await handle.fetch_history()
        path = OUT / f"{VERSION}.{name}.run{part}.json"
        if path.exists():
            raise SystemExit(f"{path.name} exists: bump VERSION instead of re-recording")
        path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
        print(f"wrote {path.name}: {len(history.events)} events")
        last = history.events[-1]
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        part += 1


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    if sys.argv[1:] == ["amendment"]:
        await record_amendment()
        return
    for name, spec in SCENARIOS.items():
        async with await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter,
            test_server_existing_path=test_server_path(),
            runtime=quiet_runtime(),
        ) as env:
            result = await run_scenario(env, spec)
            await _save(env, result.service_id, result.first_run_id, name)


if __name__ == "__main__":
    asyncio.run(main())
