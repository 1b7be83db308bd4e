"""How a new version of a policy would change a service's next steps (pure).

Both versions project the service from its current state (``dry_run.project``); the steps
that matter to the customer are compared by kind: when each happens, and for how much.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from oferta.timeline.dry_run import project
from oferta.timeline.engine import Contract
from oferta.timeline.state import ServiceState, TimelineEntry

# The steps a customer would notice: being cut off, losing data or the contract, paying, being paid.
MATERIAL = (
    "suspended",
    "deleted",
    "terminated",
    "invoice_issued",
    "late_fee",
    "balance_debited",
    "tariff_ended",
    "refund_due",
    "refund_paid",
)


@dataclass(frozen=True)
class Difference:
    step: str
    old: list[str]  # "2027-01-05 2500.00" — the local date, and the sum when there is one
    new: list[str]


def _moments(entries: list[TimelineEntry], step: str, tz: str) -> list[str]:
    found = []
    for entry in entries:
        if entry.type.value != step:
            continue
        day = entry.at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d")
        amount = entry.detail.get("amount") or entry.detail.get("fee")
        found.append(f"{day} {amount}" if amount else day)
    return found


def compare(
    old: Contract, new: Contract, state: ServiceState, now: datetime, until: datetime
) -> list[Difference]:
    """The material steps that differ between the two versions over [now, until]."""
    before, after = project(old, state, now, until), project(new, state, now, until)
    tz = new.policy.provider.timezone
    differences = []
    for step in MATERIAL:
        was, will = _moments(before, step, tz), _moments(after, step, tz)
        if was != will:
            differences.append(Difference(step=step, old=was, new=will))
    return differences
