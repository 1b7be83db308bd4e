"""Building scenarios for timeline tests: one service, its policy, dated inputs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from oferta.policy import load_policy
from oferta.policy.schema import Policy
from oferta.simulate import Scenario, ScenarioCustomer, ScenarioEvent, ScenarioService

START = datetime.fromisoformat("2027-03-01T10:00:00+05:00")
POLICY_IDS = ["ps-kz", "onelab", "registry-kz", "centerpro", "smartape"]


def price_of(policy: Policy) -> tuple[str, str]:
    return ("20.00", "EUR") if policy.provider.currency == "EUR" else ("2500.00", "KZT")


def scenario(policy_id: str, events: list[dict[str, Any]], days: int, start: datetime = START) -> Scenario:
    policy = load_policy(policy_id)
    price, currency = price_of(policy)
    start = start.astimezone(_tz(policy))
    return Scenario(
        policy=policy_id,
        start=start,
        service=ScenarioService(
            kind="hosting" if "hosting" in policy.service_kinds else policy.service_kinds[0],
            tariff="Basic",
            price=price,
            currency=currency,
            period="P1M",
        ),
        customer=ScenarioCustomer(name="Test customer", locale="en"),
        events=[ScenarioEvent(**{"at": start + e.pop("after"), **e}) for e in events],
        until=start + timedelta(days=days),
    )


def pay(after: timedelta, amount: str | None = None, policy_id: str = "ps-kz") -> dict[str, Any]:
    price, _ = price_of(load_policy(policy_id))
    return {"after": after, "type": "payment", "amount": amount or price}


def _tz(policy: Policy):
    from zoneinfo import ZoneInfo

    return ZoneInfo(policy.provider.timezone)
