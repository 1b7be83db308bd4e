"""A workflow module the sandbox must refuse: it reads the clock (tests/workflows/test_sandbox.py)."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

LOADED_AT = datetime.now()  # refused in the sandbox: not deterministic


@workflow.defn(name="SandboxClock")
class SandboxClockWorkflow:
    @workflow.run
    async def run(self) -> None:
        return None
