"""Database tests (tests/db): migrations, the index's chain, one writer, crashes and restarts,
on SQLite and PostgreSQL (the `backend` fixture, db/backends.py), over the session anvil with
the system of tests/deployed.py (the `sdk` fixture: each test in an anvil snapshot)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from db.backends import backend  # noqa: F401  (the fixture, for every test here)
from deployed import Deployed, deploy_for_tests


@pytest.fixture(scope="session")
def sdk_system(anvil, w3, artifacts, tmp_path_factory) -> Deployed:
    return deploy_for_tests(w3, anvil.rpc_url, artifacts, tmp_path_factory.mktemp("giftcert"))


@pytest.fixture
def sdk(sdk_system: Deployed) -> Iterator[Deployed]:
    with sdk_system.snapshot():
        yield sdk_system
