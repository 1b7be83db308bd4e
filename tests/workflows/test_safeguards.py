"""Safeguards in the running workflow, on both servers.

Time-skipping server: a deletion is held while no notice announcing it reached the customer,
then runs when one gets through or when an operator releases it. Dev server: the policy's
guard workflow trips when too many services would be suspended at once, the held services
show it in Temporal's visibility, and a release lets them go.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from asyncio.subprocess import PIPE
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.guard import FedGuard, FeedStats
from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta.effects import NoticeRequest, NoticeResult
from oferta.policy import load_policy
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.safeguards import BreakerSettings
from oferta.timeline.state import BillingEvent, DeadlineAction, EventType, ServiceSpec
from tests.workflows.scenarios import start_due_in
from workflows.client import (
    Refused,
    apply_event,
    ask_guard,
    guard_status,
    held_services,
    release_policy_holds,
    release_service_hold,
    service_handle,
    start_service,
    view,
)
from workflows.registry import WORKFLOWS
from workflows.service_lifecycle import ServiceLifecycleWorkflow
from workflows.shared import service_workflow_id

POLICY = load_policy("ps-kz")
CONTRACT = Contract(POLICY)
ANNOUNCING = ("suspended", "deletion_warning")


@dataclass
class MailServerRefusing(MemoryLedger):
    """The customer's mailbox refuses the notices announcing the deletion, until it is fixed."""

    down: bool = True
    refused: int = 0

    async def send(self, request: NoticeRequest) -> NoticeResult:
        if self.down and request.template.value in ANNOUNCING:
            self.refused += 1
            raise ApplicationError("550 mailbox unavailable", type="InvalidRecipient", non_retryable=True)
        return await super().send(request)


def _spec() -> ServiceSpec:
    return ServiceSpec(
        service_id=f"sg-{uuid.uuid4().hex[:8]}",
        customer_id="c-1",
        policy_id="ps-kz",
        tariff="Basic",
        price=Money.of("2500", "KZT"),
    )


def _payment() -> BillingEvent:
    return BillingEvent(event_id=uuid.uuid4().hex, type=EventType.PAYMENT, amount=Money.of("2500", "KZT"))


async def _paid_once_then_unpaid(env, task_queue: str) -> ServiceSpec:
    spec = _spec()
    await start_service(env.client, POLICY, spec, task_queue=task_queue, publish_search_attributes=False)
    await apply_event(env.client, spec.service_id, _payment(), timeout=30)
    return spec


def _types(ledger: MemoryLedger, service_id: str) -> list[str]:
    return [e.type.value for e in ledger.timeline[service_id] if e.type.value != "notice"]


def _entry(ledger: MemoryLedger, service_id: str, kind: str):
    return next(e for e in ledger.timeline[service_id] if e.type.value == kind)


async def test_no_deletion_while_no_notice_reached_the_customer_until_an_operator_releases_it(
    time_env, task_queue
) -> None:
    ledger = MailServerRefusing()
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[ServiceLifecycleWorkflow],
        activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
    ):
        spec = await _paid_once_then_unpaid(time_env, task_queue)
        # PS.kz would delete on day ~40 (3.16: 7 days after the suspension of 4.2.4); 60 days pass.
        await time_env.sleep(timedelta(days=60))
        held = await view(time_env.client, spec.service_id)
        assert held.state.value == "suspended"
        assert held.hold is not None and held.hold.kind.value == "notice_not_delivered"
        assert held.hold.action == "delete_data" and held.hold.clause == "3.17"
        assert "delete" not in [p.action for p in ledger.provisioning.values()]
        # The final warning was tried again every six hours while the step waited.
        assert ledger.refused > 10

        with pytest.raises(Refused, match="reason"):
            await release_service_hold(time_env.client, spec.service_id, "ops-alice", " ", timeout=30)
        await release_service_hold(
            time_env.client, spec.service_id, "ops-alice", "the customer confirmed by phone", timeout=30
        )
        handle = service_handle(time_env.client, spec.service_id)
        final = await handle.result()
    assert final.state.value == "deleted"
    types = _types(ledger, spec.service_id)
    assert types[-4:] == ["held", "hold_lifted", "archived", "deleted"]
    lifted = _entry(ledger, spec.service_id, "hold_lifted")
    assert lifted.detail["released_by"] == "ops-alice"
    assert lifted.detail["reason"] == "the customer confirmed by phone"
    assert [p.action for p in ledger.provisioning.values()][-2:] == ["archive", "delete"]


