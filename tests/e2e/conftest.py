"""Browser tests: Debian's Chromium driven by Playwright against the site served by waitress
(`giftcert serve`, as `make run` does), on a fresh anvil with the contracts deployed and the demo
seeded, one per test session (per xdist worker). Every browser context gets the test wallet
(`test_wallet.js` + `e2e_wallet.Wallet`) injected before page load.

Chromium missing is an error, not a skip: CI installs it (`.ci/run`), and a browser suite that
silently does not run proves nothing.
"""

from __future__ import annotations

import faulthandler
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from e2e_stack import (
    ADMIN,
    CHROMIUM,
    CHROMIUM_FLAGS,
    RELAYER_FUNDS_WEI,
    RELAYER_KEY,
    STEP_TIMEOUT_MS,
    Browser,
    Chain,
    Site,
    serve,
)
from e2e_wallet import Wallet
from eth_account import Account
from web3 import Web3

from giftcert.chain import Anvil, free_port
from giftcert.client import GiftCert
from giftcert.config import ANVIL_DEV_KEYS, load_settings
from giftcert.demo import MINT_ABI, run_demo
from giftcert.deploy import contract_at, deploy_system


@pytest.fixture(scope="session")
def e2e_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    # Its own anvil: the shared session anvil is snapshot-reverted by the SDK tests.
    anvil = Anvil.on_free_port()
    try:
        state = tmp_path_factory.mktemp("e2e")
        env = {
            "GIFTCERT_RPC_URL": anvil.rpc_url,
            "GIFTCERT_CHAIN_ID": "31337",
            "GIFTCERT_ANVIL_PORT": str(anvil.port),
            "GIFTCERT_STATE_DIR": str(state),
            "GIFTCERT_DATABASE_URL": f"sqlite:///{state / 'index.db'}",
            "GIFTCERT_DEPLOYMENTS_DIR": str(state / "deployments"),
            "GIFTCERT_WEB_HOST": "127.0.0.1",
            "GIFTCERT_WEB_PORT": str(free_port()),
            "GIFTCERT_RELAYER_KEY": RELAYER_KEY,
        }
        settings = load_settings(state / "none.env", environ=env)
        w3 = Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 30}))
        w3.provider.make_request("anvil_setBalance", [Account.from_key(RELAYER_KEY).address,
                                                      hex(RELAYER_FUNDS_WEI)])
        record, _ = deploy_system(w3, settings, directory=state / "deployments",
                                  say=lambda _m: None)
        contract = contract_at(w3, record)
        admin = GiftCert(w3, contract, private_key=ANVIL_DEV_KEYS[ADMIN])
        demo = run_demo(admin, say=lambda _m: None)
        usd = w3.eth.contract(address=record.test_usd, abi=MINT_ABI)
        for index in range(7, 10):
            account = GiftCert(w3, contract, private_key=ANVIL_DEV_KEYS[index])
            account._send("mint", account.sender, 1000 * 10**6, target=usd)
        yield Chain(anvil, w3, record, env, demo, contract)
    finally:
        anvil.stop()


@pytest.fixture(scope="session")
def site(e2e_chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """`giftcert serve` (waitress) in a child process, as `make run` starts it."""
    with serve(e2e_chain.env, tmp_path_factory.mktemp("site")) as served:
        yield served


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it with "
                    "`apt-get install chromium chromium-driver` (.ci/run does this); the "
                    "browser tests never download a browser", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


OpenBrowser = Callable[..., Browser]
# The two screens the site is judged on: a laptop and a phone (the 1280x800, 390x844).
SIZES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
              "is_mobile": True, "has_touch": True},
}
# A browser test that takes longer than this is stuck (the whole suite takes ~40 s): dump every
# thread's stack and end the worker, so CI fails loudly instead of hanging.
WATCHDOG_SECONDS = int(os.environ.get("GIFTCERT_E2E_WATCHDOG", "180"))


@pytest.fixture(autouse=True)
def _watchdog() -> Iterator[None]:
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def open_browser(chromium: Any, site: Site, e2e_chain: Chain) -> Iterator[OpenBrowser]:
    """`open_browser(account_index or private key, chain_id=31337, known_chains=None, wallet=True,
    size="desktop", on=None)`: a fresh browser context (its own cookies and wallet) with one
    page, at 1280x800 or, with size="phone", 390x844, on the session's site or the Site `on`;
    closed after the test. Any uncaught page error fails the test."""
    opened: list[Browser] = []

    def open_(account: int | str, *, chain_id: int = 31337,
              known_chains: set[int] | None = None, wallet: bool = True, size: str = "desktop",
              on: Site | None = None) -> Browser:
        context = chromium.new_context(**SIZES[size])
        context.set_default_timeout(STEP_TIMEOUT_MS)
        # A dev account's index (anvil signs for it), or a private key the wallet holds itself.
        keys = {Account.from_key(account).address: account} if isinstance(account, str) else {}
        address = next(iter(keys)) if keys else e2e_chain.address(int(account))
        node_wallet = Wallet(e2e_chain.anvil.rpc_url, address, chain_id=chain_id,
                             known_chains=set(known_chains) if known_chains else {1, 31337},
                             keys=keys)
        if wallet:
            node_wallet.install(context)
        page = context.new_page()
        session = Browser(context, page, node_wallet, on or site)
        page.on("pageerror", lambda exc: session.errors.append(str(exc)))
        opened.append(session)
        return session

    yield open_
    errors = [e for s in opened for e in s.errors]
    for session in opened:
        session.context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
