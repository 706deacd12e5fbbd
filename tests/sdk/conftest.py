"""SDK fixtures: the system deployed once per session through `giftcert.deploy`
(tests/deployed.py); each test runs inside an anvil snapshot reverted afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from deployed import Deployed, deploy_for_tests

Sdk = Deployed


@pytest.fixture(scope="session")
def sdk_system(anvil, w3, artifacts, tmp_path_factory) -> Sdk:
    return deploy_for_tests(w3, anvil.rpc_url, artifacts, tmp_path_factory.mktemp("giftcert"))


@pytest.fixture
def sdk(sdk_system: Sdk) -> Iterator[Sdk]:
    with sdk_system.snapshot():
        yield sdk_system
