"""SDK fixtures: the system deployed once per session through `giftcert.deploy`, two merchants,
tUSD funded; each test runs inside an anvil snapshot reverted afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from web3 import Web3

from giftcert.client import GiftCert
from giftcert.config import ANVIL_DEV_KEYS, Settings, load_settings
from giftcert.deploy import Deployment, contract_at, deploy_system

USD_FUNDING = 10**6 * 10**6  # one million tUSD


@dataclass
class Sdk:
    w3: Web3
    settings: Settings
    record: Deployment
    env: dict[str, str]
    admin: GiftCert
    buyer: GiftCert
    holder: GiftCert
    friend: GiftCert
    coffee: GiftCert
    books: GiftCert
    coffee_id: int = 1
    books_id: int = 2

    def warp(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        self.w3.provider.make_request("evm_mine", [])


def sdk_env(rpc_url: str, state: Path) -> dict[str, str]:
    return {
        "GIFTCERT_RPC_URL": rpc_url,
        "GIFTCERT_CHAIN_ID": "31337",
        "GIFTCERT_STATE_DIR": str(state),
        "GIFTCERT_DATABASE_URL": f"sqlite:///{state / 'index.db'}",
        "GIFTCERT_DEPLOYMENTS_DIR": str(state / "deployments"),
    }


@pytest.fixture(scope="session")
def sdk_system(anvil, w3, artifacts, tmp_path_factory) -> Sdk:
    state = tmp_path_factory.mktemp("giftcert")
    env = sdk_env(anvil.rpc_url, state)
    settings = load_settings(state / "none.env", environ=env)
    record, _ = deploy_system(w3, settings, directory=state / "deployments", say=lambda _m: None)
    contract = contract_at(w3, record)
    clients = [GiftCert(w3, contract, private_key=k) for k in ANVIL_DEV_KEYS[:6]]
    admin, buyer, holder, friend, coffee, books = clients
    admin.register_merchant(coffee.sender, "Corner Coffee")
    admin.register_merchant(books.sender, "Page Turner Books")
    usd = w3.eth.contract(address=record.test_usd, abi=artifacts["TestUSD"].abi)
    for client in (buyer, holder, friend):
        client._send("mint", client.sender, USD_FUNDING, target=usd)
    return Sdk(w3, settings, record, env, admin, buyer, holder, friend, coffee, books)


@pytest.fixture
def sdk(sdk_system: Sdk) -> Iterator[Sdk]:
    snapshot = sdk_system.w3.provider.make_request("evm_snapshot", [])["result"]
    yield sdk_system
    sdk_system.w3.provider.make_request("evm_revert", [snapshot])
