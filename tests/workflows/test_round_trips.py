"""A steady billing period costs the server few round trips (bench/RESULTS.md, "Round trips").

One run of the workflow is one billing period (it continues as new at each). A PS.kz service paid
on time, month after month, used to take about 60 history events a period: six activities, four of
them timeline records; then 48, a step written once with its notices' outcome, as an activity. The
writes are local activities now (KEYED_RECORDS_PATCH), safe across a worker crash because each entry
is recorded by its key (oferta/timeline/entry_keys.py): a period takes fewer than 40 events, two
activities through the server and two writes in the worker.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from temporalio.api.enums.v1 import EventType as HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta.policy import load_policy
from oferta.sandbox import workflow_runner
from oferta.timeline.money import Money
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput, workflow_id

STEADY_PERIOD_EVENTS = 40  # the bound: 38 now; 48 with the writes as activities, 60 before that


def _kinds(history: WorkflowHistory) -> Counter[str]:
    return Counter(HistoryEvent.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events)


async def test_a_steady_billing_period_stays_under_40_history_events(time_env, task_queue):
    ledger = MemoryLedger()
    spec = ServiceSpec(
        service_id="steady",
        customer_id="c-1",
        policy_id="ps-kz",
        tariff="Basic",
        price=Money.of("2500", "KZT"),
    )
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[ServiceLifecycleWorkflow],
        workflow_runner=workflow_runner([ServiceLifecycleWorkflow]),
        # The same registration as worker.py: record_timeline runs as a local activity from it.
        activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
    ):
        handle = await time_env.client.start_workflow(
            ServiceLifecycleWorkflow.run,
            ServiceWorkflowInput(policy=load_policy("ps-kz"), spec=spec, publish_search_attributes=False),
            id=workflow_id(spec.service_id),
            task_queue=task_queue,
        )
        # Billing pays every invoice as soon as it is issued: from one deadline to the next.
        payments = 0
        while payments < 5:
            view = await handle.query(ServiceLifecycleWorkflow.view)
            if view.debt.amount > 0:
                payments += 1
                await handle.execute_update(
                    ServiceLifecycleWorkflow.apply_event,
                    BillingEvent(event_id=f"pay-{payments}", type=EventType.PAYMENT, amount=view.debt),
                )
                # Let the receipt go out first: a query arriving during a workflow task makes the
                # server schedule one more task to answer it, which is not the period's own cost.
                await time_env.sleep(timedelta(minutes=1))
                continue
            assert view.state.value == "active" and view.next_deadline is not None
            now = await time_env.get_current_time()
            await time_env.sleep(max(view.next_deadline.at - now, timedelta(0)) + timedelta(seconds=1))
        state = await handle.query(ServiceLifecycleWorkflow.state)
        await handle.terminate("test over")

        runs: list[WorkflowHistory] = []
        run_id: str | None = handle.first_execution_run_id
        while run_id:
            history = await time_env.client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
            runs.append(history)
            last = history.events[-1]
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id or None

    # The first run starts the service; the last one was stopped mid-period. Those between are whole
    # periods: an invoice, its e-mail, the payment, its receipt, and the next period.
    periods = runs[1:-1]
    assert len(periods) >= 2
    for history in periods:
        kinds = _kinds(history)
        assert kinds["WORKFLOW_EXECUTION_CONTINUED_AS_NEW"] == 1
        assert kinds["WORKFLOW_EXECUTION_UPDATE_COMPLETED"] == 1, "one payment in the period"
        assert len(history.events) < STEADY_PERIOD_EVENTS, kinds
        # Only the two notices go through the server; the two writes (the invoice with its e-mail,
        # the payment with its receipt) run in the worker, each a marker in the history.
        assert kinds["ACTIVITY_TASK_SCHEDULED"] == 2, kinds
        local = [e for e in history.events if e.marker_recorded_event_attributes.marker_name]
        assert [e.marker_recorded_event_attributes.marker_name for e in local].count(
            "core_local_activity"
        ) == 2
        assert kinds["WORKFLOW_TASK_COMPLETED"] <= 6, kinds

    # Nothing was lost or written twice: the writes follow each other with no gap or overlap, every
    # entry has its own key, and every notice sent has its one timeline entry on record.
    records = sorted(ledger.records.values(), key=lambda r: r.first_sequence)
    expected = 0
    for record in records:
        assert record.first_sequence == expected
        expected += len(record.entries)
    mirrored = ledger.timeline[spec.service_id]
    assert len(mirrored) == expected
    assert all(e.key for e in mirrored) and len({e.key for e in mirrored}) == expected
    assert sum(e.type.value == "notice" for e in mirrored) == len(ledger.notices)
    # The database's copy holds every entry of the workflow's own timeline (it keeps the recent
    # ones), by its key, as the workflow made it. Not in the same order: an entry is made when its
    # step runs and written with its write (a notice's outcome may be written while the step made
    # before it waits for its provisioning).
    made = {e.key: (e.type, e.at) for e in state.timeline}
    assert len(made) == len(state.timeline)
    assert made.items() <= {e.key: (e.type, e.at) for e in mirrored}.items()
