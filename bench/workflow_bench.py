"""Whole contract timelines through the real workflow on the time-skipping server.

    .venv/bin/python bench/workflow_bench.py [--services 20] [--months 12]

Starts N services (PS.kz), prepays each for M months, lets time skip to the end
and reports services/s and the history length of each run (one billing period).
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta

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


async def run(services: int, months: int) -> None:
    policy = load_policy("ps-kz")
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
            began = time.perf_counter()
            handles = []
            for n in range(services):
                spec = ServiceSpec(
                    service_id=f"bench-{n}",
                    customer_id="c",
                    policy_id="ps-kz",
                    tariff="Basic",
                    price=Money.of("2500", "KZT"),
                )
                handle = await env.client.start_workflow(
                    ServiceLifecycleWorkflow.run,
                    ServiceWorkflowInput(policy=policy, spec=spec, publish_search_attributes=False),
                    id=workflow_id(spec.service_id),
                    task_queue="bench",
                )
                await handle.signal(
                    ServiceLifecycleWorkflow.billing_event,
                    BillingEvent(
                        event_id="prepay", type=EventType.PAYMENT, amount=Money.of(2500 * (months + 1), "KZT")
                    ),
                )
                handles.append(handle)
            await env.sleep(timedelta(days=31 * months))
            views = [await h.query(ServiceLifecycleWorkflow.view) for h in handles]
            elapsed = time.perf_counter() - began
            lengths = [len((await h.fetch_history()).events) for h in handles]
            for h in handles:
                await h.terminate("bench over")
    periods = sum(v.period_index for v in views)
    print(
        f"{services} services x {months} months: {periods} periods in {elapsed:.1f} s "
        f"({periods / elapsed:.1f} periods/s, {len(ledger.notices)} notices)"
    )
    print(f"  events in the current run: min {min(lengths)}, max {max(lengths)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    run_async(run(args.services, args.months))
