"""Database tests (tests/db): migrations, the index's chain, one writer, crashes and restarts,
on SQLite and PostgreSQL (the `backend` fixture, db/backends.py), over the session anvil with
the system of tests/deployed.py (the `sdk` fixture, tests/deployed_fixtures.py: each test in an
anvil snapshot)."""

from __future__ import annotations

from db.backends import backend  # noqa: F401  (the fixture, for every test here)
from deployed_fixtures import sdk, sdk_system  # noqa: F401  (the fixtures, for every test here)
