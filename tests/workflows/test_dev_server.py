"""The workflow on a real Temporal dev server: updates with validation, exactly-once
billing events across continue-as-new, and search attributes operations filter by."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta import search_attributes as sa
from oferta.policy import load_policy
from oferta.temporal import quiet_runtime, temporal_cli_path
from oferta.timeline.money import Money
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput, workflow_id


@pytest_asyncio.fixture(scope="module")
async def short_history_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server that suggests continue-as-new after a few dozen events."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=temporal_cli_path(),
        search_attributes=sa.ALL,
        runtime=quiet_runtime(),
        dev_server_extra_args=["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=60"],
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def _start(client: Client, task_queue: str) -> WorkflowHandle:
    service_id = f"dev-{uuid.uuid4().hex[:8]}"
    spec = ServiceSpec(
        service_id=service_id,
        customer_id="cust-42",
        policy_id="ps-kz",
        tariff="Basic",
        price=Money.of("2500", "KZT"),
    )
    return await client.start_workflow(
        ServiceLifecycleWorkflow.run,
        ServiceWorkflowInput(policy=load_policy("ps-kz"), spec=spec),
        id=workflow_id(service_id),
        task_queue=task_queue,
        search_attributes=None,
    )


def _payment(event_id: str, amount: str = "2500", currency: str = "KZT") -> BillingEvent:
    return BillingEvent(event_id=event_id, type=EventType.PAYMENT, amount=Money.of(amount, currency))


async def test_updates_validate_and_apply_each_billing_event_once(short_history_env, task_queue):
    client = short_history_env.client
    ledger = MemoryLedger()
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[ServiceLifecycleWorkflow],
        activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
    ):
        handle = await _start(client, task_queue)
        first_run = (await handle.describe()).run_id
        receipt = await handle.execute_update(
            ServiceLifecycleWorkflow.apply_event, _payment("pay-1"), id="pay-1"
        )
        assert receipt.applied and receipt.view.state.value == "active"
        # Next: the renewal invoice, whose timing is the provider's choice (no clause).
        deadline = receipt.view.next_deadline
        assert deadline and deadline.action.value == "issue_invoice"
        assert deadline.operational and deadline.clause is None

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                ServiceLifecycleWorkflow.apply_event, _payment("pay-eur", currency="EUR"), id="pay-eur"
            )
        assert "differs from the service's KZT" in str(refused.value.cause)

        # Grow the history with abuse blocks until the server suggests continue-as-new.
        for n in range(6):
            for kind in (EventType.ABUSE_SUSPEND, EventType.ABUSE_RESOLVED):
                await handle.execute_update(
                    ServiceLifecycleWorkflow.apply_event,
                    BillingEvent(event_id=f"abuse-{n}-{kind.value}", type=kind),
                    id=f"abuse-{n}-{kind.value}",
                )
        for _ in range(100):
            if (await handle.describe()).run_id != first_run:
                break
            await asyncio.sleep(0.1)
        assert (await handle.describe()).run_id != first_run, "the workflow continued as new"

        # The same billing event retried after continue-as-new is not applied again.
        again = await handle.execute_update(
            ServiceLifecycleWorkflow.apply_event, _payment("pay-1"), id="pay-1"
        )
        assert again.duplicate and again.view.balance == Money.of("0", "KZT")
        payments = [
            e
            for e in await handle.query(ServiceLifecycleWorkflow.timeline)
            if e.type.value == "payment_received"
        ]
        assert len(payments) == 1
        await handle.terminate("test over")


async def test_search_attributes_let_operations_find_the_service(short_history_env, task_queue):
    client = short_history_env.client
    ledger = MemoryLedger()
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[ServiceLifecycleWorkflow],
        activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
    ):
        handle = await _start(client, task_queue)
        await handle.execute_update(ServiceLifecycleWorkflow.apply_event, _payment("p"), id="p")
        query = (
            f"WorkflowId = '{handle.id}' AND OfertaServiceState = 'active' AND "
            f"OfertaPolicy = 'ps-kz' AND OfertaCustomerId = 'cust-42' AND "
            f"OfertaNextAction = 'issue_invoice' AND ExecutionStatus = 'Running'"
        )
        found = []
        for _ in range(50):
            found = [w.id async for w in client.list_workflows(query)]
            if found:
                break
            await asyncio.sleep(0.2)
        assert found == [handle.id]
        description = await handle.describe()
        deadline = description.typed_search_attributes.get(sa.NEXT_DEADLINE)
        view = await handle.query(ServiceLifecycleWorkflow.view)
        assert view.next_deadline and deadline == view.next_deadline.at
        details = await handle.query("__temporal_workflow_metadata")
        assert "active; next: issue invoice" in details.current_details
        assert "(operational, not a contract term)" in details.current_details
        await handle.terminate("test over")
