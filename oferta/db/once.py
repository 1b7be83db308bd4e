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

from sqlalchemy import Executable
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_STATEMENTS: dict[tuple[str, type[Any]], Executable] = {}


def _insert_statement(dialect: str, model: type[Any]) -> Executable:
    """One statement per dialect and table, the values passed as parameters: SQLAlchemy then
    reuses its compiled form instead of building and keying a new statement for every row. A
    Core statement on the table: the ORM's bulk-insert layer adds nothing to one row."""
    statement = _STATEMENTS.get((dialect, model))
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        mapper = sa_inspect(model)
        # RETURNING, not rowcount: drivers report -1 for an insert that returns its key.
        statement = _STATEMENTS.setdefault(
            (dialect, model),
            insert(mapper.local_table).on_conflict_do_nothing().returning(*mapper.primary_key),
        )
    return statement


def insert_once(session: Session, model: type[Any], **values: Any) -> bool:
    """Insert a row unless a unique constraint already holds one like it; True when inserted."""
    statement = _insert_statement(session.get_bind().dialect.name, model)
    session.flush()  # as the ORM's own execute would: rows added before this one go first
    return session.connection().execute(statement, values).first() is not None


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
