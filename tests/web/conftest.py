"""Web fixtures: the system deployed once per session on the session anvil, two merchants,
tUSD funded, and the Flask app over it (no background indexer: tests sync explicitly). Each test
runs in an anvil snapshot; the indexer treats the revert as a reorganisation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from web3 import Web3

from giftcert.client import GiftCert
from giftcert.config import ANVIL_DEV_KEYS, load_settings
from giftcert.deploy import contract_at, deploy_system
from webapp import create_app

USD = 10**6


@dataclass
class Web:
    w3: Web3
    app: Flask
    http: FlaskClient
    admin: GiftCert
    buyer: GiftCert
    holder: GiftCert
    friend: GiftCert
    coffee: GiftCert
    books: GiftCert
    coffee_id: int = 1
    books_id: int = 2

    @property
    def state(self) -> Any:
        return self.app.extensions["giftcert"]

    def sync(self) -> None:
        self.state.forget()
        self.state.sync()

    def warp(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        self.w3.provider.make_request("evm_mine", [])

    def send(self, tx: dict[str, Any]) -> dict[str, Any]:
        """What the browser wallet does with a built transaction (anvil's unlocked account)."""
        params = {k: tx[k] for k in ("from", "to", "data", "value", "gas")}
        tx_hash = self.w3.eth.send_transaction(params)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.02)
        assert receipt["status"] == 1
        return receipt


@pytest.fixture(scope="session")
def web_system(anvil, w3, artifacts, tmp_path_factory) -> Web:
    state = tmp_path_factory.mktemp("web")
    env = {"GIFTCERT_RPC_URL": anvil.rpc_url, "GIFTCERT_CHAIN_ID": "31337",
           "GIFTCERT_STATE_DIR": str(state),
           "GIFTCERT_DATABASE_URL": f"sqlite:///{state / 'index.db'}"}
    settings = load_settings(state / "none.env", environ=env)
    record, _ = deploy_system(w3, settings, directory=state / "deployments",
                              say=lambda _m: None)
    contract = contract_at(w3, record)
    clients = [GiftCert(w3, contract, private_key=k) for k in ANVIL_DEV_KEYS[:6]]
    admin, buyer, holder, friend, coffee, books = clients
    admin.register_merchant(coffee.sender, "Corner Coffee")
    admin.register_merchant(books.sender, "Page Turner Books")
    admin.set_min_validity(3600)
    usd = w3.eth.contract(address=record.test_usd, abi=artifacts["TestUSD"].abi)
    for client in (buyer, holder, friend):
        client._send("mint", client.sender, 10**6 * USD, target=usd)
    app = create_app(settings, admin, follow=False, start_block=record.block)
    app.config["TESTING"] = True
    return Web(w3, app, app.test_client(), admin, buyer, holder, friend, coffee, books)


@pytest.fixture
def web(web_system: Web) -> Iterator[Web]:
    snapshot = web_system.w3.provider.make_request("evm_snapshot", [])["result"]
    web_system.http = web_system.app.test_client()
    web_system.sync()
    yield web_system
    web_system.w3.provider.make_request("evm_revert", [snapshot])