async def test_the_held_deletion_runs_by_itself_once_a_notice_gets_through(time_env, task_queue) -> None:
    ledger = MailServerRefusing()
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[ServiceLifecycleWorkflow],
        activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
    ):
        spec = await _paid_once_then_unpaid(time_env, task_queue)
        await time_env.sleep(timedelta(days=45))
        assert (await view(time_env.client, spec.service_id)).hold is not None
        ledger.down = False  # the mailbox works again: the next try of the final warning arrives
        await time_env.sleep(timedelta(hours=7))
        final = await view(time_env.client, spec.service_id)
    assert final.state.value == "deleted"
    held, lifted, deleted = (_entry(ledger, spec.service_id, k) for k in ("held", "hold_lifted", "deleted"))
    assert lifted.detail["why"] == "a notice reached the customer"
    assert held.at < lifted.at <= deleted.at
    warnings = [n for n in ledger.notices.values() if n.template.value == "deletion_warning"]
    assert any(n.detail.get("operational") for n in warnings)  # the provider's reminder, said so


async def test_a_payment_while_held_restores_the_service_and_lifts_the_hold(time_env, task_queue) -> None:
    ledger = MailServerRefusing()
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[ServiceLifecycleWorkflow],
        activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
    ):
        spec = await _paid_once_then_unpaid(time_env, task_queue)
        await time_env.sleep(timedelta(days=45))
        assert (await view(time_env.client, spec.service_id)).hold is not None
        receipt = await apply_event(time_env.client, spec.service_id, _payment(), timeout=30)
        assert receipt.view.hold is None
        assert receipt.view.state.value != "deleted"
        await time_env.sleep(timedelta(minutes=1))  # the entries are written down
    lifted = _entry(ledger, spec.service_id, "hold_lifted")
    assert lifted.detail["why"] == "the step is no longer due"
    assert "delete" not in [p.action for p in ledger.provisioning.values()]


# -- the policy's guard, on the dev server --------------------------------------------------


async def _eventually(check, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.3)


async def _cli(client, task_queue: str, tmp_path, *args: str) -> str:
    """Run the ``oferta`` CLI against the test's Temporal server without blocking the worker."""
    code, out, err = await _cli_result(client, task_queue, tmp_path, *args)
    assert code == 0, err
    return out


async def _cli_result(client, task_queue: str, tmp_path, *args: str) -> tuple[int | None, str, str]:
    env = os.environ | {
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'oferta.db'}",
        "OFERTA_TASK_QUEUE": task_queue,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "oferta.cli", *args, env=env, stdout=PIPE, stderr=PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, out.decode(), err.decode()


