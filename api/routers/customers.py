"""Customers: who services belong to, and how to reach them (contacts and locale)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.deps import BillingWriter, Reader, State
from api.errors import ApiError, conflict, not_found
from api.schemas import ID_PATTERN, CustomerIn, CustomerOut, CustomerPatch, ErrorOut
from api.store import audit, customer_out
from oferta.db.models import Customer, utcnow
from oferta.db.once import insert_once

router = APIRouter(
    prefix="/v1/customers",
    tags=["customers"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)

CustomerId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.post("", status_code=201, response_model=CustomerOut, responses={409: {"model": ErrorOut}})
async def create_customer(body: CustomerIn, writer: BillingWriter) -> CustomerOut | JSONResponse:
    async def produce():
        customer_id = body.id or f"cust-{uuid.uuid4().hex[:16]}"

        def write(session: Session) -> CustomerOut:
            now = utcnow()
            if not insert_once(
                session,
                Customer,
                id=customer_id,
                name=body.name,
                email=body.email,
                phone=body.phone,
                locale=body.locale,
                timezone=body.timezone,
                consumer=body.consumer,
                created_at=now,
                updated_at=now,
            ):
                raise conflict(f"customer {customer_id!r} already exists", "exists")
            audit(session, writer.actor, "customer_created", detail={"customer_id": customer_id})
            return customer_out(session.get_one(Customer, customer_id))

        out = await writer.state.db.run(write)
        return out

    return await writer.once(produce)


@router.get("/{customer_id}", response_model=CustomerOut, responses={404: {"model": ErrorOut}})
async def get_customer(customer_id: CustomerId, state: State, _key: Reader) -> CustomerOut:
    def read(session: Session) -> CustomerOut | None:
        row = session.get(Customer, customer_id)
        return customer_out(row) if row else None

    out = await state.db.run(read)
    if out is None:
        raise not_found("customer", customer_id)
    return out


@router.patch("/{customer_id}", response_model=CustomerOut, responses={404: {"model": ErrorOut}})
async def update_customer(
    customer_id: CustomerId, body: CustomerPatch, writer: BillingWriter
) -> CustomerOut | JSONResponse:
    changes = body.model_dump(exclude_unset=True)
    for required in ("name", "locale", "consumer"):
        if required in changes and changes[required] is None:
            raise ApiError(422, "invalid_input", f"{required} cannot be removed", field=required)

    async def produce():
        def write(session: Session) -> CustomerOut | None:
            row = session.get(Customer, customer_id)
            if row is None:
                return None
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            # Which fields changed, never their values (personal data).
            audit(
                session,
                writer.actor,
                "customer_updated",
                detail={"customer_id": customer_id, "fields": sorted(changes)},
            )
            session.flush()
            return customer_out(row)

        out = await writer.state.db.run(write)
        if out is None:
            raise not_found("customer", customer_id)
        return out

    return await writer.once(produce)
