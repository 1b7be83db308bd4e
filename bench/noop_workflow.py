"""The baseline for bench/start_bench.py: a workflow that only waits and accepts one update."""

from __future__ import annotations

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
