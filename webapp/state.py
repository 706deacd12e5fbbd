"""What one web process shares between requests: the read-only SDK client, the index (read, and
in the in-process mode also followed), the sign-in store, and caches that keep node calls off
the pages.

One process, one of each: one engine (the index, its reader and the sign-in sessions share
it), one node connection. `build_state` makes them; the app factory calls it again in a
process forked from the one that made the app (`gunicorn --preload`), so a worker never uses
its parent's connections or lives without a follower the parent had.

Indexer modes (GIFTCERT_INDEXER):
- "in-process" (`make run`): a thread follows the chain with `Indexer.try_sync`, which returns
  at once when an indexer service holds the writer lock (then this process makes no node call
  for the index at all);
- "service": the process only reads (`open_index`); one `giftcert index --follow` writes.

Caches, none of which polls (an idle process makes no node call):
- merchants come from the index (no node call), reloaded when the index moved;
- currencies, the minimum validity and the pause flag come from the chain in one batched call,
  reloaded when the index saw an event that changes them (or after CONFIG_MAX_AGE) and kept
  when the node does not answer (a page still shows what was known);
- the latest block's number and time: `client.clock`, GIFTCERT_CHAIN_CACHE_SECONDS;
- `responses`: GET answers built from the index alone, kept until the index moves.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, and_, select

from giftcert.client import ZERO_ADDRESS, GiftCert, Merchant
from giftcert.config import Settings
from giftcert.database import DatabaseUnavailable, connect, is_unavailable, open_engine
from giftcert.indexer import Indexer, IndexReader, IndexStatus
from giftcert.indexer.schema import activity_table, cursor_table
from giftcert.money import CurrencyInfo
from giftcert.multicall import ChainClock
from webapp.sessions import SessionStore

log = logging.getLogger("giftcert.web")

# How often a request looks at the index's cursor to learn whether anything changed (one tiny
# query; a sync in this process bumps it at once).
GENERATION_SECONDS = 0.25
CONFIG_MAX_AGE = 300.0  # currencies and policy are re-read at least this often when asked
# A kept answer is served again until the index moves, until the time it said would change it
# (a certificate in it opening or expiring), and for at most this long.
RESPONSE_MAX_AGE = 60.0
RESPONSE_ENTRIES = 4096
# Events after which the chain's settings (currencies, minimum validity, pause) are re-read.
CONFIG_EVENTS = ("CurrencyAllowed", "CurrencyStatusChanged", "MinValiditySet", "Paused",
                 "Unpaused")
FOLLOW_SECONDS = 1.0
MAX_FOLLOW_BACKOFF = 30.0


@dataclass
class _Config:
    currencies: list[CurrencyInfo]
    policy: dict[str, Any]
    loaded: float  # monotonic


@dataclass(eq=False)  # compared by identity (kept in a WeakSet of followers)
class AppState:
    client: GiftCert
    indexer: Any  # an Indexer (in-process mode) or an IndexReader (service mode)
    siwe: SessionStore = field(kw_only=True)  # SIWE nonces and sessions, in the database
    mode: str = field(default="in-process", kw_only=True)
    pid: int = field(default_factory=os.getpid, kw_only=True)
    last_sync_error: str | None = None
    _sync_lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _checked: bool = False  # the index's schema and chain were checked (service mode)
    _check_lock: threading.Lock = field(default_factory=threading.Lock)
    # the index as last seen: (block, hash) of its cursor, when looked at (monotonic)
    _generation: tuple[Any, ...] | None = None
    _looked: float = 0.0
    _merchants: list[Merchant] | None = None
    _merchants_at: tuple[Any, ...] | None = None
    _config: _Config | None = None
    _config_lock: threading.Lock = field(default_factory=threading.Lock)
    # url -> (generation, kept at (monotonic), answer, valid until (unix time) or None)
    responses: OrderedDict[str, tuple[tuple[Any, ...], float, Any, float | None]] = field(
        default_factory=OrderedDict)
    _responses_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def follows(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the index ------------------------------------------------------------------------

    def ensure_index(self) -> None:
        """Service mode: the index's schema and chain are checked once the database answers
        (a worker that started while it was down checks at its first request)."""
        if self._checked:
            return
        with self._check_lock:
            if not self._checked:  # another thread may have checked while this one waited
                if isinstance(self.indexer, Indexer):
                    self.indexer.open()
                else:
                    self.indexer.check(self.client.chain_id, self.client.address)
                self._checked = True

    def generation(self) -> tuple[Any, ...]:
        """The index's cursor (block, hash), looked at most every GENERATION_SECONDS: what every
        cache here is keyed by. Raises DatabaseUnavailable when the database is down."""
        now = time.monotonic()
        if self._generation is not None and now - self._looked < GENERATION_SECONDS:
            return self._generation
        self.ensure_index()
        with connect(self.indexer.engine) as conn:
            row = conn.execute(select(cursor_table.c.block, cursor_table.c.block_hash)
                               .where(cursor_table.c.id == 1)).first()
            seen: tuple[Any, ...] = (None, None) if row is None else (row.block, row.block_hash)
            previous = self._generation
            if previous is not None and seen != previous:
                self._index_moved(conn, previous, seen)
        self._generation, self._looked = seen, now
        return seen

    def _index_moved(self, conn: Any, before: tuple[Any, ...], after: tuple[Any, ...]) -> None:
        """Drops the chain settings when the blocks indexed since `before` changed them."""
        if self._config is None:
            return
        if before[0] is None or after[0] is None or after[0] < before[0]:
            self._config = None  # rolled back or emptied: read again
            return
        a = activity_table
        changed = conn.execute(select(a.c.id).where(and_(
            a.c.block > before[0], a.c.block <= after[0],
            a.c.event.in_(CONFIG_EVENTS))).limit(1)).first()
        if changed is not None:
            self._config = None

    def index_status(self) -> IndexStatus | None:
        self.ensure_index()
        return self.indexer.status()

    # -- merchants (from the index) ---------------------------------------------------------

    def merchants(self) -> list[Merchant]:
        gen = self.generation()
        if self._merchants is None or self._merchants_at != gen:
            if gen[0] is None:  # nothing indexed yet: ask the chain (kept if it does not answer)
                found = self._keep_on_node_error(self.client.merchants, self._merchants)
            else:
                found = [Merchant(int(r["id"]), r["account"], r["name"], bool(r["active"]))
                         for r in self.indexer.merchants()]
            self._merchants, self._merchants_at = found, gen
        return self._merchants

    def merchant(self, merchant_id: int) -> Merchant | None:
        return next((m for m in self.merchants() if m.id == merchant_id), None)

    def merchants_of(self, account: str) -> list[Merchant]:
        return [m for m in self.merchants() if m.account.lower() == account.lower()]

    # -- the chain's settings (one batched node call) ---------------------------------------

    def _chain_config(self) -> _Config:
        try:
            self.generation()  # drops the config if the index saw it change
        except Exception as exc:  # noqa: BLE001 - without the index, age decides alone
            if not is_unavailable(exc):
                raise
        config = self._config
        if config is not None and time.monotonic() - config.loaded < CONFIG_MAX_AGE:
            return config
        with self._config_lock:
            if self._config is not None and self._config is not config:
                return self._config  # another thread just loaded it

            def load() -> _Config:
                currencies, min_validity, paused = self.client.chain_config()
                return _Config(currencies, {"minValidity": min_validity, "paused": paused},
                               time.monotonic())

            self._config = self._keep_on_node_error(load, config)
            return self._config

    @staticmethod
    def _keep_on_node_error(load: Callable[[], Any], known: Any) -> Any:
        """`load()`, or what was known when the node does not answer."""
        try:
            return load()
        except Exception as exc:  # noqa: BLE001 - classified below
            import requests

            if known is not None and isinstance(exc, requests.ConnectionError):
                log.warning("chain unreachable; serving the last known settings")
                return known
            raise

    def currencies(self) -> list[CurrencyInfo]:
        return self._chain_config().currencies

    def currency(self, currency_id: int) -> CurrencyInfo | None:
        return next((c for c in self.currencies() if c.id == currency_id), None)

    def policy(self) -> dict[str, Any]:
        return dict(self._chain_config().policy)

    def forget(self) -> None:
        """After an admin change (or in tests after changing the chain): the next read of the
        chain's settings, the merchants, the clock and cached answers starts afresh."""
        self._config = None
        self._merchants = None
        self._generation = None
        self.client.clock.forget()
        with self._responses_lock:
            self.responses.clear()

    # -- answers made from the index alone ---------------------------------------------------

    def cached_response(self, key: str) -> tuple[tuple[Any, ...], Any | None]:
        """(the index's generation now, the answer kept for `key` at it, or None)."""
        gen = self.generation()
        entry = self.responses.get(key)
        if (entry is None or entry[0] != gen or time.monotonic() - entry[1] > RESPONSE_MAX_AGE
                or (entry[3] is not None and time.time() >= entry[3])):
            return gen, None
        return gen, entry[2]

    def keep_response(self, key: str, response: Any, gen: tuple[Any, ...] | None,
                      until: float | None = None) -> None:
        """Keeps an answer made from the index as it was at `gen` (read before it was made),
        valid until the unix time `until` at the latest."""
        if gen is None:
            return
        with self._responses_lock:
            self.responses[key] = (gen, time.monotonic(), response, until)
            self.responses.move_to_end(key)
            while len(self.responses) > RESPONSE_ENTRIES:
                self.responses.popitem(last=False)

    # -- following (in-process mode) ----------------------------------------------------------

    def sync(self) -> int:
        """Indexes up to the head now (tests, and the in-process follower); returns the events
        applied (0 in service mode, or when the service holds the writer lock)."""
        if not isinstance(self.indexer, Indexer):
            return 0
        with self._sync_lock:
            count = self.indexer.try_sync()
        self._generation = None  # look again at the next request
        return count or 0

    def follow(self, poll_seconds: float = FOLLOW_SECONDS) -> threading.Thread | None:
        """Follows the chain in a thread (in-process mode only): `try_sync` every poll, which
        returns at once while an indexer service holds the writer lock. Errors are reported on
        /api/v1/status and retried with backoff."""
        if not isinstance(self.indexer, Indexer) or self.follows:
            return self._thread
        self._stop.clear()

        def loop() -> None:
            failures = 0
            while not self._stop.is_set():
                delay = poll_seconds
                try:
                    self.sync()
                    self.last_sync_error, failures = None, 0
                except Exception as exc:  # noqa: BLE001 - keep serving; report on the status
                    failures += 1
                    self.last_sync_error = f"{type(exc).__name__}: {str(exc)[:300]}"
                    delay = min(MAX_FOLLOW_BACKOFF, poll_seconds * 2 ** (failures - 1))
                self._stop.wait(delay)

        self._thread = threading.Thread(target=loop, name="giftcert-indexer", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, wait: float = 0.0) -> None:
        self._stop.set()
        if wait and self._thread is not None:
            self._thread.join(wait)

    def close(self) -> None:
        """Stops following and gives back the database connections (tests, shutdown)."""
        self.stop(wait=5.0)
        if isinstance(self.indexer, Indexer):
            self.indexer.close()
        self.indexer.engine.dispose()


def read_only(client: GiftCert, clock: ChainClock | None = None) -> GiftCert:
    """The same contract with no key: the web server never signs."""
    return GiftCert(client.w3, client.contract, ZERO_ADDRESS, chain_id=client.chain_id,
                    multicall=client.multicall, clock=clock or client.clock)


def build_state(settings: Settings, client: GiftCert, start_block: int,
                engine: Engine | None = None) -> AppState:
    """One process's state: an engine, the index in the configured mode, the sign-in store.
    A database that is down at start is not an error: requests answer 503 until it is back."""
    engine = engine or open_engine(settings.database_url)
    indexer: Indexer | IndexReader
    if settings.serves_index_from_service:
        indexer = IndexReader(engine)
    else:
        indexer = Indexer(client.w3, client.contract, engine, start_block=start_block,
                          chain_id=client.chain_id, check=False)
    siwe = SessionStore(engine, chain_id=client.chain_id, contract=client.address, prepare=False)
    state = AppState(client, indexer, siwe=siwe, mode=settings.indexer_mode)
    try:
        state.ensure_index()
    except DatabaseUnavailable as exc:
        log.warning("%s; pages that need it answer 503 until it is back", exc)
    return state
