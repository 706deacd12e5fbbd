"""The index's tables: the one declaration of its schema (`metadata`).

Alembic's `target_metadata` (giftcert/migrations/env.py) reads this module, so a table or
column is declared here and nowhere else; a change to it needs a new revision in
giftcert/migrations/versions (`giftcert db revision -m "..."` writes one from the difference,
and tests/db checks that the migrations and this declaration agree on both databases).
Constraint names follow `giftcert.database.NAMING_CONVENTION`.

Amounts and ids are decimal text: ids are 256-bit and balances up to 88 bits, more than any
database's integer holds, and text keeps them exact everywhere. A row made from one log names
that log by `block`, `tx_hash` and `log_index`: a rollback deletes by `block`, and the log's
position makes a replayed range fail loudly instead of counting twice. Block numbers and
times are 64-bit (`BLOCK`, `TIME`): some chains are past 2**31 blocks' reach within years, and
an expiry after 2038 does not fit a 32-bit PostgreSQL integer.

The `cursor` table has one row: which chain and contract the index belongs to (an index is
never reused for another: `IndexMismatch`), the last indexed block and its hash (moved only by
compare-and-set, in the transaction that writes the block's rows), and the writer's heartbeat
(`head`, `checked_at`: how far behind the chain the index is, without asking the node).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from giftcert.database import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ID = String(78)  # a uint256 as decimal text
AMOUNT = String(40)  # a balance or total as decimal text
ADDRESS = String(42)
HASH = String(66)
DAY = String(10)  # YYYY-MM-DD, UTC
BLOCK = BigInteger  # a block number
TIME = BigInteger  # a unix time in seconds (block times, the id's valid-from and expiry)
MERCHANT = BigInteger  # the id's top 32 bits: unsigned, so past a 32-bit signed integer
ROW_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite's rowid is INTEGER PRIMARY KEY


def _required(kind: Any, *names: str) -> list[Column[Any]]:
    """NOT NULL columns of one type."""
    return [Column(name, kind, nullable=False) for name in names]


def _log_position() -> list[Column[Any]]:
    """The columns that say which log a row was made from (new objects for each table)."""
    return [Column("block", BLOCK, nullable=False, index=True),
            Column("tx_hash", HASH, nullable=False),
            Column("log_index", Integer, nullable=False)]


cursor_table = Table(  # one row (id 1): whose index this is, and how far it got
    "cursor", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("chain_id", BigInteger, nullable=False),
    Column("contract", ADDRESS, nullable=False),
    Column("start_block", BLOCK, nullable=False),  # where indexing began (the deployment)
    Column("block", BLOCK),  # the last indexed block; NULL before the first range
    Column("block_hash", HASH),
    Column("head", BLOCK),  # the chain's head when the writer last looked
    Column("updated_at", Float),  # unix time the cursor last moved
    Column("checked_at", Float),  # unix time the writer last looked at the chain
    Column("writer", String(200)),  # who wrote last ("pid 12 on host")
    CheckConstraint("id = 1", name="single_row"),
)
blocks_table = Table(  # hashes of recent blocks, for finding the common ancestor of a reorg
    "blocks", metadata,
    Column("number", BLOCK, primary_key=True, autoincrement=False),
    Column("hash", HASH, nullable=False),
)
activity_table = Table(  # every indexed event, its arguments as JSON
    "activity", metadata,
    Column("id", ROW_ID, primary_key=True),
    *_log_position(),
    Column("timestamp", TIME, nullable=False),
    Column("event", String(32), nullable=False),
    Column("certificate", ID, index=True),
    Column("other", ID, index=True),  # newId of a Split, intoId of a Merge
    Column("args", Text, nullable=False),
    UniqueConstraint("tx_hash", "log_index", name="uq_activity_log"),
)
certificates_table = Table(  # each certificate's current state
    "certificates", metadata,
    Column("id", ID, primary_key=True),
    Column("merchant", MERCHANT, nullable=False, index=True),
    *_required(Integer, "currency", "occasion"),  # the id's terms
    *_required(TIME, "valid_from", "expiry"),
    Column("buyer", ADDRESS),
    Column("owner", ADDRESS, nullable=False),
    *_required(AMOUNT, "balance", "issued"),
    *_required(Boolean, "awaiting_claim", "burned"),
    *_required(BLOCK, "created_block", "updated_block"),
    # Its payment tab (revision 0004): open or not, the epoch (the current one while open, the
    # last one after), the session key signing its vouchers (NULL: the owner), when a
    # requested close takes effect, and what was settled on the latest tab.
    Column("tab_open", Boolean, nullable=False, server_default=false()),
    Column("tab_epoch", BigInteger),
    Column("tab_signer", ADDRESS),
    Column("tab_close_at", TIME),
    Column("tab_settled", AMOUNT, nullable=False, server_default="0"),
    Index("ix_certificates_owner", "owner", "burned"),
    Index("ix_certificates_tabs", "merchant", "tab_open"),
)
holders_table = Table(
    "holders", metadata,
    Column("address", ADDRESS, primary_key=True),
    Column("first_block", BLOCK, nullable=False, index=True),
)
redemptions_table = Table(  # one row per payment (Redeemed, TabSettled), for orders and exports
    "redemptions", metadata,
    Column("id", ROW_ID, primary_key=True),
    *_log_position(),
    Column("certificate", ID, nullable=False, index=True),
    Column("merchant", MERCHANT, nullable=False),
    Column("currency", Integer, nullable=False),
    Column("order_ref", ID, nullable=False),
    Column("amount", AMOUNT, nullable=False),
    Column("timestamp", TIME, nullable=False),
    Column("day", DAY, nullable=False),
    Column("tab_epoch", BigInteger),  # a tab's settle (order_ref 0): the epoch it collected
    UniqueConstraint("tx_hash", "log_index", name="uq_redemption_log"),
    Index("ix_redemptions_merchant_day", "merchant", "day"),
    Index("ix_redemptions_merchant_ref", "merchant", "order_ref"),
)
merchants_table = Table(
    "merchants", metadata,
    Column("id", MERCHANT, primary_key=True, autoincrement=False),
    Column("account", ADDRESS, nullable=False),
    Column("name", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("block", BLOCK, nullable=False),
)
batch_items_table = Table(  # every id of an IssuedBatch -> that event (its activity row)
    "batch_items", metadata,
    Column("id", ROW_ID, primary_key=True),
    Column("certificate", ID, nullable=False, index=True),
    *_log_position(),
    Column("position", Integer, nullable=False),  # index into the event's amounts
)
merchant_days_table = Table(  # redeemed totals per merchant, currency and day
    "merchant_days", metadata,
    Column("merchant", MERCHANT, primary_key=True, autoincrement=False),
    Column("currency", Integer, primary_key=True, autoincrement=False),
    Column("day", DAY, primary_key=True),
    Column("total", AMOUNT, nullable=False),
    Column("count", Integer, nullable=False),
)
