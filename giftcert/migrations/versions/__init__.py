"""Alembic revisions, oldest first by their `down_revision` chain (0001 is the first)."""
