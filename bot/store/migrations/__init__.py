"""Alembic migrations for the store (a package so installs ship the scripts)."""
