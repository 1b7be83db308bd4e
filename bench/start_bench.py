"""Services started and paid per second: no-op baseline, raw client and HTTP API, like with like.

    .venv/bin/python bench/start_bench.py [--services 300] [--concurrency 50] [--json FILE] [--quick]

All three run in one invocation against **one** system as ``./run`` starts it
(bench/system.py): the file-backed Temporal dev server (``--db-filename``), Oferta's
worker process with its real back ends (SQLite, the mail sink), the API process.
The benchmark process is only the client in every mode, and each mode's worker is a
process of its own:

* ``noop``: start a do-nothing workflow and send it one update; its worker is
  ``bench/noop_workflow.py`` (a separate process) — the floor of this server and SDK.
* ``raw``: what the API does for a service, without HTTP: write the customer and the
  service rows (the worker's mirror updates them), ``start_service`` and the
  ``apply_event`` update through workflows/client.py; Oferta's worker runs it.
* ``api``: ``POST /v1/customers``, ``POST /v1/services``, ``POST …/payments`` over HTTP.

Reports services/s, the latency of one service and each process's CPU share, then
the ratios the issue asks for (api/raw ≥ 0.8, raw/noop ≥ 0.5).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.noop_workflow import NoopWorkflow  # noqa: E402
from bench.system import ROOT, System, cpu_share, load_average, machine, oferta_run, percentile  # noqa: E402
from oferta.db.models import Customer, Service  # noqa: E402
from oferta.db.once import insert_once  # noqa: E402
from oferta.db.session import session_scope  # noqa: E402
from oferta.policy import Policy, load_policy  # noqa: E402
from oferta.temporal import run_async  # noqa: E402
from oferta.timeline.money import Money  # noqa: E402
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec, ServiceStatus  # noqa: E402
from workflows.client import apply_event, start_service  # noqa: E402
from workflows.shared import service_workflow_id  # noqa: E402

NOOP_QUEUE = "bench-noop"
GOALS = {"api/raw": 0.8, "raw/noop": 0.5}


async def _measure(
    name: str, system: System, count: int, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> dict[str, Any]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def timed(n: int) -> None:
        async with gate:
            began = time.perf_counter()
            await one(n)
            latencies.append(time.perf_counter() - began)

    cpu_before, load_before = system.cpu(), load_average()
    began = time.perf_counter()
    await asyncio.gather(*(timed(n) for n in range(count)))
    elapsed = time.perf_counter() - began
    result: dict[str, Any] = {
        "mode": name,
        "services": count,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "per_second": round(count / elapsed, 2),
        "p50_ms": round(percentile(latencies, 0.5) * 1000),
        "p95_ms": round(percentile(latencies, 0.95) * 1000),
        "cpu_share": cpu_share(cpu_before, system.cpu(), elapsed),
        "load_average": [load_before, load_average()],
    }
    print(
        f"{name:<5} {count} services, {concurrency} at a time: {elapsed:6.1f} s = "
        f"{result['per_second']:6.1f} services/s; one service p50 {result['p50_ms']} ms, "
        f"p95 {result['p95_ms']} ms",
        flush=True,
    )
    print(
        "      CPU (share of one core): "
        + ", ".join(f"{proc} {share:.0%}" for proc, share in result["cpu_share"].items()),
        flush=True,
    )
    return result


async def _noop(system: System, count: int, concurrency: int) -> dict[str, Any]:
    client, run_id = await system.client(), uuid.uuid4().hex[:6]
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "noop_workflow.py"), system.temporal_address, NOOP_QUEUE],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert worker.stdout is not None
        await asyncio.to_thread(worker.stdout.readline)  # "noop worker polling"
        system.pids["noop-worker"] = worker.pid

        async def one(n: int) -> None:
            handle = await client.start_workflow(
                NoopWorkflow.run, id=f"noop-{run_id}-{n}", task_queue=NOOP_QUEUE
            )
            await handle.execute_update(NoopWorkflow.pay)

        result = await _measure("noop", system, count, concurrency, one)
        result["history_events"] = await _events(system, f"noop-{run_id}-0")
        return result
    finally:
        system.pids.pop("noop-worker", None)
        worker.terminate()
        worker.wait(timeout=60)


def _write_rows(url: str, spec: ServiceSpec) -> None:
    """What the API writes before it starts a service: the customer, the service (its mirror)."""
    with session_scope(url) as session:
        insert_once(session, Customer, id=spec.customer_id, name="Bench", locale="ru")
        insert_once(
            session,
            Service,
            id=spec.service_id,
            customer_id=spec.customer_id,
            policy_id=spec.policy_id,
            kind=spec.kind,
            tariff=spec.tariff,
            price=spec.price.amount,
            currency=spec.price.currency,
            period=spec.period,
            workflow_id=service_workflow_id(spec.service_id),
            state=ServiceStatus.AWAITING_PAYMENT.value,
            period_index=0,
            debt=Decimal("0"),
        )


async def start_and_pay(
    system: System, client: Client, policy: Policy, service_id: str
) -> tuple[float, float, float]:
    """One PS.kz service as the API makes it, without HTTP: its rows written, its workflow started
    and its first invoice paid. Returns the seconds each of the three took."""
    began = time.perf_counter()
    spec = ServiceSpec(
        service_id=service_id,
        customer_id=f"{service_id}-c",
        policy_id="ps-kz",
        tariff="Basic",
        price=Money.of("2500", "KZT"),
    )
    await asyncio.to_thread(_write_rows, system.database_url, spec)
    written = time.perf_counter()
    await start_service(client, policy, spec, task_queue=system.task_queue)
    started = time.perf_counter()
    pay = BillingEvent(event_id=f"pay-{spec.service_id}", type=EventType.PAYMENT, amount=spec.price)
    await apply_event(client, spec.service_id, pay, timeout=120)
    return written - began, started - written, time.perf_counter() - started


async def _raw(system: System, count: int, concurrency: int) -> dict[str, Any]:
    client, policy, run_id = await system.client(), load_policy("ps-kz"), uuid.uuid4().hex[:6]

    async def one(n: int) -> None:
        await start_and_pay(system, client, policy, f"raw-{run_id}-{n}")

    result = await _measure("raw", system, count, concurrency, one)
    result["history_events"] = await _events(system, service_workflow_id(f"raw-{run_id}-0"))
    return result


async def _api(system: System, count: int, concurrency: int) -> dict[str, Any]:
    run_id, first = uuid.uuid4().hex[:6], []
    retries: dict[str, int] = {}
    async with httpx.AsyncClient(
        base_url=system.api_url,
        headers={"Authorization": f"Bearer {system.key}"},
        timeout=120,
        limits=httpx.Limits(max_connections=concurrency),
    ) as http:

        async def call(path: str, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
            # 503 is the API's "Temporal or the worker did not answer in time: retry": a billing
            # system retries with the same key (applied once), and so does the bench, counting.
            for _ in range(10):
                response = await http.post(path, json=body, headers={"Idempotency-Key": idempotency_key})
                if response.status_code != 503:
                    break
                retries[path.rsplit("/", 1)[-1]] = retries.get(path.rsplit("/", 1)[-1], 0) + 1
            response.raise_for_status()
            answer: dict[str, Any] = response.json()
            return answer

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
            if n == 0:
                first.append(service["id"])
            await call(
                f"/v1/services/{service['id']}/payments",
                {"amount": "2500.00", "currency": "KZT"},
                f"{run_id}-p{n}",
            )

        result = await _measure("api", system, count, concurrency, one)
        result["history_events"] = await _events(system, service_workflow_id(first[0]))
        result["retried_503"] = retries
        print(f"      answers 503 (retried with the same key): {retries or 'none'}", flush=True)
        result["routes_mean_ms"] = await _by_route(http)
        for route, mean in result["routes_mean_ms"].items():
            print(f"      POST {route:<38} mean {mean:5.0f} ms", flush=True)
        return result


async def _events(system: System, workflow_id: str) -> int:
    """Events in one service's history once it has settled: the server's work for one service."""
    await system.worker_idle(quiet_for=1.0, timeout=60)
    client = await system.client()
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    print(f"      one service's history: {len(history.events)} events", flush=True)
    return len(history.events)


async def _by_route(http: httpx.AsyncClient) -> dict[str, float]:
    """Where the API's time went, from its own Prometheus metrics."""
    text = (await http.get("/metrics")).text

    def series(kind: str) -> dict[str, str]:
        pattern = rf'oferta_api_request_seconds_{kind}\{{method="POST",route="([^"]+)"\}} (\S+)'
        return dict(re.findall(pattern, text))

    sums, counts = series("sum"), series("count")
    return {
        route: round(float(total) / float(counts[route]) * 1000, 1) for route, total in sorted(sums.items())
    }


