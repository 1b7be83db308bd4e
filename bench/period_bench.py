"""What one steady billing period costs the Temporal server: history events, activities, workflow tasks.

    .venv/bin/python bench/period_bench.py [--months 6]

One PS.kz service paid on time, month after month (each invoice paid the day it is issued), on the
time-skipping server with the in-memory back ends. The workflow continues as new at each period,
so each run but the first (the start) and the last (cut short) is one whole period.
"""

from __future__ import annotations

import argparse
from collections import Counter

from temporalio.api.enums.v1 import EventType as HistoryEvent
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta.dev.steady import pay_each_invoice, runs_of, start_steady
from oferta.sandbox import workflow_runner
from oferta.temporal import quiet_runtime, run_async, test_server_path
from workflows.service_lifecycle import ServiceLifecycleWorkflow


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
            workflow_runner=workflow_runner([ServiceLifecycleWorkflow]),  # as worker.py runs it
            activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
        ):
            handle = await start_steady(env, "bench")
            await pay_each_invoice(env, handle, payments=months + 1)
            await handle.terminate("bench over")
            for part, history in enumerate(await runs_of(env.client, handle)):
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--months", type=int, default=6)
    run_async(run(parser.parse_args().months))
