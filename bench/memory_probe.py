"""Where a worker's memory per cached ServiceContract workflow goes.

    .venv/bin/python bench/memory_probe.py [--workflows 300] [--rss-only] [--json FILE]

One process, an in-memory dev server, the in-memory back ends (a workflow's memory does
not depend on them). For each variant, K workflows are started on a fresh worker whose
cache holds them all, and the process's RSS and Python allocations (tracemalloc) are read
before and after, once the worker is idle:

* ``noop``: bench/noop_workflow.py in the same sandbox, the floor of a cached workflow;
* ``noop, unsandboxed``: the same without the sandbox, the SDK's own floor;
* ``service``: ServiceContract taken over mid-contract (as the importer starts it), in the
  sandbox as worker.py runs it (``oferta.sandbox.workflow_runner``);
* ``service, workflows passed through``: sandboxed, but the ``workflows`` package (and
  ``oferta``, as the workflow module passes it through) shared with the worker rather than
  run again for each workflow: the price of the sandbox's per-workflow module;
* ``service, unsandboxed``: the same without the sandbox, to price the sandbox;

``--rss-only`` runs without tracemalloc, whose own record of every allocation is RSS too
(about 80 KiB of a cached ServiceContract's figure): the RSS a worker has.

Then the pieces a ServiceContract instance holds, measured alone with tracemalloc: its
input as the data converter decodes it (the whole Policy travels in every workflow's
input; decoded, workflows share one: oferta/policy/interned.py), a Policy decoded alone,
``Contract(policy)`` and the ServiceState.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from temporalio.client import WorkflowHistory
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxRestrictions

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from activities.memory import MemoryLedger  # noqa: E402
from activities.service_activities import ServiceActivities  # noqa: E402
from bench.noop_workflow import NoopWorkflow  # noqa: E402
from bench.system import rss_kib  # noqa: E402
from oferta import search_attributes  # noqa: E402
from oferta.importer import Prepared, prepare  # noqa: E402
from oferta.policy import load_policy  # noqa: E402
from oferta.sandbox import workflow_runner  # noqa: E402
from oferta.temporal import quiet_runtime, run_async, temporal_cli_path  # noqa: E402
from oferta.timeline.engine import Contract  # noqa: E402
from workflows.client import take_over_service  # noqa: E402
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput  # noqa: E402
from workflows.shared import service_workflow_id  # noqa: E402

PID = __import__("os").getpid()


def _prepared(service_id: str, now: datetime) -> Prepared:
    row = {
        "service_id": service_id,
        "customer_id": f"c-{service_id}",
        "customer_name": "Probe",
        "email": "probe@example.kz",
        "policy": "ps-kz",
        "tariff": "Basic",
        "price": "2500.00",
        "currency": "KZT",
        "status": "active",
        "paid_until": (now + timedelta(days=20)).isoformat(),
    }
    item = prepare(1, row, now)
    assert isinstance(item, Prepared), item
    return item


async def _settle() -> None:
    """Until the worker has run every started workflow's first task: the starts return once
    the server has them, the tasks follow. Quiet = under 5 % of a core for 2 s."""
    quiet_since, last = time.monotonic(), time.process_time()
    while time.monotonic() - quiet_since < 2.0:
        await asyncio.sleep(0.5)
        now = time.process_time()
        if now - last > 0.025:
            quiet_since = time.monotonic()
        last = now
    gc.collect()


def _traced() -> int:
    return tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0


def _snapshot() -> tracemalloc.Snapshot:
    return tracemalloc.take_snapshot() if tracemalloc.is_tracing() else tracemalloc.Snapshot([], 1)


async def _variant(env: WorkflowEnvironment, name: str, k: int) -> dict[str, Any]:
    ledger = MemoryLedger()
    queue = f"probe-{uuid.uuid4().hex[:6]}"
    workflows: list[type] = [ServiceLifecycleWorkflow, NoopWorkflow]
    # As worker.py runs them: oferta/sandbox.py's runner.
    runner: WorkflowRunner = workflow_runner(workflows)
    if "unsandboxed" in name:
        runner = UnsandboxedWorkflowRunner()
    elif "passed through" in name:
        # Sandboxed, but the workflows package shared with the worker instead of run again for
        # every workflow. ``oferta`` too: the workflow module passes it through when it runs, and
        # the engine imports some of it lazily (overrides.py), which the sandbox would then refuse.
        runner = workflow_runner(
            workflows,
            restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows", "oferta"),
        )
    now = datetime.now(UTC)
    policy = load_policy("ps-kz")
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=workflows,
        workflow_runner=runner,
        activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
        max_cached_workflows=k + 50,
    ):

        async def start(i: int) -> None:
            if name.startswith("noop"):
                await env.client.start_workflow(NoopWorkflow.run, id=f"{queue}-{i}", task_queue=queue)
            else:
                item = _prepared(f"{queue}-{i}", now)
                await take_over_service(env.client, policy, item.spec, item.state, task_queue=queue)

        await asyncio.gather(*(start(i) for i in range(5)))  # first-use costs, not per workflow
        await _settle()
        snapshot_before, rss_before, traced_before = _snapshot(), rss_kib(PID), _traced()
        began = time.perf_counter()
        for first in range(5, k + 5, 50):
            await asyncio.gather(*(start(i) for i in range(first, min(first + 50, k + 5))))
        await _settle()
        rss_after, traced_after = rss_kib(PID), _traced()
        replay_ms = await _replay_ms(env, queue, min(k, 20)) if name == "service" else None
        top = [
            (str(stat.traceback[0].filename).split("site-packages/")[-1], round(stat.size_diff / k / 1024, 1))
            for stat in _snapshot().compare_to(snapshot_before, "filename")[:12]
        ]
        result = {
            "variant": name,
            "workflows": k,
            "start_seconds": round(time.perf_counter() - began, 1),
            "rss_kib_per_workflow": round((rss_after - rss_before) / k, 1),
            "python_kib_per_workflow": round((traced_after - traced_before) / k / 1024, 1)
            if tracemalloc.is_tracing()
            else None,
            "by_file_kib_per_workflow": top,
            "replay_ms": replay_ms,
        }
        if replay_ms is not None:
            print(f"      an evicted service's current run replays in {replay_ms} ms", flush=True)
        python = result["python_kib_per_workflow"]
        print(
            f"{name:<22} {k} cached: RSS {result['rss_kib_per_workflow']:7.1f} KiB a workflow, "
            + (f"Python objects {python:7.1f} KiB" if python is not None else "no tracemalloc"),
            flush=True,
        )
        for filename, kib in top[:8]:
            print(f"      {kib:7.1f} KiB  {filename}", flush=True)
    return result


async def _replay_ms(env: WorkflowEnvironment, queue: str, times: int = 20) -> float:
    """What an evicted service costs at its next step: its current run fetched and replayed
    (the worker does both before it can take the step). One replayer for ``times`` services'
    histories, so the replayer's own start-up is shared as a worker's is."""
    workflows = [ServiceLifecycleWorkflow]
    replayer = Replayer(
        workflows=workflows,
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(workflows),
    )

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for i in range(5, 5 + times):
            yield await env.client.get_workflow_handle(service_workflow_id(f"{queue}-{i}")).fetch_history()

    began = time.perf_counter()
    await replayer.replay_workflows(histories())
    return round((time.perf_counter() - began) / times * 1000, 1)


def _pieces() -> dict[str, float]:
    """What one ServiceContract instance holds, each decoded or built alone (tracemalloc)."""
    now = datetime.now(UTC)
    item = _prepared("piece", now)
    policy = load_policy("ps-kz")
    payload = pydantic_data_converter.payload_converter.to_payloads(
        [ServiceWorkflowInput(policy=policy, spec=item.spec, state=item.state)]
    )[0]
    n = 50

    def per_copy(make: Any) -> float:
        gc.collect()
        before = _traced()
        kept = [make() for _ in range(n)]
        size = (_traced() - before) / n / 1024
        del kept
        return round(size, 1)

    decode = pydantic_data_converter.payload_converter.from_payloads
    pieces = {
        "input_payload_bytes_kib": round(len(payload.data) / 1024, 1),
        "decoded_input_kib": per_copy(lambda: decode([payload], [ServiceWorkflowInput])[0]),
        "decoded_policy_alone_kib": per_copy(lambda: type(policy).model_validate(policy.model_dump())),
        "contract_kib": per_copy(lambda: Contract(policy)),
        "state_kib": per_copy(lambda: item.state.model_copy(deep=True)),
    }
    for name, kib in pieces.items():
        print(f"piece  {name:<26} {kib:7.1f} KiB", flush=True)
    return pieces


VARIANTS = (
    "noop",
    "noop, unsandboxed",
    "service",
    "service, workflows passed through",
    "service, unsandboxed",
)


async def main(k: int, variants: list[str], trace: bool = True) -> dict[str, Any]:
    if trace:
        tracemalloc.start(1)
    results: dict[str, Any] = {"pieces": _pieces() if trace else {}, "variants": []}
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=temporal_cli_path(),
        search_attributes=cast(list[SearchAttributeKey[Any]], search_attributes.ALL),
        runtime=quiet_runtime(),
        dev_server_log_level="never",
    )
    try:
        for name in variants:
            results["variants"].append(await _variant(env, name, k))
    finally:
        await env.shutdown()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workflows", type=int, default=300)
    parser.add_argument(
        "--variant",
        nargs="+",
        choices=VARIANTS,
        default=list(VARIANTS),
        help="one per process for RSS that an earlier variant's freed memory does not blur",
    )
    parser.add_argument(
        "--rss-only", action="store_true", help="no tracemalloc: the RSS a worker has, no Python figures"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = run_async(main(args.workflows, args.variant, trace=not args.rss_only))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
