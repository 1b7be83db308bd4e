"""The Idempotency-Key protocol when the database dies at each step of a write.

A retry with the same key must neither be blocked (a claim nobody will ever answer) nor
be given a false replay, whichever step the database died at; and a write that did happen
is answered once. The database "dies" in ``FlakyDatabase``: every call fails while it is
down, and it can die just after a commit (the commit holds, the answer is lost).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import idempotency
from api.deps import Database
from oferta.db.models import IdempotencyRecord
from oferta.db.session import session_scope
from tests.api.harness import eventually

T = TypeVar("T")


class FlakyDatabase(Database):
    RETRY_EVERY = 0.05

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.down = False
        self.die_after_next_commit = False

    def _run(self, work: Callable[[Session], T]) -> T:
        if self.down:
            raise sa_exc.OperationalError("SELECT 1", None, ConnectionRefusedError("connection refused"))
        result = super()._run(work)
        if self.die_after_next_commit:
            self.die_after_next_commit, self.down = False, True
            raise sa_exc.OperationalError(
                "COMMIT", None, ConnectionResetError("server closed the connection")
            )
        return result


class Paid(BaseModel):
    event_id: str


class FakeRequest:
    method = "POST"
    url = SimpleNamespace(path="/v1/services/svc-1/payments")
    scope: dict[str, Any] = {}

    async def body(self) -> bytes:
        return json.dumps({"amount": "10.00", "currency": "KZT"}).encode()


class Payment:
    """One payment request with its key, and how often its work really ran."""

    def __init__(self, db: FlakyDatabase, key: str) -> None:
        self.db, self.key, self.ran = db, key, 0
        self.writer: Any = SimpleNamespace(
            idempotency_key=key,
            key=SimpleNamespace(id=1),
            request=FakeRequest(),
            state=SimpleNamespace(db=db),
        )

    async def send(self, then: Callable[[], None] = lambda: None) -> Paid | JSONResponse:
        async def produce() -> Paid:
            self.ran += 1
            then()
            return Paid(event_id=self.key)

        return await idempotency.run_once(self.writer, produce)


def _open_claims(url: str) -> int:
    with session_scope(url) as session:
        query = select(func.count()).select_from(IdempotencyRecord)
        return session.scalar(query.where(IdempotencyRecord.status_code.is_(None))) or 0


@pytest.fixture
async def db(database_url):
    database = FlakyDatabase(database_url)
    try:
        yield database
    finally:
        await database.close()


async def _back(db: FlakyDatabase) -> None:
    """The database is back; the work left for later gets done (in the background)."""
    db.down = False

    async def caught_up() -> bool:
        return db.pending == 0

    await eventually(caught_up, timeout=5, interval=0.02)


async def test_down_at_the_claim_leaves_nothing_and_the_retry_runs(db, database_url):
    payment = Payment(db, "k-down-at-claim")
    db.down = True
    with pytest.raises(sa_exc.OperationalError):
        await payment.send()
    await _back(db)
    assert isinstance(await payment.send(), Paid)
    assert payment.ran == 1 and _open_claims(database_url) == 0


async def test_claim_committed_as_the_connection_died_is_released_for_the_retry(db, database_url):
    # The claim holds in the database but the request never learnt it: without its release
    # the retry would wait 20 s and be refused as "in progress" for the next two minutes.
    payment = Payment(db, "k-lost-claim")
    db.die_after_next_commit = True
    with pytest.raises(sa_exc.OperationalError):
        await payment.send()
    assert payment.ran == 0 and db.pending == 1
    await _back(db)
    assert _open_claims(database_url) == 0
    assert isinstance(await payment.send(), Paid)
    assert payment.ran == 1


async def test_down_during_the_write_releases_the_claim_once_back(db, database_url):
    # The work ran (for a payment: the workflow took the event) and then the database died:
    # the claim is released when it is back, and the retry runs again — which the workflow
    # deduplicates by event id (tests/faults/test_database_down.py shows it end to end).
    payment = Payment(db, "k-down-mid-write")

    def database_dies() -> None:
        db.down = True
        raise sa_exc.OperationalError("INSERT", None, ConnectionResetError("server closed the connection"))

    with pytest.raises(sa_exc.OperationalError):
        await payment.send(then=database_dies)
    assert db.pending == 1
    await _back(db)
    assert _open_claims(database_url) == 0
    answer = await payment.send()
    assert isinstance(answer, Paid) and payment.ran == 2


async def test_down_before_the_answer_is_stored_answers_and_stores_it_once_back(db, database_url):
    # The write is done: the caller gets its answer, and a retry (say the answer was lost
    # on the way) gets the same answer replayed rather than the work run again.
    payment = Payment(db, "k-down-before-store")

    def database_dies() -> None:
        db.down = True

    first = await payment.send(then=database_dies)
    assert first == Paid(event_id="k-down-before-store") and db.pending == 1
    await _back(db)
    again = await payment.send()
    assert isinstance(again, JSONResponse) and again.headers["Idempotent-Replayed"] == "true"
    assert json.loads(bytes(again.body)) == {"event_id": "k-down-before-store"}
    assert payment.ran == 1 and _open_claims(database_url) == 0
