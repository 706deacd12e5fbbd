"""The relay sponsors the signed tab actions (issue 17): relay_requests.operation is widened
from 16 to 32 characters, as "request-tab-close" is 17 (PostgreSQL refuses a longer value; SQLite
never checked the length).

Revision ID: 0005
Revises: 0004
Created: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("relay_requests") as table:  # SQLite: a table rebuild
        table.alter_column("operation", existing_type=sa.String(16), type_=sa.String(32),
                           existing_nullable=False)


def downgrade() -> None:
    # A request of a tab action does not fit the old width: those rows go with it.
    op.execute("delete from relay_requests where length(operation) > 16")
    with op.batch_alter_table("relay_requests") as table:
        table.alter_column("operation", existing_type=sa.String(32), type_=sa.String(16),
                           existing_nullable=False)
