"""Exactly-once writes: the Idempotency-Key protocol.

* The first request with a key inserts an ``idempotency_records`` row (unique per
  API key + key): the UNIQUE constraint decides who runs the write.
* Same key, same method, path and body: the stored status and body are replayed
  (header ``Idempotent-Replayed: true``).
* Same key, different request: 409 ``idempotency_key_reused``.
* Same key while the first is still running: the second waits (up to
  ``IN_PROGRESS_WAIT`` seconds) for the first answer and replays it; if none comes
  in time it gets 409 ``in_progress`` and may retry.
* 4xx answers are stored and replayed like successes; 5xx answers (e.g. no worker)
  are not stored, so a retry with the same key runs again. That is safe because
  the key is also the billing event id, which the workflow applies once.
* A claim left behind by a crashed process is taken over after ``STALE_AFTER``.
* The database down (a 503) leaves nothing that would block or falsely replay the
  retry: a claim is marked with its request's own token (``created_at``), and when it
  cannot be released (or an answer cannot be stored) because the database is down, that
  is retried in the background until it answers (``Database.later``). A claim whose
  insert may or may not have committed when the connection died is released the same
  way, by its token, so it never holds the key for another request.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from api.errors import ApiError, database_down
from oferta.db.models import IdempotencyRecord, utcnow
from oferta.db.once import insert_once

if TYPE_CHECKING:
    from api.deps import Database, Writer

IN_PROGRESS_WAIT = 20.0
STALE_AFTER = timedelta(minutes=2)
_POLL = 0.05


async def request_digest(writer: Writer) -> str:
    raw = await writer.request.body()
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = raw
    head = f"{writer.request.method} {writer.request.url.path}\n".encode()
    return hashlib.sha256(head + canonical).hexdigest()


def _claim(
    session: Session, api_key_id: int, key: str, method: str, path: str, digest: str, token: datetime
) -> tuple[bool, IdempotencyRecord]:
    claimed = insert_once(
        session,
        IdempotencyRecord,
        api_key_id=api_key_id,
        key=key,
        method=method,
        path=path[:300],
        request_hash=digest,
        created_at=token,
    )
    record = session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key
        )
    ).one()
    session.expunge(record)
    return claimed, record


def _take_over(session: Session, record_id: int, token: datetime) -> bool:
    result = session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == record_id,
            IdempotencyRecord.status_code.is_(None),
            IdempotencyRecord.created_at < utcnow() - STALE_AFTER,
        )
        .values(created_at=token)
    )
    return cast("CursorResult[Any]", result).rowcount == 1


def _store(session: Session, record_id: int, status: int, body: Any) -> None:
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(status_code=status, response_body=body)
    )


def _release(session: Session, api_key_id: int, key: str, token: datetime) -> None:
    """Drop this request's claim: the one with its token and no answer, if there is one."""
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.created_at == token,
            IdempotencyRecord.status_code.is_(None),
        )
    )


async def _settle(db: Database, work: Callable[[Session], object]) -> None:
    """Run ``work`` now, or, with the database down, as soon as it is back."""
    try:
        await db.run(work)
    except Exception as exc:
        if not database_down(exc):
            raise
        db.later(work)


M = TypeVar("M", bound=BaseModel)


def _replay(record: IdempotencyRecord) -> JSONResponse:
    return JSONResponse(
        record.response_body, status_code=record.status_code or 200, headers={"Idempotent-Replayed": "true"}
    )


async def run_once(writer: Writer, produce: Callable[[], Awaitable[M]]) -> M | JSONResponse:
    """Run ``produce`` at most once per Idempotency-Key and return the model it made; a retry
    gets the stored answer back (marked ``Idempotent-Replayed``), a refusal included."""
    if writer.idempotency_key is None:
        return await produce()
    route = writer.request.scope.get("route")
    status = getattr(route, "status_code", None) or 200

    db = writer.state.db
    key, key_id = writer.idempotency_key, writer.key.id
    method, path = writer.request.method, writer.request.url.path
    digest = await request_digest(writer)
    # Marks this request's claim; microseconds make it unique per key in practice.
    token = utcnow()
    release = partial(_release, api_key_id=key_id, key=key, token=token)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + IN_PROGRESS_WAIT
    try:
        while True:
            claimed, record = await db.run(lambda s: _claim(s, key_id, key, method, path, digest, token))
            if claimed:
                break
            if record.request_hash != digest:
                raise ApiError(
                    409,
                    "idempotency_key_reused",
                    "this Idempotency-Key was already used for a different request",
                )
            if record.status_code is not None:
                return _replay(record)
            if await db.run(partial(_take_over, record_id=record.id, token=token)):
                break
            if loop.time() > give_up:
                raise ApiError(
                    409,
                    "in_progress",
                    "a request with this Idempotency-Key is still in progress;"
                    " retry shortly with the same key",
                )
            await asyncio.sleep(_POLL)  # polls the record until the first request has answered
    except Exception as exc:
        # The connection died: the claim (or take-over) may have committed all the same.
        if database_down(exc):
            db.later(release)
        raise

    try:
        model = await produce()
    except ApiError as err:
        if err.status >= 500:
            await _settle(db, release)
        else:
            await _settle(db, partial(_store, record_id=record.id, status=err.status, body=err.body()))
        raise
    except BaseException:
        # Whatever happened (the database down included), the retry runs again: a billing
        # input's key is its event id, which the workflow applies once.
        await asyncio.shield(_settle(db, release))
        raise
    # Done: the answer is the model, even if the database went down just now; the record
    # is then stored when it is back (a crash before that: the retry re-runs, deduplicated).
    await _settle(db, partial(_store, record_id=record.id, status=status, body=model.model_dump(mode="json")))
    return model
