"""Whose index this is, and how far it got: the one row of the `cursor` table, read as
`IndexStatus`, and the refusal to use an index for another chain or contract (`IndexMismatch`).

Several chains, or the same deployer's contract on two chains (same address), must never share
an index: each would take the other's blocks for a reorganisation and show the other's
certificates. So the first writer records its chain id and contract with the cursor, and every
later open, by a writer or a reader, compares. Nothing is ever deleted for a mismatch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from giftcert.database import DatabaseError, safe_url
from giftcert.indexer.schema import cursor_table


@dataclass(frozen=True)
class IndexIdentity:
    """The chain and contract an index belongs to."""

    chain_id: int
    contract: str

    def same(self, other: IndexIdentity) -> bool:
        return (self.chain_id == other.chain_id
                and self.contract.lower() == other.contract.lower())

    def __str__(self) -> str:
        return f"chain {self.chain_id}, contract {self.contract}"


@dataclass(frozen=True)
class IndexStatus:
    """The cursor row: what a status page or a health check reports about the index, without
    asking the node. `head` and `checked_at` are the writer's heartbeat (refreshed at least every
    few seconds while it runs, also when no block came)."""

    chain_id: int
    contract: str
    start_block: int
    block: int | None  # the last indexed block (None before the first range)
    block_hash: str | None
    head: int | None  # the chain's head when the writer last looked
    updated_at: float | None  # unix time the cursor last moved
    checked_at: float | None  # unix time the writer last looked at the chain
    writer: str | None  # "pid 12 on host" of the last writer

    @property
    def identity(self) -> IndexIdentity:
        return IndexIdentity(self.chain_id, self.contract)

    @property
    def lag_blocks(self) -> int | None:
        """Blocks the index was behind the head the writer last saw (None: nothing indexed)."""
        if self.head is None:
            return None
        indexed = self.block if self.block is not None else self.start_block - 1
        return max(0, self.head - indexed)

    def seconds_since_check(self, now: float | None = None) -> float | None:
        """How long ago the writer last looked at the chain: a few seconds while an indexer
        runs; growing when none does (or it cannot reach the node or the database)."""
        if self.checked_at is None:
            return None
        return max(0.0, (time.time() if now is None else now) - self.checked_at)

    def to_json(self, now: float | None = None) -> dict[str, Any]:
        return {"chainId": self.chain_id, "contract": self.contract,
                "startBlock": self.start_block, "block": self.block,
                "blockHash": self.block_hash, "head": self.head, "lagBlocks": self.lag_blocks,
                "updatedAt": self.updated_at, "checkedAt": self.checked_at,
                "secondsSinceCheck": self.seconds_since_check(now), "writer": self.writer}


class IndexMismatch(DatabaseError):
    """The index belongs to another chain or contract (nothing was changed)."""

    def __init__(self, url: str, stored: IndexIdentity, wanted: IndexIdentity,
                 sqlite_file: str | None = None) -> None:
        fix = ("give each chain and contract its own database (GIFTCERT_DATABASE_URL), or on "
               "PostgreSQL its own schema (...?options=-csearch_path%3D"
               f"giftcert_{wanted.chain_id})")
        if sqlite_file:
            fix += f"; a local index may also be deleted ({sqlite_file}), it is rebuilt from " \
                   "the chain"
        super().__init__(f"the index in {url} belongs to {stored}, not to {wanted} (this "
                         f"chain and contract): nothing was changed; {fix}")
        self.stored = stored
        self.wanted = wanted


def read_status(conn: Connection) -> IndexStatus | None:
    """The cursor row, or None for an index no writer has opened yet."""
    row = conn.execute(select(cursor_table).where(cursor_table.c.id == 1)).first()
    if row is None:
        return None
    return IndexStatus(chain_id=int(row.chain_id), contract=row.contract,
                       start_block=int(row.start_block),
                       block=None if row.block is None else int(row.block),
                       block_hash=row.block_hash,
                       head=None if row.head is None else int(row.head),
                       updated_at=row.updated_at, checked_at=row.checked_at, writer=row.writer)


def check_identity(conn: Connection, wanted: IndexIdentity) -> IndexStatus | None:
    """Raises `IndexMismatch` if the index belongs to another chain or contract."""
    status = read_status(conn)
    if status is not None and not status.identity.same(wanted):
        url = conn.engine.url
        file = (str(url.database) if url.get_backend_name() == "sqlite"
                and url.database not in (None, "", ":memory:") else None)
        raise IndexMismatch(safe_url(url), status.identity, wanted, file)
    return status
