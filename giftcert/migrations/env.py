"""Alembic's environment: the tables are the index's (giftcert.indexer.schema), the relay's
(giftcert.relay.schema), the tab vouchers' (giftcert.vouchers) and the sign-in sessions'
(webapp.sessions); the connection is the caller's (`giftcert.database.upgrade` passes one
that holds the migration lock), or one to GIFTCERT_DATABASE_URL for a bare `alembic` run.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from giftcert.indexer.schema import metadata as index_metadata
from giftcert.relay.schema import metadata as relay_metadata
from giftcert.vouchers import metadata as vouchers_metadata


def _target_metadata() -> list[MetaData]:
    found = [index_metadata, relay_metadata, vouchers_metadata]
    try:
        from webapp.sessions import metadata as sessions_metadata
    except ImportError:  # the SDK without the web app: revisions still create the tables
        return found
    return [*found, sessions_metadata]


def _run(connection: Connection) -> None:
    options: dict[str, Any] = {
        "connection": connection,
        "target_metadata": _target_metadata(),
        "compare_type": True,
        # SQLite alters a table by copying it: later revisions use op.batch_alter_table.
        "render_as_batch": connection.dialect.name == "sqlite",
    }
    context.configure(**options)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from giftcert.config import load_settings
    from giftcert.database import open_engine

    engine = open_engine(load_settings().database_url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()


if context.is_offline_mode():  # pragma: no cover - offline SQL scripts are not supported
    raise SystemExit("giftcert migrations run against a database: `giftcert db upgrade`")
main()
