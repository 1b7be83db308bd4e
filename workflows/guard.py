"""One guard per policy: the breaker its services ask before a destructive step.

A service about to suspend, delete or terminate for non-payment asks its policy's
guard (``request_permit``, an update sent by the ``request_permit`` activity with
update-with-start, so the first ask starts the guard). The guard grants the step or
trips and holds it, with every later one, until operations ``release`` it; then it
signals ``hold_released`` to every service that waits. One Temporal-native place for
the decision, no database flag polled by a cron.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from oferta.timeline.safeguards import Breaker, Permit, PermitRequest, Release, Trip
    from workflows.shared import service_workflow_id

WORKFLOW_NAME = "DestructiveStepGuard"
# Updates per run before continuing as new (a month-end brings thousands of asks).
ASKS_PER_RUN = 2000


class GuardInput(BaseModel):
    policy_id: str
    breaker: Breaker | None = None


class ReleaseRequest(BaseModel):
    actor: str
    reason: str


class HoldReleased(BaseModel):
    """What a waiting service is told when operations let its policy's steps go."""

    actor: str
    reason: str


class GuardStatus(BaseModel):
    policy_id: str
    tripped: Trip | None
    held: list[str]  # service ids
    granted_in_window: int
    releases: list[Release]


@workflow.defn(name=WORKFLOW_NAME)
class DestructiveStepGuard:
    @workflow.init
    def __init__(self, input: GuardInput) -> None:
        self._policy_id = input.policy_id
        self._breaker = input.breaker or Breaker()
        self._to_tell: list[tuple[str, HoldReleased]] = []
        self._asks = 0

    @workflow.run
    async def run(self, input: GuardInput) -> None:
        while True:
            await workflow.wait_condition(
                lambda: (
                    bool(self._to_tell)
                    or self._asks >= ASKS_PER_RUN
                    or workflow.info().is_continue_as_new_suggested()
                )
            )
            while self._to_tell:
                service_id, released = self._to_tell.pop(0)
                await self._tell(service_id, released)
            if self._asks >= ASKS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._to_tell:
                    workflow.continue_as_new(GuardInput(policy_id=self._policy_id, breaker=self._breaker))

    async def _tell(self, service_id: str, released: HoldReleased) -> None:
        handle = workflow.get_external_workflow_handle(service_workflow_id(service_id))
        try:
            await handle.signal("hold_released", released)
        except ApplicationError as err:
            # The service has ended meanwhile (paid and closed, or released one by one).
            workflow.logger.info("service %s not told of the release: %s", service_id, err)

    @workflow.update(name="request_permit")
    def request_permit(self, request: PermitRequest) -> Permit:
        self._asks += 1
        permit = self._breaker.decide(request, workflow.now())
        if not permit.granted:
            workflow.logger.warning(
                "policy %s: %s held (%s): %s", self._policy_id, request.key, permit.hold, permit.reason
            )
        return permit

    @request_permit.validator
    def _validate_permit(self, request: PermitRequest) -> None:
        if request.policy_id != self._policy_id:
            raise ApplicationError(f"this guard is for policy {self._policy_id}", non_retryable=True)

    @workflow.update(name="release")
    def release(self, request: ReleaseRequest) -> GuardStatus:
        waiting = self._breaker.release(workflow.now(), request.actor, request.reason)
        told = HoldReleased(actor=request.actor, reason=request.reason)
        self._to_tell += [(held.service_id, told) for held in waiting]
        workflow.logger.warning(
            "policy %s: %d held steps released by %s: %s",
            self._policy_id,
            len(waiting),
            request.actor,
            request.reason,
        )
        return self.status()

    @release.validator
    def _validate_release(self, request: ReleaseRequest) -> None:
        if not request.reason.strip():
            raise ApplicationError("reason: say why the held steps may run", non_retryable=True)

    @workflow.query(name="status")
    def status(self) -> GuardStatus:
        return GuardStatus(
            policy_id=self._policy_id,
            tripped=self._breaker.tripped,
            held=sorted({request.service_id for request in self._breaker.held.values()}),
            granted_in_window=len(self._breaker.granted),
            releases=list(self._breaker.releases),
        )
