"""The index's tables: the one declaration of its schema (`metadata`).

Everything that creates or migrates the index (today `metadata.create_all`, later Alembic's
`target_metadata`) reads this module, so a table or column is declared here and nowhere else.

Amounts and ids are decimal text: ids are 256-bit and balances up to 88 bits, more than any
database's integer holds, and text keeps them exact everywhere. A row made from one log names
that log by `block`, `tx_hash` and `log_index`: a rollback deletes by `block`, and the log's
position makes a replayed range fail loudly instead of counting twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

ID = String(78)  # a uint256 as decimal text
AMOUNT = String(40)  # a balance or total as decimal text
ADDRESS = String(42)
HASH = String(66)
DAY = String(10)  # YYYY-MM-DD, UTC


def _required(kind: Any, *names: str) -> list[Column[Any]]:
    """NOT NULL columns of one type."""
    return [Column(name, kind, nullable=False) for name in names]


def _log_position() -> list[Column[Any]]:
    """The columns that say which log a row was made from (new objects for each table)."""
    return [Column("block", Integer, nullable=False, index=True),
            Column("tx_hash", HASH, nullable=False),
            Column("log_index", Integer, nullable=False)]


cursor_table = Table(
    "cursor", metadata,
    Column("id", Integer, primary_key=True),
    Column("contract", ADDRESS, nullable=False),
    Column("block", Integer, nullable=False),
    Column("block_hash", HASH, nullable=False),
)
blocks_table = Table(  # hashes of recent blocks, for finding the common ancestor of a reorg
    "blocks", metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("hash", HASH, nullable=False),
)
activity_table = Table(  # every indexed event, its arguments as JSON
    "activity", metadata,
    Column("id", Integer, primary_key=True),
    *_log_position(),
    Column("timestamp", Integer, nullable=False),
    Column("event", String(32), nullable=False),
    Column("certificate", ID, index=True),
    Column("other", ID, index=True),  # newId of a Split, intoId of a Merge
    Column("args", Text, nullable=False),
    UniqueConstraint("tx_hash", "log_index", name="uq_activity_log"),
)
certificates_table = Table(  # each certificate's current state
    "certificates", metadata,
    Column("id", ID, primary_key=True),
    Column("merchant", Integer, nullable=False, index=True),
    *_required(Integer, "currency", "occasion", "valid_from", "expiry"),  # the id's terms
    Column("buyer", ADDRESS),
    Column("owner", ADDRESS, nullable=False),
    *_required(AMOUNT, "balance", "issued"),
    *_required(Boolean, "awaiting_claim", "burned"),
    *_required(Integer, "created_block", "updated_block"),
    Index("ix_certificates_owner", "owner", "burned"),
)
holders_table = Table(
    "holders", metadata,
    Column("address", ADDRESS, primary_key=True),
    Column("first_block", Integer, nullable=False, index=True),
)
redemptions_table = Table(  # one row per Redeemed event, for order look-ups and exports
    "redemptions", metadata,
    Column("id", Integer, primary_key=True),
    *_log_position(),
    Column("certificate", ID, nullable=False, index=True),
    *_required(Integer, "merchant", "currency"),
    Column("order_ref", ID, nullable=False),
    Column("amount", AMOUNT, nullable=False),
    Column("timestamp", Integer, nullable=False),
    Column("day", DAY, nullable=False),
    UniqueConstraint("tx_hash", "log_index", name="uq_redemption_log"),
    Index("ix_redemptions_merchant_day", "merchant", "day"),
    Index("ix_redemptions_merchant_ref", "merchant", "order_ref"),
)
merchants_table = Table(
    "merchants", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("account", ADDRESS, nullable=False),
    Column("name", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("block", Integer, nullable=False),
)
batch_items_table = Table(  # every id of an IssuedBatch -> that event (its activity row)
    "batch_items", metadata,
    Column("id", Integer, primary_key=True),
    Column("certificate", ID, nullable=False, index=True),
    *_log_position(),
    Column("position", Integer, nullable=False),  # index into the event's amounts
)
merchant_days_table = Table(  # redeemed totals per merchant, currency and day
    "merchant_days", metadata,
    Column("merchant", Integer, primary_key=True, autoincrement=False),
    Column("currency", Integer, primary_key=True, autoincrement=False),
    Column("day", DAY, primary_key=True),
    Column("total", AMOUNT, nullable=False),
    Column("count", Integer, nullable=False),
)
