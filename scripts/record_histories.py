"""Records workflow histories for the replay tests (tests/histories/*.json).

Run after a deliberate, replay-safe change to the workflow to add new histories;
never regenerate the old ones to make a failing replay pass — that failure is
the point (use workflow.patched for the change instead).

    .venv/bin/python scripts/record_histories.py
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from oferta.simulate import run_scenario
from oferta.temporal import quiet_runtime, test_server_path
from tests.workflows.scenarios import pay, scenario
from workflows.client import service_handle

OUT = Path(__file__).resolve().parents[1] / "tests" / "histories"
# Bump when the workflow's commands change (behind workflow.patched); older files stay.
# v5: timeline records as local activities, one write per step (ROUND_TRIPS_PATCH).
# v6: the writes as ordinary activities (RECORDS_AS_ACTIVITIES_PATCH).
# v7: local writes again, each entry with its key (KEYED_RECORDS_PATCH).
VERSION = "v7-local-records-keyed"

SCENARIOS = {
    "ps-kz-grace-then-deleted": scenario("ps-kz", [pay(timedelta(minutes=5)), pay(timedelta(days=36))], 75),
    "ps-kz-cancel-refund": scenario(
        "ps-kz",
        [
            pay(timedelta(minutes=5), amount="7500.00"),
            {"after": timedelta(days=35), "type": "cancel_request"},
        ],
        90,
    ),
    "ps-kz-force-majeure": scenario(
        "ps-kz",
        [
            pay(timedelta(minutes=5)),
            {"after": timedelta(days=5), "type": "force_majeure_start", "reason": "flood"},
        ],
        60,
    ),
}


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, spec in SCENARIOS.items():
        async with await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter,
            test_server_existing_path=test_server_path(),
            runtime=quiet_runtime(),
        ) as env:
            result = await run_scenario(env, spec)
            run_id, part = result.first_run_id, 0
            while run_id:
                handle = service_handle(env.client, result.service_id, run_id=run_id)
                history = await handle.fetch_history()
                path = OUT / f"{VERSION}.{name}.run{part}.json"
                if path.exists():
                    raise SystemExit(f"{path.name} exists: bump VERSION instead of re-recording")
                path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
                print(f"wrote {path.name}: {len(history.events)} events")
                last = history.events[-1]
                run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                part += 1


if __name__ == "__main__":
    asyncio.run(main())
