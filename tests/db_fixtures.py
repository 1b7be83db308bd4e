"""Databases for tests: a migrated SQLite file and a migrated PostgreSQL schema.

``database_url`` is parametrized, so every test that uses it runs on both. The
PostgreSQL schema is unique per session (``search_path`` set in the URL) and
dropped at the end; nothing else in the ``test`` database is touched.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from oferta.db.migrate import upgrade
from oferta.db.session import get_engine

PG_URL = os.environ.get("OFERTA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_schema_url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


class _PgSchemas:
    """Creates schemas in the test database and drops them all at the end."""

    def __init__(self) -> None:
        self.admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        self.urls: list[tuple[str, str]] = []

    def new(self) -> str:
        schema = f"oferta_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = _pg_schema_url(schema)
        self.urls.append((schema, url))
        return url

    def drop_all(self) -> None:
        for schema, url in self.urls:
            get_engine(url).dispose()
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self.admin.dispose()


def _new_database(kind: str, tmp_path_factory: pytest.TempPathFactory, schemas: _PgSchemas) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'oferta.db'}"
    return schemas.new()


@pytest.fixture(scope="session")
def _pg_schemas() -> Iterator[_PgSchemas]:
    schemas = _PgSchemas()
    try:
        yield schemas
    finally:
        schemas.drop_all()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory, _pg_schemas) -> str:
    """A migrated database for the session, once on SQLite and once on PostgreSQL."""
    url = _new_database(request.param, tmp_path_factory, _pg_schemas)
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path_factory, _pg_schemas) -> str:
    """A database with no tables at all, for migration tests."""
    return _new_database(request.param, tmp_path_factory, _pg_schemas)
