"""Insert-once and time helpers shared by the activities' back ends and the API.

Exactly-once rests on UNIQUE constraints: ``insert_once`` issues
``INSERT ... ON CONFLICT DO NOTHING`` (PostgreSQL and SQLite both have it) and
reports whether this call wrote the row; the caller then reads the existing row.
No savepoints: pysqlite's handling of them is unreliable.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_once(session: Session, model: type[Any], **values: Any) -> bool:
    """Insert a row unless a unique constraint already holds one like it; True when inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = list(sa_inspect(model).primary_key)
    # RETURNING, not rowcount: drivers report -1 for an insert that returns its key.
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(*key)
    return session.execute(statement).first() is not None


@overload
def utc(value: datetime) -> datetime: ...
@overload
def utc(value: None) -> None: ...
def utc(value: datetime | None) -> datetime | None:
    """Aware UTC. SQLite returns naive datetimes: they were written as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def short_hash(text: str) -> str:
    """A short, stable digest of an idempotency key, for references shown to people."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]
