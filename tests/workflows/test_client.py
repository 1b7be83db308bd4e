"""workflows/client.py on a real dev server: typed calls in, domain errors out (no Temporal exception)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta import search_attributes as sa
from oferta.policy import load_policy
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec, ServiceState, ServiceStatus
from workflows.client import (
    AlreadyStarted,
    ForceMajeureNotFound,
    Refused,
    ServiceClosed,
    ServiceNotFound,
    TemporalUnavailable,
    apply_event,
    declare_force_majeure,
    describe,
    end_force_majeure,
    force_majeure_progress,
    live_view,
    search_attribute_updates,
    service_handle,
    service_search_attributes,
    service_workflow_id,
    start_service,
    view,
)
from workflows.registry import WORKFLOWS
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput

POLICY = load_policy("ps-kz")


@pytest_asyncio.fixture
async def client(dev_env, task_queue) -> AsyncIterator[Client]:
    """The dev server's client, with a worker (in-memory back ends) on ``task_queue``."""
    ledger = MemoryLedger()
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
    ):
        yield dev_env.client


def _spec(prefix: str = "cl") -> ServiceSpec:
    return ServiceSpec(
        service_id=f"{prefix}-{uuid.uuid4().hex[:8]}",
        customer_id="cust-7",
        policy_id="ps-kz",
        tariff="Basic",
        price=Money.of("2500", "KZT"),
    )


def _payment(event_id: str) -> BillingEvent:
    return BillingEvent(event_id=event_id, type=EventType.PAYMENT, amount=Money.of("2500", "KZT"))


def _attributes(description) -> dict[str, object]:
    return {pair.key.name: pair.value for pair in description.typed_search_attributes}


def test_the_builder_unsets_the_next_deadline_and_the_hold_when_there_is_none() -> None:
    pairs = service_search_attributes(_spec(), ServiceStatus.DELETED)
    assert [(p.key, p.value) for p in pairs][2:] == [(sa.SERVICE_STATE, "deleted"), (sa.OVERDUE_MINOR, 0)]
    unset = [u for u in search_attribute_updates(pairs) if u.value is None]
    assert [u.key for u in unset] == [sa.NEXT_ACTION, sa.NEXT_CLAUSE, sa.NEXT_DEADLINE, sa.HOLD, sa.OVERRIDES]


async def test_start_applies_and_views_through_the_typed_client(client, task_queue) -> None:
    spec = _spec()
    handle = await start_service(client, POLICY, spec, task_queue=task_queue)
    assert handle.id == service_workflow_id(spec.service_id) == f"service-{spec.service_id}"
    again = await start_service(client, POLICY, spec, task_queue=task_queue)
    assert again.result_run_id == handle.result_run_id  # the running workflow is joined, not doubled

    description = await describe(client, spec.service_id)
    summary = await description.static_summary()
    assert summary and spec.service_id in summary and "cust-7" not in summary
    attributes = _attributes(description)
    assert attributes[sa.CUSTOMER_ID.name] == "cust-7" and attributes[sa.POLICY.name] == "ps-kz"
    assert attributes[sa.SERVICE_STATE.name] == "awaiting_payment"

    receipt = await apply_event(client, spec.service_id, _payment("pay-1"), timeout=20)
    assert receipt.applied and receipt.view.state is ServiceStatus.ACTIVE
    repeated = await apply_event(client, spec.service_id, _payment("pay-1"), timeout=20)
    assert repeated == receipt  # the event id is the update id: the first answer, applied once
    shown = await view(client, spec.service_id, timeout=10)
    assert shown.state is ServiceStatus.ACTIVE and await live_view(client, spec.service_id, 10) == shown

    promise = BillingEvent(
        event_id="promise-1", type=EventType.PROMISE_TO_PAY, promised_at=datetime.now(UTC) + timedelta(days=3)
    )
    with pytest.raises(Refused) as refused:  # nothing is overdue: the contract says why not
        await apply_event(client, spec.service_id, promise, timeout=20)
    assert refused.value.reason
    await handle.terminate("test over")


def _due_for_deletion(spec: ServiceSpec) -> ServiceState:
    """Paid once 80 days ago and never again: the next step deletes the data, and the workflow ends."""
    contract = Contract(POLICY)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=80)
    state = ServiceState.new(spec, start)
    contract.start(state, start)
    contract.on_event(state, _payment("first"), start)
    while (deadline := contract.next_deadline(state)) is not None and deadline.action != "delete_data":
        contract.on_deadline(state, deadline, deadline.at)
    return state


