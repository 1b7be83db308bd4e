"""Scaling: many open services, a month-end burst, a force majeure over all of them.

    .venv/bin/python bench/scale_bench.py [--quick] [--only open burst fm] [--open 10000]
        [--burst 10000] [--lead SECONDS] [--payments 300] [--json FILE]

One system as ``./run`` starts it (bench/system.py: the file-backed Temporal dev server,
``python worker.py``, the API, Oferta on SQLite). Services are created with the importer
(oferta/importer.py ``import_rows``), which starts each workflow mid-contract, so a large
base exists in minutes rather than hours of payments.

* ``open``: N PS.kz services, active, their next invoice due in the next 30 days. Import time,
  the worker's RSS before and after (per 1 000 open services; the worker caches at most
  OFERTA_WORKER_MAX_CACHED_WORKFLOWS of them), the Temporal database file, and the API's
  latency for payments while they are open.
* ``burst``: N services whose next step — issuing the next period's invoice (with its
  notice), not a suspension, so the destructive-step guard has nothing to hold — falls due
  in the same instant ``T`` (PS.kz issues the invoice 7 days before ``paid_until``). Time
  until every step has run, each step's lateness (when the bench, polling the database, first
  sees the service's mirror name the step after it, minus ``T``: the timeline entry itself
  carries the contract time ``T`` by design, so it cannot show lateness), the notices'
  lateness (``notices.sent_at``) and that each service's notice was sent exactly once.
* ``fm``: ``POST /v1/force-majeure`` with scope all over every open service: time until the
  fan-out has signalled all and until every service's mirror shows it frozen, with the
  progress (``GET /v1/force-majeure/{id}``) sampled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.system import System, cpu_share, load_average, machine, median, oferta_run, percentile  # noqa: E402
from oferta.importer import Refusal, Summary, import_rows  # noqa: E402
from oferta.temporal import run_async  # noqa: E402

QUICK = {"open": 30, "burst": 20, "payments": 10, "lead": 12.0}
WARM_UP = 20  # services imported before the worker's memory is first read (first-use costs)
FULL = {"open": 10_000, "burst": 10_000, "payments": 300}
INVOICE_LEAD = timedelta(days=7)  # PS.kz issues the next invoice 7 days before paid_until
IMPORT_CONCURRENCY = 20
SETTLE_TIMEOUT = 1200.0  # the worker runs every imported service's first task after the import


def _row(service_id: str, paid_until: datetime) -> dict[str, Any]:
    return {
        "service_id": service_id,
        "customer_id": f"c-{service_id}",
        "customer_name": "Bench LLP",
        "email": f"{service_id}@example.kz",
        "locale": "ru",
        "policy": "ps-kz",
        "tariff": "Basic",
        "price": "2500.00",
        "currency": "KZT",
        "status": "active",
        "paid_until": paid_until.isoformat(),
    }


async def _import(
    system: System, rows: Iterator[tuple[int, dict[str, Any] | Refusal]], now: datetime
) -> Summary:
    last = [time.monotonic()]

    def progress(summary: Summary) -> None:
        if time.monotonic() - last[0] > 15:
            last[0] = time.monotonic()
            print(f"      … {summary.done} rows", flush=True)

    return await import_rows(
        rows,
        await system.client(),
        system.database_url,
        system.task_queue,
        now=now,
        concurrency=IMPORT_CONCURRENCY,
        progress=progress,
    )


def _db(system: System) -> sqlite3.Connection:
    return sqlite3.connect(system.data_dir / "oferta.db", timeout=30)


def _when(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- open services ------------------------------------------------------------------------


async def open_services(system: System, n: int, payments: int) -> dict[str, Any]:
    # The first workflows pay once for what every later one shares (modules loaded into the
    # sandbox, the policy cache, connection pools): not a per-service cost.
    warm = datetime.now(UTC)
    await _import(
        system, ((i + 1, _row(f"warm-{i}", warm + timedelta(days=20))) for i in range(WARM_UP)), warm
    )
    await system.worker_idle()
    rss_before, db_before = system.rss_kib("worker"), system.temporal_db_bytes()
    now = datetime.now(UTC)
    spread = random.Random(12)

    def rows() -> Iterator[tuple[int, dict[str, Any] | Refusal]]:
        for i in range(n):
            # Paid through a day 8 to 38 days ahead: the next step (the next invoice, 7 days
            # before paid_until) is 1 to 31 days away. A PS.kz row paid only a few days ahead is
            # already overdue under the contract and would be suspended at once (and trip the guard).
            paid_until = now + timedelta(seconds=spread.uniform(8, 38) * 86400)
            yield i + 1, _row(f"open-{i}", paid_until)

    cpu_before, began = system.cpu(), time.perf_counter()
    summary = await _import(system, rows(), now)
    import_seconds = time.perf_counter() - began
    cpu = cpu_share(cpu_before, system.cpu(), import_seconds)
    settled = await system.worker_idle(timeout=SETTLE_TIMEOUT)
    rss_after, db_after = system.rss_kib("worker"), system.temporal_db_bytes()
    latencies, trouble = await _payments(
        system, [f"open-{i}" for i in spread.sample(range(n), min(payments, n))]
    )
    result = {
        "services": n,
        "imported": summary.imported,
        "refused": len(summary.refused),
        "import_seconds": round(import_seconds, 1),
        "import_per_second": round(summary.imported / import_seconds, 1),
        "import_cpu_share": cpu,
        "worker_settled_after_import_s": round(settled, 1),
        # Not settled: RSS and the database were read while first tasks were still running.
        "worker_settled": settled < SETTLE_TIMEOUT,
        "worker_rss_mib": [round(rss_before / 1024, 1), round(rss_after / 1024, 1)],
        "worker_rss_mib_after_payments": round(system.rss_kib("worker") / 1024, 1),
        "worker_rss_kib_per_1000_open": round((rss_after - rss_before) / n * 1000),
        "temporal_db_mib": [round(db_before / 2**20, 1), round(db_after / 2**20, 1)],
        "temporal_db_kib_per_service": round((db_after - db_before) / n / 1024, 1),
        "payments": len(latencies),
        "payments_trouble": trouble,
        "payment_p50_ms": round(percentile(latencies, 0.5) * 1000),
        "payment_p99_ms": round(percentile(latencies, 0.99) * 1000),
        "load_average": load_average(),
    }
    if summary.refused:
        result["refusals"] = summary.as_dict()["refused_by_reason"]
    return result


async def _payments(
    system: System, service_ids: list[str], concurrency: int = 10, give_up: float = 120.0
) -> tuple[list[float], dict[str, Any]]:
    """One payment each through the HTTP API, ``concurrency`` in flight; seconds each, and what
    went wrong. A 503 is retried with the same Idempotency-Key after its Retry-After, as billing
    does, for up to ``give_up`` seconds; a payment that never succeeds is counted, not raised, so
    one stuck service does not lose the run's other figures."""
    gate, latencies, run_id = asyncio.Semaphore(concurrency), [], uuid.uuid4().hex[:6]
    retried, failed, errors = [0], Counter[str](), Counter[str]()
    async with httpx.AsyncClient(
        base_url=system.api_url, headers={"Authorization": f"Bearer {system.key}"}, timeout=120
    ) as http:

        async def pay(service_id: str) -> None:
            async with gate:
                began = time.perf_counter()
                while True:
                    response = await http.post(
                        f"/v1/services/{service_id}/payments",
                        json={"amount": "2500.00", "currency": "KZT"},
                        headers={"Idempotency-Key": f"{run_id}-{service_id}"},
                    )
                    if response.status_code != 503:
                        break
                    retried[0] += 1
                    errors[_detail(response)] += 1
                    wait = float(response.headers.get("Retry-After") or 5)
                    if time.perf_counter() - began + wait > give_up:
                        break
                    await asyncio.sleep(wait)
                if response.is_success:
                    latencies.append(time.perf_counter() - began)
                else:
                    failed[f"{response.status_code} {_detail(response)}"] += 1
                    print(f"      ! payment to {service_id}: {response.status_code} {response.text[:300]}")

        await asyncio.gather(*(pay(sid) for sid in service_ids))
    if retried[0]:
        print(f"      {retried[0]} answers 503 retried after Retry-After (latency includes it)", flush=True)
    return latencies, {"retried_503": retried[0], "answers_503": dict(errors), "failed": dict(failed)}


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail") or response.json().get("code"))[:120]
    except ValueError:
        return response.text[:120]


