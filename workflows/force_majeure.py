"""A force majeure declared for many services at once: the fan-out is a workflow of its own.

It signals ``billing_event`` (force majeure start) to each service workflow, waits
for the ``end`` update, then signals the end to the same services. Progress is a
query. The event ids are derived from the force majeure id, so a service that is
reached twice (retry, continue-as-new) applies each step once.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from oferta.timeline.state import BillingEvent, EventType
    from workflows.service_lifecycle import ServiceLifecycleWorkflow
    from workflows.shared import service_workflow_id

WORKFLOW_NAME = "ForceMajeure"
BATCH = 50
# Signals per run before continuing as new (two history events each).
SIGNALS_PER_RUN = 1000
FAILED_KEPT = 100


class ForceMajeureProgress(BaseModel):
    force_majeure_id: str
    reason: str | None
    total: int
    phase: Literal["starting", "in_effect", "ending", "ended"] = "starting"
    started: int = 0
    ended: int = 0
    failed: int = 0
    failed_services: list[str] = []
    end_requested: bool = False
    end_reason: str | None = None
    next_index: int = 0


class ForceMajeureInput(BaseModel):
    force_majeure_id: str
    reason: str | None
    service_ids: list[str]
    progress: ForceMajeureProgress | None = None


class EndRequest(BaseModel):
    reason: str | None = None


@workflow.defn(name=WORKFLOW_NAME)
class ForceMajeureWorkflow:
    @workflow.init
    def __init__(self, input: ForceMajeureInput) -> None:
        self._input = input
        self._progress = input.progress or ForceMajeureProgress(
            force_majeure_id=input.force_majeure_id, reason=input.reason, total=len(input.service_ids)
        )
        self._sent_this_run = 0

    @workflow.run
    async def run(self, input: ForceMajeureInput) -> ForceMajeureProgress:
        p = self._progress
        if p.phase == "starting":
            await self._fan_out(EventType.FORCE_MAJEURE_START)
            p.phase, p.next_index = "in_effect", 0
        if p.phase == "in_effect":
            workflow.set_current_details(f"in effect for {p.started} of {p.total} services")
            await workflow.wait_condition(lambda: p.end_requested)
            p.phase = "ending"
        if p.phase == "ending":
            await self._fan_out(EventType.FORCE_MAJEURE_END)
            p.phase = "ended"
        workflow.set_current_details(f"ended for {p.ended} of {p.total} services")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return p

    async def _fan_out(self, kind: EventType) -> None:
        p = self._progress
        ids = self._input.service_ids
        while p.next_index < len(ids):
            if self._sent_this_run >= SIGNALS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._input.model_copy(update={"progress": p}))
            batch = ids[p.next_index : p.next_index + BATCH]
            reached = await asyncio.gather(*(self._signal(sid, kind) for sid in batch))
            for service_id, ok in zip(batch, reached, strict=True):
                if ok:
                    if kind == EventType.FORCE_MAJEURE_START:
                        p.started += 1
                    else:
                        p.ended += 1
                else:
                    p.failed += 1
                    if len(p.failed_services) < FAILED_KEPT:
                        p.failed_services.append(service_id)
            p.next_index += len(batch)
            self._sent_this_run += len(batch)

    async def _signal(self, service_id: str, kind: EventType) -> bool:
        p = self._progress
        step = "start" if kind == EventType.FORCE_MAJEURE_START else "end"
        event = BillingEvent(
            event_id=f"force-majeure:{p.force_majeure_id}:{step}",
            type=kind,
            force_majeure_id=p.force_majeure_id,
            reason=p.reason if kind == EventType.FORCE_MAJEURE_START else p.end_reason,
        )
        handle = workflow.get_external_workflow_handle(service_workflow_id(service_id))
        try:
            await handle.signal(ServiceLifecycleWorkflow.billing_event, event)
            return True
        except Exception as err:  # the service's workflow is gone (deleted, terminated)
            workflow.logger.info(
                "force majeure %s not delivered to %s: %s", step, service_id, type(err).__name__
            )
            return False

    @workflow.update(name="end")
    def end(self, request: EndRequest) -> ForceMajeureProgress:
        self._progress.end_requested = True
        self._progress.end_reason = request.reason
        return self._progress

    @end.validator
    def _validate_end(self, request: EndRequest) -> None:
        if self._progress.end_requested:
            raise ApplicationError(
                "the force majeure is already ending or ended", type="AlreadyEnded", non_retryable=True
            )

    @workflow.query(name="progress")
    def progress(self) -> ForceMajeureProgress:
        return self._progress