async def test_the_guard_holds_a_mass_suspension_until_operations_release_it(
    dev_env, task_queue, tmp_path
) -> None:
    client = dev_env.client
    ledger = MemoryLedger()
    policy_id = f"ps-kz-{uuid.uuid4().hex[:6]}"  # a guard of its own: other tests share the server
    guard = FedGuard(
        partial(ask_guard, client, task_queue),
        lambda _policy: FeedStats(open_services=20, last_billing_input=None),
        BreakerSettings(min_steps=2),  # 10 % of 20 is 2: the third suspension in the hour trips it
    )
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=ServiceActivities(ledger, ledger, ledger, ledger, guard=guard).all(),
    ):
        specs = [_spec().model_copy(update={"policy_id": policy_id}) for _ in range(4)]
        for spec in specs:
            await start_due_in(client, task_queue, POLICY, spec, DeadlineAction.SUSPEND, seconds=2)

        async def settled():
            views = [await view(client, s.service_id, timeout=10) for s in specs]
            return views if all(v.state.value == "suspended" or v.hold for v in views) else None

        views = await _eventually(settled)
        assert views, "every service was suspended or held"
        assert sorted(v.state.value for v in views) == [
            "invoice_due",
            "invoice_due",
            "suspended",
            "suspended",
        ]
        held = [v for v in views if v.hold]
        assert {v.hold.kind.value for v in held if v.hold} == {"mass_action"}
        status = await guard_status(client, task_queue, policy_id, timeout=10)
        assert status and status.tripped and status.tripped.kind.value == "mass_action"
        assert sorted(status.held) == sorted(v.service_id for v in held)

        # Operations see them in visibility (the OfertaHold search attribute) ...
        async def listed():
            return await held_services(client, policy_id)

        found = await _eventually(listed)
        assert sorted(h.service_id for h in found) == sorted(v.service_id for v in held)
        assert {h.hold for h in found} == {"mass_action"}

        # ... and with `oferta holds`; they let them go with a reason kept in each service's timeline.
        listing = await _cli(client, task_queue, tmp_path, "holds", "--policy", policy_id)
        assert f"policy {policy_id}: guard tripped (mass_action)" in listing
        assert all(v.service_id in listing for v in held)
        released = await _cli(
            client, task_queue, tmp_path, "holds", "release", "--policy", policy_id,
            "--reason", "billing export confirmed", "--actor", "ops-bob",
        )  # fmt: skip
        assert f"released: 2 held step(s) under policy {policy_id}" in released
        with pytest.raises(Refused):  # a release needs a reason
            await release_policy_holds(client, task_queue, policy_id, "ops-bob", "  ", timeout=10)

        async def all_suspended():
            views = [await view(client, s.service_id, timeout=10) for s in specs]
            return all(v.state.value == "suspended" and v.hold is None for v in views)

        assert await _eventually(all_suspended)
        for v in held:
            lifted = _entry(ledger, v.service_id, "hold_lifted")
            assert lifted.detail["why"] == "released for the policy by cli:ops-bob: billing export confirmed"
        after = await guard_status(client, task_queue, policy_id, timeout=10)
        assert after and after.tripped is None and after.releases[-1].released == 2
        for spec in specs:
            await client.get_workflow_handle(service_workflow_id(spec.service_id)).terminate("test over")


async def test_a_deletion_without_a_delivered_notice_waits_for_the_warning_sent_again(
    dev_env, task_queue
) -> None:
    """On the real server: nothing recorded as delivered for this suspension, so the deletion
    is held, the final warning goes out again at once, and the deletion follows it."""
    client = dev_env.client
    ledger = MemoryLedger()
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
    ):
        spec = _spec()
        handle = await start_due_in(client, task_queue, POLICY, spec, DeadlineAction.DELETE_DATA, seconds=1)
        final = await asyncio.wait_for(handle.result(), timeout=60)
    assert final.state.value == "deleted"
    entries = [e for e in ledger.timeline[spec.service_id]]
    kinds = [(e.type.value, e.detail.get("template")) for e in entries]
    held_at = kinds.index(("held", None))
    assert ("notice", "deletion_warning") in kinds[held_at:]
    assert [k for k, _ in kinds if k != "notice"][-4:] == ["held", "hold_lifted", "archived", "deleted"]


async def test_an_operator_grants_a_longer_grace_from_the_cli(dev_env, task_queue, tmp_path) -> None:
    client = dev_env.client
    ledger = MemoryLedger()
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
    ):
        spec = _spec()
        await start_due_in(client, task_queue, POLICY, spec, DeadlineAction.DELETE_DATA, seconds=3600)
        before = await view(client, spec.service_id, timeout=10)
        shorter = await _cli_result(
            client, task_queue, tmp_path, "override", spec.service_id,
            "--kind", "extend_grace", "--days", "-1", "--reason", "typo",
        )  # fmt: skip
        assert shorter[0] == 1 and "never shortened" in shorter[2] and "3.16" in shorter[2]
        granted = await _cli(
            client, task_queue, tmp_path, "override", spec.service_id,
            "--kind", "extend_grace", "--days", "3", "--reason", "bank holiday abroad", "--actor", "ops-eve",
        )  # fmt: skip
        assert "override extend grace by cli:ops-eve" in granted
        after = await view(client, spec.service_id, timeout=10)
        assert before.next_deadline and after.next_deadline
        assert after.next_deadline.at - before.next_deadline.at == timedelta(days=3)
        await service_handle(client, spec.service_id).terminate("test over")
