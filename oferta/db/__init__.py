"""Persistence: SQLAlchemy 2.0 models and sessions (PostgreSQL via psycopg 3, or SQLite)."""
