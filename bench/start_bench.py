"""Services started and paid per second on a real Temporal dev server, three ways.

    .venv/bin/python bench/start_bench.py [--services 300] [--concurrency 50] [--mode noop raw api]

* ``noop``: the raw client starts a do-nothing workflow and sends it one update —
  the server's and SDK's floor on this machine.
* ``raw``: the raw client starts ServiceLifecycle (search attributes published, as
  in production; in-memory back ends) and applies the first payment with the
  ``apply_event`` update.
* ``api``: the same through the HTTP API, as the billing system does it —
  ``POST /v1/customers``, ``POST /v1/services``, ``POST …/payments`` — against the
  whole system as ``oferta run`` starts it in a temporary folder (API, worker and
  dev server in their own processes, Temporal on its SQLite file, Oferta on
  SQLite or ``--database-url``, e.g. an empty PostgreSQL database).

Each reports services/s and the latency of one service (start to payment
receipt); noop and raw run client and worker in this one process (its CPU a
service is shown), api only the HTTP client.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from activities.memory import MemoryLedger  # noqa: E402
from activities.service_activities import ServiceActivities  # noqa: E402
from bench.noop_workflow import NoopWorkflow  # noqa: E402
from oferta import search_attributes  # noqa: E402
from oferta.policy import load_policy  # noqa: E402
from oferta.temporal import quiet_runtime, run_async, temporal_cli_path  # noqa: E402
from oferta.timeline.money import Money  # noqa: E402
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec  # noqa: E402
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput, workflow_id  # noqa: E402

RAW_QUEUE = "bench-raw"  # noop and raw; the API starts workflows on the settings' queue


async def _measure(name: str, count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> None:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def timed(n: int) -> None:
        async with gate:
            began = time.perf_counter()
            await one(n)
            latencies.append(time.perf_counter() - began)

    began, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(timed(n) for n in range(count)))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<5} {count} services, {concurrency} at a time: {elapsed:5.1f} s = "
        f"{count / elapsed:6.1f} services/s; one service p50 {cuts[49] * 1000:.0f} ms, "
        f"p95 {cuts[94] * 1000:.0f} ms; this process {cpu / count * 1000:.0f} ms CPU a service",
        flush=True,
    )


async def _noop(client: Client, count: int, concurrency: int) -> None:
    run_id = uuid.uuid4().hex[:6]

    async def one(n: int) -> None:
        handle = await client.start_workflow(NoopWorkflow.run, id=f"noop-{run_id}-{n}", task_queue=RAW_QUEUE)
        await handle.execute_update(NoopWorkflow.pay)

    await _measure("noop", count, concurrency, one)


async def _raw(client: Client, count: int, concurrency: int) -> None:
    policy, run_id = load_policy("ps-kz"), uuid.uuid4().hex[:6]

    async def one(n: int) -> None:
        spec = ServiceSpec(
            service_id=f"raw-{run_id}-{n}",
            customer_id=f"c{n}",
            policy_id="ps-kz",
            tariff="Basic",
            price=Money.of("2500", "KZT"),
        )
        handle = await client.start_workflow(
            ServiceLifecycleWorkflow.run,
            ServiceWorkflowInput(policy=policy, spec=spec),
            id=workflow_id(spec.service_id),
            task_queue=RAW_QUEUE,
        )
        await handle.execute_update(
            ServiceLifecycleWorkflow.apply_event,
            BillingEvent(event_id="pay", type=EventType.PAYMENT, amount=Money.of("2500", "KZT")),
            id="pay",
        )

    await _measure("raw", count, concurrency, one)


async def _api(base_url: str, key: str, count: int, concurrency: int) -> None:
    run_id = uuid.uuid4().hex[:6]
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60, limits=limits
    ) as http:

        async def call(path: str, body: dict, idempotency_key: str) -> dict:
            response = await http.post(path, json=body, headers={"Idempotency-Key": idempotency_key})
            response.raise_for_status()
            return response.json()

        async def one(n: int) -> None:
            customer = await call("/v1/customers", {"name": f"Bench {n}", "locale": "ru"}, f"{run_id}-c{n}")
            service = await call(
                "/v1/services",
                {
                    "customer_id": customer["id"],
                    "policy": "ps-kz",
                    "tariff": "Basic",
                    "price": "2500.00",
                    "currency": "KZT",
                    "period": "P1M",
                },
                f"{run_id}-s{n}",
            )
            await call(
                f"/v1/services/{service['id']}/payments",
                {"amount": "2500.00", "currency": "KZT"},
                f"{run_id}-p{n}",
            )

        await _measure("api", count, concurrency, one)
        await _by_route(http)


async def _by_route(http: httpx.AsyncClient) -> None:
    """Where the API's time went, from its own Prometheus metrics."""
    import re

    text = (await http.get("/metrics")).text

    def series(kind: str) -> dict[str, str]:
        pattern = rf'oferta_api_request_seconds_{kind}\{{method="POST",route="([^"]+)"\}} (\S+)'
        return dict(re.findall(pattern, text))

    sums, counts = series("sum"), series("count")
    for route, total in sorted(sums.items()):
        print(f"      POST {route:<38} mean {float(total) / float(counts[route]) * 1000:5.0f} ms")


