"""Persistence: async engine and sessions, tables, repositories, Alembic migrations."""
