"""What the app shares between requests: the read-only SDK client, the indexer (followed in a
background thread), cached merchants/currencies, and the server-side SIWE nonces and sessions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from giftcert.client import ZERO_ADDRESS, GiftCert, Merchant
from giftcert.indexer import Indexer
from giftcert.money import CurrencyInfo
from webapp.sessions import SessionStore

T = TypeVar("T")

CACHE_SECONDS = 3.0


@dataclass
class AppState:
    client: GiftCert
    indexer: Indexer
    _sync_lock: threading.Lock = field(default_factory=threading.Lock)
    # name -> (loaded at, value, loader); see _cached
    _cache: dict[str, tuple[float, Any, Callable[[], Any]]] = field(default_factory=dict)
    _following: bool = False
    siwe: SessionStore = field(kw_only=True)  # SIWE nonces and sessions, in the database
    _stop: threading.Event = field(default_factory=threading.Event)
    last_sync_error: str | None = None

    # -- chain reads, cached briefly (admin changes show within seconds) -----------------
    # While the indexer is followed, its thread refreshes stale entries, so a request never
    # waits on the node for these (measured: the refresh inside a request was the p99 of
    # `make bench-api`); without the follower a stale entry is reloaded by the request.

    def _cached(self, name: str, load: Callable[[], T]) -> T:
        stamp, value, _ = self._cache.get(name, (0.0, None, load))
        stale = time.monotonic() - stamp > CACHE_SECONDS
        if value is None or (stale and not self._following):
            value = load()
            self._cache[name] = (time.monotonic(), value, load)
        return value

    def refresh_stale(self) -> None:
        for name, (stamp, _, load) in list(self._cache.items()):
            if time.monotonic() - stamp > CACHE_SECONDS:
                self._cache[name] = (time.monotonic(), load(), load)

    def merchants(self) -> list[Merchant]:
        return self._cached("merchants", self.client.merchants)

    def merchant(self, merchant_id: int) -> Merchant | None:
        return next((m for m in self.merchants() if m.id == merchant_id), None)

    def merchants_of(self, account: str) -> list[Merchant]:
        return [m for m in self.merchants() if m.account.lower() == account.lower()]

    def currencies(self) -> list[CurrencyInfo]:
        return self._cached("currencies", self.client.currencies)

    def currency(self, currency_id: int) -> CurrencyInfo | None:
        return next((c for c in self.currencies() if c.id == currency_id), None)

    def policy(self) -> dict[str, Any]:
        return self._cached("policy", lambda: {"minValidity": self.client.min_validity(),
                                               "paused": self.client.paused()})

    def forget(self) -> None:
        """After an admin change: the next read goes to the chain."""
        self._cache.clear()

    # -- indexer --------------------------------------------------------------------------

    def sync(self) -> int:
        with self._sync_lock:
            return self.indexer.sync()

    def follow(self, poll_seconds: float = 1.0) -> threading.Thread:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.sync()
                    self.refresh_stale()
                    self.last_sync_error = None
                except Exception as exc:  # noqa: BLE001 - keep serving; report on /api/v1/status
                    self.last_sync_error = str(exc)[:300]
                self._stop.wait(poll_seconds)

        self._following = True
        thread = threading.Thread(target=loop, name="giftcert-indexer", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def read_only(client: GiftCert) -> GiftCert:
    """The same contract with no key: the web server never signs."""
    return GiftCert(client.w3, client.contract, ZERO_ADDRESS)
