"""How fast the pure contract engine runs whole contracts (no Temporal).

    .venv/bin/python bench/engine_bench.py [--contracts 200] [--years 10]

Each contract is PS.kz, prepaid for its whole length, run to its end in memory:
one billing period after another, as the workflow would live them.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from datetime import datetime, timedelta

from oferta.policy import load_policy
from oferta.timeline.dry_run import dry_run
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec

START = datetime.fromisoformat("2027-01-31T10:00:00+05:00")


def _one(contract: Contract, n: int, years: int) -> int:
    months = 12 * years
    spec = ServiceSpec(
        service_id=f"b{n}", customer_id="c", policy_id="ps-kz", tariff="Basic", price=Money.of("2500", "KZT")
    )
    prepay = BillingEvent(
        event_id="prepay", type=EventType.PAYMENT, amount=Money.of(2500 * (months + 1), "KZT")
    )
    _, result = dry_run(
        contract, spec, START, [(START + timedelta(minutes=5), prepay)], START + timedelta(days=365 * years)
    )
    return result.periods_started


def run(contracts: int, years: int) -> None:
    contract = Contract(load_policy("ps-kz"))
    began = time.perf_counter()
    periods = sum(_one(contract, n, years) for n in range(contracts))
    elapsed = time.perf_counter() - began
    # Memory measured apart: tracing every allocation would slow the timed loop severalfold.
    tracemalloc.start()
    _one(contract, contracts, years)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{contracts} contracts x {years} years: {periods} billing periods in {elapsed:.2f} s")
    print(
        f"  {contracts / elapsed:.1f} {years}-year contracts/s, {periods / elapsed:.0f} periods/s, "
        f"{elapsed / periods * 1e6:.0f} µs a period; peak memory of one contract {peak / 2**20:.2f} MiB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contracts", type=int, default=200)
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args()
    run(args.contracts, args.years)
