"""Services started per second on a real Temporal dev server, each paid through the update.

    .venv/bin/python bench/start_bench.py [--services 500] [--concurrency 50]

What a provider's migration or a busy billing day does: start each service's
workflow (search attributes published, as in production) and apply its first
payment with the ``apply_event`` update, many at once. Reports services/s and
the latency of the payment update (start to receipt).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta import search_attributes
from oferta.policy import load_policy
from oferta.temporal import quiet_runtime, run_async, temporal_cli_path
from oferta.timeline.money import Money
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput, workflow_id


async def run(services: int, concurrency: int) -> None:
    policy = load_policy("ps-kz")
    ledger = MemoryLedger()
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter, dev_server_existing_path=temporal_cli_path(),
        search_attributes=search_attributes.ALL, runtime=quiet_runtime(),
        dev_server_log_level="error")
    try:
        async with Worker(env.client, task_queue="bench", workflows=[ServiceLifecycleWorkflow],
                          activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
                          max_concurrent_workflow_tasks=100, max_concurrent_activities=100):
            gate = asyncio.Semaphore(concurrency)
            latencies: list[float] = []

            async def one(n: int):
                async with gate:
                    spec = ServiceSpec(service_id=f"bench-{n}", customer_id=f"c{n}", policy_id="ps-kz",
                                       tariff="Basic", price=Money.of("2500", "KZT"))
                    began = time.perf_counter()
                    handle = await env.client.start_workflow(
                        ServiceLifecycleWorkflow.run, ServiceWorkflowInput(policy=policy, spec=spec),
                        id=workflow_id(spec.service_id), task_queue="bench")
                    await handle.execute_update(ServiceLifecycleWorkflow.apply_event, BillingEvent(
                        event_id="pay", type=EventType.PAYMENT, amount=Money.of("2500", "KZT")), id="pay")
                    latencies.append(time.perf_counter() - began)
                    return handle

            began, cpu = time.perf_counter(), time.process_time()
            handles = await asyncio.gather(*(one(n) for n in range(services)))
            elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
            for handle in handles:
                await handle.terminate("bench over")
    finally:
        await env.shutdown()
    # The dev server is a child process, reaped by now: its CPU time over the whole run.
    server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{services} services started and paid, {concurrency} at a time: {elapsed:.1f} s "
          f"({services / elapsed:.1f} services/s)")
    print(f"  start + payment update: p50 {cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms")
    print(f"  CPU: client and worker {cpu:.1f} s in the timed part; dev server "
          f"{server_cpu.ru_utime + server_cpu.ru_stime:.1f} s over its whole life")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    run_async(run(args.services, args.concurrency))
