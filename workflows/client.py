"""The public contract of this package's workflows: their ids, how they start, and typed calls.

Everything outside ``workflows/`` (the API, the CLI, the time machine, scripts) reaches a
service's or a force majeure's workflow through here: no workflow id is built, no
handler named by a string and no Temporal exception caught anywhere else. Failures
come out as the domain errors below; api/errors.py turns them into HTTP answers.

    handle = await start_service(client, policy, spec, task_queue=task_queue(settings))
    receipt = await apply_event(client, service_id, event, timeout=10)   # the update
    view = await live_view(client, service_id, timeout=2)                # the query, or None
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeAlias, cast

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from oferta import search_attributes as sa
from oferta.policy.schema import Policy
from oferta.settings import Settings
from oferta.timeline.engine import closed_reason
from oferta.timeline.safeguards import Permit, PermitRequest
from oferta.timeline.state import BillingEvent, ServiceSpec, ServiceState, ServiceStatus, ServiceView
from workflows.amendments import AmendmentInput, AmendmentProgress, AmendmentWorkflow
from workflows.force_majeure import EndRequest, ForceMajeureInput, ForceMajeureProgress, ForceMajeureWorkflow
from workflows.guard import DestructiveStepGuard, GuardInput, GuardStatus, ReleaseRequest
from workflows.imports import ImportInput, ImportProgress, ImportWorkflow
from workflows.service_lifecycle import (
    AmendmentNotice,
    EventReceipt,
    HoldRelease,
    NoticeDelivered,
    ServiceLifecycleWorkflow,
    ServiceWorkflowInput,
)
from workflows.shared import (
    amendment_workflow_id,
    force_majeure_workflow_id,
    guard_workflow_id,
    import_workflow_id,
    service_search_attributes,
    service_workflow_id,
    webhook_dispatcher_id,
)
from workflows.shared import search_attribute_updates as search_attribute_updates  # re-exported
from workflows.webhooks import DispatcherInput, WebhookDispatcher

ServiceHandle: TypeAlias = WorkflowHandle[ServiceLifecycleWorkflow, ServiceView]
ForceMajeureHandle: TypeAlias = WorkflowHandle[ForceMajeureWorkflow, ForceMajeureProgress]
GuardHandle: TypeAlias = WorkflowHandle[DestructiveStepGuard, None]


class HeldService(BaseModel):
    """A service whose suspension, deletion or termination is held (visibility's view)."""

    workflow_id: str
    policy_id: str
    hold: str
    state: str
    next_action: str | None

    @property
    def service_id(self) -> str:
        return self.workflow_id.removeprefix("service-")


# Never two workflows for one service, and a closed one's id is never reused: a second start
# of a running service joins it, a start after it closed is refused (AlreadyStarted). The start
# itself fails on a running id so that start_service can check whose it is before joining.
ID_CONFLICT_POLICY = WorkflowIDConflictPolicy.FAIL
ID_REUSE_POLICY = WorkflowIDReusePolicy.REJECT_DUPLICATE


# -- errors -----------------------------------------------------------------


class WorkflowCallError(Exception):
    """A call into a workflow that did not do what was asked, in the domain's words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServiceClosed(WorkflowCallError):
    """The service's workflow has closed (deleted, terminated, …): it takes no more inputs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Refused(WorkflowCallError):
    """The workflow answered and said no (the contract's reason, or the force majeure's)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(WorkflowCallError):
    """No workflow with that id."""


class ServiceNotFound(NotFound):
    def __init__(self, service_id: str) -> None:
        super().__init__(f"service {service_id!r} has no workflow")
        self.service_id = service_id


class ForceMajeureNotFound(NotFound):
    def __init__(self, force_majeure_id: str) -> None:
        super().__init__(f"no force majeure with id {force_majeure_id!r}")
        self.force_majeure_id = force_majeure_id


class ImportNotFound(NotFound):
    def __init__(self, import_id: str) -> None:
        super().__init__(f"no import {import_id!r}")


class TemporalUnavailable(WorkflowCallError):
    """Temporal or a worker did not answer in time; the same call may be retried."""


class AlreadyStarted(WorkflowCallError):
    """A workflow with this id existed and has closed; ids are never reused."""


# -- the service workflow ---------------------------------------------------


def task_queue(settings: Settings) -> str:
    """The task queue the worker polls and every start names (OFERTA_TASK_QUEUE)."""
    return settings.task_queue


def service_summary(policy: Policy, spec: ServiceSpec) -> str:
    """The workflow's one-line summary in the Temporal UI: ids, tariff and price, no personal data."""
    trial = ", trial first" if spec.trial else ""
    return (
        f"{policy.provider.name} {spec.kind} service {spec.service_id}: tariff {spec.tariff}, "
        f"{spec.price} per {spec.period}{trial} (policy {policy.id})"
    )


def service_handle(client: Client, service_id: str, run_id: str | None = None) -> ServiceHandle:
    """A typed handle: its ``result()`` is the closed service's final ``ServiceView``."""
    return client.get_workflow_handle_for(
        ServiceLifecycleWorkflow.run, service_workflow_id(service_id), run_id=run_id
    )


async def start_service(
    client: Client,
    policy: Policy,
    spec: ServiceSpec,
    *,
    task_queue: str,
    clock_shift: timedelta = timedelta(0),
    publish_search_attributes: bool = True,
    amendment: AmendmentNotice | None = None,
) -> ServiceHandle:
    """Start the service's workflow (or join the running one). A new service awaits its first
    payment; the workflow keeps the search attributes current from there on.

    ``clock_shift`` and ``publish_search_attributes=False`` are for the time machine, whose
    test server has no custom search attributes. ``amendment``: a version published and not yet
    in effect, which the new service is told of at once.
    """
    attributes = (
        TypedSearchAttributes(service_search_attributes(spec, ServiceStatus.AWAITING_PAYMENT))
        if publish_search_attributes
        else None
    )
    try:
        return await client.start_workflow(
            ServiceLifecycleWorkflow.run,
            ServiceWorkflowInput(
                policy=policy,
                spec=spec,
                clock_shift=clock_shift,
                publish_search_attributes=publish_search_attributes,
                amendment=amendment,
            ),
            id=service_workflow_id(spec.service_id),
            task_queue=task_queue,
            id_conflict_policy=ID_CONFLICT_POLICY,
            id_reuse_policy=ID_REUSE_POLICY,
            static_summary=service_summary(policy, spec),
            search_attributes=attributes,
        )
    except WorkflowAlreadyStartedError:
        return await _join_running(client, spec.service_id, task_queue)
    except RPCError as err:
        raise TemporalUnavailable(f"Temporal did not accept the new service ({err.status.name})") from None


async def _join_running(client: Client, service_id: str, task_queue: str) -> ServiceHandle:
    """The running workflow a second start of ``service_id`` joins; AlreadyStarted when it has
    closed, or when it runs on another task queue: a workflow id is unique only within a
    namespace, and joining another deployment's workflow would leave every later call
    waiting for a worker that is not ours."""
    handle = service_handle(client, service_id)
    try:
        description = await handle.describe()
    except RPCError as err:
        raise TemporalUnavailable(f"Temporal did not answer ({err.status.name})") from None
    if description.status != WorkflowExecutionStatus.RUNNING:
        raise AlreadyStarted(
            f"service {service_id} had a workflow that has closed; a service id is never reused"
        )
    if description.task_queue != task_queue:
        raise AlreadyStarted(f"service {service_id} has a workflow of another deployment (task queue)")
    return service_handle(client, service_id, run_id=description.run_id)


async def take_over_service(
    client: Client,
    policy: Policy,
    spec: ServiceSpec,
    state: ServiceState,
    *,
    task_queue: str,
    amendment: AmendmentNotice | None = None,
) -> bool:
    """Start an imported service's workflow in the state its row describes (oferta/timeline/
    takeover.py). True when started; False when its workflow already exists (an import run
    twice starts nothing twice). AlreadyStarted when it belongs to another deployment."""
    try:
        await client.start_workflow(
            ServiceLifecycleWorkflow.run,
            ServiceWorkflowInput(policy=policy, spec=spec, state=state, amendment=amendment),
            id=service_workflow_id(spec.service_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=ID_REUSE_POLICY,
            static_summary=service_summary(policy, spec) + ", taken over mid-contract",
            search_attributes=TypedSearchAttributes(service_search_attributes(spec, state.status)),
        )
    except WorkflowAlreadyStartedError:
        try:
            description = await service_handle(client, spec.service_id).describe()
        except RPCError as err:
            raise TemporalUnavailable(f"Temporal did not answer ({err.status.name})") from None
        if description.task_queue != task_queue:
            raise AlreadyStarted(
                f"service {spec.service_id} has a workflow of another deployment (task queue)"
            ) from None
        return False
    except RPCError as err:
        raise TemporalUnavailable(f"Temporal did not accept the service ({err.status.name})") from None
    return True


async def apply_event(client: Client, service_id: str, event: BillingEvent, timeout: float) -> EventReceipt:
    """The ``apply_event`` update, with the event id as the update id (a retry is applied once).

    Raises Refused (the contract said no), ServiceClosed, ServiceNotFound or TemporalUnavailable
    (nothing answered within ``timeout`` seconds: retry with the same event id).
    """
    handle = service_handle(client, service_id)
    what = event.type.value
    try:
        async with asyncio.timeout(timeout):
            # cast: the SDK types an async handler declared with update(name=...) by its coroutine
            receipt = cast(
                EventReceipt,
                await handle.execute_update(ServiceLifecycleWorkflow.apply_event, event, id=event.event_id),
            )
    except TimeoutError:
        raise TemporalUnavailable("no worker answered in time") from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise TemporalUnavailable("the update timed out") from None
    except WorkflowUpdateFailedError as err:
        cause = err.cause  # the validator's or the handler's ApplicationError: the contract's reason
        reason = cause.message if isinstance(cause, ApplicationError) else f"{what} was not applied"
        raise Refused(reason) from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise await _closed_or_missing(handle, service_id, what) from None
        raise TemporalUnavailable(f"Temporal did not answer ({err.status.name})") from None
    if receipt.rejected:
        raise Refused(receipt.rejected)
    return receipt


_CLOSED_WORDS = {
    WorkflowExecutionStatus.TERMINATED: "was terminated by an operator",
    WorkflowExecutionStatus.CANCELED: "was cancelled",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.TIMED_OUT: "timed out",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "continued as new",
}


async def _closed_or_missing(handle: ServiceHandle, service_id: str, what: str) -> WorkflowCallError:
    """Why a workflow did not take an input: closed (with the final state when it completed) or absent."""
    try:
        status = (await handle.describe()).status
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return ServiceNotFound(service_id)
        return TemporalUnavailable(f"Temporal did not answer ({err.status.name})")
    if status == WorkflowExecutionStatus.COMPLETED:
        try:
            final = await handle.result()
        except RPCError:  # gone between the two calls (retention): the reason without the state
            return ServiceClosed(f"the service's contract has ended; {what} cannot be applied")
        return ServiceClosed(closed_reason(final.state.value, what))
    if status is not None and status != WorkflowExecutionStatus.RUNNING:
        words = _CLOSED_WORDS.get(status, "is closed")
        return ServiceClosed(f"the service's workflow {words}; {what} cannot be applied")
    # Running again by now (a race with its start): the caller may retry.
    return TemporalUnavailable("the service's workflow did not take the input")


@asynccontextmanager
async def _answered(timeout: float | None, not_found: WorkflowCallError | None = None) -> AsyncIterator[None]:
    """One call into a workflow within ``timeout`` seconds, its failures in the domain's words:
    no answer in time or from the server is TemporalUnavailable, an unknown workflow is
    ``not_found`` (when given)."""
    try:
        async with asyncio.timeout(timeout):
            yield
    except TimeoutError:
        raise TemporalUnavailable("no worker answered in time") from None
    except RPCError as err:
        if not_found is not None and err.status == RPCStatusCode.NOT_FOUND:
            raise not_found from None
        raise TemporalUnavailable(f"Temporal did not answer ({err.status.name})") from None


async def view(client: Client, service_id: str, timeout: float | None = None) -> ServiceView:
    """The workflow's own view (the ``view`` query); a closed workflow answers too."""
    async with _answered(timeout, ServiceNotFound(service_id)):
        return await service_handle(client, service_id).query(ServiceLifecycleWorkflow.view)
    raise AssertionError("unreachable")  # mypy: the context manager re-raises every failure


async def service_state(client: Client, service_id: str, timeout: float) -> ServiceState:
    """The workflow's whole contract state (the ``state`` query): for previews on the engine."""
    async with _answered(timeout, ServiceNotFound(service_id)):
        return await service_handle(client, service_id).query(ServiceLifecycleWorkflow.state)
    raise AssertionError("unreachable")


async def live_view(client: Client, service_id: str, timeout: float) -> ServiceView | None:
    """The view, or None when the workflow cannot answer now (callers show the database mirror)."""
    try:
        return await view(client, service_id, timeout)
    except (WorkflowCallError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
        return None


async def describe(client: Client, service_id: str) -> WorkflowExecutionDescription:
    """The workflow's execution: status, run, search attributes, summary."""
    try:
        return await service_handle(client, service_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ServiceNotFound(service_id) from None
        raise TemporalUnavailable(f"Temporal did not answer ({err.status.name})") from None


# -- the force majeure workflow ---------------------------------------------


def force_majeure_handle(client: Client, fm_id: str) -> ForceMajeureHandle:
    return client.get_workflow_handle_for(ForceMajeureWorkflow.run, force_majeure_workflow_id(fm_id))


async def declare_force_majeure(
    client: Client,
    fm_id: str,
    reason: str | None,
    service_ids: Sequence[str],
    *,
    task_queue: str,
    scope: str,
) -> ForceMajeureHandle:
    """Start the fan-out to ``service_ids``; a force majeure id is used once (AlreadyStarted).
    ``scope`` says in the summary how the services were chosen."""
    try:
        return await client.start_workflow(
            ForceMajeureWorkflow.run,
            ForceMajeureInput(force_majeure_id=fm_id, reason=reason, service_ids=list(service_ids)),
            id=force_majeure_workflow_id(fm_id),
            task_queue=task_queue,
            id_reuse_policy=ID_REUSE_POLICY,
            static_summary=f"force majeure {fm_id} for {len(service_ids)} services (scope {scope})",
        )
    except WorkflowAlreadyStartedError:
        raise AlreadyStarted(f"force majeure {fm_id!r} already exists") from None
    except RPCError as err:
        raise TemporalUnavailable(f"Temporal did not accept the force majeure ({err.status.name})") from None


async def _own_force_majeure(
    handle: ForceMajeureHandle, fm_id: str, task_queue: str
) -> WorkflowExecutionDescription:
    return await _own(handle, task_queue, ForceMajeureNotFound(fm_id))


async def _own(
    handle: WorkflowHandle[Any, Any], task_queue: str, not_found: NotFound
) -> WorkflowExecutionDescription:
    """The workflow's execution, when this deployment started it; ``not_found`` otherwise.

    A workflow id is only unique within a Temporal namespace: an id declared by another
    deployment sharing the namespace (another task queue, whose worker may be gone) would
    leave a query or an update waiting for a worker that never answers. Asking the server
    first (no worker involved) answers "not found" for those at once.
    """
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise not_found from None
        raise TemporalUnavailable(f"Temporal did not answer ({err.status.name})") from None
    if description.task_queue != task_queue:
        raise not_found
    return description


async def force_majeure_progress(
    client: Client, fm_id: str, timeout: float, *, task_queue: str
) -> ForceMajeureProgress:
    """How far the fan-out got (the ``progress`` query); ForceMajeureNotFound unless declared on
    ``task_queue``."""
    handle = force_majeure_handle(client, fm_id)
    try:
        async with asyncio.timeout(timeout):
            await _own_force_majeure(handle, fm_id, task_queue)
            return await handle.query(ForceMajeureWorkflow.progress)
    except TimeoutError:
        raise TemporalUnavailable("no worker answered in time") from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ForceMajeureNotFound(fm_id) from None
        raise TemporalUnavailable(f"Temporal did not answer ({err.status.name})") from None


async def end_force_majeure(
    client: Client, fm_id: str, reason: str | None, timeout: float, *, task_queue: str
) -> ForceMajeureProgress:
    """The ``end`` update: the services it reached resume. Refused when it is ending or ended;
    ForceMajeureNotFound unless declared on ``task_queue``."""
    handle = force_majeure_handle(client, fm_id)
    try:
        async with asyncio.timeout(timeout):
            if (
                await _own_force_majeure(handle, fm_id, task_queue)
            ).status != WorkflowExecutionStatus.RUNNING:
                raise Refused("the force majeure has already ended")
            return await handle.execute_update(ForceMajeureWorkflow.end, EndRequest(reason=reason))
    except TimeoutError:
        raise TemporalUnavailable("no worker answered in time") from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise TemporalUnavailable("the update timed out") from None
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        raise Refused(cause.message if isinstance(cause, ApplicationError) else "already ended") from None
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise TemporalUnavailable(f"Temporal did not answer ({err.status.name})") from None
    # Not found for the update although it was running a moment ago: it closed in between.
    raise Refused("the force majeure has already ended")


# -- safeguards: a service's held step, and the policy's guard ------------------------


def guard_handle(client: Client, task_queue: str, policy_id: str) -> GuardHandle:
    return client.get_workflow_handle_for(DestructiveStepGuard.run, guard_workflow_id(policy_id, task_queue))


async def ask_guard(client: Client, task_queue: str, request: PermitRequest) -> Permit:
    """The policy's guard decides whether a destructive step may run (started on the first ask)."""
    start: WithStartWorkflowOperation[DestructiveStepGuard, None] = WithStartWorkflowOperation(
        DestructiveStepGuard.run,
        GuardInput(policy_id=request.policy_id),
        id=guard_workflow_id(request.policy_id, task_queue),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=f"guard of destructive steps under policy {request.policy_id}",
    )
    return await client.execute_update_with_start_workflow(
        DestructiveStepGuard.request_permit, request, start_workflow_operation=start
    )


async def guard_status(client: Client, task_queue: str, policy_id: str, timeout: float) -> GuardStatus | None:
    """The guard's state, or None when the policy's services never asked it anything."""
    try:
        async with _answered(timeout, NotFound(policy_id)):
            return await guard_handle(client, task_queue, policy_id).query(DestructiveStepGuard.status)
    except NotFound:
        return None
    raise AssertionError("unreachable")


async def release_policy_holds(
    client: Client, task_queue: str, policy_id: str, actor: str, reason: str, timeout: float
) -> GuardStatus:
    """Operations let every step the policy's guard holds go; each waiting service is told."""
    try:
        async with asyncio.timeout(timeout):
            return await guard_handle(client, task_queue, policy_id).execute_update(
                DestructiveStepGuard.release, ReleaseRequest(actor=actor, reason=reason)
            )
    except TimeoutError:
        raise TemporalUnavailable("no worker answered in time") from None
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        raise Refused(cause.message if isinstance(cause, ApplicationError) else "not released") from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise Refused(f"nothing is held under policy {policy_id}") from None
        raise TemporalUnavailable(f"Temporal did not answer ({err.status.name})") from None


async def release_service_hold(
    client: Client, service_id: str, actor: str, reason: str, timeout: float
) -> ServiceView:
    """Operations let one service's held step run (the ``release_hold`` update)."""
    handle = service_handle(client, service_id)
    try:
        async with asyncio.timeout(timeout):
            return cast(
                ServiceView,
                await handle.execute_update(
                    ServiceLifecycleWorkflow.release_hold, HoldRelease(actor=actor, reason=reason)
                ),
            )
    except TimeoutError:
        raise TemporalUnavailable("no worker answered in time") from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise TemporalUnavailable("the update timed out") from None
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        raise Refused(cause.message if isinstance(cause, ApplicationError) else "not released") from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise await _closed_or_missing(handle, service_id, "release") from None
        raise TemporalUnavailable(f"Temporal did not answer ({err.status.name})") from None


async def report_sms_delivered(client: Client, service_id: str, template: str) -> None:
    """Twilio said an SMS reached the customer: a step held for want of a notice may run."""
    try:
        await service_handle(client, service_id).signal(
            ServiceLifecycleWorkflow.notice_delivered, NoticeDelivered(template=template)
        )
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:  # closed: nothing waits for it any more
            raise TemporalUnavailable(f"Temporal did not answer ({err.status.name})") from None


async def held_services(client: Client, policy_id: str | None = None, limit: int = 1000) -> list[HeldService]:
    """Services with a held step, from Temporal's visibility (the OfertaHold search attribute)."""
    query = f"{sa.HOLD.name} IS NOT NULL AND ExecutionStatus = 'Running'"
    if policy_id:
        query += f" AND {sa.POLICY.name} = '{policy_id}'"
    found: list[HeldService] = []
    try:
        async for execution in client.list_workflows(query, limit=limit):
            attributes = execution.typed_search_attributes
            found.append(
                HeldService(
                    workflow_id=execution.id,
                    policy_id=attributes.get(sa.POLICY) or "",
                    hold=attributes.get(sa.HOLD) or "",
                    state=attributes.get(sa.SERVICE_STATE) or "",
                    next_action=attributes.get(sa.NEXT_ACTION),
                )
            )
    except RPCError as err:
        raise TemporalUnavailable(f"Temporal did not answer ({err.status.name})") from None
    return found


# -- imports sent through the API ---------------------------------------------------------


async def start_import(client: Client, import_id: str, rows: list[dict], *, task_queue: str) -> None:
    """Take over ``rows`` in the background (workflows/imports.py); an import id is used once."""
    try:
        await client.start_workflow(
            ImportWorkflow.run,
            ImportInput(import_id=import_id, rows=rows),
            id=import_workflow_id(import_id),
            task_queue=task_queue,
            id_reuse_policy=ID_REUSE_POLICY,
            static_summary=f"import {import_id}: {len(rows)} services",
        )
    except WorkflowAlreadyStartedError:
        raise AlreadyStarted(f"import {import_id!r} already exists") from None
    except RPCError as err:
        raise TemporalUnavailable(f"Temporal did not accept the import ({err.status.name})") from None


async def import_progress(
    client: Client, import_id: str, *, task_queue: str, timeout: float
) -> ImportProgress:
    """How far an import got (a finished one answers with its result)."""
    handle = client.get_workflow_handle_for(ImportWorkflow.run, import_workflow_id(import_id))
    description = await _own(handle, task_queue, ImportNotFound(import_id))
    async with _answered(timeout):
        if description.status == WorkflowExecutionStatus.COMPLETED:
            return await handle.result()
        return await handle.query(ImportWorkflow.progress)
    raise AssertionError("unreachable")


# -- webhooks -----------------------------------------------------------------------------


async def wake_webhook_dispatcher(
    client: Client, task_queue: str, poll_seconds: float, wait_seconds: float
) -> None:
    """Start the deployment's webhook dispatcher, or wake the running one (signal-with-start:
    idempotent, and never lost to a dispatcher that is just ending)."""
    try:
        await client.start_workflow(
            WebhookDispatcher.run,
            DispatcherInput(poll_seconds=poll_seconds, wait_seconds=wait_seconds),
            id=webhook_dispatcher_id(task_queue),
            task_queue=task_queue,
            start_signal="wake",
            static_summary="delivers signed webhooks of services' timelines",
        )
    except RPCError as err:
        raise TemporalUnavailable(
            f"Temporal did not start the webhook dispatcher ({err.status.name})"
        ) from None


# -- amendments of the offer ----------------------------------------------------------------


class AmendmentNotFound(NotFound):
    def __init__(self, policy_id: str, version: int) -> None:
        super().__init__(f"no publication of {policy_id} v{version} in this deployment")


async def tell_services(
    client: Client, notice: AmendmentNotice, service_ids: Sequence[str], *, task_queue: str
) -> None:
    """Tell every service in ``service_ids`` of a published version (workflows/amendments.py). A
    publication retried joins the fan-out already running (or finished)."""
    try:
        await client.start_workflow(
            AmendmentWorkflow.run,
            AmendmentInput(notice=notice, service_ids=list(service_ids)),
            id=amendment_workflow_id(notice.policy_id, notice.version, task_queue),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"{notice.policy_id} v{notice.version} told to {len(service_ids)} services",
        )
    except WorkflowAlreadyStartedError:
        return  # finished before: every service was told
    except RPCError as err:
        raise TemporalUnavailable(f"Temporal did not accept the publication ({err.status.name})") from None


async def amendment_progress(
    client: Client, policy_id: str, version: int, *, task_queue: str, timeout: float
) -> AmendmentProgress:
    handle = client.get_workflow_handle_for(
        AmendmentWorkflow.run, amendment_workflow_id(policy_id, version, task_queue)
    )
    description = await _own(handle, task_queue, AmendmentNotFound(policy_id, version))
    async with _answered(timeout):
        if description.status == WorkflowExecutionStatus.COMPLETED:
            return await handle.result()
        return await handle.query(AmendmentWorkflow.progress)
    raise AssertionError("unreachable")


async def tell_service(client: Client, service_id: str, notice: AmendmentNotice) -> None:
    """One service told of a published version (the fan-out does this for each)."""
    handle = service_handle(client, service_id)
    async with _answered(None, ServiceNotFound(service_id)):
        await handle.signal(ServiceLifecycleWorkflow.amendment_published, notice)
