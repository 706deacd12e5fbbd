"""Browser tests: Debian's Chromium driven by Playwright against the site served by waitress
(`giftcert serve`, as `make run` does), on a fresh anvil with the contracts deployed and the demo
seeded, one per test session (per xdist worker). Every browser context gets the test wallet
(`test_wallet.js` + `e2e_wallet.Wallet`) injected before page load.

Chromium missing is an error, not a skip: CI installs it (`.ci/run`), and a browser suite that
silently does not run proves nothing.
"""

from __future__ import annotations

import ctypes
import faulthandler
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from e2e_stack import (
    ADMIN,
    CHROMIUM,
    CHROMIUM_FLAGS,
    SERVER_START_TIMEOUT,
    STEP_TIMEOUT_MS,
    Browser,
    Chain,
    Site,
)
from e2e_wallet import Wallet
from web3 import Web3

from giftcert.chain import Anvil, free_port
from giftcert.client import GiftCert
from giftcert.config import ANVIL_DEV_KEYS, PROJECT_ROOT, load_settings
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
        }
        settings = load_settings(state / "none.env", environ=env)
        w3 = Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 30}))
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
    log = tmp_path_factory.mktemp("site") / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIFTCERT_")}
    env.update(e2e_chain.env)
    command = [sys.executable, "-m", "giftcert.cli", "--env-file",
               str(log.parent / "none.env"), "serve"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   preexec_fn=_die_with_parent)
    url = f"http://127.0.0.1:{e2e_chain.env['GIFTCERT_WEB_PORT']}"
    served = Site(url, process, log)
    try:
        _wait_for_site(served)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies (even by the watchdog's hard exit)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_for_site(served: Site) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"giftcert serve exited ({served.process.returncode}):\n"
                        f"{served.output()}", pytrace=False)
        try:
            with urllib.request.urlopen(served.url + "/", timeout=2) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"giftcert serve did not answer on {served.url} within "
                f"{SERVER_START_TIMEOUT:.0f} s:\n{served.output()}", pytrace=False)


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
    """`open_browser(account_index, chain_id=31337, known_chains=None, wallet=True,
    size="desktop")`: a fresh browser context (its own cookies and wallet) with one page, at
    1280x800 or, with size="phone", 390x844; closed after the test. Any uncaught page error
    fails the test."""
    opened: list[Browser] = []

    def open_(account: int, *, chain_id: int = 31337, known_chains: set[int] | None = None,
              wallet: bool = True, size: str = "desktop") -> Browser:
        context = chromium.new_context(**SIZES[size])
        context.set_default_timeout(STEP_TIMEOUT_MS)
        node_wallet = Wallet(e2e_chain.anvil.rpc_url, e2e_chain.address(account),
                             chain_id=chain_id,
                             known_chains=set(known_chains) if known_chains else {1, 31337})
        if wallet:
            node_wallet.install(context)
        page = context.new_page()
        session = Browser(context, page, node_wallet, site)
        page.on("pageerror", lambda exc: session.errors.append(str(exc)))
        opened.append(session)
        return session

    yield open_
    errors = [e for s in opened for e in s.errors]
    for session in opened:
        session.context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
