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


def run(contracts: int, years: int) -> None:
    contract = Contract(load_policy("ps-kz"))
    months = 12 * years
    periods = 0
    tracemalloc.start()
    began = time.perf_counter()
    for n in range(contracts):
        spec = ServiceSpec(service_id=f"b{n}", customer_id="c", policy_id="ps-kz", tariff="Basic",
                           price=Money.of("2500", "KZT"))
        prepay = BillingEvent(event_id="prepay", type=EventType.PAYMENT,
                              amount=Money.of(2500 * (months + 1), "KZT"))
        _, result = dry_run(contract, spec, START, [(START + timedelta(minutes=5), prepay)],
                            START + timedelta(days=365 * years))
        periods += result.periods_started
    elapsed = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    print(f"{contracts} contracts x {years} years: {periods} billing periods in {elapsed:.2f} s")
    print(f"  {contracts / elapsed:.1f} ten-year contracts/s, {periods / elapsed:.0f} periods/s, "
          f"peak traced memory {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contracts", type=int, default=200)
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args()
    run(args.contracts, args.years)
