"""Opening the database behind the index and the sign-in sessions (any SQLAlchemy URL).

One place for what every process needs before its first query: a SQLite file's folder must
exist (a fresh checkout has no `.giftcert/` yet, and SQLite answers "unable to open database
file" instead of creating it).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url


def open_engine(database_url: str) -> Engine:
    """An engine for `database_url`, creating a SQLite file's parent folder first."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url)
