"""The conformance suite's vocabulary: run a contract on the pure engine, read what happened.

Every scenario is written from a clause: it names the clause, quotes the words it
checks, and drives the engine (``dry_run``: the same loop as the workflow, with every
effect succeeding at once) with dates in the provider's local time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from oferta.policy import load_policy
from oferta.policy.schema import Policy
from oferta.timeline.dry_run import DryRun, dry_run
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.state import (
    BillingEvent,
    EntryType,
    EventType,
    ServiceSpec,
    ServiceState,
    TimelineEntry,
)

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


def local(policy_id: str, text: str) -> datetime:
    """'2027-03-19 15:05' in the provider's own time zone."""
    tz = ZoneInfo(load_policy(policy_id).provider.timezone)
    return datetime.fromisoformat(text).replace(tzinfo=tz)


@dataclass
class Run:
    policy: Policy
    state: ServiceState
    result: DryRun

    @property
    def contract(self) -> Contract:
        return Contract(self.policy)

    def entries(self, type_: EntryType | str) -> list[TimelineEntry]:
        wanted = EntryType(type_)
        return [e for e in self.result.entries if e.type is wanted]

    def first(self, type_: EntryType | str) -> TimelineEntry:
        found = self.entries(type_)
        assert found, f"no {type_} entry; timeline: {self.types()}"
        return found[0]

    def types(self) -> list[str]:
        return [e.type.value for e in self.result.entries]

    def at_local(self, entry: TimelineEntry) -> str:
        """The entry's time as the provider's clock shows it, 'YYYY-MM-DD HH:MM'."""
        tz = ZoneInfo(self.policy.provider.timezone)
        return entry.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    def refunded(self) -> Money:
        return self.state.refunded

    def rejected(self) -> list[str]:
        return [reason for _, reason in self.result.rejected]


def service(policy_id: str, price: str, *, currency: str | None = None, **changes: Any) -> ServiceSpec:
    policy = load_policy(policy_id)
    return ServiceSpec(
        service_id="s-1",
        customer_id="c-1",
        policy_id=policy_id,
        tariff="Tariff",
        price=Money.of(price, currency or policy.provider.currency),
        **changes,
    )


_seq = iter(range(1, 10**9))


def event(type_: EventType | str, **fields: Any) -> BillingEvent:
    """A billing input; money fields may be given as (amount, currency) or Money."""
    for name in ("amount", "new_price"):
        value = fields.get(name)
        if isinstance(value, tuple):
            fields[name] = Money.of(*value)
    return BillingEvent(event_id=f"e{next(_seq)}", type=EventType(type_), **fields)


def run(
    policy_id: str,
    spec: ServiceSpec,
    start: str,
    events: list[tuple[str, BillingEvent]],
    until: str,
    versions: list[Policy] | None = None,
) -> Run:
    """Start the service at ``start`` (local time), apply ``events`` at their local times, and
    let the contract run by itself until ``until``. ``versions``: new versions of the policy
    that amendments in ``events`` announce."""
    policy = load_policy(policy_id)
    state, result = dry_run(
        Contract(policy),
        spec,
        local(policy_id, start),
        [(local(policy_id, at), e) for at, e in events],
        local(policy_id, until),
        versions={v.version: v for v in versions or []},
    )
    return Run(policy=policy, state=state, result=result)


@cache
def seed_text(policy_id: str) -> str:
    """The seed as plain lines: HTML tags (some seeds keep them) become line breaks."""
    raw = (SEEDS / load_policy(policy_id).provider.seed).read_text(encoding="utf-8")
    return re.sub(r"<[^>]+>", "\n", raw)


def clause_in_seed(policy_id: str, clause: str) -> bool:
    """True when the seed has a clause numbered ``clause`` ("5.8", "Annex 11, 4.3": the last part)."""
    number = clause.split(",")[-1].strip().split(";")[0].strip()
    pattern = rf"(?m)^\s*(?:[пП]\.\s*)?{re.escape(number)}\.?\s"
    return re.search(pattern, seed_text(policy_id)) is not None


def policy_citations(policy: Policy) -> set[str]:
    """Every clause a policy cites: each ``clause`` or ``…_clause`` field, anywhere in it."""
    from pydantic import BaseModel

    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, BaseModel):
            for name in type(node).model_fields:
                value = getattr(node, name)
                if (name == "clause" or name.endswith("_clause")) and isinstance(value, str):
                    found.add(value)
                walk(value)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(policy)
    return found
