"""A steady customer on the time-skipping server: pays each invoice as soon as it is issued, from
one deadline to the next. Drives a service for the round-trip test and ``bench/period_bench.py``,
and hands back each run of its history (one a billing period: it continues as new)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from oferta.policy import load_policy
from oferta.timeline.money import Money
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput, workflow_id
from workflows.service_messages import EventReceipt

STEADY_SPEC = ServiceSpec(
    service_id="steady",
    customer_id="c-1",
    policy_id="ps-kz",
    tariff="Basic",
    price=Money.of("2500", "KZT"),
)


async def start_steady(
    env: WorkflowEnvironment, task_queue: str
) -> WorkflowHandle[ServiceLifecycleWorkflow, Any]:
    """The PS.kz service ``STEADY_SPEC`` started (no search attributes: the test server has none)."""
    return await env.client.start_workflow(
        ServiceLifecycleWorkflow.run,
        ServiceWorkflowInput(policy=load_policy("ps-kz"), spec=STEADY_SPEC, publish_search_attributes=False),
        id=workflow_id(STEADY_SPEC.service_id),
        task_queue=task_queue,
    )


async def pay_each_invoice(
    env: WorkflowEnvironment, handle: WorkflowHandle[ServiceLifecycleWorkflow, Any], payments: int
) -> None:
    """Pay ``payments`` invoices, each as soon as it is issued, skipping time between deadlines."""
    paid = 0
    while paid < payments:
        view = await handle.query(ServiceLifecycleWorkflow.view)
        if view.debt.amount > 0:
            paid += 1
            receipt = cast(
                EventReceipt,
                await handle.execute_update(
                    ServiceLifecycleWorkflow.apply_event,
                    BillingEvent(event_id=f"pay-{paid}", type=EventType.PAYMENT, amount=view.debt),
                ),
            )
            if not receipt.applied:
                raise AssertionError(f"payment {paid} was not applied")
            # Let the receipt go out first: a query arriving during a workflow task makes the
            # server schedule one more task to answer it, which is not the period's own cost.
            await env.sleep(timedelta(minutes=1))
            continue
        if view.state.value != "active" or view.next_deadline is None:
            raise AssertionError(f"a steady service is active with a next step, not {view.state.value}")
        now = await env.get_current_time()
        await env.sleep(max(view.next_deadline.at - now, timedelta(0)) + timedelta(seconds=1))


async def runs_of(
    client: Client, handle: WorkflowHandle[ServiceLifecycleWorkflow, Any]
) -> list[WorkflowHistory]:
    """Every run of the workflow's history, first to last (each continued as new into the next)."""
    runs: list[WorkflowHistory] = []
    run_id: str | None = handle.first_execution_run_id
    while run_id:
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        runs.append(history)
        last = history.events[-1]
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id or None
    return runs