async def test_a_completed_service_is_closed_with_its_final_state(client, task_queue) -> None:
    spec = _spec("done")
    await client.start_workflow(
        ServiceLifecycleWorkflow.run,
        ServiceWorkflowInput(
            policy=POLICY, spec=spec, state=_due_for_deletion(spec), publish_search_attributes=False
        ),
        id=service_workflow_id(spec.service_id),
        task_queue=task_queue,
    )
    final = await service_handle(client, spec.service_id).result()
    assert final.state is ServiceStatus.DELETED  # the typed handle's result is the final view

    with pytest.raises(ServiceClosed) as closed:
        await apply_event(client, spec.service_id, _payment("late"), timeout=20)
    assert closed.value.reason == "the service is deleted; payment cannot be applied"


async def test_terminated_missing_and_reused_ids(client, task_queue) -> None:
    spec = _spec("term")
    handle = await start_service(client, POLICY, spec, task_queue=task_queue)
    await handle.terminate("operator test")
    with pytest.raises(ServiceClosed, match="terminated by an operator; payment cannot be applied"):
        await apply_event(client, spec.service_id, _payment("after"), timeout=20)
    with pytest.raises(AlreadyStarted, match="never reused"):
        await start_service(client, POLICY, spec, task_queue=task_queue)

    missing = f"none-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ServiceNotFound):
        await apply_event(client, missing, _payment("x"), timeout=20)
    with pytest.raises(ServiceNotFound):
        await view(client, missing, timeout=5)
    with pytest.raises(ServiceNotFound):
        await describe(client, missing)
    assert await live_view(client, missing, 5) is None


async def test_no_worker_is_temporal_unavailable(dev_env) -> None:
    spec = _spec("idle")
    queue = f"nobody-{uuid.uuid4().hex[:8]}"
    handle = await start_service(dev_env.client, POLICY, spec, task_queue=queue)
    with pytest.raises(TemporalUnavailable):
        await apply_event(dev_env.client, spec.service_id, _payment("p"), timeout=1)
    with pytest.raises(TemporalUnavailable):
        await view(dev_env.client, spec.service_id, timeout=0.5)
    assert await live_view(dev_env.client, spec.service_id, 0.5) is None
    # Another deployment (task queue) on the namespace does not join it: it would wait for this one's worker.
    with pytest.raises(AlreadyStarted, match="another deployment"):
        await start_service(dev_env.client, POLICY, spec, task_queue=f"other-{queue}")
    await handle.terminate("test over")


async def test_force_majeure_through_the_client(client, task_queue) -> None:
    specs = [_spec("fmc") for _ in range(2)]
    for spec in specs:
        await start_service(client, POLICY, spec, task_queue=task_queue, publish_search_attributes=False)
    fm_id = f"fm-{uuid.uuid4().hex[:8]}"
    handle = await declare_force_majeure(
        client, fm_id, "flood", [s.service_id for s in specs], task_queue=task_queue, scope="services"
    )
    assert handle.id == f"force-majeure-{fm_id}"
    with pytest.raises(AlreadyStarted):
        await declare_force_majeure(client, fm_id, "flood", [], task_queue=task_queue, scope="services")

    progress = await force_majeure_progress(client, fm_id, timeout=10, task_queue=task_queue)
    assert progress.total == 2
    ended = await end_force_majeure(client, fm_id, "water receded", timeout=20, task_queue=task_queue)
    assert ended.end_requested
    final = await handle.result()
    assert (final.phase, final.started, final.ended) == ("ended", 2, 2)
    with pytest.raises(Refused, match="already ended"):
        await end_force_majeure(client, fm_id, None, timeout=20, task_queue=task_queue)
    with pytest.raises(ForceMajeureNotFound):
        await force_majeure_progress(client, "never-declared", timeout=5, task_queue=task_queue)
    with pytest.raises(ForceMajeureNotFound):
        await end_force_majeure(client, "never-declared", None, timeout=5, task_queue=task_queue)
    for spec in specs:
        description = await describe(client, spec.service_id)
        assert description.status == WorkflowExecutionStatus.RUNNING
        await service_handle(client, spec.service_id).terminate("test over")
