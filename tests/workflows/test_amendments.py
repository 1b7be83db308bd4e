"""Amendments in the running workflow (time-skipping server): told, deferred over a billing period
(continue-as-new carries the announced version), switched, and the objection's exit path.

The contract rules themselves are tested clause by clause in tests/contracts/test_amendments.py;
here the workflow is the subject: that it loads the version, carries it, governs by it.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta.db.policy_versions import MemoryPolicyStore
from oferta.policy import load_policy
from oferta.policy.schema import Policy
from oferta.sandbox import workflow_runner
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec
from workflows.amendments import AmendmentWorkflow
from workflows.client import (
    Refused,
    amendment_progress,
    apply_event,
    service_handle,
    service_state,
    start_service,
    tell_service,
    tell_services,
    view,
)
from workflows.service_lifecycle import AmendmentNotice, ServiceLifecycleWorkflow


def _next_version(policy_id: str, **suspension: int) -> Policy:
    policy = load_policy(policy_id)
    data = policy.model_dump(mode="json")
    data["version"] = policy.version + 1
    for name, days in suspension.items():
        data["suspension"][name]["amount"] = days
    return Policy.model_validate(data)


def _spec(policy_id: str, price: str) -> ServiceSpec:
    return ServiceSpec(
        service_id=f"am-{uuid.uuid4().hex[:8]}",
        customer_id="c-1",
        policy_id=policy_id,
        tariff="Basic",
        price=Money.of(price, load_policy(policy_id).provider.currency),
    )


def _event(kind: EventType, **fields) -> BillingEvent:
    return BillingEvent(event_id=uuid.uuid4().hex, type=kind, **fields)


async def _started_and_paid(env, task_queue: str, policy: Policy, price: str, paid: str) -> ServiceSpec:
    spec = _spec(policy.id, price)
    await start_service(env.client, policy, spec, task_queue=task_queue, publish_search_attributes=False)
    payment = _event(EventType.PAYMENT, amount=Money.of(paid, policy.provider.currency))
    await apply_event(env.client, spec.service_id, payment, timeout=30)
    return spec


def _worker(env, task_queue: str, ledger: MemoryLedger, *versions: Policy) -> Worker:
    return Worker(
        env.client,
        task_queue=task_queue,
        workflows=[ServiceLifecycleWorkflow, AmendmentWorkflow],
        workflow_runner=workflow_runner([ServiceLifecycleWorkflow, AmendmentWorkflow]),
        activities=ServiceActivities(
            ledger, ledger, ledger, ledger, policies=MemoryPolicyStore(*versions)
        ).all(),
    )


async def test_a_ps_kz_service_keeps_its_paid_period_then_is_governed_by_the_new_version(
    time_env, task_queue
) -> None:
    old, new = load_policy("ps-kz"), _next_version("ps-kz", data_deletion_after=14)
    ledger = MemoryLedger()
    async with _worker(time_env, task_queue, ledger, new):
        spec = await _started_and_paid(time_env, task_queue, old, "2500", "7500")
        now = await time_env.get_current_time()
        # 4.2.7: at least 30 calendar days ahead; ten more put the date inside the second paid period.
        effective = Contract(old).amendments.earliest_effective(now) + timedelta(days=10)
        notice = AmendmentNotice(
            policy_id="ps-kz",
            version=new.version,
            published_at=now,
            effective_at=effective,
            changed_clauses=["3.17"],
        )
        await tell_services(time_env.client, notice, [spec.service_id, "am-gone"], task_queue=task_queue)
        for _ in range(100):
            progress = await amendment_progress(
                time_env.client, "ps-kz", new.version, task_queue=task_queue, timeout=30
            )
            if progress.done:
                break
            await asyncio.sleep(0.1)
        assert (progress.told, progress.failed, progress.failed_services) == (1, 1, ["am-gone"])

        # Past the effective date: the second paid period keeps version 2 until it ends (5.14),
        # one continue-as-new after the announcement.
        await time_env.sleep(timedelta(days=45))
        state = await service_state(time_env.client, spec.service_id, timeout=30)
        assert state.policy_version == old.version and state.amendment is not None
        assert state.amendment.switch_at is not None and state.amendment.switch_at == state.period_end
        # The run that holds it now is a later one than the run that heard the signal.
        assert state.period_index == 1
        history = await service_handle(time_env.client, spec.service_id).fetch_history()
        assert not [e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")]

        await time_env.sleep(timedelta(days=30))
        current = await view(time_env.client, spec.service_id)
        assert current.policy_version == new.version
    entries = ledger.timeline[spec.service_id]
    kinds = [
        (e.type.value, e.clause, e.policy_version) for e in entries if e.type.value.startswith("amendment")
    ]
    assert kinds == [
        ("amendment_announced", "4.2.7", old.version),
        ("amendment_deferred", "5.14", old.version),
        ("amendment_applied", "4.2.7", new.version),
    ]
    applied = next(i for i, e in enumerate(entries) if e.type.value == "amendment_applied")
    assert {e.policy_version for e in entries[:applied]} == {old.version}
    assert {e.policy_version for e in entries[applied:]} == {new.version}
    announced = [n for n in ledger.notices.values() if n.template.value == "amendment_announced"]
    assert len(announced) == 1 and announced[0].clause == "4.2.7"


async def test_an_onelab_objection_ends_the_contract_at_once_and_a_second_telling_is_heard_once(
    time_env, task_queue
) -> None:
    old, new = load_policy("onelab"), _next_version("onelab")
    ledger = MemoryLedger()
    async with _worker(time_env, task_queue, ledger, new):
        spec = await _started_and_paid(time_env, task_queue, old, "10000", "30000")
        now = await time_env.get_current_time()
        notice = AmendmentNotice(
            policy_id="onelab", version=new.version, published_at=now, effective_at=now + timedelta(days=2)
        )
        await tell_service(time_env.client, spec.service_id, notice)
        await tell_service(time_env.client, spec.service_id, notice)
        await time_env.sleep(timedelta(days=5))
        receipt = await apply_event(
            time_env.client,
            spec.service_id,
            _event(EventType.AMENDMENT_OBJECTION, reason="letter of 7 Dec"),
            timeout=30,
        )
        assert receipt.applied and receipt.view.state.value == "terminated"
        final = await service_handle(time_env.client, spec.service_id).result()
    assert final.state.value == "terminated"
    kinds = [e.type.value for e in ledger.timeline[spec.service_id] if e.type.value != "notice"]
    assert kinds.count("amendment_announced") == 1
    assert kinds[-4:] == ["amendment_objected", "terminated", "refund_due", "refund_paid"]
    terminated = next(e for e in ledger.timeline[spec.service_id] if e.type.value == "terminated")
    assert (terminated.clause, terminated.detail["reason"], terminated.policy_version) == (
        "11.6",
        "amendment_objection",
        new.version,
    )


async def test_a_version_that_was_never_published_is_refused_and_the_service_goes_on(
    time_env, task_queue
) -> None:
    ledger = MemoryLedger()
    async with _worker(time_env, task_queue, ledger):  # the store holds no new version
        spec = _spec("onelab", "10000")
        await start_service(
            time_env.client,
            load_policy("onelab"),
            spec,
            task_queue=task_queue,
            publish_search_attributes=False,
        )
        now = await time_env.get_current_time()
        await tell_service(
            time_env.client,
            spec.service_id,
            AmendmentNotice(policy_id="onelab", version=9, published_at=now, effective_at=now),
        )
        receipt = await apply_event(
            time_env.client,
            spec.service_id,
            _event(EventType.PAYMENT, amount=Money.of("10000", "KZT")),
            timeout=30,
        )
        assert receipt.applied and receipt.view.policy_version == load_policy("onelab").version
        assert receipt.view.amendment is None
        try:
            await apply_event(
                time_env.client, spec.service_id, _event(EventType.AMENDMENT_OBJECTION), timeout=30
            )
        except Refused as refused:
            assert "no change of the offer is announced" in str(refused)
        else:
            raise AssertionError("an objection with nothing announced was applied")
