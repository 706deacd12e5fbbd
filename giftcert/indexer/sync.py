"""Following the chain: fetch logs by block range, apply them with the cursor, undo reorgs.

Each range's events, rows and cursor (last block and its hash) commit in one database
transaction, so a crash never applies a range twice and a restart resumes where the last commit
left off. The hashes of recent blocks are kept; when the chain no longer has the cursor's block
(a reorganisation), every row from blocks after the last common ancestor is deleted, the
touched certificates are rebuilt from their remaining history, and indexing continues from the
ancestor.

Exactly one writer: an `Indexer` writes only while it holds the index's writer lock (lock.py);
a second one waits (and says so in the log) and takes over when the first stops or dies. The
cursor moves only by compare-and-set as the first statement of the range's transaction: the
stored (block, hash) must still be the one this range started from, else the transaction rolls
back (`CursorMoved`) and the indexer reads the cursor again; so two writers that ever got past
the lock could waste work, never store a range twice or move the cursor back.

`eth_getLogs` ranges adapt to the node: a provider that refuses a range as too large (hosted
nodes cap it at 2,000, 10,000 or fewer blocks, or by the number of results) gets the half of it,
down to one block, and the smaller range is kept for the ranges after it.

`follow()` is the service loop (`giftcert index --follow`): every error (node or database down,
schema not yet migrated, ...) is logged and retried with capped exponential backoff; it returns
only when stopped (`stop()`, the `stop` callable, KeyboardInterrupt / SIGTERM in the CLI).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import ColumnElement, Engine, and_, delete, insert, or_, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from web3 import Web3
from web3.types import RPCEndpoint

from giftcert.database import (
    connect,
    holder_description,
    open_engine,
    prepare_schema,
    safe_url,
    wait_for,
)
from giftcert.errors import GiftCertError
from giftcert.indexer.decoding import Event, Log, LogDecoder
from giftcert.indexer.identity import IndexIdentity, check_identity
from giftcert.indexer.lock import writer_lock
from giftcert.indexer.queries import IndexReader
from giftcert.indexer.schema import blocks_table, cursor_table
from giftcert.indexer.store import roll_back, store_events

REORG_WINDOW = 256  # block hashes kept for finding a common ancestor
HEARTBEAT_SECONDS = 5.0  # an idle writer refreshes head / checked_at this often
MAX_BACKOFF_SECONDS = 30.0
Progress = Callable[[int, int, int], None]  # (block reached, head, events so far)
Cursor = tuple[int, str] | None

log = logging.getLogger("giftcert.indexer")


class CursorMoved(GiftCertError):
    """Another writer moved the cursor since this range began (its transaction rolled back)."""


class RangeTooLarge(GiftCertError):
    """The node refused an eth_getLogs range as too large (the indexer halves it)."""


# How providers say a log query is too large (a rate limit is not: that one waits instead).
_RANGE_CODES = (-32005, -32602, -32600, -32000, -32614)
_RANGE_WORDS = ("range", "too many", "too large", "too wide", "exceed", "more than",
                "response size", "limit")


def _range_refusal(error: Any) -> bool:
    if not isinstance(error, dict):
        return False
    message = str(error.get("message", "")).lower()
    if "rate" in message or "too many requests" in message:
        return False
    return error.get("code") in _RANGE_CODES and any(w in message for w in _RANGE_WORDS)


class Indexer(IndexReader):
    """Indexes one contract's events into `database` (a URL or an Engine) and answers the
    queries of `IndexReader` from it.

    Opening checks the schema (`upgrade`: True migrates to head, False requires head and raises
    `SchemaNotCurrent`, None, the default, migrates a SQLite database and requires head on
    PostgreSQL) and the index's chain (`IndexMismatch` if it belongs to another chain or
    contract; an empty index is claimed for this one). `check=False` defers both to the first
    sync (a service that starts before its database). `chain_id` saves asking the node for it.
    """

    def __init__(self, w3: Web3, contract: Any, database: str | Engine, *,
                 start_block: int = 0, block_range: int = 2000, chain_id: int | None = None,
                 upgrade: bool | None = None, check: bool = True, lock: bool = True) -> None:
        super().__init__(open_engine(database) if isinstance(database, str) else database)
        self._own_engine = isinstance(database, str)
        self.w3 = w3
        self.address: str = contract.address
        self.abi: list[dict[str, Any]] = contract.abi
        self.decoder = LogDecoder(contract.abi)
        self.start_block = start_block
        self.block_range = block_range
        self._chain_id = chain_id
        self._upgrade = upgrade
        self._use_lock = lock
        self._lock_obj: Any = None
        self._ready = False
        self._stopping = threading.Event()
        self._last_beat = 0.0
        if check:
            self.open()

    # -- opening ----------------------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @property
    def target(self) -> IndexIdentity:
        """The chain and contract this indexer follows (`identity()` is the stored one)."""
        return IndexIdentity(self.chain_id, self.address)

    @property
    def _lock(self) -> Any:
        if self._lock_obj is None:
            self._lock_obj = writer_lock(self.engine, self.chain_id, self.address,
                                         enabled=self._use_lock)
        return self._lock_obj

    def open(self) -> None:
        """Schema at head (or migrated, see `upgrade`) and the index this chain's: claims an
        empty index for it, refuses another chain's or contract's. Idempotent."""
        if self._ready:
            return
        prepare_schema(self.engine, self._upgrade)
        wanted = self.target
        for _ in range(2):
            with connect(self.engine) as conn:
                if check_identity(conn, wanted) is not None:
                    break
                try:
                    conn.execute(insert(cursor_table).values(
                        id=1, chain_id=wanted.chain_id, contract=wanted.contract,
                        start_block=self.start_block, writer=holder_description()))
                    conn.commit()
                    break
                except sa_exc.IntegrityError:  # another process claimed it first: compare
                    conn.rollback()
        self._ready = True

    def close(self) -> None:
        """Releases the writer lock (if held) and, if it opened the engine from a URL, the
        engine's connections (an engine passed in stays the caller's)."""
        self._release()
        if self._own_engine:
            self.engine.dispose()

    # -- chain access ---------------------------------------------------------------------

    def _rpc(self, method: str, params: list[Any]) -> Any:
        """Raw JSON-RPC: logs and blocks stay hex dicts (cheaper than web3 formatting)."""
        reply = self.w3.provider.make_request(cast(RPCEndpoint, method), params)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def _block(self, number: int) -> dict[str, Any] | None:
        return self._rpc("eth_getBlockByNumber", [hex(number), False])

    def _hash_at(self, number: int) -> str | None:
        if number < 0:
            return None
        block = self._block(number)
        return block["hash"] if block else None

    def _head(self) -> int:
        return int(self._rpc("eth_blockNumber", []), 16)

    def _logs(self, start: int, end: int) -> list[Log]:
        """The contract's logs in [start, end], only of events the index keeps."""
        query = {"address": self.address, "fromBlock": hex(start), "toBlock": hex(end),
                 "topics": [self.decoder.topics]}
        reply = self.w3.provider.make_request(cast(RPCEndpoint, "eth_getLogs"), [query])
        if "error" in reply:
            if end > start and _range_refusal(reply["error"]):
                raise RangeTooLarge(f"eth_getLogs over {end - start + 1} blocks refused: "
                                    f"{reply['error'].get('message')}")
            raise RuntimeError(f"eth_getLogs: {reply['error']}")
        return cast(list[Log], reply["result"])

    # -- the writer lock ------------------------------------------------------------------

    def _acquire(self, timeout: float | None, stop: Callable[[], bool] = lambda: False
                 ) -> bool:
        lock = self._lock

        def waiting() -> None:
            log.warning("another indexer (%s) is writing the index in %s for chain %s; "
                        "waiting for its writer lock (this one takes over when it stops)",
                        lock.holder(), safe_url(self.engine.url), self.chain_id)

        return wait_for(lock.try_acquire, timeout=timeout, on_wait=waiting,
                        stop=lambda: stop() or self._stopping.is_set(), poll=0.5)

    def _release(self) -> None:
        if self._lock_obj is not None:
            self._lock_obj.release()

    @contextmanager
    def _writing(self, timeout: float | None = None) -> Iterator[bool]:
        """Holds the writer lock for the block (yields False if it was not had in time). A lock
        already held (by `follow`) is kept afterwards."""
        if self._lock.held:
            yield True
            return
        if not self._acquire(timeout):
            self._release()  # gives back the connection it asked on
            yield False
            return
        try:
            yield True
        finally:
            self._release()

    # -- cursor ---------------------------------------------------------------------------

    def _advance(self, conn: Connection, expected: Cursor, block: int | None,
                 block_hash: str | None, head: int | None) -> None:
        """Moves the cursor from `expected` to `block` by compare-and-set, as the first write
        of the transaction (so it also takes the row's lock on PostgreSQL and the database's
        write lock on SQLite); raises `CursorMoved` when the stored cursor is not `expected`."""
        t = cursor_table
        same: ColumnElement[bool]
        if expected is None:
            same = t.c.block.is_(None)
        else:
            same = and_(t.c.block == expected[0], t.c.block_hash == expected[1])
        now = time.time()
        values: dict[str, Any] = {"block": block, "block_hash": block_hash, "updated_at": now,
                                  "checked_at": now, "writer": holder_description()}
        if head is not None:
            values["head"] = head
        moved = conn.execute(update(t).where(and_(t.c.id == 1, same)).values(**values))
        if moved.rowcount != 1:
            raise CursorMoved(f"the cursor is no longer at {expected}: another writer moved it")

    def _beat(self, head: int) -> None:
        """The idle writer's heartbeat: the head it saw and when (a status page's lag)."""
        now = time.time()
        if now - self._last_beat < HEARTBEAT_SECONDS:
            return
        with self._lock.transaction() as conn:
            conn.execute(update(cursor_table).where(cursor_table.c.id == 1).values(
                head=head, checked_at=now, writer=holder_description()))
        self._last_beat = now

    # -- syncing --------------------------------------------------------------------------

    def sync(self, to_block: int | None = None, progress: Progress | None = None) -> int:
        """Indexes up to `to_block` (default: the head); returns the number of events applied.
        Waits for the writer lock if another indexer holds it (logging that it waits)."""
        self.open()
        with self._writing():
            return self._sync(to_block, progress)

    def try_sync(self, to_block: int | None = None, progress: Progress | None = None
                 ) -> int | None:
        """Like `sync`, but returns None at once when another indexer holds the writer lock
        (it keeps the index current): for processes that read and only help when alone (the
        CLI's `list`, a web process that also follows)."""
        self.open()
        with self._writing(timeout=0) as held:
            return self._sync(to_block, progress) if held else None

    def _sync(self, to_block: int | None, progress: Progress | None) -> int:
        self.handle_reorg()
        head = self._head() if to_block is None else to_block
        cursor = self.cursor()
        count = 0
        while True:
            start = self.start_block if cursor is None else cursor[0] + 1
            if start > head:
                break
            end = min(start + self.block_range - 1, head)
            try:
                applied, cursor = self._index_range(start, end, cursor, head)
            except CursorMoved as exc:
                log.warning("%s; reading it again", exc)
                self.handle_reorg()
                cursor = self.cursor()
                continue
            except RangeTooLarge as exc:
                self.block_range = max(1, (end - start + 1) // 2)
                log.warning("%s; asking %d blocks at a time from now on", exc,
                            self.block_range)
                continue
            count += applied
            self._last_beat = time.time()
            if progress:
                progress(end, head, count)
        if to_block is None:
            self._beat(head)
        return count

    def follow(self, poll_seconds: float = 1.0, progress: Progress | None = None,
               stop: Callable[[], bool] = lambda: False,
               max_backoff: float = MAX_BACKOFF_SECONDS) -> None:
        """Keeps syncing until `stop()` (asked once per poll, and while waiting for the lock)
        says so or `self.stop()` is called (from a thread or a signal handler), holding the writer
        lock all along (a second follower waits for it). Every error is logged and retried after
        a pause that doubles from max(poll_seconds, 0.25 s) up to `max_backoff` seconds (reset
        by the next success); it never returns for an error."""
        self._stopping.clear()

        def stopped() -> bool:
            return stop() or self._stopping.is_set()

        failures = 0
        try:
            while not stopped():
                try:
                    self.open()
                    if not self._lock.held and not self._acquire(None, stopped):
                        break
                    self.sync(progress=progress)
                    failures, delay = 0, poll_seconds
                except Exception as exc:  # noqa: BLE001 - the service outlives every error
                    failures += 1
                    delay = min(max_backoff, max(poll_seconds, 0.25) * 2 ** (failures - 1))
                    log.warning("indexer: %s: %s; retrying in %.1f s (failure %d in a row)",
                                type(exc).__name__, _first_line(exc), delay, failures)
                    self._after_error()
                self._stopping.wait(delay)  # `stop()` returns at once; `stop` is asked per poll
        finally:
            self._release()

    def stop(self) -> None:
        """Asks `follow()` (in another thread) to return after the current range."""
        self._stopping.set()

    def _after_error(self) -> None:
        """After a failure: a dead lock connection is dropped (the lock is taken again before
        the next write) and the schema and chain are checked again before the next sync."""
        self._ready = False
        if self._lock_obj is not None:
            try:
                self._lock_obj.check()
            except Exception:  # noqa: BLE001 - best effort; the next sync reports errors
                self._lock_obj.release()

    def _index_range(self, start: int, end: int, expected: Cursor, head: int
                     ) -> tuple[int, Cursor]:
        """Indexes blocks [start, end]: the cursor's compare-and-set from `expected`, events
        and block hashes in one transaction. Returns (events applied, the new cursor)."""
        end_block = self._block(end)
        if end_block is None:
            raise RuntimeError(f"block {end} vanished while indexing; run again")
        logs = self._logs(start, end)
        hashes = _block_hashes(logs, end, end_block["hash"])
        events = self._decode(logs)
        with self._lock.transaction() as conn:
            self._advance(conn, expected, end, end_block["hash"], head)
            self._store(conn, events)
            conn.execute(delete(blocks_table).where(or_(
                blocks_table.c.number >= start, blocks_table.c.number < end - REORG_WINDOW)))
            conn.execute(insert(blocks_table), [{"number": n, "hash": h}
                                                for n, h in hashes.items()])
        return len(events), (end, end_block["hash"])

    def _store(self, conn: Connection, events: list[Event]) -> None:
        """Applies a range's events inside its open transaction (a seam the crash tests use
        to die between writing and committing)."""
        store_events(conn, events)

    def _decode(self, logs: list[Log]) -> list[Event]:
        """The range's events, each with its block's time (fetched once per block if needed)."""
        stamps: dict[str, int] = {}
        events = []
        for log_ in logs:
            if log_.get("removed"):
                continue
            block = log_["blockNumber"]
            if block not in stamps:
                stamps[block] = self._timestamp(log_)
            events.append(self.decoder.decode(log_, stamps[block]))
        return events

    def _timestamp(self, log_: Log) -> int:
        """The log's block time: from the log when the node includes it, else one call."""
        raw = log_.get("blockTimestamp")
        if raw is None:
            block = self._block(int(log_["blockNumber"], 16))
            if block is None:
                raise RuntimeError(f"block {int(log_['blockNumber'], 16)} vanished while "
                                   "indexing; run again")
            raw = block["timestamp"]
        return int(raw, 16)

    # -- reorganisations ------------------------------------------------------------------

    def handle_reorg(self) -> int | None:
        """Rolls back past the last common ancestor if the chain replaced indexed blocks.

        Returns the ancestor block when a rollback happened, else None.
        """
        cursor = self.cursor()
        if cursor is None or self._hash_at(cursor[0]) == cursor[1]:
            return None
        ancestor = self._common_ancestor()
        self.rollback(ancestor, expected=cursor)
        return ancestor

    def _common_ancestor(self) -> int:
        """The newest kept block the chain still has, else the start (index all again)."""
        with self.engine.connect() as conn:
            stored = conn.execute(select(blocks_table).order_by(blocks_table.c.number.desc())).all()
        for row in stored:
            if self._hash_at(row.number) == row.hash:
                return int(row.number)
        return self.start_block - 1  # deeper than the window: index everything again

    def rollback(self, ancestor: int, expected: Cursor | None = None) -> None:
        """Deletes everything after block `ancestor` and rebuilds the certificates it touched;
        the cursor moves to the ancestor (by compare-and-set from `expected`, default: the
        cursor as it is now). An ancestor before `start_block` empties the index."""
        self.open()
        if expected is None:
            expected = self.cursor()
        block_hash = self._hash_at(ancestor) if ancestor >= self.start_block else None
        with self._writing(), self._lock.transaction() as conn:
            if ancestor < self.start_block:
                self._advance(conn, expected, None, None, None)
            else:
                self._advance(conn, expected, ancestor, block_hash or "0x", None)
            roll_back(conn, ancestor)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


def _block_hashes(logs: list[Log], end: int, end_hash: str) -> dict[int, str]:
    """Block number -> hash of the blocks these logs are from and of `end`, to be kept for
    finding a common ancestor later. A node that answers from two forks within one range
    (a reorg between the calls, or load-balanced replicas) is refused, so no mixed range is
    ever committed."""
    hashes: dict[int, str] = {}
    for log_ in logs:
        if log_.get("removed"):
            continue
        number = int(log_["blockNumber"], 16)
        if hashes.setdefault(number, log_["blockHash"]) != log_["blockHash"]:
            raise RuntimeError(f"block {number} changed while indexing; run again")
    if hashes.setdefault(end, end_hash) != end_hash:
        raise RuntimeError(f"block {end} changed while indexing; run again")
    return hashes
