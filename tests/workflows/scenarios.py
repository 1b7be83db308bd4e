"""Building scenarios for timeline tests: one service, its policy, dated inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle

from oferta.policy import load_policy
from oferta.policy.schema import Policy
from oferta.simulate import Scenario, ScenarioCustomer, ScenarioEvent, ScenarioService
from oferta.timeline.engine import Contract
from oferta.timeline.state import BillingEvent, DeadlineAction, EventType, ServiceSpec, ServiceState
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput
from workflows.shared import service_workflow_id

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


def state_before(policy: Policy, action: DeadlineAction, spec: ServiceSpec) -> tuple[ServiceState, datetime]:
    """The service's state right before ``action`` falls due: paid once, the renewal unpaid."""
    contract = Contract(policy)
    start = datetime(2027, 3, 1, 5, 0, tzinfo=UTC)
    payment = BillingEvent(event_id="first-payment", type=EventType.PAYMENT, amount=spec.price)
    state = ServiceState.new(spec, start)
    contract.start(state, start)
    contract.on_event(state, payment, start + timedelta(minutes=5))
    while True:
        deadline = contract.next_deadline(state)
        assert deadline is not None, f"{policy.id} never reaches {action}"
        if deadline.action is action:
            return state, deadline.at
        contract.on_deadline(state, deadline, deadline.at)


async def start_due_in(
    client: Client, task_queue: str, policy: Policy, spec: ServiceSpec, action: DeadlineAction, seconds: float
) -> WorkflowHandle:
    """Start the workflow mid-contract, its clock set so that ``action`` falls due in ``seconds``."""
    state, due = state_before(policy, action, spec)
    shift = due - (datetime.now(UTC) + timedelta(seconds=seconds))
    return await client.start_workflow(
        ServiceLifecycleWorkflow.run,
        ServiceWorkflowInput(policy=policy, spec=spec, state=state, clock_shift=shift),
        id=service_workflow_id(spec.service_id),
        task_queue=task_queue,
    )