# -- the month-end burst ------------------------------------------------------------------


async def burst(system: System, n: int, lead: float, timeout: float) -> dict[str, Any]:
    now = datetime.now(UTC)
    due = (now + timedelta(seconds=lead)).replace(microsecond=0)
    ids = [f"burst-{i}" for i in range(n)]

    def rows() -> Iterator[tuple[int, dict[str, Any] | Refusal]]:
        for line, service_id in enumerate(ids, start=1):
            yield line, _row(service_id, due + INVOICE_LEAD)

    began = time.perf_counter()
    summary = await _import(system, rows(), now)
    imported_at = datetime.now(UTC)
    overran = imported_at >= due
    if overran:
        print(
            f"      ! the import ended {imported_at - due} after the steps fell due: raise --lead", flush=True
        )
    took = time.perf_counter() - began
    print(f"      imported {summary.imported} in {took:.0f} s; steps due at {due:%H:%M:%S}", flush=True)
    # The worker runs each imported service's first task (its timer) after the import; if that
    # backlog is still running at ``due``, the drain below measures it too. Say so.
    before_due = (due - datetime.now(UTC)).total_seconds()
    settled = before_due > 0 and await system.worker_idle(timeout=before_due) < before_due
    settled_before_due = round((due - datetime.now(UTC)).total_seconds(), 1) if settled else None
    print(
        f"      worker idle {settled_before_due} s before the deadline"
        if settled
        else "      ! the worker was still running first tasks at the deadline: raise --lead",
        flush=True,
    )
    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
    cpu_before, drained_s, notices_s = system.cpu(), None, None
    samples: list[tuple[float, int, int]] = []
    # When each service's step was first seen done in its mirror, seconds after ``due``: the
    # mirror's updated_at cannot tell (later writes, e.g. the notice's, move it), so poll.
    step_seen: dict[str, float] = {}
    while True:
        done, sent = await asyncio.to_thread(_burst_counts, system)
        elapsed = (datetime.now(UTC) - due).total_seconds()
        for service_id in done:
            step_seen.setdefault(service_id, elapsed)
        samples.append((round(elapsed, 1), n - len(step_seen), sent))
        if len(step_seen) >= n and drained_s is None:
            drained_s = elapsed
        if sent >= n and notices_s is None:
            notices_s = elapsed
        if (drained_s is not None and notices_s is not None) or elapsed > timeout:
            break
        await asyncio.sleep(0.5)
    cpu = cpu_share(cpu_before, system.cpu(), max(elapsed, 0.1))
    sent_at, per_key, by_template = await asyncio.to_thread(_burst_notices, system)
    mails = await asyncio.to_thread(_burst_mails, system)
    step_late = list(step_seen.values())
    notice_late = [(at - due).total_seconds() for at in sent_at]
    return {
        "services": n,
        "imported": summary.imported,
        "lead_s": lead,
        "import_overran_deadline": overran,
        "import_s": round(took, 1),
        "worker_settled_s_before_due": settled_before_due,
        "drained_s": None if drained_s is None else round(drained_s, 1),
        "notices_sent_s": None if notices_s is None else round(notices_s, 1),
        "steps_recorded": len(step_late),
        "step_lateness_s": _spread(step_late),
        "notices_sent": len(notice_late),
        "notice_lateness_s": _spread(notice_late),
        "notices_per_service_template_channel_max": per_key,
        "notices_by_template_channel_status": by_template,
        "mails_received": mails,
        "cpu_share": cpu,
        "samples": samples[:: max(1, len(samples) // 40)],
        "load_average": load_average(),
    }


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(median(values), 2),
        "p99": round(percentile(values, 0.99), 2),
        "max": round(max(values), 2) if values else float("nan"),
    }


def _burst_counts(system: System) -> tuple[list[str], int]:
    """Services whose invoice step has run; how many services' notices have been sent."""
    with _db(system) as db:
        # Imported rows carry no next step until the workflow writes its mirror; the step has
        # run once the mirror names the step after it.
        done = [
            service_id
            for (service_id,) in db.execute(
                "SELECT id FROM services WHERE id LIKE 'burst-%' "
                "AND next_action IS NOT NULL AND next_action != 'issue_invoice'"
            )
        ]
        sent = db.execute(
            "SELECT count(DISTINCT service_id) FROM notices "
            "WHERE service_id LIKE 'burst-%' AND status = 'sent'"
        ).fetchone()[0]
    return done, int(sent)


def _burst_notices(system: System) -> tuple[list[datetime], int, dict[str, int]]:
    with _db(system) as db:
        sent = [
            _when(at)
            for (at,) in db.execute(
                "SELECT sent_at FROM notices WHERE service_id LIKE 'burst-%' AND status = 'sent'"
            )
        ]
        # The ledger's key is unique by construction; what a customer would notice is two
        # notices of one kind by one channel for one step — so count those.
        most = db.execute(
            "SELECT coalesce(max(c), 0) FROM (SELECT count(*) AS c FROM notices "
            "WHERE service_id LIKE 'burst-%' GROUP BY service_id, template, channel)"
        ).fetchone()[0]
        by = {
            f"{template} {channel} {status}": int(count)
            for template, channel, status, count in db.execute(
                "SELECT template, channel, status, count(*) FROM notices "
                "WHERE service_id LIKE 'burst-%' GROUP BY template, channel, status"
            )
        }
    return sent, int(most), by


def _burst_mails(system: System) -> dict[str, int]:
    """What the customers received: the mail sink's messages to the burst's addresses."""
    parser = BytesHeaderParser()
    per_recipient: Counter[str] = Counter()
    for path in (system.data_dir / "mail").glob("*.eml"):
        to = str(parser.parsebytes(path.read_bytes())["To"] or "")
        if to.startswith("burst-"):
            per_recipient[to] += 1
    return {
        "messages": sum(per_recipient.values()),
        "recipients": len(per_recipient),
        "max_per_recipient": max(per_recipient.values(), default=0),
    }


# -- force majeure over all ---------------------------------------------------------------


async def force_majeure(system: System, timeout: float) -> dict[str, Any]:
    async with httpx.AsyncClient(
        base_url=system.api_url, headers={"Authorization": f"Bearer {system.key}"}, timeout=120
    ) as http:
        cpu_before, began = system.cpu(), time.perf_counter()
        response = await http.post(
            "/v1/force-majeure",
            json={"scope": "all", "reason": "Bench: a regional power outage"},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        response.raise_for_status()
        declared = response.json()
        declare_s = time.perf_counter() - began
        total, fm_id = declared["total"], declared["id"]
        samples: list[dict[str, Any]] = []
        fanned_s = frozen_s = None
        while time.perf_counter() - began < timeout:
            progress = (await http.get(f"/v1/force-majeure/{fm_id}")).json()
            frozen = await asyncio.to_thread(_frozen, system)
            elapsed = time.perf_counter() - began
            samples.append(
                {
                    "s": round(elapsed, 1),
                    "signalled": progress.get("started"),
                    "frozen": frozen,
                    "phase": progress.get("phase"),
                }
            )
            if fanned_s is None and progress.get("phase") == "in_effect":
                fanned_s = elapsed
            if frozen >= total:
                frozen_s = elapsed
                break
            await asyncio.sleep(1.0)
        cpu = cpu_share(cpu_before, system.cpu(), time.perf_counter() - began)
    return {
        "services": total,
        "declare_answer_s": round(declare_s, 2),
        "fan_out_done_s": None if fanned_s is None else round(fanned_s, 1),
        "all_frozen_s": None if frozen_s is None else round(frozen_s, 1),
        "frozen_per_second": None if frozen_s is None else round(total / frozen_s, 1),
        "failed": samples[-1]["signalled"] is not None and progress.get("failed", 0),
        "cpu_share": cpu,
        "samples": samples[:: max(1, len(samples) // 40)],
        "load_average": load_average(),
    }


def _frozen(system: System) -> int:
    with _db(system) as db:
        return int(db.execute("SELECT count(*) FROM services WHERE state = 'force_majeure'").fetchone()[0])


# -- the report ---------------------------------------------------------------------------


def _print_open(r: dict[str, Any]) -> None:
    print(
        f"open   {r['services']} services imported in {r['import_seconds']} s ({r['import_per_second']}/s, "
        f"{r['refused']} refused); the worker ran their first tasks for another "
        f"{r['worker_settled_after_import_s']} s{'' if r['worker_settled'] else ' (NOT settled)'}\n"
        f"       worker RSS {r['worker_rss_mib'][0]} → {r['worker_rss_mib'][1]} MiB = "
        f"{r['worker_rss_kib_per_1000_open']} KiB per 1 000 open services "
        f"(cache {r['max_cached_workflows']} workflows)\n"
        f"       Temporal database {r['temporal_db_mib'][0]} → {r['temporal_db_mib'][1]} MiB = "
        f"{r['temporal_db_kib_per_service']} KiB a service\n"
        f"       {r['payments']} payments over HTTP, 10 in flight: p50 {r['payment_p50_ms']} ms, "
        f"p99 {r['payment_p99_ms']} ms; 503s retried {r['payments_trouble']['retried_503']}, "
        f"failed {r['payments_trouble']['failed'] or 'none'}",
        flush=True,
    )


def _print_burst(r: dict[str, Any]) -> None:
    print(
        f"burst  {r['services']} invoice steps due at one instant: all run after {r['drained_s']} s, "
        f"all notices sent after {r['notices_sent_s']} s\n"
        f"       step lateness (±0.5 s, polled) p50 {r['step_lateness_s']['p50']} s, "
        f"p99 {r['step_lateness_s']['p99']} s, "
        f"max {r['step_lateness_s']['max']} s ({r['steps_recorded']} steps)\n"
        f"       notice lateness p50 {r['notice_lateness_s']['p50']} s, "
        f"p99 {r['notice_lateness_s']['p99']} s "
        f"({r['notices_sent']} sent; at most {r['notices_per_service_template_channel_max']} "
        f"per service, template and channel)\n"
        f"       mail sink: {r['mails_received']['messages']} messages to "
        f"{r['mails_received']['recipients']} customers, at most "
        f"{r['mails_received']['max_per_recipient']} each; worker idle "
        f"{r['worker_settled_s_before_due']} s before the deadline"
        + (
            "\n       ! the import overran the deadline: figures not valid"
            if r["import_overran_deadline"]
            else ""
        ),
        flush=True,
    )


def _print_fm(r: dict[str, Any]) -> None:
    print(
        f"fm     force majeure over {r['services']} services: declared in {r['declare_answer_s']} s, "
        f"all signalled after {r['fan_out_done_s']} s, all frozen after {r['all_frozen_s']} s "
        f"({r['frozen_per_second']}/s)",
        flush=True,
    )


async def _sections(
    args: argparse.Namespace,
    system: System,
    results: dict[str, Any],
    sizes: dict[str, Any],
    n_open: int,
    n_burst: int,
    payments: int,
) -> None:
    cache = results["max_cached_workflows"]
    if "open" in args.only:
        print(f"open: importing {n_open} services …", flush=True)
        results["open"] = await open_services(system, n_open, payments)
        results["open"]["max_cached_workflows"] = cache
        _print_open(results["open"])
    if "burst" in args.only:
        rate = results.get("open", {}).get("import_per_second") or 15.0
        lead = args.lead or sizes.get("lead") or 60 + 1.5 * n_burst / rate
        print(f"burst: importing {n_burst} services, steps due in {lead:.0f} s …", flush=True)
        results["burst"] = await burst(system, n_burst, lead, timeout=args.timeout)
        _print_burst(results["burst"])
    if "fm" in args.only:
        print("fm: declaring a force majeure over every open service …", flush=True)
        results["fm"] = await force_majeure(system, timeout=args.timeout)
        _print_fm(results["fm"])


async def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = QUICK if args.quick else FULL
    n_open = int(args.open or sizes["open"])
    n_burst = int(args.burst or sizes["burst"])
    payments = int(args.payments or sizes["payments"])
    cache = args.max_cached_workflows
    env = {"OFERTA_WORKER_MAX_CACHED_WORKFLOWS": str(cache)}
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick, "max_cached_workflows": cache}
    async with oferta_run(env) as system:
        try:
            await _sections(args, system, results, sizes, n_open, n_burst, payments)
        finally:
            logs = system.data_dir / "logs"
            if args.keep_logs:  # before the temporary folder goes, whatever happened
                shutil.copytree(logs, args.keep_logs, dirs_exist_ok=True)
        results["tracebacks"] = {
            name: (logs / f"{name}.log").read_text(errors="replace").count("Traceback")
            for name in ("worker", "api")
        }
        print(f"worker/api log tracebacks: {results['tracebacks']}", flush=True)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="30 open, 20 in the burst (the tests' size)")
    parser.add_argument("--only", nargs="+", choices=["open", "burst", "fm"], default=["open", "burst", "fm"])
    parser.add_argument("--open", type=int, help="open services (default 10 000)")
    parser.add_argument("--burst", type=int, help="services in the burst (default 10 000)")
    parser.add_argument("--payments", type=int, help="payments while they are open (default 300)")
    parser.add_argument("--lead", type=float, help="seconds from the burst's import to its deadline")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up on a drain after this")
    parser.add_argument(
        "--max-cached-workflows", type=int, default=5000, help="the worker's cache (Oferta's default)"
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--keep-logs", type=Path, help="copy the worker's and API's logs here (also on failure)"
    )
    args = parser.parse_args()
    results = run_async(run(args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
