"""The force majeure workflow on its own: a fan-out larger than one run continues as new."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta import search_attributes as sa
from oferta.policy import load_policy
from oferta.temporal import quiet_runtime, temporal_cli_path
from oferta.timeline.money import Money
from oferta.timeline.state import ServiceSpec
from tests.api.harness import eventually
from workflows.client import force_majeure_workflow_id
from workflows.force_majeure import EndRequest, ForceMajeureInput, ForceMajeureWorkflow
from workflows.registry import WORKFLOWS
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput, workflow_id


@pytest_asyncio.fixture(scope="module")
async def short_history_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server that suggests continue-as-new after a few dozen history events."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=temporal_cli_path(),
        search_attributes=sa.ALL,
        runtime=quiet_runtime(),
        dev_server_extra_args=["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=40"],
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def test_fan_out_over_many_services_continues_as_new_and_reaches_each(short_history_env, task_queue):
    client = short_history_env.client
    ledger = MemoryLedger()
    policy = load_policy("ps-kz")
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
    ):
        ids = [f"fm-{uuid.uuid4().hex[:8]}" for _ in range(70)]
        for service_id in ids:
            spec = ServiceSpec(
                service_id=service_id,
                customer_id="c",
                policy_id="ps-kz",
                tariff="Basic",
                price=Money.of("2500", "KZT"),
            )
            await client.start_workflow(
                ServiceLifecycleWorkflow.run,
                ServiceWorkflowInput(policy=policy, spec=spec, publish_search_attributes=False),
                id=workflow_id(service_id),
                task_queue=task_queue,
            )
        gone = "never-existed"
        fm_id = uuid.uuid4().hex[:8]
        handle = await client.start_workflow(
            ForceMajeureWorkflow.run,
            ForceMajeureInput(force_majeure_id=fm_id, reason="flood", service_ids=[*ids, gone]),
            id=force_majeure_workflow_id(fm_id),
            task_queue=task_queue,
        )
        first_run = handle.result_run_id

        async def in_effect():
            progress = await handle.query(ForceMajeureWorkflow.progress)
            return progress if progress.phase == "in_effect" else None

        progress = await eventually(in_effect, timeout=60)
        assert (progress.started, progress.failed, progress.failed_services) == (70, 1, [gone])
        assert (await handle.describe()).run_id != first_run  # it continued as new mid-fan-out

        for service_id in ids:
            service = client.get_workflow_handle(workflow_id(service_id))
            view = await service.query(ServiceLifecycleWorkflow.view)
            assert view.state.value == "force_majeure", service_id

        await handle.execute_update(ForceMajeureWorkflow.end, EndRequest(reason="water receded"))
        final = await handle.result()  # follows the continued runs
        assert (final.phase, final.ended, final.failed) == ("ended", 70, 2)
        for service_id in ids[:5]:
            service = client.get_workflow_handle(workflow_id(service_id))
            view = await service.query(ServiceLifecycleWorkflow.view)
            assert view.state.value == "awaiting_payment"
