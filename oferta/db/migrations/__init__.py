"""Alembic migrations for the Oferta database (PostgreSQL and SQLite)."""
