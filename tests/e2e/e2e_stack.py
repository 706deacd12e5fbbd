"""What the browser tests share besides fixtures: roles, the chain, the site, a browser session.
(Imported by name from conftest.py and the tests; `from conftest import` is ambiguous.)"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e_wallet import Wallet
from web3 import Web3

from giftcert.chain import Anvil
from giftcert.client import GiftCert
from giftcert.config import ANVIL_DEV_KEYS
from giftcert.deploy import Deployment

CHROMIUM = Path(os.environ.get("GIFTCERT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).with_name("screenshots")
SERVER_START_TIMEOUT = 60.0
# Playwright's default waits (30 s) hide slowness; a page step here takes well under a second.
STEP_TIMEOUT_MS = 15_000

# Roles: dev account indexes, as the demo uses them.
ADMIN, GIVER, HOLDER, FRIEND, COFFEE, BOOKS, TEA, STRANGER = 0, 1, 2, 3, 4, 5, 6, 7


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

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


