"""The `sdk_system` and `sdk` fixtures of the tests that start from tests/deployed.py's system
(tests/sdk, tests/db: their conftest.py imports them): deployed once per session on the
session anvil; each test runs inside an anvil snapshot reverted afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from deployed import Deployed, deploy_for_tests


@pytest.fixture(scope="session")
def sdk_system(anvil, w3, artifacts, tmp_path_factory) -> Deployed:
    return deploy_for_tests(w3, anvil.rpc_url, artifacts, tmp_path_factory.mktemp("giftcert"))


@pytest.fixture
def sdk(sdk_system: Deployed) -> Iterator[Deployed]:
    with sdk_system.snapshot():
        yield sdk_system
