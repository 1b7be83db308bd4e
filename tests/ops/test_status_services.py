"""`oferta status` and `oferta services`: the terminal view operations use."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta.db.migrate import upgrade
from oferta.db.models import Customer, Service
from oferta.db.session import session_scope
from oferta.policy import load_policy
from oferta.timeline.money import Money
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput, workflow_id

ROOT = Path(__file__).resolve().parents[2]


async def oferta(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "oferta.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, **env},
    )


async def test_status_tells_state_next_step_date_and_clause(dev_env, task_queue) -> None:
    ledger = MemoryLedger()
    service_id = f"st-{uuid.uuid4().hex[:8]}"
    spec = ServiceSpec(
        service_id=service_id,
        customer_id="c",
        policy_id="ps-kz",
        tariff="Basic",
        price=Money.of("2500", "KZT"),
    )
    address = dev_env.client.service_client.config.target_host
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[ServiceLifecycleWorkflow],
        activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
    ):
        handle = await dev_env.client.start_workflow(
            ServiceLifecycleWorkflow.run,
            ServiceWorkflowInput(policy=load_policy("ps-kz"), spec=spec),
            id=workflow_id(service_id),
            task_queue=task_queue,
        )
        receipt = await handle.execute_update(
            ServiceLifecycleWorkflow.apply_event,
            BillingEvent(event_id="p", type=EventType.PAYMENT, amount=Money.of("2500", "KZT")),
            id="p",
        )
        run = await oferta("status", service_id, TEMPORAL_ADDRESS=address)
        await handle.terminate("test over")
    assert run.returncode == 0, run.stderr
    lines = dict(line.strip().split("  ", 1) for line in run.stdout.splitlines())
    assert lines["state"].strip() == "active"
    assert lines["next step"].strip() == "issue invoice"
    assert lines["clause"].strip() == "none: operational, not a contract term"
    assert lines["when"].strip() == receipt.view.next_deadline.at.isoformat()
    missing = await oferta("status", "no-such-service", TEMPORAL_ADDRESS=address)
    assert missing.returncode == 1 and "no service 'no-such-service'" in missing.stderr


async def test_services_lists_the_mirror_filtered_by_state(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'oferta.db'}"
    upgrade(url)
    with session_scope(url) as session:
        session.add(Customer(id="c1", name="Test", locale="en"))
        session.flush()
        for n, state in enumerate(["active", "suspended", "suspended"]):
            session.add(
                Service(
                    id=f"svc-{n}",
                    customer_id="c1",
                    policy_id="ps-kz",
                    kind="hosting",
                    tariff="Basic",
                    price=2500,
                    currency="KZT",
                    period="P1M",
                    workflow_id=f"service-svc-{n}",
                    state=state,
                    next_action="delete_data",
                    next_clause="3.17",
                )
            )
    run = await oferta("services", "--state", "suspended", DATABASE_URL=url)
    assert run.returncode == 0, run.stderr
    rows = run.stdout.splitlines()[2:]
    assert sorted(r.split()[0] for r in rows) == ["svc-1", "svc-2"]
    assert all("delete data" in r and "3.17" in r for r in rows)
    empty = await oferta("services", "--state", "deleted", DATABASE_URL=url)
    assert empty.stdout.strip() == "no services match"
