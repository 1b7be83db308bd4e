"""Database migrations, run programmatically (the API runs ``upgrade`` at start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from oferta.db.models import Base
from oferta.db.session import get_engine, normalise_url

_HERE = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    config = Config(str(_HERE / "alembic.ini"))
    config.set_main_option("script_location", str(_HERE / "migrations"))
    # Passed as an attribute, not an option: URLs may hold '%' (e.g. search_path options).
    config.attributes["url"] = normalise_url(url)
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``; a no-op when it is already there."""
    command.upgrade(alembic_config(url), revision)


def revision(url: str, message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    command.revision(alembic_config(url), message=message, autogenerate=True)


def drift(url: str) -> list:
    """Differences between the models and the database (empty when migrations are complete)."""
    with get_engine(normalise_url(url)).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)
