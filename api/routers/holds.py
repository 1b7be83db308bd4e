"""Steps the safeguards hold (a deletion nobody was told of, a mass suspension), and their release.

Operations only: a release names its reason, kept in the audit trail and the service's timeline.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from api.deps import OpsReader, OpsWriter, State
from api.errors import ApiError, invalid
from api.schemas import (
    ID_PATTERN,
    ErrorOut,
    GuardOut,
    HeldServiceOut,
    HoldsOut,
    ReleaseIn,
    ServiceOut,
    TripOut,
)
from api.store import audit, get_service, service_out
from oferta.policy import load_policies, load_policy
from workflows.client import (
    guard_status,
    held_services,
    release_policy_holds,
    release_service_hold,
    task_queue,
)
from workflows.guard import GuardStatus

router = APIRouter(
    tags=["safeguards"],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        422: {"model": ErrorOut},
        503: {"model": ErrorOut},
    },
)

PolicyId = Annotated[str, Path(pattern=ID_PATTERN)]
ServiceId = Annotated[str, Path(pattern=ID_PATTERN)]


def _guard_out(status: GuardStatus) -> GuardOut:
    trip = status.tripped
    return GuardOut(
        policy_id=status.policy_id,
        tripped=TripOut(hold=trip.kind.value, since=trip.at, reason=trip.reason) if trip else None,
        held_services=status.held,
        granted_in_window=status.granted_in_window,
        releases=[release.model_dump(mode="json") for release in status.releases],
    )


def _known_policy(policy_id: str) -> None:
    try:
        load_policy(policy_id)
    except KeyError:
        raise invalid("policy_id", f"unknown policy {policy_id!r}") from None


@router.get("/v1/holds", response_model=HoldsOut)
async def list_holds(
    state: State,
    _key: OpsReader,
    policy_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> HoldsOut:
    """Every service whose suspension, deletion or termination is held, and each policy's guard."""
    if policy_id:
        _known_policy(policy_id)
    client = await state.client()
    services = await held_services(client, policy_id)
    policies = [policy_id] if policy_id else sorted(load_policies())
    guards = []
    for pid in policies:
        status = await guard_status(client, task_queue(state.settings), pid, state.query_timeout)
        if status is not None:
            guards.append(_guard_out(status))
    return HoldsOut(
        services=[
            HeldServiceOut(
                service_id=h.service_id,
                policy_id=h.policy_id,
                hold=h.hold,
                state=h.state,
                next_action=h.next_action,
            )
            for h in services
        ],
        policies=guards,
    )


@router.post(
    "/v1/services/{service_id}/hold/release",
    response_model=ServiceOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
async def release_service(
    service_id: ServiceId, body: ReleaseIn, writer: OpsWriter
) -> ServiceOut | JSONResponse:
    """Let this service's held step run now, with the reason (kept in its timeline and the audit)."""

    async def produce() -> ServiceOut:
        state = writer.state
        row = await state.db.run(lambda s: get_service(s, service_id))
        if row is None:
            raise ApiError(404, "not_found", f"no service {service_id!r}")
        client = await state.client()
        view = await release_service_hold(client, service_id, writer.actor, body.reason, state.update_timeout)
        await state.db.run(
            lambda s: audit(
                s, writer.actor, "hold_released", service_id=service_id, detail={"reason": body.reason}
            )
        )
        return service_out(row, view)

    return await writer.once(produce)


@router.post(
    "/v1/policies/{policy_id}/holds/release",
    response_model=GuardOut,
    responses={409: {"model": ErrorOut}},
)
async def release_policy(policy_id: PolicyId, body: ReleaseIn, writer: OpsWriter) -> GuardOut | JSONResponse:
    """Let every step the policy's guard holds run (after a mass action or a silent billing feed)."""
    _known_policy(policy_id)

    async def produce() -> GuardOut:
        state = writer.state
        client = await state.client()
        status = await release_policy_holds(
            client, task_queue(state.settings), policy_id, writer.actor, body.reason, state.update_timeout
        )
        released = status.releases[-1].released if status.releases else 0
        await state.db.run(
            lambda s: audit(
                s,
                writer.actor,
                "policy_holds_released",
                detail={"policy_id": policy_id, "reason": body.reason, "released": released},
            )
        )
        return _guard_out(status)

    return await writer.once(produce)
