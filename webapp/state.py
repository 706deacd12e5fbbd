"""What the app shares between requests: the read-only SDK client, the indexer (followed in a
background thread), cached merchants/currencies, and the server-side SIWE nonces and sessions."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from giftcert.client import ZERO_ADDRESS, GiftCert, Merchant
from giftcert.indexer import Indexer
from giftcert.money import CurrencyInfo

CACHE_SECONDS = 3.0
NONCE_SECONDS = 600  # a SIWE message must be signed within 10 minutes
SESSION_SECONDS = 8 * 3600


@dataclass
class SiweSession:
    address: str
    expires: float


@dataclass
class AppState:
    client: GiftCert
    indexer: Indexer
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sync_lock: threading.Lock = field(default_factory=threading.Lock)
    _merchants: tuple[float, list[Merchant]] = (0.0, [])
    _currencies: tuple[float, list[CurrencyInfo]] = (0.0, [])
    _policy: tuple[float, dict[str, Any]] = (0.0, {})
    nonces: dict[str, float] = field(default_factory=dict)
    sessions: dict[str, SiweSession] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    last_sync_error: str | None = None

    # -- chain reads, cached briefly (admin changes show within seconds) -----------------

    def merchants(self) -> list[Merchant]:
        stamp, cached = self._merchants
        if time.monotonic() - stamp > CACHE_SECONDS:
            cached = self.client.merchants()
            self._merchants = (time.monotonic(), cached)
        return cached

    def merchant(self, merchant_id: int) -> Merchant | None:
        return next((m for m in self.merchants() if m.id == merchant_id), None)

    def merchants_of(self, account: str) -> list[Merchant]:
        return [m for m in self.merchants() if m.account.lower() == account.lower()]

    def currencies(self) -> list[CurrencyInfo]:
        stamp, cached = self._currencies
        if time.monotonic() - stamp > CACHE_SECONDS:
            cached = self.client.currencies()
            self._currencies = (time.monotonic(), cached)
        return cached

    def currency(self, currency_id: int) -> CurrencyInfo | None:
        return next((c for c in self.currencies() if c.id == currency_id), None)

    def policy(self) -> dict[str, Any]:
        stamp, cached = self._policy
        if time.monotonic() - stamp > CACHE_SECONDS:
            cached = {"minValidity": self.client.min_validity(), "paused": self.client.paused()}
            self._policy = (time.monotonic(), cached)
        return cached

    def forget(self) -> None:
        self._merchants = (0.0, [])
        self._currencies = (0.0, [])
        self._policy = (0.0, {})

    # -- indexer --------------------------------------------------------------------------

    def sync(self) -> int:
        with self._sync_lock:
            return self.indexer.sync()

    def follow(self, poll_seconds: float = 1.0) -> threading.Thread:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.sync()
                    self.last_sync_error = None
                except Exception as exc:  # noqa: BLE001 - keep serving; report on /api/v1/status
                    self.last_sync_error = str(exc)[:300]
                self._stop.wait(poll_seconds)

        thread = threading.Thread(target=loop, name="giftcert-indexer", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    # -- SIWE nonces and sessions (server-side) -------------------------------------------

    def new_nonce(self) -> str:
        nonce = secrets.token_hex(12)
        now = time.time()
        with self._lock:
            self.nonces = {n: t for n, t in self.nonces.items() if t > now}
            self.nonces[nonce] = now + NONCE_SECONDS
        return nonce

    def use_nonce(self, nonce: str) -> bool:
        """True once per issued, unexpired nonce."""
        with self._lock:
            expires = self.nonces.pop(nonce, None)
        return expires is not None and expires > time.time()

    def open_session(self, address: str, expires: float | None = None) -> str:
        sid = secrets.token_urlsafe(24)
        limit = time.time() + SESSION_SECONDS
        with self._lock:
            self.sessions[sid] = SiweSession(address, min(expires or limit, limit))
        return sid

    def session(self, sid: str | None) -> SiweSession | None:
        if not sid:
            return None
        with self._lock:
            found = self.sessions.get(sid)
            if found and found.expires <= time.time():
                del self.sessions[sid]
                return None
        return found

    def close_session(self, sid: str | None) -> None:
        with self._lock:
            self.sessions.pop(sid or "", None)


def read_only(client: GiftCert) -> GiftCert:
    """The same contract with no key: the web server never signs."""
    return GiftCert(client.w3, client.contract, ZERO_ADDRESS)
