"""The system the SDK and web tests start from (imported by name: `from deployed import`):
deployed through `giftcert.deploy` on the session anvil, two merchants (1 Corner Coffee,
2 Page Turner Books), tUSD minted to the buyer, the holder and the friend."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from giftcert.client import GiftCert
from giftcert.config import ANVIL_DEV_KEYS, Settings, load_settings
from giftcert.deploy import Deployment, contract_at, deploy_system

USD_FUNDING = 10**6 * 10**6  # one million tUSD


@dataclass(kw_only=True)
class Deployed:
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

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Whatever a test does to the chain is undone afterwards."""
        taken = self.w3.provider.make_request("evm_snapshot", [])["result"]
        try:
            yield
        finally:
            self.mine_what_is_pending()
            self.w3.provider.make_request("evm_revert", [taken])

    def mine_what_is_pending(self, timeout: float = 10.0) -> None:
        """Waits until anvil's pool holds no pending transaction (mining a block while one
        does). anvil answers a send a moment before it mines it: a revert in that moment left
        the transaction to be mined after it, into the next test's chain (a claim link claimed
        before that test began)."""
        deadline = time.monotonic() + timeout
        while int(str(self.w3.provider.make_request("txpool_status", [])["result"]["pending"]),
                  0) and time.monotonic() < deadline:
            self.w3.provider.make_request("evm_mine", [])
            time.sleep(0.02)


def system_env(rpc_url: str, state: Path) -> dict[str, str]:
    """The GIFTCERT_* settings of a system whose files live in `state`."""
    return {
        "GIFTCERT_RPC_URL": rpc_url,
        "GIFTCERT_CHAIN_ID": "31337",
        "GIFTCERT_STATE_DIR": str(state),
        "GIFTCERT_DATABASE_URL": f"sqlite:///{state / 'index.db'}",
        "GIFTCERT_DEPLOYMENTS_DIR": str(state / "deployments"),
    }




def deploy_for_tests(w3: Web3, rpc_url: str, artifacts, state: Path) -> Deployed:
    env = system_env(rpc_url, state)
    settings = load_settings(state / "none.env", environ=env)
    record, _ = deploy_system(w3, settings, directory=state / "deployments", say=lambda _m: None)
    contract = contract_at(w3, record)
    clients = [GiftCert(w3, contract, private_key=k) for k in ANVIL_DEV_KEYS[:6]]
    admin, buyer, holder, friend, coffee, books = clients
    admin.register_merchant(coffee.sender, "Corner Coffee")
    admin.register_merchant(books.sender, "Page Turner Books")
    usd = w3.eth.contract(address=record.test_usd, abi=artifacts["TestUSD"].abi)
    for client in (buyer, holder, friend):
        client.calls.prepare("mint", client.sender, USD_FUNDING, contract=usd).send()
    return Deployed(w3=w3, settings=settings, record=record, env=env, admin=admin, buyer=buyer,
                    holder=holder, friend=friend, coffee=coffee, books=books)
