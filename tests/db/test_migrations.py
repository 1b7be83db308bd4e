"""Migrations build the models' schema from nothing, on PostgreSQL and on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.exc import IntegrityError

from oferta.db.migrate import drift, upgrade
from oferta.db.models import Base
from oferta.db.session import get_engine
from oferta.timeline import entry_keys


def test_migrations_create_every_table_with_no_drift(empty_database_url):
    assert inspect(get_engine(empty_database_url)).get_table_names() == []
    upgrade(empty_database_url)
    tables = set(inspect(get_engine(empty_database_url)).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    # The `alembic check` equivalent: the migrated database matches the models exactly.
    assert drift(empty_database_url) == []


def test_upgrade_twice_changes_nothing(empty_database_url):
    upgrade(empty_database_url)
    upgrade(empty_database_url)
    assert drift(empty_database_url) == []


def test_timeline_entries_from_before_keys_are_keyed_by_their_sequence(empty_database_url):
    """Migration 0004: rows written before entry keys get the key the recorder still gives an entry
    without one (its sequence); from then on a service's entries are unique by key, not sequence."""
    upgrade(empty_database_url, "0003")
    engine = get_engine(empty_database_url)
    old = Table("timeline_events", MetaData(), autoload_with=engine)
    at = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    row = {"service_id": "svc-1", "at": at, "type": "notice", "clause": None, "detail": {}}
    with engine.begin() as connection:
        connection.execute(old.insert(), [row | {"sequence": 0}, row | {"sequence": 1}])
    upgrade(empty_database_url)
    assert drift(empty_database_url) == []

    events = Table("timeline_events", MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        keys = connection.execute(
            select(events.c.sequence, events.c.entry_key).order_by(events.c.sequence)
        ).all()
        assert [tuple(k) for k in keys] == [(0, entry_keys.positional(0)), (1, entry_keys.positional(1))]
        # A keyed entry may share a sequence number (a write re-run after a crash numbers otherwise) ...
        connection.execute(
            events.insert(), row | {"sequence": 1, "entry_key": "event:pay-1/payment_received"}
        )
    # ... but never a key.
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            events.insert(), row | {"sequence": 2, "entry_key": "event:pay-1/payment_received"}
        )
