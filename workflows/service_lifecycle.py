"""One long-lived workflow per customer service, enforcing its contract's timeline (type ServiceContract).

The workflow is thin: the pure ``Contract`` engine decides what happens and
when; the workflow waits (for the next deadline or an input), carries out the
effects through activities, and continues as new at each billing period.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from oferta.effects import (
        NoticeRequest,
        NoticeResult,
        PolicyVersionRef,
        ProvisioningRequest,
        ProvisioningResult,
        RefundRequest,
        RefundResult,
        TimelineRecord,
    )
    from oferta.policy.schema import Policy
    from oferta.timeline import entry_keys, safeguards
    from oferta.timeline.engine import Contract, RefundIntent, Transition, describe
    from oferta.timeline.engine.effects import ProvisionAction
    from oferta.timeline.notices import Delivery
    from oferta.timeline.safeguards import Permit, PermitRequest
    from oferta.timeline.state import (
        AmendmentTerms,
        BillingEvent,
        Deadline,
        EntryType,
        EventType,
        Hold,
        HoldKind,
        ServiceState,
        ServiceView,
        TimelineEntry,
    )
    from workflows.guard import HoldReleased

    # Its inputs and answers: passed through, so the sandbox does not build these models again for
    # every workflow it runs (bench/RESULTS.md, memory). Imported from here by the client and tests.
    from workflows.service_messages import (
        AmendmentNotice,
        EventReceipt,
        HoldRelease,
        NoticeDelivered,
        ServiceWorkflowInput,
    )

    # What the client (workflows/client.py) shares with the workflow. ``workflow_id`` is the
    # id's old name, still imported from here by tests and benchmarks.
    from workflows.shared import search_attribute_updates, service_search_attributes
    from workflows.shared import service_workflow_id as workflow_id  # noqa: F401

# A new type, not a patch: the engine behind it changed every deadline (terms now end
# at 24:00 of their last day), so services started before keep "ServiceLifecycle".
WORKFLOW_NAME = "ServiceContract"

# workflow.patched markers: each names a change to the order of commands (the type started
# with notices in the background; the v1 type keeps the sequential path and its patch).
# Safeguards: a non-payment step asks the policy's guard first and may be held; a deletion
# archives first (README "Reliability").
SAFEGUARDS_PATCH = "safeguards-before-destructive-steps"
# Fewer round trips to the server (bench/RESULTS.md): timeline records are local activities, run in
# the worker's own workflow task; a step's notices start together and their outcome is one write;
# a bookkeeping step (no provisioning, refund or hold) is written with that outcome, in the same
# write (its mirror waits for the notices, the contract does not).
# A run with this patch has the safeguards too, so it never asks for SAFEGUARDS_PATCH: each patch
# asked costs a marker and a search-attribute upsert in every run, and a steady billing period is
# one run. Asked in this order (this one first), so older runs keep their SAFEGUARDS_PATCH marker
# and path. Its end: deprecate_patch once visibility shows no open run without it
# (TemporalChangeVersion), then remove it and SAFEGUARDS_PATCH together.
ROUND_TRIPS_PATCH = "local-records-one-write-per-step"
# The same, with each write an ordinary activity again. A local activity's effect is not in the
# history until its workflow task completes: after a worker crash the task ran again on a longer
# history, grouped and numbered the entries differently, and the recorder (keyed by sequence) lost
# the ones that moved (the worker-kill fault test). An ordinary activity's input is fixed in the
# history once scheduled. Runs recorded with ROUND_TRIPS_PATCH alone keep their local writes.
RECORDS_AS_ACTIVITIES_PATCH = "one-write-per-step-as-activity"
# Local writes again, now safe: every entry carries a key made of its step and type, not of its
# place in a write (oferta/timeline/entry_keys.py explains why a position or a counter is not
# stable across a task re-run), and the recorder adds each entry once by it. A write re-run after
# a crash with its entries regrouped adds only the ones missing. A steady period 48 -> 38 events.
# Asked first, so runs recorded with RECORDS_AS_ACTIVITIES_PATCH (or ROUND_TRIPS_PATCH alone) keep
# their path and their positional keys to their end; it implies both, and the safeguards. Its end:
# deprecate_patch once visibility shows no open run without it, then remove the two before it.
KEYED_RECORDS_PATCH = "local-records-keyed-by-entry"
# While a step is held for want of a delivered notice, the final warning is sent again this often.
RESEND_WHILE_HELD = timedelta(hours=6)

# A notice is tried for about two hours (5 s doubling to every 10 minutes, 20 tries): a mail
# server down for an afternoon's maintenance loses nothing; a mailbox that refuses for good
# (InvalidRecipient) is not tried again, and a step that needs the notice is held instead.
NOTICE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=20,
    non_retryable_error_types=["InvalidRecipient"],
)
# Provisioning, refunds and records must happen: retried until they do (a back end
# refuses for good only with a non-retryable ApplicationError).
EFFECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=30),
    maximum_attempts=0,
)


def _basis(clause: str | None, operational: bool = False) -> str:
    if clause:
        return f"clause {clause}"
    return "operational, not a contract term" if operational else "no clause"


@workflow.defn(name=WORKFLOW_NAME)
class ServiceLifecycleWorkflow:
    @workflow.init
    def __init__(self, input: ServiceWorkflowInput) -> None:
        self._input = input
        self._contract = Contract(input.policy)
        self._state = input.state or ServiceState.new(input.spec, self._now())
        self._inbox: list[BillingEvent] = []
        self._outcomes: dict[str, str | None] = {}
        self._recorded = input.recorded_entries
        self._notifying: set[asyncio.Task[None]] = set()
        self._period_rolled = False  # a new billing period began: continue as new
        self._published: list[SearchAttributePair[Any]] | None = None
        self._last_at = self._state.timeline[-1].at if self._state.timeline else self._state.created_at
        # Set by whatever may clear a hold: a delivered notice, a release, the guard's word.
        self._hold_changed = False
        self._policy_release: HoldReleased | None = None
        # ROUND_TRIPS_PATCH: entries waiting for their step's write, and one write at a time,
        # so the database mirror is written in the workflow's order.
        self._pending: list[TimelineEntry] = []
        self._writing = asyncio.Lock()
        # Amendments: versions offered by a signal, until the engine accepts one; the accepted one
        # waits here for its switch (engine/amendments.py).
        self._offered: dict[int, Policy] = {}
        self._amended_policy = input.amended_policy

    # -- the main loop ------------------------------------------------------

    @workflow.run
    async def run(self, input: ServiceWorkflowInput) -> ServiceView:
        if input.state is None:
            await self._carry_out(self._contract.start(self._state, self._now()), entry_keys.start())
        if input.amendment is not None:  # started (or taken over) while a version waits for its date
            self.amendment_published(input.amendment)
        while True:
            while self._inbox:
                await self._apply(self._inbox.pop(0))
            if self._state.terminal and not self._contract.takes_payment_after_end(self._state):
                break
            if self._period_rolled or workflow.info().is_continue_as_new_suggested():
                await self._quiesce(wake_on_input=self._fewer_round_trips())
                if not self._inbox:
                    self._continue_as_new()
                continue
            deadline = self._contract.next_deadline(self._state)
            stale = self._stale_hold_lifted()
            if stale:
                await self._record([stale])
            self._publish(deadline)
            if await self._wait_for_input_or(deadline):
                continue
            assert deadline is not None
            now = self._now()
            at = max(deadline.at if deadline.at > self._last_at else now, self._last_at)
            lifted: TimelineEntry | None = None
            if self._safeguarded():
                hold = await self._safeguard(deadline, at)
                if hold is not None:
                    await self._wait_while_held(hold, deadline)
                    continue
                if self._state.hold is not None:
                    # Held until now: the step happens now, not on its old date.
                    lifted, at = self._lift_hold(self._why_lifted()), max(now, self._last_at)
            transition = self._contract.on_deadline(self._state, deadline, at)
            if lifted:
                transition.entries.insert(0, lifted)
            self._period_rolled = transition.new_period
            await self._carry_out(transition, entry_keys.deadline(deadline))
        await self._quiesce()
        self._publish(None)
        return self._contract.view(self._state)

    async def _wait_for_input_or(self, deadline: Deadline | None) -> bool:
        """True when an input arrived, False when the deadline came first."""
        if deadline is None:
            await workflow.wait_condition(lambda: bool(self._inbox))
            return True
        remaining = deadline.at - self._now()
        if remaining <= timedelta(0):
            return bool(self._inbox)
        try:
            await workflow.wait_condition(
                lambda: bool(self._inbox),
                timeout=remaining,
                timeout_summary=f"{deadline.action.value} ({_basis(deadline.clause, deadline.operational)})",
            )
            return True
        except TimeoutError:
            return False

    async def _apply(self, event: BillingEvent) -> None:
        if event.event_id in self._state.applied_event_ids:
            return
        if event.amendment is not None and not await self._load_version(event):
            return
        transition = self._contract.on_event(self._state, event, self._event_time(event.occurred_at))
        if event.amendment is not None:
            offered = self._offered.pop(event.amendment.version, None)
            if transition.rejected is None:
                self._amended_policy = offered
        stale = self._stale_hold_lifted()  # paid, say: the held step is no longer due
        if stale:
            transition.entries.append(stale)
        self._outcomes[event.event_id] = transition.rejected
        if transition.rejected:
            workflow.logger.info("event %s refused: %s", event.event_id, transition.rejected)
        await self._carry_out(transition, entry_keys.event(event.event_id))

    def _continue_as_new(self) -> None:
        workflow.continue_as_new(
            ServiceWorkflowInput(
                policy=self._input.policy,
                spec=self._state.spec,
                state=self._state,
                clock_shift=self._input.clock_shift,
                publish_search_attributes=self._input.publish_search_attributes,
                recorded_entries=self._recorded,
                amended_policy=self._amended_policy,
            )
        )

    # -- inputs ---------------------------------------------------------------

    @workflow.signal(name="billing_event")
    def billing_event(self, event: BillingEvent) -> None:
        if event.event_id in self._state.applied_event_ids:
            return
        if any(queued.event_id == event.event_id for queued in self._inbox):
            return
        self._inbox.append(event)

    @workflow.update(name="apply_event")
    async def apply_event(self, event: BillingEvent) -> EventReceipt:
        if event.event_id in self._state.applied_event_ids and event.event_id not in self._outcomes:
            return self._receipt(event, duplicate=True)
        self.billing_event(event)
        await workflow.wait_condition(lambda: event.event_id in self._outcomes)
        return self._receipt(event)

    @apply_event.validator
    def _validate_event(self, event: BillingEvent) -> None:
        if event.event_id in self._state.applied_event_ids:
            return
        reason = self._contract.refusal(self._state, event, self._event_time(event.occurred_at))
        if reason:
            raise ApplicationError(reason, type="EventRefused", non_retryable=True)

    def _receipt(self, event: BillingEvent, duplicate: bool = False) -> EventReceipt:
        rejected = self._outcomes.get(event.event_id)
        return EventReceipt(
            event_id=event.event_id,
            applied=rejected is None,
            duplicate=duplicate,
            rejected=rejected,
            view=self._contract.view(self._state, self._now()),
        )

    @workflow.update(name="release_hold")
    async def release_hold(self, release: HoldRelease) -> ServiceView:
        hold = self._state.hold
        assert hold is not None  # the validator refused otherwise
        hold.released_by, hold.release_reason = release.actor, release.reason
        self._state.release_step(hold.step)
        self._hold_changed = True
        await workflow.wait_condition(lambda: self._state.hold is None or self._state.hold.step != hold.step)
        return self._contract.view(self._state, self._now())

    @release_hold.validator
    def _validate_release(self, release: HoldRelease) -> None:
        if self._state.hold is None:
            raise ApplicationError("no step of this service is held", type="NothingHeld", non_retryable=True)
        if not release.reason.strip():
            raise ApplicationError(
                "reason: say why the held step may run", type="EventRefused", non_retryable=True
            )

    @workflow.signal(name="amendment_published")
    def amendment_published(self, notice: AmendmentNotice) -> None:
        """A new version of the policy (``oferta policies publish``): the engine announces it with
        the contract's notice and switches at its date (engine/amendments.py)."""
        if notice.policy_id != self._state.spec.policy_id:
            workflow.logger.warning(
                "amendment of %s ignored: the service is under %s",
                notice.policy_id,
                self._state.spec.policy_id,
            )
            return
        self.billing_event(
            BillingEvent(
                event_id=f"amendment:{notice.policy_id}:v{notice.version}",
                type=EventType.AMENDMENT,
                amendment=AmendmentTerms(
                    version=notice.version,
                    published_at=notice.published_at,
                    effective_at=notice.effective_at,
                    changed_clauses=notice.changed_clauses,
                ),
            )
        )

    @workflow.signal(name="hold_released")
    def hold_released(self, released: HoldReleased) -> None:
        """The policy's guard let its held steps go (workflows/guard.py)."""
        self._policy_release = released
        self._hold_changed = True

    @workflow.signal(name="notice_delivered")
    def notice_delivered(self, delivered: NoticeDelivered) -> None:
        self._state.note_delivered(delivered.template, self._now())
        self._hold_changed = True

    # -- queries --------------------------------------------------------------

    @workflow.query(name="view")
    def view(self) -> ServiceView:
        return self._contract.view(self._state, self._now())

    @workflow.query(name="next_deadline")
    def next_deadline(self) -> Deadline | None:
        return self._contract.next_deadline(self._state)

    @workflow.query(name="timeline")
    def timeline(self) -> list[TimelineEntry]:
        return list(self._state.timeline)

    @workflow.query(name="state")
    def state(self) -> ServiceState:
        return self._state

    # -- safeguards (oferta/timeline/safeguards.py) ------------------------------

    async def _safeguard(self, deadline: Deadline, at: datetime) -> Hold | None:
        """Why a non-payment step that would suspend, delete or terminate must wait, if it must."""
        risk = safeguards.step_risk(self._contract, self._state, deadline, at)
        if risk is None or risk.step in self._state.released_steps:
            return None
        hold = safeguards.notice_hold(self._state, risk, self._now())
        if hold is not None:
            return hold
        spec = self._state.spec
        permit = await workflow.execute_activity(
            "request_permit",
            PermitRequest(
                key=f"{workflow.info().workflow_id}:{risk.step}",
                service_id=spec.service_id,
                policy_id=spec.policy_id,
                effects=risk.effects,
            ),
            result_type=Permit,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=EFFECT_RETRY,
            summary=f"ask the {spec.policy_id} guard: {', '.join(risk.effects)}",
        )
        if permit.granted:
            return None
        assert permit.hold is not None
        return Hold(
            kind=permit.hold,
            step=risk.step,
            action=risk.action.value,
            clause=risk.clause,
            reason=permit.reason or permit.hold.value,
            since=self._now(),
        )

    async def _wait_while_held(self, hold: Hold, deadline: Deadline) -> None:
        held = self._state.hold
        if held is None or (held.step, held.kind) != (hold.step, hold.kind):
            self._state.hold = hold
            entry = TimelineEntry(
                at=max(self._now(), self._last_at),
                type=EntryType.HELD,
                clause=hold.clause,
                detail={"step": hold.action, "hold": hold.kind.value, "reason": hold.reason},
            )
            self._state.record(entry)
            self._identify([entry], entry_keys.held(hold.step, hold.kind.value))
            await self._record([entry])
            workflow.logger.warning("%s held (%s): %s", hold.action, hold.kind.value, hold.reason)
            workflow.metric_meter().create_counter(
                "oferta_steps_held", "Suspensions, deletions and terminations held by a safeguard"
            ).add(1, {"hold": hold.kind.value, "policy": self._state.spec.policy_id})
            if hold.kind is HoldKind.NOTICE_NOT_DELIVERED:
                self._warn_again(hold)
            self._publish(deadline)
        self._hold_changed = False
        try:
            await workflow.wait_condition(
                lambda: bool(self._inbox) or self._hold_changed,
                timeout=RESEND_WHILE_HELD,
                timeout_summary=f"held: {hold.kind.value}",
            )
        except TimeoutError:
            if hold.kind is HoldKind.NOTICE_NOT_DELIVERED and self._state.hold is not None:
                self._state.hold.resends += 1
                self._warn_again(self._state.hold)

    def _warn_again(self, hold: Hold) -> None:
        for delivery in safeguards.warn_again(self._contract, self._state, hold, self._now()):
            self._notify_in_background(delivery)

    def _why_lifted(self) -> str:
        hold = self._state.hold
        assert hold is not None
        if hold.released_by:
            return f"released by {hold.released_by}: {hold.release_reason}"
        if hold.kind is HoldKind.NOTICE_NOT_DELIVERED:
            return "a notice reached the customer"
        if self._policy_release:
            return f"released for the policy by {self._policy_release.actor}: {self._policy_release.reason}"
        return "the guard let it go"

    def _stale_hold_lifted(self) -> TimelineEntry | None:
        hold = self._state.hold
        if hold is None:
            return None
        deadline = self._contract.next_deadline(self._state)
        if deadline is not None and safeguards.step_key(deadline) == hold.step:
            return None
        return self._lift_hold("the step is no longer due")

    def _lift_hold(self, why: str) -> TimelineEntry:
        hold = self._state.hold
        assert hold is not None
        self._state.hold = None
        detail: dict[str, Any] = {"step": hold.action, "hold": hold.kind.value, "why": why}
        if hold.released_by:
            detail |= {"released_by": hold.released_by, "reason": hold.release_reason}
        entry = TimelineEntry(
            at=max(self._now(), self._last_at), type=EntryType.HOLD_LIFTED, clause=hold.clause, detail=detail
        )
        self._state.record(entry)
        self._identify([entry], entry_keys.lifted(hold.step, hold.kind.value))
        self._last_at = entry.at
        return entry

    # -- effects --------------------------------------------------------------

    async def _carry_out(self, transition: Transition, step: str) -> None:
        """``step``: what this transition is (entry_keys: the start, an input, a deadline); its
        entries, an archive and a paid refund included, are keyed as entries of it."""
        # Provisioning and refunds in order; notices go out on their own, so a slow or
        # failing mail server never holds up the contract or the next billing input.
        if transition.policy_version is not None:
            self._switch_policy(transition.policy_version)
        entries = list(transition.entries)
        deliveries = list(transition.deliveries)
        for intent in transition.provisioning:
            if intent.action == "delete" and self._safeguarded():
                archived = await self._archive(intent.key, intent.clause)
                at = next((e.at for e in entries if e.type is EntryType.DELETED), self._now())
                archived.at = at
                first_deleted = next((i for i, e in enumerate(entries) if e.type is EntryType.DELETED), 0)
                entries.insert(first_deleted, archived)
            await self._provision(intent.action, intent.key, intent.clause)
        for refund in transition.refunds:
            paid = await self._refund(refund)
            if paid:
                entries += paid.entries
                deliveries += paid.deliveries
        self._identify(entries, step)
        if entries:
            self._last_at = max(self._last_at, max(e.at for e in entries))
        if not self._fewer_round_trips():
            if entries:
                await self._record(entries)
            for delivery in deliveries:
                self._notify_in_background(delivery)
            return
        # A step that only keeps the books (an invoice, a payment, a reminder) is written once, with
        # the outcome of its notices (a write in between takes it along). A step that changed the
        # service (provisioning, a refund, a hold) is written at once: its record never waits on a
        # mail server that is down.
        self._pending += entries
        bookkeeping = not (
            transition.provisioning
            or transition.refunds
            or any(e.type in (EntryType.HELD, EntryType.HOLD_LIFTED) for e in entries)
        )
        if not (deliveries and bookkeeping):
            await self._write()
        if deliveries:
            self._notify_together(deliveries)

    def _notify_in_background(self, delivery: Delivery) -> None:
        if self._fewer_round_trips():
            self._notify_together([delivery])
            return

        async def notify() -> None:
            entry = await self._send(delivery)
            self._last_at = max(self._last_at, entry.at)
            await self._record([entry])

        self._track(notify())

    def _notify_together(self, deliveries: list[Delivery]) -> None:
        """One step's notices, started in one workflow task; then one write of what is pending."""

        async def notify() -> None:
            # gather keeps the order given: the activities are scheduled, and recorded, in it.
            sent = await asyncio.gather(*(self._send(delivery) for delivery in deliveries))
            self._last_at = max(self._last_at, *(entry.at for entry in sent))
            self._pending += sent
            await self._write()

        self._track(notify())

    def _track(self, notify: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(notify)
        self._notifying.add(task)
        task.add_done_callback(self._notifying.discard)

    async def _quiesce(self, wake_on_input: bool = False) -> None:
        """Every handler and notice finished: safe to continue as new or to complete.

        With ``wake_on_input`` an input ends the wait too (the caller applies it first): an update's
        handler finishes only once this loop has applied its event, so waiting for it would be for
        ever. The records in the workflow task brought the loop here before the next update came
        in; with a record activity's round trip in between, the update was usually in the inbox.
        """
        await workflow.wait_condition(
            lambda: (
                (workflow.all_handlers_finished() and not self._notifying)
                or (wake_on_input and bool(self._inbox))
            )
        )
        if self._pending and not self._notifying:  # never left over; if it were, no run would write it
            await self._write()

    async def _archive(self, key: str, clause: str | None) -> TimelineEntry:
        """The first of two steps of a deletion: a snapshot, where the back end keeps them."""
        result = await self._provision("archive", key, clause)
        detail: dict[str, Any] = {"status": result.status if result else "failed"}
        if result and result.reference:
            detail["reference"] = result.reference
        entry = TimelineEntry(at=self._now(), type=EntryType.ARCHIVED, clause=clause, detail=detail)
        self._state.record(entry)
        return entry

    async def _provision(
        self, action: ProvisionAction, key: str, clause: str | None
    ) -> ProvisioningResult | None:
        request = ProvisioningRequest(
            idempotency_key=f"{workflow.info().workflow_id}:{action}:{key}",
            service_id=self._state.spec.service_id,
            kind=self._state.spec.kind,
            action=action,
            clause=clause,
            at=self._now(),
        )
        try:
            return await workflow.execute_activity(
                "provision",
                request,
                result_type=ProvisioningResult,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=EFFECT_RETRY,
                summary=f"{action} service (clause {clause or 'n/a'})",
            )
        except ActivityError as err:
            workflow.logger.error("provisioning %s failed for good: %s", action, err)
            return None

    async def _refund(self, refund: RefundIntent) -> Transition | None:
        """Pays the refund; the refund_paid step once the payout system says it is paid."""
        request = RefundRequest(
            idempotency_key=f"{workflow.info().workflow_id}:{refund.key}",
            service_id=self._state.spec.service_id,
            customer_id=self._state.spec.customer_id,
            amount=refund.amount,
            due_by=refund.due_by,
            destination=refund.destination,
            clause=refund.clause,
            at=self._now(),
        )
        try:
            result = await workflow.execute_activity(
                "request_refund",
                request,
                result_type=RefundResult,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=EFFECT_RETRY,
                summary=f"refund {refund.amount} (clause {refund.clause or 'n/a'})",
            )
        except ActivityError as err:
            # Refused for good by the payout system: operations settle it by hand.
            workflow.logger.error("refund %s refused: %s", request.idempotency_key, err.cause or err)
            return None
        if result.status != "paid":
            # A bank transfer is only requested here; the payout system confirms it later.
            workflow.logger.info("refund %s requested as %s", request.idempotency_key, result.reference)
            return None
        return self._contract.refund_paid(self._state, refund, result.reference, self._event_time())

    async def _send(self, delivery: Delivery) -> TimelineEntry:
        spec = self._state.spec
        request = NoticeRequest(
            idempotency_key=f"{workflow.info().workflow_id}:{delivery.idempotency_suffix}",
            service_id=spec.service_id,
            customer_id=spec.customer_id,
            policy_id=spec.policy_id,
            provider_name=self._input.policy.provider.name,
            template=delivery.template,
            channel=delivery.channel,
            clause=delivery.clause,
            detail=delivery.detail,
            at=max(delivery.send_at, self._last_at),
        )
        detail: dict[str, Any] = {"channel": delivery.channel.value, "template": delivery.template.value}
        try:
            result = await workflow.execute_activity(
                "send_notice",
                request,
                result_type=NoticeResult,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=NOTICE_RETRY,
                summary=f"{delivery.template.value} by {delivery.channel.value} "
                f"(clause {delivery.clause or 'n/a'})",
            )
            detail |= {"locale": result.locale, "status": result.status}
            if result.delivered:
                self._state.note_delivered(delivery.template.value, request.at)
                self._hold_changed = True
            if result.preview:
                detail["preview"] = result.preview
        except ActivityError as err:
            detail |= {"locale": None, "status": "failed", "error": str(err.cause or err)}
        entry = TimelineEntry(at=request.at, type=EntryType.NOTICE, clause=delivery.clause, detail=detail)
        self._state.record(entry)
        self._identify([entry], entry_keys.notice(delivery.idempotency_suffix))
        return entry

    async def _record(self, entries: list[TimelineEntry]) -> None:
        if self._fewer_round_trips():
            self._pending += entries
            await self._write()
            return
        await workflow.execute_activity(
            "record_timeline",
            self._timeline_record(entries),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=EFFECT_RETRY,
            summary=f"record {len(entries)} timeline entries",
        )

    async def _write(self) -> None:
        """Everything pending, as one write: a local activity whose entries carry their keys
        (KEYED_RECORDS_PATCH); for runs recorded before it an activity (RECORDS_AS_ACTIVITIES_PATCH)
        or a local activity without keys. The recorder adds each entry once by its key, or by its
        sequence number when it has none."""
        async with self._writing:
            if not self._pending:
                return  # taken along by the write before
            entries, self._pending = self._pending, []
            # Asked in this order, as runs recorded before each patch asked them.
            local = self._keyed() or not workflow.patched(RECORDS_AS_ACTIVITIES_PATCH)
            execute = workflow.execute_local_activity if local else workflow.execute_activity
            await execute(
                "record_timeline",
                self._timeline_record(entries),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=EFFECT_RETRY,
                summary=f"record {len(entries)} timeline entries",
            )

    def _timeline_record(self, entries: list[TimelineEntry]) -> TimelineRecord:
        """The write of ``entries``, numbered from the entries recorded before, with the view now."""
        view = self._contract.view(self._state, self._now())
        spec = self._state.spec
        record = TimelineRecord(
            service_id=spec.service_id,
            customer_id=spec.customer_id,
            policy_id=spec.policy_id,
            entries=entries,
            first_sequence=self._recorded,
            state=view.state,
            period_index=view.period_index,
            paid_until=view.paid_until,
            next_deadline=view.next_deadline,
            debt=view.debt,
        )
        self._recorded += len(entries)
        return record

    async def _load_version(self, event: BillingEvent) -> bool:
        """The announced version's rules, loaded before the engine announces it (not when it would
        refuse it anyway); False, with the event refused, when it is not published here."""
        assert event.amendment is not None
        version = event.amendment.version
        if version in self._offered or self._contract.refusal(self._state, event, self._event_time()):
            return True
        spec = self._state.spec
        try:
            self._offered[version] = await workflow.execute_activity(
                "load_policy_version",
                PolicyVersionRef(policy_id=spec.policy_id, version=version),
                result_type=Policy,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=EFFECT_RETRY,
                summary=f"load {spec.policy_id} v{version}",
            )
        except ActivityError as err:
            reason = f"{spec.policy_id} v{version} cannot be loaded: {err.cause or err}"
            workflow.logger.error("amendment refused: %s", reason)
            self._outcomes[event.event_id] = reason
            return False
        return True

    def _switch_policy(self, version: int) -> None:
        """The announced version governs from here on (and in every later run)."""
        policy = self._amended_policy
        if policy is None or policy.version != version:  # the engine only switches to one it accepted
            workflow.logger.error("no policy version %s to switch to; the service stays on its own", version)
            return
        self._input = self._input.model_copy(update={"policy": policy})
        self._contract = Contract(policy)
        self._amended_policy = None

    # -- patches --------------------------------------------------------------

    def _keyed(self) -> bool:
        return workflow.patched(KEYED_RECORDS_PATCH)

    def _identify(self, entries: list[TimelineEntry], step: str) -> None:
        """Key the entries of ``step`` (KEYED_RECORDS_PATCH); runs from before it write by position.
        Entries already keyed (a lifted hold inside a deadline's step) keep their key."""
        if self._keyed():
            entry_keys.assign(self._state.timeline, entries, step)

    def _fewer_round_trips(self) -> bool:
        # The SDK keeps a patch's first answer for the rest of the run: a run whose history took
        # the old path (a record as an activity) keeps it to its end; its successor has the patch.
        return (
            self._keyed()
            or workflow.patched(RECORDS_AS_ACTIVITIES_PATCH)
            or workflow.patched(ROUND_TRIPS_PATCH)
        )

    def _safeguarded(self) -> bool:
        return self._fewer_round_trips() or workflow.patched(SAFEGUARDS_PATCH)

    # -- time and visibility --------------------------------------------------

    def _now(self) -> datetime:
        # Contract time has a resolution of one second.
        return (workflow.now() + self._input.clock_shift).replace(microsecond=0)

    def _event_time(self, occurred_at: datetime | None = None) -> datetime:
        now = self._now()
        if occurred_at is None or occurred_at > now:
            return max(now, self._last_at)
        return max(occurred_at, self._last_at)

    def _publish(self, deadline: Deadline | None) -> None:
        view = self._contract.view(self._state, self._now())
        workflow.set_current_details(describe(view))
        if not self._input.publish_search_attributes:
            return
        pairs = service_search_attributes(
            self._state.spec,
            view.state,
            view.overdue_amount,
            deadline,
            self._input.clock_shift,
            self._state.hold,
            [o.terms.kind.value for o in view.overrides],
        )
        if pairs != self._published:
            self._published = pairs
            workflow.upsert_search_attributes(search_attribute_updates(pairs))
