"""What the browser tests share besides fixtures: roles, the chain, the site, a browser session.
(Imported by name from conftest.py and the tests; `from conftest import` is ambiguous.)"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from e2e_wallet import Wallet
from eth_utils import keccak
from playwright.sync_api import expect
from web3 import Web3
from web3.logs import DISCARD

from giftcert.chain import Anvil
from giftcert.client import GiftCert
from giftcert.config import ANVIL_DEV_KEYS, PROJECT_ROOT
from giftcert.deploy import Deployment
from webapp.present import gift_ref

REF = r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}"
# The gift's page after giving: /gift/<ref>?sent=1, with the claim key after # for a link.
GIFT_URL = re.compile(rf"/gift/({REF})\?sent=1(#0x[0-9a-f]{{64}})?$")

CHROMIUM = Path(os.environ.get("GIFTCERT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).with_name("screenshots")
SERVER_START_TIMEOUT = 60.0
# Playwright's default waits (30 s) hide slowness; a page step here takes well under a second.
STEP_TIMEOUT_MS = 15_000

# Roles: dev account indexes, as the demo uses them (0-6); 7-9 get tUSD but no allowance.
ADMIN, GIVER, HOLDER, FRIEND, COFFEE, BOOKS, TEA, STRANGER, NEW_GIVER, COLLEAGUE = range(10)
# The site's sponsor relay (GIFTCERT_RELAYER_KEY) pays gas from an account of its own, funded
# at the start, so no dev account's nonce is shared with it.
RELAYER_KEY = "0x" + keccak(text="giftcert e2e relayer").hex()
RELAYER_FUNDS_WEI = 1000 * 10**18


@dataclass
class Chain:
    """The session's anvil with the system deployed and the demo seeded."""

    anvil: Anvil
    w3: Web3
    record: Deployment
    env: dict[str, str]
    demo: dict[str, Any]
    contract: Any

    def client(self, index: int) -> GiftCert:
        return GiftCert(self.w3, self.contract, private_key=ANVIL_DEV_KEYS[index])

    def address(self, index: int) -> str:
        return self.client(index).sender

    @property
    def sdk(self) -> GiftCert:
        """A read-only view (acting as the admin) for on-chain assertions."""
        return self.client(ADMIN)

    def merchant_id(self, name: str) -> int:
        return int(self.demo["merchants"][name])

    def warp(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        self.w3.provider.make_request("evm_mine", [])


@dataclass
class Site:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Browser:
    """One browser context (one wallet extension, one user) and its page."""

    context: Any
    page: Any
    wallet: Wallet
    site: Site
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        self.page.goto(self.site.url + path)
        return self.page

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        """The page as a PNG in tests/e2e/screenshots (the whole page, or what the screen
        shows with full_page=False)."""
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path




def connect(session: Browser, path: str) -> Any:
    """Opens `path` and connects the wallet with the header's button, as a person would."""
    page = session.goto(path)
    page.get_by_test_id("connect-button").click()
    expect(page.get_by_test_id("wallet-account")).to_have_attribute(
        "data-address", session.wallet.account.lower())
    return page


def reload_until(page: Any, locator: Any, tries: int = 20) -> None:
    """Server-rendered lists come from the indexer: reload until it caught up."""
    for _ in range(tries):
        if locator.count():
            return
        page.wait_for_timeout(250)
        page.reload()
    expect(locator.first).to_be_attached()


def ref(cert_id: int) -> str:
    """A certificate's short reference, as the site shows it."""
    return gift_ref(cert_id)


def issued_id(chain: Chain, tx_hashes: list[str]) -> int:
    """The certificate the last purchase among these transactions made."""
    return events(chain, tx_hashes, "Issued")[-1]["id"]


def gift_for_holder(chain: Chain, amount: str = "30", merchant: str = "Corner Coffee") -> int:
    """The demo giver gives the holder a tUSD certificate (through the SDK)."""
    giver = chain.client(GIVER)
    return giver.issue(chain.address(HOLDER), amount, chain.merchant_id(merchant), "tUSD",
                       message="For you").id


def sign_in_merchant(merchant: Browser, name: str) -> Any:
    """Signs in on the merchant desk with Sign-In with Ethereum, as a merchant would."""
    page = merchant.goto("/merchant/")
    page.wait_for_url(re.compile(r"/merchant/login$"))
    page.get_by_test_id("siwe-button").click()
    page.wait_for_url(re.compile(r"/merchant/$"))
    expect(page.get_by_test_id("merchant-name")).to_have_text(name)
    signed = merchant.wallet.asked("personal_sign")
    assert [r.outcome for r in signed] == ["ok"]
    message = bytes.fromhex(signed[0].params[0][2:]).decode()
    assert "wants you to sign in with your Ethereum account:" in message
    assert merchant.wallet.account in message and "Chain ID: 31337" in message
    return page


def fill_give(page: Any, merchant: str, currency: str, amount: str, to: str | None = None) -> None:
    """Fills the give form: merchant (by name), currency, amount and, for a gift to an
    address, the recipient."""
    page.get_by_test_id("give-merchant").select_option(label=merchant)
    page.get_by_test_id("give-currency").select_option(currency)
    page.get_by_test_id("give-amount").fill(amount)
    if to is not None:
        page.get_by_test_id("give-to").fill(to)


def confirm(form: Any) -> None:
    """The review box is up (total and fee shown): confirm in the wallet."""
    expect(form.get_by_test_id("tx-review")).to_be_visible()
    expect(form.get_by_test_id("tx-fee")).to_have_text(re.compile(r"^\d+\.\d{6}$"))
    form.get_by_test_id("tx-confirm").click()


def confirm_purchase(form: Any, total: str) -> None:
    """Confirms a payment of `total`, approving the token first if the page asks for it."""
    shown = form.get_by_test_id("tx-total")
    expect(shown).to_contain_text(total)
    if "approve" in shown.inner_text():
        confirm(form)
        expect(shown).to_have_text(total)
    confirm(form)


def events(chain: Chain, tx_hashes: list[str], name: str) -> list[dict[str, Any]]:
    """The contract's `name` events in these (successful) transactions."""
    found = []
    for tx_hash in tx_hashes:
        receipt = chain.w3.eth.get_transaction_receipt(tx_hash)
        if receipt["status"] == 1:
            event = getattr(chain.contract.events, name)()
            found += [dict(e["args"]) for e in event.process_receipt(receipt, errors=DISCARD)]
    return found


@contextlib.contextmanager
def serve(environ: dict[str, str], directory: Path) -> Iterator[Site]:
    """`giftcert serve` with the GIFTCERT_ settings `environ` (its log in `directory`), until
    the block ends."""
    log = directory / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIFTCERT_")}
    env.update(environ)
    command = [sys.executable, "-m", "giftcert.cli", "--env-file",
               str(log.parent / "none.env"), "serve"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   preexec_fn=_die_with_parent)
    url = f"http://127.0.0.1:{environ['GIFTCERT_WEB_PORT']}"
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
