"""A published version of a policy told to every running service under it: a workflow of its own.

``oferta policies publish`` records the version and starts this workflow with the services
then running; it signals ``amendment_published`` to each, in batches, and its progress is a
query. A signal carries the version's number, not its rules (each service loads them once), so
the fan-out's history stays small. A service told twice (a retry, a continue-as-new) hears it
once: the event id is derived from the policy and version.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.service_lifecycle import ServiceLifecycleWorkflow
    from workflows.service_messages import AmendmentNotice
    from workflows.shared import service_workflow_id

WORKFLOW_NAME = "Amendment"
BATCH = 50
# Signals per run before continuing as new (two history events each).
SIGNALS_PER_RUN = 1000
FAILED_KEPT = 100


class AmendmentProgress(BaseModel):
    policy_id: str
    version: int
    total: int
    told: int = 0
    failed: int = 0
    failed_services: list[str] = []
    next_index: int = 0

    @property
    def done(self) -> bool:
        return self.next_index >= self.total


class AmendmentInput(BaseModel):
    notice: AmendmentNotice
    service_ids: list[str]
    progress: AmendmentProgress | None = None


@workflow.defn(name=WORKFLOW_NAME)
class AmendmentWorkflow:
    @workflow.init
    def __init__(self, input: AmendmentInput) -> None:
        notice = input.notice
        self._progress = input.progress or AmendmentProgress(
            policy_id=notice.policy_id, version=notice.version, total=len(input.service_ids)
        )

    @workflow.run
    async def run(self, input: AmendmentInput) -> AmendmentProgress:
        p, ids, sent = self._progress, input.service_ids, 0
        while p.next_index < len(ids):
            if sent >= SIGNALS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(input.model_copy(update={"progress": p}))
            batch = ids[p.next_index : p.next_index + BATCH]
            reached = await asyncio.gather(*(self._tell(input.notice, sid) for sid in batch))
            for service_id, ok in zip(batch, reached, strict=True):
                if ok:
                    p.told += 1
                else:
                    p.failed += 1
                    if len(p.failed_services) < FAILED_KEPT:
                        p.failed_services.append(service_id)
            p.next_index += len(batch)
            sent += len(batch)
            workflow.set_current_details(f"{p.policy_id} v{p.version}: told {p.told} of {p.total} services")
        return p

    async def _tell(self, notice: AmendmentNotice, service_id: str) -> bool:
        handle = workflow.get_external_workflow_handle(service_workflow_id(service_id))
        try:
            await handle.signal(ServiceLifecycleWorkflow.amendment_published, notice)
            return True
        except Exception as err:  # the service's workflow is gone (deleted, terminated)
            workflow.logger.info("amendment not delivered to %s: %s", service_id, type(err).__name__)
            return False

    @workflow.query(name="progress")
    def progress(self) -> AmendmentProgress:
        return self._progress
