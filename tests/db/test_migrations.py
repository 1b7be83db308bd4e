"""Migrations build the models' schema from nothing, on PostgreSQL and on SQLite."""

from __future__ import annotations

from sqlalchemy import inspect

from oferta.db.migrate import drift, upgrade
from oferta.db.models import Base
from oferta.db.session import get_engine


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
