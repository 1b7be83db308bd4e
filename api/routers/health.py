"""GET /health — no auth: does the database answer, does Temporal answer (503 when either does not)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import State

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: bool
    temporal: bool


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(state: State) -> JSONResponse:
    async def database() -> bool:
        try:
            async with asyncio.timeout(3):
                await state.db.run(lambda s: s.execute(text("SELECT 1")))
            return True
        except Exception:
            return False

    async def temporal() -> bool:
        try:
            client = await state.client()
            async with asyncio.timeout(3):
                return await client.service_client.check_health()
        except Exception:
            return False

    db_ok, temporal_ok = await asyncio.gather(database(), temporal())
    ok = db_ok and temporal_ok
    body = Health(status="ok" if ok else "degraded", database=db_ok, temporal=temporal_ok)
    if ok:
        return JSONResponse(body.model_dump())
    # Like every other 503 of the API: a load balancer or client knows when to look again.
    return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
