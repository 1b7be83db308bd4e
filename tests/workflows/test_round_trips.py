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

from temporalio.api.enums.v1 import EventType as HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta.dev.steady import STEADY_SPEC, pay_each_invoice, runs_of, start_steady
from oferta.sandbox import workflow_runner
from workflows.service_lifecycle import ServiceLifecycleWorkflow

STEADY_PERIOD_EVENTS = 40  # the bound: 38 now; 48 with the writes as activities, 60 before that


def _kinds(history: WorkflowHistory) -> Counter[str]:
    return Counter(HistoryEvent.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events)


async def test_a_steady_billing_period_stays_under_40_history_events(time_env, task_queue):
    ledger = MemoryLedger()
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[ServiceLifecycleWorkflow],
        workflow_runner=workflow_runner([ServiceLifecycleWorkflow]),
        # The same registration as worker.py: record_timeline runs as a local activity from it.
        activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
    ):
        handle = await start_steady(time_env, task_queue)
        await pay_each_invoice(time_env, handle, payments=5)
        state = await handle.query(ServiceLifecycleWorkflow.state)
        await handle.terminate("test over")
        runs = await runs_of(time_env.client, handle)

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
    mirrored = ledger.timeline[STEADY_SPEC.service_id]
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
