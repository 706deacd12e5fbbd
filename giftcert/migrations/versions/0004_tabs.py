"""Payment tabs (issue 17): the merchant's voucher store `tab_vouchers` (the latest voucher per
tab, giftcert/vouchers.py), each certificate's tab in the index (tab_open, tab_epoch,
tab_signer, tab_close_at, tab_settled) and tab settles among the payments
(redemptions.tab_epoch).

An index made before this revision has no tab events in it (the contract had no tabs), so the
new columns' defaults are its true state.

Revision ID: 0004
Revises: 0003
Created: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tab_vouchers",
        sa.Column("certificate", sa.String(78), nullable=False),
        sa.Column("merchant", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("cumulative", sa.String(80), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("certificate", name="pk_tab_vouchers"),
    )
    op.create_index("ix_tab_vouchers_merchant", "tab_vouchers", ["merchant"])
    with op.batch_alter_table("certificates") as table:  # SQLite: a table rebuild
        table.add_column(sa.Column("tab_open", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        table.add_column(sa.Column("tab_epoch", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("tab_signer", sa.String(42), nullable=True))
        table.add_column(sa.Column("tab_close_at", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("tab_settled", sa.String(40), nullable=False,
                                   server_default="0"))
        table.create_index("ix_certificates_tabs", ["merchant", "tab_open"])
    with op.batch_alter_table("redemptions") as table:
        table.add_column(sa.Column("tab_epoch", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("redemptions") as table:
        table.drop_column("tab_epoch")
    with op.batch_alter_table("certificates") as table:
        table.drop_index("ix_certificates_tabs")
        for name in ("tab_settled", "tab_close_at", "tab_signer", "tab_epoch", "tab_open"):
            table.drop_column(name)
    op.drop_index("ix_tab_vouchers_merchant", "tab_vouchers")
    op.drop_table("tab_vouchers")
