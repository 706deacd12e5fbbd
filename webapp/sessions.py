"""Server-side Sign-In with Ethereum nonces and sessions, kept in the site's database.

They live in two tables of their own (`siwe_nonces`, `siwe_sessions`) in the database the
indexer uses (GIFTCERT_DATABASE_URL), so a sign-in survives a restart of the web server and
works when several processes serve the site. SQLAlchemy Core, like giftcert/indexer.py.

- A nonce is used by deleting its row: `DELETE ... WHERE nonce = ? AND expires > now` removes
  it for exactly one caller, even when two requests (threads or processes) race with it.
- The cookie holds a random session id; the table holds only its sha256, so a copy of the
  database does not give anyone a live session.
- Expired nonces and sessions are refused, and deleted whenever a new one is written.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
)

from giftcert.database import NAMING_CONVENTION, open_engine, prepare_schema

NONCE_SECONDS = 600  # a SIWE message must be signed within 10 minutes
SESSION_SECONDS = 8 * 3600
# Nonces are handed out before anyone signs in: a flood of requests must not grow the table
# without bound. 10,000 sign-ins started in 10 minutes is far beyond a shop's staff.
MAX_LIVE_NONCES = 10_000


class TooManySignIns(Exception):
    """More unexpired nonces than MAX_LIVE_NONCES: refuse new ones until some expire."""

# Created by the migrations (giftcert/migrations, revision 0001), never here; a change to these
# tables needs a new revision (`giftcert db revision -m ...`).
metadata = MetaData(naming_convention=NAMING_CONVENTION)

nonces_table = Table(
    "siwe_nonces", metadata,
    Column("nonce", String(64), primary_key=True),
    Column("expires", Float, nullable=False, index=True),
)
sessions_table = Table(
    "siwe_sessions", metadata,
    Column("id_sha256", String(64), primary_key=True),  # hex sha256 of the cookie's id
    Column("address", String(42), nullable=False),
    Column("expires", Float, nullable=False, index=True),
    # the deployment the session was opened for (revision 0002): never valid on another
    Column("chain_id", BigInteger, nullable=False, server_default="0"),
    Column("contract", String(42), nullable=False, server_default=""),
)


@dataclass
class SiweSession:
    address: str
    expires: float


def session_key(sid: str) -> str:
    """What the database keeps instead of the session id."""
    return hashlib.sha256(sid.encode()).hexdigest()


class SessionStore:
    """SIWE nonces and sessions in `database` (an Engine, e.g. the indexer's, or a URL), for
    the site of `chain_id` and `contract`: a session opened by another deployment that shares
    the database is not one here."""

    def __init__(self, database: Engine | str, *, chain_id: int = 0, contract: str = "",
                 clock: Callable[[], float] = time.time,
                 nonce_seconds: float = NONCE_SECONDS,
                 session_seconds: float = SESSION_SECONDS,
                 max_live_nonces: int = MAX_LIVE_NONCES, prepare: bool = True) -> None:
        self.engine: Engine = (open_engine(database) if isinstance(database, str)
                               else database)
        self.chain_id, self.contract = int(chain_id), contract.lower()
        self.clock = clock
        self.nonce_seconds = nonce_seconds
        self.session_seconds = session_seconds
        self.max_live_nonces = max_live_nonces
        # the schema is the migrations' (SQLite: migrated here for the single-process flow;
        # PostgreSQL: SchemaNotCurrent until `giftcert db upgrade` ran). The web app checks it
        # with the index's (prepare=False), so a database down at start is no crash.
        if prepare:
            prepare_schema(self.engine)

    # -- nonces ---------------------------------------------------------------------------

    def new_nonce(self) -> str:
        nonce = secrets.token_hex(12)
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(delete(nonces_table).where(nonces_table.c.expires <= now))
            live = conn.execute(select(func.count()).select_from(nonces_table)).scalar_one()
            if live >= self.max_live_nonces:
                raise TooManySignIns(f"{live} sign-ins are waiting for a signature")
            conn.execute(insert(nonces_table).values(nonce=nonce,
                                                     expires=now + self.nonce_seconds))
        return nonce

    def use_nonce(self, nonce: str) -> bool:
        """True once per issued, unexpired nonce (the row is deleted by the one caller)."""
        if not nonce or len(nonce) > 64:
            return False
        t = nonces_table
        with self.engine.begin() as conn:
            used = conn.execute(delete(t).where(t.c.nonce == nonce, t.c.expires > self.clock()))
        return used.rowcount == 1

    # -- sessions -------------------------------------------------------------------------

    def open_session(self, address: str, expires: float | None = None) -> str:
        sid = secrets.token_urlsafe(24)
        now = self.clock()
        limit = now + self.session_seconds
        t = sessions_table
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.expires <= now))
            conn.execute(insert(t).values(id_sha256=session_key(sid), address=address,
                                          expires=min(expires or limit, limit),
                                          chain_id=self.chain_id, contract=self.contract))
        return sid

    def session(self, sid: str | None) -> SiweSession | None:
        if not sid:
            return None
        t = sessions_table
        key = session_key(sid)
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.address, t.c.expires).where(
                t.c.id_sha256 == key, t.c.chain_id == self.chain_id,
                t.c.contract == self.contract)).first()
        if row is None:
            return None
        if row.expires <= self.clock():
            self._delete_session(key)
            return None
        return SiweSession(row.address, row.expires)

    def close_session(self, sid: str | None) -> None:
        if sid:
            self._delete_session(session_key(sid))

    def _delete_session(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sessions_table).where(sessions_table.c.id_sha256 == key))

    def purge(self) -> int:
        """Deletes expired nonces and sessions; returns how many rows went."""
        now = self.clock()
        with self.engine.begin() as conn:
            gone = conn.execute(delete(nonces_table).where(nonces_table.c.expires <= now))
            ended = conn.execute(delete(sessions_table).where(sessions_table.c.expires <= now))
        return gone.rowcount + ended.rowcount
