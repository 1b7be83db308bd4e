"""Services: one contract workflow each. Created here, read from the database and the workflow."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from sqlalchemy import delete
from sqlalchemy.orm import Session

from api.deps import BillingWriter, Reader, State
from api.errors import ApiError, conflict, database_down, invalid, not_found
from api.schemas import ID_PATTERN, ErrorOut, ServiceIn, ServiceList, ServiceOut, TimelineOut
from api.store import (
    audit,
    customer_is_consumer,
    get_service,
    list_services,
    service_out,
    timeline,
)
from oferta.db.models import Service, utcnow
from oferta.db.once import insert_once, utc
from oferta.db.policy_versions import Governing, governing
from oferta.policy import load_policy
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.state import ServiceSpec, ServiceStatus
from workflows.client import AmendmentNotice, live_view, service_workflow_id, start_service, task_queue

router = APIRouter(
    prefix="/v1/services",
    tags=["services"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)

ServiceId = Annotated[str, Path(pattern=ID_PATTERN)]


def _same_service(row: Service, customer_id: str, spec: ServiceSpec) -> bool:
    """Whether ``row`` is the service ``spec`` describes (an earlier attempt of the same create)."""
    return (
        row.customer_id == customer_id
        and row.policy_id == spec.policy_id
        and row.kind == spec.kind
        and row.tariff == spec.tariff
        and row.price == spec.price.amount
        and row.currency == spec.price.currency
        and row.period == spec.period
    )


@router.post(
    "",
    status_code=201,
    response_model=ServiceOut,
    responses={409: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
async def create_service(body: ServiceIn, writer: BillingWriter) -> ServiceOut | JSONResponse:
    """Start a service under a contract policy: its workflow issues the first invoice.

    Answers at once from the database mirror (``live`` is false): the row as just written, awaiting
    the first payment, before the workflow's first step. It never waits on the workflow.
    """
    try:
        policy = load_policy(body.policy)
    except KeyError:
        raise invalid("policy", f"unknown policy {body.policy!r}") from None
    if body.currency != policy.provider.currency:
        raise invalid(
            "currency", f"policy {policy.id} bills in {policy.provider.currency}, not {body.currency}"
        )

    def spec_for(service_id: str, consumer: bool = False) -> ServiceSpec:
        return ServiceSpec(
            service_id=service_id,
            customer_id=body.customer_id,
            policy_id=policy.id,
            kind=body.kind,
            tariff=body.tariff,
            price=Money.of(body.price, body.currency),
            period=body.period,
            trial=body.trial,
            consumer=consumer,
        )

    # The contract says which kinds it covers and which may start on a trial (and why not).
    refusal = Contract(policy).start_refusal(spec_for(body.id or "new"))
    if refusal:
        field, reason = refusal
        raise invalid(field, f"policy {policy.id}: {reason}")

    async def produce():
        state = writer.state
        # Without an id of its own, a service's id comes from the Idempotency-Key: a retry of a
        # create cut short (the database down after the workflow started) finishes that
        # service instead of starting a second one.
        derived = body.id is None and writer.idempotency_key is not None
        if body.id:
            service_id = body.id
        elif writer.idempotency_key is not None:
            seed = f"{writer.key.id}\n{writer.idempotency_key}".encode()
            service_id = f"svc-{hashlib.sha256(seed).hexdigest()[:16]}"
        else:
            service_id = f"svc-{uuid.uuid4().hex[:16]}"
        client = await state.client()

        def insert(session: Session) -> tuple[Service, ServiceSpec, Governing]:
            """The row, its spec and the offer's version in effect now: one transaction."""
            consumer = customer_is_consumer(session, body.customer_id)
            if consumer is None:
                raise invalid("customer_id", f"no customer with id {body.customer_id!r}")
            spec = spec_for(service_id, consumer)
            now = utcnow()
            if not insert_once(
                session,
                Service,
                id=service_id,
                customer_id=body.customer_id,
                policy_id=policy.id,
                kind=body.kind,
                tariff=body.tariff,
                price=spec.price.amount,
                currency=body.currency,
                period=body.period,
                workflow_id=service_workflow_id(service_id),
                state=ServiceStatus.AWAITING_PAYMENT.value,
                period_index=0,
                debt=Decimal("0"),
                created_at=now,
                updated_at=now,
            ):
                existing = session.get_one(Service, service_id)
                if not (derived and _same_service(existing, body.customer_id, spec)):
                    raise conflict(f"service {service_id!r} already exists", "exists")
            # The version of the offer in effect now; one published for a later date is told at once.
            return session.get_one(Service, service_id), spec, governing(session, policy.id, now)

        row, spec, now_governing = await state.db.run(insert)
        pending = now_governing.pending
        amendment = (
            AmendmentNotice(
                policy_id=pending.policy_id,
                version=pending.version,
                published_at=utc(pending.published_at),
                effective_at=utc(pending.effective_at),
                changed_clauses=list(pending.changed_clauses),
            )
            if pending is not None
            else None
        )
        try:
            await start_service(
                client, now_governing.policy, spec, task_queue=task_queue(state.settings), amendment=amendment
            )
        except BaseException:
            # Nothing half-written: no service row without its workflow. With the database
            # down, the row goes when it is back — before this request's idempotency claim is
            # released (the work left for later runs in order), so no retry races the delete.
            def forget(session: Session) -> None:
                session.execute(delete(Service).where(Service.id == service_id))

            try:
                await state.db.run(forget)
            except Exception as exc:
                if not database_down(exc):
                    raise
                state.db.later(forget)
            raise
        await state.db.run(
            lambda s: audit(
                s,
                writer.actor,
                "service_created",
                service_id,
                detail={"policy": policy.id, "customer_id": body.customer_id, "consumer": spec.consumer},
            )
        )
        # No query here: right after its start the workflow may not have run its first task, and
        # under load a query waited out its timeout. The answer is the row just written (the
        # database mirror, ``live`` false); GET /v1/services/{id} gives the workflow's own view.
        return service_out(row)

    return await writer.once(produce)


