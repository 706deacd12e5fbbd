"""Sign-in sessions know their site: the chain id and contract a session was opened for, so a
session made for one deployment is never accepted by another that shares the database.

Sessions opened before this revision get chain 0 and no contract, which no site has: their
holders sign in again (a session lasts hours, so nothing of value is lost).

Revision ID: 0002
Revises: 0001
Created: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("siwe_sessions") as table:  # SQLite: a table rebuild
        table.add_column(sa.Column("chain_id", sa.BigInteger(), nullable=False,
                                   server_default="0"))
        table.add_column(sa.Column("contract", sa.String(42), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("siwe_sessions") as table:
        table.drop_column("contract")
        table.drop_column("chain_id")
