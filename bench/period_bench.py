"""What one steady billing period costs the Temporal server: history events, activities, workflow tasks.

    .venv/bin/python bench/period_bench.py [--months 6]

One PS.kz service paid on time, month after month (each invoice paid the day it is issued), on the
time-skipping server with the in-memory back ends. The workflow continues as new at each period,
so each run but the first (the start) and the last (cut short) is one whole period.
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import timedelta

from temporalio.api.enums.v1 import EventType as HistoryEvent
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta.policy import load_policy
from oferta.temporal import quiet_runtime, run_async, test_server_path
from oferta.timeline.money import Money
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput, workflow_id


async def run(months: int) -> None:
    ledger = MemoryLedger()
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=test_server_path(),
        runtime=quiet_runtime(),
    ) as env:
        async with Worker(
            env.client,
            task_queue="bench",
            workflows=[ServiceLifecycleWorkflow],
            activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
        ):
            spec = ServiceSpec(
                service_id="steady",
                customer_id="c",
                policy_id="ps-kz",
                tariff="Basic",
                price=Money.of("2500", "KZT"),
            )
            handle = await env.client.start_workflow(
                ServiceLifecycleWorkflow.run,
                ServiceWorkflowInput(policy=load_policy("ps-kz"), spec=spec, publish_search_attributes=False),
                id=workflow_id(spec.service_id),
                task_queue="bench",
            )
            payments = 0
            while payments <= months:
                view = await handle.query(ServiceLifecycleWorkflow.view)
                if view.debt.amount > 0:
                    payments += 1
                    await handle.execute_update(
                        ServiceLifecycleWorkflow.apply_event,
                        BillingEvent(event_id=f"pay-{payments}", type=EventType.PAYMENT, amount=view.debt),
                    )
                    # Let the receipt go out first: a query arriving during a workflow task makes the
                    # server schedule one more task to answer it, which is not the period's own cost.
                    await env.sleep(timedelta(minutes=1))
                    continue
                assert view.next_deadline is not None
                now = await env.get_current_time()
                await env.sleep(max(view.next_deadline.at - now, timedelta(0)) + timedelta(seconds=1))
            await handle.terminate("bench over")
            run_id: str | None = handle.first_execution_run_id
            part = 0
            while run_id:
                history = await env.client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
                kinds = Counter(
                    HistoryEvent.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events
                )
                local = sum(
                    e.marker_recorded_event_attributes.marker_name == "core_local_activity"
                    for e in history.events
                )
                role = "start" if part == 0 else "period"
                if kinds["WORKFLOW_EXECUTION_TERMINATED"]:
                    role = "cut short"
                print(
                    f"run {part} ({role}): {len(history.events)} events, "
                    f"{kinds['ACTIVITY_TASK_SCHEDULED']} activities, {local} local activities, "
                    f"{kinds['WORKFLOW_TASK_COMPLETED']} workflow tasks, {kinds['TIMER_STARTED']} timers"
                )
                last = history.events[-1]
                run_id = (
                    last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id or None
                )
                part += 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--months", type=int, default=6)
    run_async(run(parser.parse_args().months))
