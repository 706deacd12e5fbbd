"""The index's writer lock: exactly one process writes an index at a time.

- PostgreSQL: a session advisory lock keyed by (schema, chain id, contract), held on a
  connection of its own. The writer's transactions run on that same connection, so the lock and
  the writes share one fate: if the database restarts, the connection (and with it the lock) is
  gone, the next write fails, and the writer takes the lock again (waiting, if another writer
  got it first) before writing anything more.
- SQLite: an exclusive `flock` on `<database file>.indexer.lock`; the kernel drops it when the
  process dies, kill -9 included.
- An in-memory SQLite database (one process by definition) and `Indexer(lock=False)` (tests of
  the compare-and-set that guards the cursor when a lock is bypassed) take no lock.

The lock is what keeps two writers from wasting work; the cursor's compare-and-set (in sync.py)
is what keeps the index right even if the lock were ever lost or bypassed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from giftcert.database import (
    FileLock,
    advisory_key,
    is_postgres,
    is_unavailable,
    name_session,
    pg_lock_holder,
    schema_name,
    sqlite_path,
)


class WriterLock(Protocol):
    @property
    def held(self) -> bool: ...

    def try_acquire(self) -> bool: ...

    def holder(self) -> str: ...

    def transaction(self) -> AbstractContextManager[Connection]: ...

    def release(self) -> None: ...

    def check(self) -> None: ...


class NoLock:
    """Always held: an in-memory database, or a test that bypasses the lock on purpose."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    def try_acquire(self) -> bool:
        self._held = True
        return True

    def holder(self) -> str:
        return "nobody"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def release(self) -> None:
        self._held = False

    def check(self) -> None:
        """Nothing to check."""


class SqliteFileLock(NoLock):
    """flock on a file beside the SQLite database."""

    def __init__(self, engine: Engine, path: Path) -> None:
        super().__init__(engine)
        self.file = FileLock(Path(path))

    @property
    def held(self) -> bool:
        return self.file.held

    def try_acquire(self) -> bool:
        return self.file.try_acquire()

    def holder(self) -> str:
        return self.file.holder()

    def release(self) -> None:
        self.file.release()


class PostgresAdvisoryLock:
    """pg_try_advisory_lock on a dedicated connection, which also carries the writes."""

    def __init__(self, engine: Engine, *key_parts: object) -> None:
        self.engine = engine
        self.key_parts = key_parts
        self._conn: Connection | None = None
        self._key: tuple[int, int] | None = None
        self._locked = False

    @property
    def held(self) -> bool:
        return self._locked

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self.engine.connect()
            try:
                self._key = advisory_key("indexer", schema_name(conn), *self.key_parts)
                conn.commit()
                name_session(conn, "indexer")
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def try_acquire(self) -> bool:
        if self._locked:
            return True
        conn = self._connection()
        assert self._key is not None
        try:
            got = bool(conn.execute(text("select pg_try_advisory_lock(:a, :b)"),
                                    {"a": self._key[0], "b": self._key[1]}).scalar())
            conn.commit()
        except BaseException:
            self._drop()
            raise
        self._locked = got
        return got

    def holder(self) -> str:
        if self._conn is None or self._key is None:
            return "another indexer"
        try:
            return pg_lock_holder(self._conn, self._key)
        except sa_exc.DBAPIError:
            self._drop()
            return "another indexer"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        if not self._locked or self._conn is None:
            raise RuntimeError("the writer lock is not held")
        try:
            with self._conn.begin():
                yield self._conn
        except sa_exc.DBAPIError as exc:
            if exc.connection_invalidated or is_unavailable(exc):
                self._drop()  # the session, and its lock, are gone
            raise

    def check(self) -> None:
        """Drops the lock's connection if it is dead (after an error), so the next write first
        takes the lock again."""
        if self._conn is None:
            return
        try:
            self._conn.execute(text("select 1"))
            self._conn.commit()
        except sa_exc.DBAPIError:
            self._drop()

    def release(self) -> None:
        conn, self._conn = self._conn, None
        locked, self._locked = self._locked, False
        if conn is None:
            return
        try:
            if locked and self._key is not None:
                conn.rollback()
                conn.execute(text("select pg_advisory_unlock(:a, :b)"),
                             {"a": self._key[0], "b": self._key[1]})
                conn.commit()
        except sa_exc.DBAPIError:
            pass  # a dead connection took its lock with it
        finally:
            conn.close()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._locked = False
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except sa_exc.DBAPIError:
                pass


def writer_lock(engine: Engine, chain_id: int, contract: str, *, enabled: bool = True
                ) -> WriterLock:
    """The writer lock for this engine's index of (chain id, contract)."""
    if not enabled:
        return NoLock(engine)
    if is_postgres(engine):
        return PostgresAdvisoryLock(engine, chain_id, contract.lower())
    path = sqlite_path(engine)
    if path is None:
        return NoLock(engine)
    return SqliteFileLock(engine, path.with_name(path.name + ".indexer.lock"))
