"""The initial schema: the index (giftcert.indexer.schema) and the sign-in sessions
(webapp.sessions), as they were when migrations began.

Written out in full, not read from the metadata: a revision is the schema of its day, and later
changes of the declarations come as later revisions. Constraint names follow
giftcert.database.NAMING_CONVENTION (pk_<table>, ix_<table>_<column>, ...) on both databases.

Revision ID: 0001
Revises:
Created: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid
ID = sa.String(78)
AMOUNT = sa.String(40)
ADDRESS = sa.String(42)
HASH = sa.String(66)
DAY = sa.String(10)


def _log_position() -> list[sa.Column]:
    return [sa.Column("block", sa.BigInteger(), nullable=False),
            sa.Column("tx_hash", HASH, nullable=False),
            sa.Column("log_index", sa.Integer(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "cursor",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("contract", ADDRESS, nullable=False),
        sa.Column("start_block", sa.BigInteger(), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", HASH, nullable=True),
        sa.Column("head", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=True),
        sa.Column("checked_at", sa.Float(), nullable=True),
        sa.Column("writer", sa.String(200), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_cursor_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_cursor"),
    )
    op.create_table(
        "blocks",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", HASH, nullable=False),
        sa.PrimaryKeyConstraint("number", name="pk_blocks"),
    )
    op.create_table(
        "activity",
        sa.Column("id", ROW_ID, nullable=False),
        *_log_position(),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("certificate", ID, nullable=True),
        sa.Column("other", ID, nullable=True),
        sa.Column("args", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_activity"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_activity_log"),
    )
    op.create_index("ix_activity_block", "activity", ["block"])
    op.create_index("ix_activity_certificate", "activity", ["certificate"])
    op.create_index("ix_activity_other", "activity", ["other"])
    op.create_table(
        "certificates",
        sa.Column("id", ID, nullable=False),
        sa.Column("merchant", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Integer(), nullable=False),
        sa.Column("occasion", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.BigInteger(), nullable=False),
        sa.Column("expiry", sa.BigInteger(), nullable=False),
        sa.Column("buyer", ADDRESS, nullable=True),
        sa.Column("owner", ADDRESS, nullable=False),
        sa.Column("balance", AMOUNT, nullable=False),
        sa.Column("issued", AMOUNT, nullable=False),
        sa.Column("awaiting_claim", sa.Boolean(), nullable=False),
        sa.Column("burned", sa.Boolean(), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_certificates"),
    )
    op.create_index("ix_certificates_merchant", "certificates", ["merchant"])
    op.create_index("ix_certificates_owner", "certificates", ["owner", "burned"])
    op.create_table(
        "holders",
        sa.Column("address", ADDRESS, nullable=False),
        sa.Column("first_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("address", name="pk_holders"),
    )
    op.create_index("ix_holders_first_block", "holders", ["first_block"])
    op.create_table(
        "redemptions",
        sa.Column("id", ROW_ID, nullable=False),
        *_log_position(),
        sa.Column("certificate", ID, nullable=False),
        sa.Column("merchant", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Integer(), nullable=False),
        sa.Column("order_ref", ID, nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("day", DAY, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_redemptions"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_redemption_log"),
    )
    op.create_index("ix_redemptions_block", "redemptions", ["block"])
    op.create_index("ix_redemptions_certificate", "redemptions", ["certificate"])
    op.create_index("ix_redemptions_merchant_day", "redemptions", ["merchant", "day"])
    op.create_index("ix_redemptions_merchant_ref", "redemptions", ["merchant", "order_ref"])
    op.create_table(
        "merchants",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account", ADDRESS, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_merchants"),
    )
    op.create_table(
        "batch_items",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("certificate", ID, nullable=False),
        *_log_position(),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_batch_items"),
    )
    op.create_index("ix_batch_items_block", "batch_items", ["block"])
    op.create_index("ix_batch_items_certificate", "batch_items", ["certificate"])
    op.create_table(
        "merchant_days",
        sa.Column("merchant", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("currency", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", DAY, nullable=False),
        sa.Column("total", AMOUNT, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("merchant", "currency", "day", name="pk_merchant_days"),
    )
    # webapp.sessions: SIWE nonces and sessions (a sha256 of each session id, never the id)
    op.create_table(
        "siwe_nonces",
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("expires", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name="pk_siwe_nonces"),
    )
    op.create_index("ix_siwe_nonces_expires", "siwe_nonces", ["expires"])
    op.create_table(
        "siwe_sessions",
        sa.Column("id_sha256", sa.String(64), nullable=False),
        sa.Column("address", ADDRESS, nullable=False),
        sa.Column("expires", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id_sha256", name="pk_siwe_sessions"),
    )
    op.create_index("ix_siwe_sessions_expires", "siwe_sessions", ["expires"])


def downgrade() -> None:
    for table in ("siwe_sessions", "siwe_nonces", "merchant_days", "batch_items", "merchants",
                  "redemptions", "holders", "certificates", "activity", "blocks", "cursor"):
        op.drop_table(table)
