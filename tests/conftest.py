"""Session fixtures shared by every test: one anvil per test process, compiled artifacts, the
dev accounts. Contract deployments live in tests/contracts/conftest.py.

Under pytest-xdist each worker is its own session, so each starts its own anvil on a free port;
compilation is shared through the on-disk cache (and a lock, so only one worker compiles).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from giftcert.chain import Anvil
from giftcert.compiler import ContractArtifact, compile_contracts
from giftcert.config import ANVIL_DEV_KEYS


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    node = Anvil.on_free_port()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def w3(anvil: Anvil) -> Web3:
    # eth_chainId is cached: web3 asks for it on every transaction, and the chain never changes.
    return Web3(
        Web3.HTTPProvider(
            anvil.rpc_url, request_kwargs={"timeout": 30}, cache_allowed_requests=True
        )
    )


@pytest.fixture(scope="session")
def artifacts() -> dict[str, ContractArtifact]:
    return compile_contracts()


@pytest.fixture(scope="session")
def dev_accounts() -> list[LocalAccount]:
    return [Account.from_key(key) for key in ANVIL_DEV_KEYS]
