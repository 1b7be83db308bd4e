"""Where the slowest services' time goes: their histories, event by event.

    .venv/bin/python bench/slowest_services.py [--services 150] [--concurrency 20] [--show 3] [--quick]

Starts and pays services as ``start_bench.py``'s raw mode does, on one ``oferta run``, then prints
the slowest ones' times (the rows, the start, the payment) and each event of their histories with
its time from the start. This is how the 6-second first-task wait of bench/RESULTS.md was found.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import event_type_pb2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.start_bench import start_and_pay  # noqa: E402
from bench.system import oferta_run  # noqa: E402
from oferta.policy import load_policy  # noqa: E402
from oferta.temporal import run_async  # noqa: E402
from workflows.shared import service_workflow_id  # noqa: E402


async def main(services: int, concurrency: int, show: int) -> None:
    async with oferta_run() as system:
        client, policy, run_id = await system.client(), load_policy("ps-kz"), uuid.uuid4().hex[:6]
        gate = asyncio.Semaphore(concurrency)
        times: dict[str, tuple[float, float, float]] = {}

        async def one(n: int) -> None:
            async with gate:
                service_id = f"raw-{run_id}-{n}"
                times[service_id] = await start_and_pay(system, client, policy, service_id)

        await asyncio.gather(*(one(n) for n in range(services)))
        for service_id, (rows, start, pay) in sorted(times.items(), key=lambda kv: -sum(kv[1]))[:show]:
            total = rows + start + pay
            print(f"{service_id}: {total:.2f} s (rows {rows:.2f}, start {start:.2f}, payment {pay:.2f})")
            history = await client.get_workflow_handle(service_workflow_id(service_id)).fetch_history()
            first = history.events[0].event_time.ToDatetime()
            for event in history.events:
                name = event_type_pb2.EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
                activity = event.activity_task_scheduled_event_attributes.activity_type.name
                offset = (event.event_time.ToDatetime() - first).total_seconds()
                print(f"   {offset:7.3f} s  {event.event_id:3d} {name} {activity}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--show", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="10 services, 5 at a time, the slowest one (the tests')"
    )
    args = parser.parse_args()
    if args.quick:
        args.services, args.concurrency, args.show = 10, 5, 1
    run_async(main(args.services, args.concurrency, args.show))
