"""Imports of a live customer base through the API: carried out by their own workflow."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from api.deps import OpsReader, OpsWriter, State
from api.schemas import ID_PATTERN, ErrorOut, ImportIn, ImportOut, ImportRefusalOut
from api.store import audit
from workflows.client import import_progress, start_import, task_queue
from workflows.imports import ImportProgress
from workflows.shared import import_workflow_id

router = APIRouter(
    prefix="/v1/imports",
    tags=["imports"],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        422: {"model": ErrorOut},
        503: {"model": ErrorOut},
    },
)

ImportId = Annotated[str, Path(pattern=ID_PATTERN)]


def _out(progress: ImportProgress) -> ImportOut:
    return ImportOut(
        id=progress.import_id,
        workflow_id=import_workflow_id(progress.import_id),
        status=progress.status,
        total=progress.total,
        done=progress.done,
        imported=progress.imported,
        already_there=progress.already,
        refused=progress.refused,
        refusals=[ImportRefusalOut(**refusal.model_dump()) for refusal in progress.refusals],
    )


@router.post("", status_code=202, response_model=ImportOut, responses={409: {"model": ErrorOut}})
async def start(body: ImportIn, writer: OpsWriter) -> ImportOut | JSONResponse:
    """Take over running services, each in the state its row describes; returns the import's id
    at once. Rows are checked by the import (a bad row is a refusal with its line and field)."""

    async def produce() -> ImportOut:
        state = writer.state
        import_id = body.id or f"imp-{uuid.uuid4().hex[:16]}"
        client = await state.client()
        await start_import(client, import_id, body.rows, task_queue=task_queue(state.settings))
        await state.db.run(
            lambda s: audit(
                s, writer.actor, "import_started", detail={"import_id": import_id, "rows": len(body.rows)}
            )
        )
        return _out(ImportProgress(import_id=import_id, total=len(body.rows)))

    return await writer.once(produce)


@router.get("/{import_id}", response_model=ImportOut, responses={404: {"model": ErrorOut}})
async def progress(import_id: ImportId, state: State, _key: OpsReader) -> ImportOut:
    """How far the import got: rows done, imported, already there, refused (with line and field)."""
    client = await state.client()
    return _out(
        await import_progress(
            client, import_id, task_queue=task_queue(state.settings), timeout=state.query_timeout
        )
    )