@router.get("", response_model=ServiceList)
async def find_services(
    state: State,
    _key: Reader,
    status: Annotated[ServiceStatus | None, Query(alias="state", description="Filter by state")] = None,
    policy: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,64}$")] = None,
    customer_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> ServiceList:
    """Services from the database mirror (``live`` is false), oldest first."""
    rows, total = await state.db.run(
        lambda s: list_services(
            s,
            state=status.value if status else None,
            policy=policy,
            customer_id=customer_id,
            limit=limit,
            offset=offset,
        )
    )
    next_offset = offset + len(rows) if offset + len(rows) < total else None
    return ServiceList(
        items=[service_out(r) for r in rows], total=total, limit=limit, offset=offset, next_offset=next_offset
    )


async def _row(state, service_id: str) -> Service:
    row = await state.db.run(lambda s: get_service(s, service_id))
    if row is None:
        raise not_found("service", service_id)
    return row


@router.get("/{service_id}", response_model=ServiceOut, responses={404: {"model": ErrorOut}})
async def read_service(service_id: ServiceId, state: State, _key: Reader) -> ServiceOut:
    """The database row with the workflow's live state and next deadline (clause included)."""
    row = await _row(state, service_id)
    try:
        client = await state.client()
    except ApiError:
        return service_out(row)
    return service_out(row, await live_view(client, service_id, state.query_timeout))


@router.get("/{service_id}/timeline", response_model=TimelineOut, responses={404: {"model": ErrorOut}})
async def read_timeline(service_id: ServiceId, state: State, _key: Reader) -> TimelineOut:
    """Everything on record for the service: timeline events, notices and the audit trail."""
    await _row(state, service_id)
    events, notices, trail = await state.db.run(lambda s: timeline(s, service_id))
    return TimelineOut(service_id=service_id, events=events, notices=notices, audit=trail)
