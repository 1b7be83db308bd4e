"""A worker that stops mid-timeline loses nothing: a new one replays and finishes it."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta.policy import load_policy
from oferta.timeline.money import Money
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput, workflow_id


def _spec(service_id: str) -> ServiceSpec:
    return ServiceSpec(
        service_id=service_id,
        customer_id="c-1",
        policy_id="ps-kz",
        tariff="Basic",
        price=Money.of("2500", "KZT"),
    )


async def test_restarted_worker_finishes_the_timeline_without_losing_or_doubling(time_env, task_queue):
    ledger = MemoryLedger()
    activities = ServiceActivities(ledger, ledger, ledger, ledger).all()
    # No sticky cache: the time-skipping server would otherwise hold the next task for the
    # stopped worker's sticky queue on a timeout its locked clock never reaches.
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[ServiceLifecycleWorkflow],
        activities=activities,
        max_cached_workflows=0,
    ):
        handle = await time_env.client.start_workflow(
            ServiceLifecycleWorkflow.run,
            ServiceWorkflowInput(
                policy=load_policy("ps-kz"), spec=_spec("restart-1"), publish_search_attributes=False
            ),
            id=workflow_id("restart-1"),
            task_queue=task_queue,
        )
        await handle.signal(
            ServiceLifecycleWorkflow.billing_event,
            BillingEvent(event_id="pay-1", type=EventType.PAYMENT, amount=Money.of("2500", "KZT")),
        )
        await time_env.sleep(timedelta(days=33))  # into the suspension
        assert (await handle.query(ServiceLifecycleWorkflow.view)).state.value == "suspended"
    sent_before = set(ledger.notices)
    # The worker is gone; a new one with no cache replays every task from history.
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[ServiceLifecycleWorkflow],
        activities=activities,
        max_cached_workflows=0,
        workflow_failure_exception_types=[workflow.NondeterminismError],
    ):
        view = await handle.result()
    assert view.state.value == "deleted"
    assert ledger.send_attempts == len(ledger.notices), "no notice was sent twice"
    templates = sorted(n.template.value for n in ledger.notices.values())
    for expected in ("suspended", "deletion_warning", "deleted"):
        assert expected in templates
    assert sent_before < set(ledger.notices)
    # In the order they were asked: the data is archived right before it is deleted.
    actions = [p.action for p in ledger.provisioning.values()]
    assert actions == ["activate", "suspend", "archive", "delete"]


async def test_ten_years_of_monthly_periods_keep_each_run_small(time_env, task_queue):
    ledger = MemoryLedger()
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[ServiceLifecycleWorkflow],
        activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
    ):
        handle = await time_env.client.start_workflow(
            ServiceLifecycleWorkflow.run,
            ServiceWorkflowInput(
                policy=load_policy("ps-kz"), spec=_spec("decade"), publish_search_attributes=False
            ),
            id=workflow_id("decade"),
            task_queue=task_queue,
        )
        # Ten years prepaid at once: 120 periods, each one continues as new.
        await handle.signal(
            ServiceLifecycleWorkflow.billing_event,
            BillingEvent(event_id="prepay", type=EventType.PAYMENT, amount=Money.of(2500 * 121, "KZT")),
        )
        await time_env.sleep(timedelta(days=3660))
        view = await handle.query(ServiceLifecycleWorkflow.view)
        assert view.period_index >= 119 and view.state.value == "active"
        history: WorkflowHistory = await handle.fetch_history()
        assert len(history.events) < 200, "the current run holds one period, not ten years"
        state = await handle.query(ServiceLifecycleWorkflow.state)
        assert len(state.timeline) <= 200 and len(state.invoices) <= 3
        await handle.terminate("test over")