def _tracebacks(system: System) -> dict[str, int]:
    logs = system.data_dir / "logs"
    return {
        name: (logs / f"{name}.log").read_text(errors="replace").count("Traceback")
        for name in ("worker", "api")
    }


async def run(count: int, concurrency: int, modes: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": machine(),
        "server": "temporal dev server, SQLite file (oferta run)",
    }
    async with oferta_run() as system:
        measure = {"noop": _noop, "raw": _raw, "api": _api}
        for mode in modes:
            results[mode] = await measure[mode](system, count, concurrency)
        results["tracebacks"] = _tracebacks(system)
        results["temporal_db_bytes"] = system.temporal_db_bytes()
    rates = {mode: results[mode]["per_second"] for mode in modes}
    ratios = {}
    for name, goal in GOALS.items():
        top, bottom = name.split("/")
        if top in rates and bottom in rates:
            ratio = rates[top] / rates[bottom]
            ratios[name] = {"ratio": round(ratio, 3), "goal": goal, "met": ratio >= goal}
            print(
                f"{name:<9} {ratio:5.2f}  (goal ≥ {goal}: {'met' if ratio >= goal else 'NOT met'})",
                flush=True,
            )
    results["ratios"] = ratios
    print(f"worker/api log tracebacks: {results['tracebacks']}", flush=True)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="10 services, 5 at a time (the tests' size)")
    parser.add_argument("--mode", nargs="+", choices=["noop", "raw", "api"], default=["noop", "raw", "api"])
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    count, concurrency = (10, 5) if args.quick else (args.services, args.concurrency)
    results = run_async(run(count, concurrency, args.mode))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
