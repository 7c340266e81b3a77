"""Alembic revision scripts, oldest first (a package so installs ship them)."""
