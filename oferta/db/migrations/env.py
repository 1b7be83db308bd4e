"""Alembic environment: runs against the URL given by ``oferta.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from oferta.db.models import Base
from oferta.db.session import get_engine

config = context.config
target_metadata = Base.metadata

# Any number taken for "Oferta migrations": only one process migrates at a time.
_PG_LOCK_ID = 0x0F_E27A


def run_migrations_online() -> None:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    engine = get_engine(url)
    with engine.connect() as connection:
        is_sqlite = connection.dialect.name == "sqlite"
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _PG_LOCK_ID})
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=is_sqlite,  # SQLite alters tables by copying them
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _PG_LOCK_ID})
                connection.commit()


if context.is_offline_mode():  # pragma: no cover - offline SQL is not used
    raise SystemExit("offline migrations are not supported; pass a database URL")
run_migrations_online()
