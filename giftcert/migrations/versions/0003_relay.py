"""The sponsor relay's durable queue: relay_requests (one row per accepted request, with its
signed transaction) and relay_senders (each relayer key's next nonce), giftcert/relay/schema.py.

Revision ID: 0003
Revises: 0002
Created: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relay_senders",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("relayer", sa.String(42), nullable=False),
        sa.Column("next_nonce", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "relayer", name="pk_relay_senders"),
    )
    op.create_table(
        "relay_requests",
        sa.Column("id", sa.String(34), nullable=False),
        sa.Column("sig_hash", sa.String(66), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("contract", sa.String(42), nullable=False),
        sa.Column("relayer", sa.String(42), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("certificate", sa.String(78), nullable=False),
        sa.Column("signer", sa.String(42), nullable=False),
        sa.Column("recipient", sa.String(42), nullable=True),
        sa.Column("client_ip", sa.String(64), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("tx_hashes", sa.Text(), nullable=False),
        sa.Column("raw_tx", sa.Text(), nullable=False),
        sa.Column("to_address", sa.String(42), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("gas_limit", sa.BigInteger(), nullable=False),
        sa.Column("gas_estimate", sa.BigInteger(), nullable=False),
        sa.Column("max_fee", sa.String(80), nullable=False),
        sa.Column("priority_fee", sa.String(80), nullable=False),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("fee_wei", sa.String(80), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("mined_hash", sa.String(66), nullable=True),
        sa.Column("new_certificate", sa.String(78), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_relay_requests"),
        sa.UniqueConstraint("sig_hash", name="uq_relay_requests_sig_hash"),
    )
    op.create_index("ix_relay_requests_day", "relay_requests", ["relayer", "day"])
    op.create_index("ix_relay_requests_status", "relay_requests", ["status"])


def downgrade() -> None:
    op.drop_index("ix_relay_requests_status", "relay_requests")
    op.drop_index("ix_relay_requests_day", "relay_requests")
    op.drop_table("relay_requests")
    op.drop_table("relay_senders")
