"""The API's calls into Temporal, and how their failures become HTTP answers.

Billing inputs go to the service workflow as the ``apply_event`` update, with the
event id as the update id, bounded by ``asyncio.timeout`` (no worker -> 503).
"""

from __future__ import annotations

import asyncio
import logging

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError, conflict, unavailable
from oferta import search_attributes as sa
from oferta.policy.schema import Policy
from oferta.timeline.state import BillingEvent, ServiceSpec, ServiceView
from workflows.service_lifecycle import (
    EventReceipt,
    ServiceLifecycleWorkflow,
    ServiceWorkflowInput,
    workflow_id,
)

log = logging.getLogger("oferta.api")

_CLOSED_WORDS = {
    WorkflowExecutionStatus.TERMINATED: "was terminated by an operator",
    WorkflowExecutionStatus.CANCELED: "was cancelled",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.TIMED_OUT: "timed out",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "continued as new",
}


def summary(policy: Policy, spec: ServiceSpec) -> str:
    """The workflow's one-line summary in the Temporal UI: no personal data."""
    trial = ", trial first" if spec.trial else ""
    return (f"{policy.provider.name} {spec.kind} service {spec.service_id}: tariff {spec.tariff}, "
            f"{spec.price} per {spec.period}{trial} (policy {policy.id})")


async def start_service(client: Client, task_queue: str, policy: Policy, spec: ServiceSpec) -> None:
    """Start the service's workflow; never two for one service (USE_EXISTING, REJECT_DUPLICATE)."""
    try:
        await client.start_workflow(
            ServiceLifecycleWorkflow.run,
            ServiceWorkflowInput(policy=policy, spec=spec),
            id=workflow_id(spec.service_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=summary(policy, spec),
            search_attributes=TypedSearchAttributes([
                SearchAttributePair(sa.CUSTOMER_ID, spec.customer_id),
                SearchAttributePair(sa.POLICY, policy.id),
                SearchAttributePair(sa.SERVICE_STATE, "awaiting_payment"),
            ]),
        )
    except WorkflowAlreadyStartedError:
        raise conflict(f"service {spec.service_id} had a workflow that has closed; "
                       "a service id is never reused") from None
    except RPCError as err:
        log.warning("starting workflow for %s failed: %s", spec.service_id, err.status.name)
        raise unavailable("Temporal did not accept the new service; retry later") from None


async def _closed_reason(handle: WorkflowHandle, service_id: str, what: str) -> ApiError | None:
    """409 with the reason when the workflow is closed, None when it does not exist."""
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    status = description.status
    if status == WorkflowExecutionStatus.COMPLETED:
        try:
            view = await handle.result(result_type=ServiceView)
            return conflict(f"the service is {view.state.value}; {what} cannot be applied", "service_closed")
        except Exception:
            return conflict(f"the service's contract has ended; {what} cannot be applied", "service_closed")
    if status is not None and status != WorkflowExecutionStatus.RUNNING:
        words = _CLOSED_WORDS.get(status, "is closed")
        return conflict(f"the service's workflow {words}; {what} cannot be applied", "service_closed")
    return None


async def apply_event(client: Client, service_id: str, event: BillingEvent, timeout: float) -> EventReceipt:
    handle = client.get_workflow_handle(workflow_id(service_id))
    what = event.type.value
    try:
        async with asyncio.timeout(timeout):
            receipt = await handle.execute_update(
                ServiceLifecycleWorkflow.apply_event, event, id=event.event_id, result_type=EventReceipt
            )
    except TimeoutError:
        raise unavailable("no worker answered in time; retry with the same Idempotency-Key") from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise unavailable("the update timed out; retry with the same Idempotency-Key") from None
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError):
            raise conflict(cause.message, "refused") from None
        raise conflict(f"{what} was not applied", "refused") from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            closed = await _closed_reason(handle, service_id, what)
            if closed:
                raise closed from None
            raise ApiError(404, "not_found", f"service {service_id!r} has no workflow") from None
        log.warning("update to %s failed: %s", service_id, err.status.name)
        raise unavailable("Temporal did not answer; retry with the same Idempotency-Key") from None
    if receipt.rejected:
        raise conflict(receipt.rejected, "refused")
    return receipt


async def live_view(client: Client, service_id: str, timeout: float) -> ServiceView | None:
    """The workflow's own view, or None when it cannot answer now (no worker, closed, unreachable)."""
    handle = client.get_workflow_handle(workflow_id(service_id))
    try:
        async with asyncio.timeout(timeout):
            return await handle.query(ServiceLifecycleWorkflow.view)
    except Exception as err:  # timeout, RPC error, query failure: show the database mirror instead
        log.info("view of %s unavailable: %s", service_id, type(err).__name__)
        return None