async def _api_on_oferta_run(count: int, concurrency: int, database_url: str) -> None:
    """The whole system as ``./run`` starts it, driven over HTTP."""
    import signal
    import subprocess

    with tempfile.TemporaryDirectory() as data_dir:
        ports = {
            name: str(_free_port())
            for name in (
                "TEMPORAL_UI_PORT",
                "OFERTA_API_PORT",
                "SMTP_PORT",
                "OFERTA_WORKER_METRICS_PORT",
                "OFERTA_SMS_SINK_PORT",
            )
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OFERTA_", "TEMPORAL_", "SMTP_"))}
        env |= ports | {
            "OFERTA_DATA_DIR": data_dir,
            "TEMPORAL_ADDRESS": f"127.0.0.1:{_free_port()}",
            "DATABASE_URL": database_url,
        }
        run = subprocess.Popen(
            [sys.executable, "-m", "oferta.cli", "run"],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[1],
        )
        try:
            for line in run.stdout:
                if "Ctrl-C stops everything." in line:
                    break
            key = (Path(data_dir) / "api-key").read_text().strip()
            children = dict(line.split() for line in (Path(data_dir) / "run.pids").read_text().splitlines())
            before, began = {name: _cpu(pid) for name, pid in children.items()}, time.perf_counter()
            await _api(f"http://127.0.0.1:{ports['OFERTA_API_PORT']}", key, count, concurrency)
            elapsed = time.perf_counter() - began
            used = {name: _cpu(pid) - before[name] for name, pid in children.items()}
            print(
                "      CPU during the load (share of one core): "
                + ", ".join(f"{name} {seconds / elapsed:.0%}" for name, seconds in used.items())
            )
            for name in ("worker", "api"):  # retries hide here: an activity that failed and went again
                log = (Path(data_dir) / "logs" / f"{name}.log").read_text()
                print(
                    f"      {name} log: {log.count('Traceback')} tracebacks"
                    + "".join(
                        f"; {line.strip()[:160]}"
                        for line in log.splitlines()
                        if "Error" in line and not line.startswith(" ")
                    )[:600]
                )
        finally:
            run.send_signal(signal.SIGINT)
            run.wait(timeout=90)


def _cpu(pid: str) -> float:
    """User + system CPU seconds of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def run(count: int, concurrency: int, modes: list[str], database_url: str) -> None:
    if {"noop", "raw"} & set(modes):
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=temporal_cli_path(),
            search_attributes=search_attributes.ALL,
            runtime=quiet_runtime(),
            dev_server_log_level="never",
        )
        try:
            ledger = MemoryLedger()
            memory = ServiceActivities(ledger, ledger, ledger, ledger)
            async with Worker(
                env.client,
                task_queue=RAW_QUEUE,
                workflows=[ServiceLifecycleWorkflow, NoopWorkflow],
                activities=memory.all(),
            ):
                if "noop" in modes:
                    await _noop(env.client, count, concurrency)
                if "raw" in modes:
                    await _raw(env.client, count, concurrency)
        finally:
            await env.shutdown()
        server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)  # the dev server, reaped by now
        print(
            f"      (in-memory dev server CPU over noop and raw: "
            f"{server_cpu.ru_utime + server_cpu.ru_stime:.1f} s)"
        )
    if "api" in modes:
        await _api_on_oferta_run(count, concurrency, database_url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--database-url",
        default="",
        help="the API's and worker's database (default: SQLite in a temporary folder)",
    )
    parser.add_argument("--mode", nargs="+", choices=["noop", "raw", "api"], default=["noop", "raw", "api"])
    args = parser.parse_args()
    run_async(run(args.services, args.concurrency, args.mode, args.database_url))
