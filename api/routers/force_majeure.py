"""Force majeure for many services: declared here, carried out by its own workflow."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import OpsWriter, Reader, State
from api.errors import conflict, invalid, not_found, unavailable
from api.schemas import ID_PATTERN, ErrorOut, ForceMajeureIn, ForceMajeureOut, Reason, Strict
from api.store import TERMINAL, audit
from oferta.db.models import Service
from oferta.policy import load_policy
from workflows.force_majeure import (
    EndRequest,
    ForceMajeureInput,
    ForceMajeureProgress,
    ForceMajeureWorkflow,
    force_majeure_workflow_id,
)

router = APIRouter(prefix="/v1/force-majeure", tags=["force majeure"],
                   responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut},
                              503: {"model": ErrorOut}})

ForceMajeureId = Annotated[str, Path(pattern=ID_PATTERN)]


class EndIn(Strict):
    reason: Reason | None = None


def _out(progress: ForceMajeureProgress) -> ForceMajeureOut:
    return ForceMajeureOut(
        id=progress.force_majeure_id, workflow_id=force_majeure_workflow_id(progress.force_majeure_id),
        phase=progress.phase, reason=progress.reason, total=progress.total, started=progress.started,
        ended=progress.ended, failed=progress.failed, failed_services=progress.failed_services,
    )


def _targets(session: Session, body: ForceMajeureIn) -> list[str]:
    query = select(Service.id, Service.state)
    if body.scope == "policy":
        query = query.where(Service.policy_id == body.policy)
    elif body.scope == "services":
        wanted = sorted(set(body.service_ids or []))
        found = {sid: state for sid, state in session.execute(query.where(Service.id.in_(wanted)))}
        unknown = [s for s in wanted if s not in found]
        if unknown:
            raise invalid("service_ids", f"no such services: {', '.join(unknown[:10])}"
                                         + (" …" if len(unknown) > 10 else ""))
        return [s for s in wanted if found[s] not in TERMINAL]
    rows = session.execute(query.order_by(Service.id))
    return [sid for sid, state in rows if state not in TERMINAL]


@router.post("", status_code=202, response_model=ForceMajeureOut, responses={409: {"model": ErrorOut}})
async def declare(body: ForceMajeureIn, writer: OpsWriter) -> ForceMajeureOut:
    """Declare a force majeure for all services, one policy's, or a list; returns its id at once."""
    if body.scope == "policy":
        if body.policy is None:
            raise invalid("policy", "scope 'policy' needs a policy")
        try:
            load_policy(body.policy)
        except KeyError:
            raise invalid("policy", f"unknown policy {body.policy!r}") from None
    if body.scope == "services" and not body.service_ids:
        raise invalid("service_ids", "scope 'services' needs a non-empty list of service ids")

    async def produce():
        state = writer.state
        targets = await state.db.run(lambda s: _targets(s, body))
        if not targets:
            raise invalid("scope", "no running services match")
        fm_id = body.id or f"fm-{uuid.uuid4().hex[:16]}"
        client = await state.client()
        try:
            await client.start_workflow(
                ForceMajeureWorkflow.run,
                ForceMajeureInput(force_majeure_id=fm_id, reason=body.reason, service_ids=targets),
                id=force_majeure_workflow_id(fm_id), task_queue=state.settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"force majeure {fm_id} for {len(targets)} services (scope {body.scope})",
            )
        except WorkflowAlreadyStartedError:
            raise conflict(f"force majeure {fm_id!r} already exists", "exists") from None
        except RPCError:
            raise unavailable("Temporal did not accept the force majeure; retry later") from None
        await state.db.run(lambda s: audit(s, writer.actor, "force_majeure_declared", detail={
            "force_majeure_id": fm_id, "scope": body.scope, "policy": body.policy, "services": len(targets)}))
        progress = ForceMajeureProgress(force_majeure_id=fm_id, reason=body.reason, total=len(targets))
        return 202, _out(progress).model_dump(mode="json")

    return await writer.once(produce)


async def _progress(client: Client, fm_id: str, timeout: float) -> ForceMajeureProgress:
    handle = client.get_workflow_handle(force_majeure_workflow_id(fm_id))
    try:
        async with asyncio.timeout(timeout):
            return await handle.query(ForceMajeureWorkflow.progress)
    except TimeoutError:
        raise unavailable("no worker answered in time") from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise not_found("force majeure", fm_id) from None
        raise unavailable("Temporal did not answer") from None


@router.get("/{force_majeure_id}", response_model=ForceMajeureOut, responses={404: {"model": ErrorOut}})
async def progress(force_majeure_id: ForceMajeureId, state: State, _key: Reader) -> ForceMajeureOut:
    """How far the fan-out got: services reached at the start and at the end, and failures."""
    client = await state.client()
    return _out(await _progress(client, force_majeure_id, state.query_timeout))


@router.post("/{force_majeure_id}/end", response_model=ForceMajeureOut,
             responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}})
async def end(force_majeure_id: ForceMajeureId, writer: OpsWriter,
              body: EndIn | None = None) -> ForceMajeureOut:
    """End the force majeure: each service it reached resumes, deadlines shifted as the contract says."""

    async def produce():
        state = writer.state
        client = await state.client()
        handle = client.get_workflow_handle(force_majeure_workflow_id(force_majeure_id))
        try:
            async with asyncio.timeout(state.update_timeout):
                progress = await handle.execute_update(ForceMajeureWorkflow.end,
                                                       EndRequest(reason=body.reason if body else None))
        except TimeoutError:
            raise unavailable("no worker answered in time; retry with the same Idempotency-Key") from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise unavailable("the update timed out; retry with the same Idempotency-Key") from None
        except WorkflowUpdateFailedError as err:
            raise conflict(getattr(err.cause, "message", None) or "already ended", "refused") from None
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                try:
                    await handle.describe()
                except RPCError:
                    raise not_found("force majeure", force_majeure_id) from None
                raise conflict("the force majeure has already ended", "refused") from None
            raise unavailable("Temporal did not answer") from None
        await state.db.run(lambda s: audit(s, writer.actor, "force_majeure_ended",
                                           detail={"force_majeure_id": force_majeure_id}))
        return 200, _out(progress).model_dump(mode="json")

    return await writer.once(produce)


