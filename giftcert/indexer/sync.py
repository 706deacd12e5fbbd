"""Following the chain: fetch logs by block range, apply them with the cursor, undo reorgs.

Each range's events, rows and cursor (last block and its hash) commit in one database
transaction, so a crash never applies a range twice and a restart resumes where the last commit
left off. The hashes of recent blocks are kept; when the chain no longer has the cursor's block
(a reorganisation), every row from blocks after the last common ancestor is deleted, the
touched certificates are rebuilt from their remaining history, and indexing continues from the
ancestor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection
from web3 import Web3
from web3.types import RPCEndpoint

from giftcert.database import open_engine
from giftcert.indexer.decoding import Event, Log, LogDecoder
from giftcert.indexer.queries import IndexReader
from giftcert.indexer.schema import blocks_table, cursor_table, metadata
from giftcert.indexer.store import roll_back, store_events

REORG_WINDOW = 256  # block hashes kept for finding a common ancestor
Progress = Callable[[int, int, int], None]  # (block reached, head, events so far)


class Indexer(IndexReader):
    """Indexes one contract's events into `database_url` (tables created if missing) and
    answers the queries of `IndexReader` from it."""

    def __init__(self, w3: Web3, contract: Any, database_url: str, *, start_block: int = 0,
                 block_range: int = 2000) -> None:
        super().__init__(open_engine(database_url))
        self.w3 = w3
        self.address: str = contract.address
        self.abi: list[dict[str, Any]] = contract.abi
        self.decoder = LogDecoder(contract.abi)
        self.start_block = start_block
        self.block_range = block_range
        metadata.create_all(self.engine)
        self._reset_if_other_contract()

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
        block = self._block(number)
        return block["hash"] if block else None

    def _head(self) -> int:
        return int(self._rpc("eth_blockNumber", []), 16)

    def _logs(self, start: int, end: int) -> list[Log]:
        """The contract's logs in [start, end], only of events the index keeps."""
        query = {"address": self.address, "fromBlock": hex(start), "toBlock": hex(end),
                 "topics": [self.decoder.topics]}
        return self._rpc("eth_getLogs", [query])

    # -- cursor ---------------------------------------------------------------------------

    def _reset_if_other_contract(self) -> None:
        """An index of another contract (a redeploy on the dev chain) is emptied and begun again."""
        with self.engine.begin() as conn:
            row = conn.execute(select(cursor_table.c.contract)).first()
            if row is not None and row.contract != self.address:
                for table in reversed(metadata.sorted_tables):
                    conn.execute(delete(table))

    def _set_cursor(self, conn: Connection, block: int, block_hash: str) -> None:
        """Moves the cursor inside the range's transaction (inserted on the first range)."""
        values = {"contract": self.address, "block": block, "block_hash": block_hash}
        stmt = update(cursor_table).where(cursor_table.c.id == 1).values(**values)
        if conn.execute(stmt).rowcount == 0:
            conn.execute(insert(cursor_table).values(id=1, **values))

    # -- syncing --------------------------------------------------------------------------

    def sync(self, to_block: int | None = None, progress: Progress | None = None) -> int:
        """Indexes up to `to_block` (default: the head); returns the number of events applied."""
        self.handle_reorg()
        head = self._head() if to_block is None else to_block
        cursor = self.cursor()
        start = self.start_block if cursor is None else cursor[0] + 1
        count = 0
        while start <= head:
            end = min(start + self.block_range - 1, head)
            count += self._index_range(start, end)
            if progress:
                progress(end, head, count)
            start = end + 1
        return count

    def follow(self, poll_seconds: float = 1.0, progress: Progress | None = None,
               stop: Callable[[], bool] = lambda: False) -> None:
        """Keeps syncing until `stop()` says so (Ctrl-C in the CLI)."""
        while not stop():
            self.sync(progress=progress)
            time.sleep(poll_seconds)

    def _index_range(self, start: int, end: int) -> int:
        """Indexes blocks [start, end]: events, block hashes and cursor in one transaction."""
        end_block = self._block(end)
        if end_block is None:
            raise RuntimeError(f"block {end} vanished while indexing; run again")
        logs = self._logs(start, end)
        hashes = _block_hashes(logs, end, end_block["hash"])
        events = self._decode(logs)
        with self.engine.begin() as conn:
            self._store(conn, events)
            conn.execute(delete(blocks_table).where(or_(
                blocks_table.c.number >= start, blocks_table.c.number < end - REORG_WINDOW)))
            conn.execute(insert(blocks_table), [{"number": n, "hash": h}
                                                for n, h in hashes.items()])
            self._set_cursor(conn, end, end_block["hash"])
        return len(events)

    def _store(self, conn: Connection, events: list[Event]) -> None:
        """Applies a range's events inside its open transaction (a seam the crash tests use
        to die between writing and committing)."""
        store_events(conn, events)

    def _decode(self, logs: list[Log]) -> list[Event]:
        """The range's events, each with its block's time (fetched once per block if needed)."""
        stamps: dict[str, int] = {}
        events = []
        for log in logs:
            if log.get("removed"):
                continue
            block = log["blockNumber"]
            if block not in stamps:
                stamps[block] = self._timestamp(log)
            events.append(self.decoder.decode(log, stamps[block]))
        return events

    def _timestamp(self, log: Log) -> int:
        """The log's block time: from the log when the node includes it, else one call."""
        raw = log.get("blockTimestamp")
        if raw is None:
            block = self._block(int(log["blockNumber"], 16))
            if block is None:
                raise RuntimeError(f"block {int(log['blockNumber'], 16)} vanished while "
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
        self.rollback(ancestor)
        return ancestor

    def _common_ancestor(self) -> int:
        """The newest kept block the chain still has, else the start (index all again)."""
        with self.engine.connect() as conn:
            stored = conn.execute(select(blocks_table).order_by(blocks_table.c.number.desc())).all()
        for row in stored:
            if self._hash_at(row.number) == row.hash:
                return row.number
        return self.start_block - 1  # deeper than the window: index everything again

    def rollback(self, ancestor: int) -> None:
        """Deletes everything after block `ancestor` and rebuilds the certificates it touched."""
        with self.engine.begin() as conn:
            roll_back(conn, ancestor)
            block_hash = self._hash_at(ancestor) if ancestor >= 0 else "0x"
            self._set_cursor(conn, ancestor, block_hash or "0x")


def _block_hashes(logs: list[Log], end: int, end_hash: str) -> dict[int, str]:
    """Block number -> hash of the blocks these logs are from and of `end`, to be kept for
    finding a common ancestor later. A node that answers from two forks within one range
    (a reorg between the calls, or load-balanced replicas) is refused, so no mixed range is
    ever committed."""
    hashes: dict[int, str] = {}
    for log in logs:
        if log.get("removed"):
            continue
        number = int(log["blockNumber"], 16)
        if hashes.setdefault(number, log["blockHash"]) != log["blockHash"]:
            raise RuntimeError(f"block {number} changed while indexing; run again")
    if hashes.setdefault(end, end_hash) != end_hash:
        raise RuntimeError(f"block {end} changed while indexing; run again")
    return hashes
