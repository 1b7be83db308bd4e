"""Force majeure for many services: declared here, carried out by its own workflow."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import OpsWriter, Reader, State
from api.errors import invalid
from api.schemas import ID_PATTERN, ErrorOut, ForceMajeureIn, ForceMajeureOut, Reason, Strict
from api.store import TERMINAL, audit
from oferta.db.models import Service
from oferta.policy import load_policy
from workflows.client import (
    declare_force_majeure,
    end_force_majeure,
    force_majeure_progress,
    force_majeure_workflow_id,
    task_queue,
)
from workflows.force_majeure import ForceMajeureProgress

router = APIRouter(
    prefix="/v1/force-majeure",
    tags=["force majeure"],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        422: {"model": ErrorOut},
        503: {"model": ErrorOut},
    },
)

ForceMajeureId = Annotated[str, Path(pattern=ID_PATTERN)]


class EndIn(Strict):
    reason: Reason | None = None


def _out(progress: ForceMajeureProgress) -> ForceMajeureOut:
    return ForceMajeureOut(
        id=progress.force_majeure_id,
        workflow_id=force_majeure_workflow_id(progress.force_majeure_id),
        phase=progress.phase,
        reason=progress.reason,
        total=progress.total,
        started=progress.started,
        ended=progress.ended,
        failed=progress.failed,
        failed_services=progress.failed_services,
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
            raise invalid(
                "service_ids",
                f"no such services: {', '.join(unknown[:10])}" + (" …" if len(unknown) > 10 else ""),
            )
        return [s for s in wanted if found[s] not in TERMINAL]
    rows = session.execute(query.order_by(Service.id))
    return [sid for sid, state in rows if state not in TERMINAL]


@router.post("", status_code=202, response_model=ForceMajeureOut, responses={409: {"model": ErrorOut}})
async def declare(body: ForceMajeureIn, writer: OpsWriter) -> ForceMajeureOut | JSONResponse:
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
        await declare_force_majeure(
            client, fm_id, body.reason, targets, task_queue=task_queue(state.settings), scope=body.scope
        )
        await state.db.run(
            lambda s: audit(
                s,
                writer.actor,
                "force_majeure_declared",
                detail={
                    "force_majeure_id": fm_id,
                    "scope": body.scope,
                    "policy": body.policy,
                    "services": len(targets),
                },
            )
        )
        progress = ForceMajeureProgress(force_majeure_id=fm_id, reason=body.reason, total=len(targets))
        return _out(progress)

    return await writer.once(produce)


@router.get("/{force_majeure_id}", response_model=ForceMajeureOut, responses={404: {"model": ErrorOut}})
async def progress(force_majeure_id: ForceMajeureId, state: State, _key: Reader) -> ForceMajeureOut:
    """How far the fan-out got: services reached at the start and at the end, and failures."""
    client = await state.client()
    return _out(
        await force_majeure_progress(
            client, force_majeure_id, state.query_timeout, task_queue=task_queue(state.settings)
        )
    )


@router.post(
    "/{force_majeure_id}/end",
    response_model=ForceMajeureOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
async def end(
    force_majeure_id: ForceMajeureId, writer: OpsWriter, body: EndIn | None = None
) -> ForceMajeureOut | JSONResponse:
    """End the force majeure: each service it reached resumes, deadlines shifted as the contract says."""

    async def produce():
        state = writer.state
        client = await state.client()
        progress = await end_force_majeure(
            client,
            force_majeure_id,
            body.reason if body else None,
            state.update_timeout,
            task_queue=task_queue(state.settings),
        )
        await state.db.run(
            lambda s: audit(
                s, writer.actor, "force_majeure_ended", detail={"force_majeure_id": force_majeure_id}
            )
        )
        return _out(progress)

    return await writer.once(produce)
