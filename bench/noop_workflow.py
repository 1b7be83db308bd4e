"""The baseline for bench/start_bench.py: a workflow that only waits and accepts one update.

Run as a script it is the baseline's worker, a process of its own like Oferta's worker:

    python bench/noop_workflow.py TEMPORAL_ADDRESS TASK_QUEUE
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta

from temporalio import workflow


@workflow.defn(name="BenchNoop")
class NoopWorkflow:
    def __init__(self) -> None:
        self.paid = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False, timeout=timedelta(days=30))

    @workflow.update
    async def pay(self) -> bool:
        self.paid = True
        return self.paid


async def _serve(address: str, task_queue: str) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    client = await Client.connect(address)
    async with Worker(client, task_queue=task_queue, workflows=[NoopWorkflow]):
        print("noop worker polling", flush=True)
        await stop.wait()


if __name__ == "__main__":
    from oferta.temporal import run_async

    run_async(_serve(sys.argv[1], sys.argv[2]))
