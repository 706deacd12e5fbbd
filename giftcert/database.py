"""Opening the database behind the index and the sign-in sessions (SQLite or PostgreSQL), and
its schema: Alembic migrations (giftcert/migrations), run by `giftcert db upgrade`.

- `open_engine(url)`: an engine with the pool settings of the environment (`GIFTCERT_DB_*`,
  see `PoolSettings`); a missing driver is a `DriverMissing` error with the pip line, a bad URL
  an `InvalidDatabaseUrl`, never a traceback. A SQLite file's folder is created (a fresh
  checkout has no `.giftcert/` yet) and the file is put in WAL mode, so readers (web workers)
  never wait for the indexer's writes.
- `upgrade(engine)`: migrates to the newest revision, safe from several processes at once (a
  PostgreSQL advisory lock per schema around the whole upgrade; a file lock beside a SQLite
  file). `require_head(engine)`: the check every process that does not migrate makes instead
  (`SchemaNotCurrent`, telling to run `giftcert db upgrade`). `prepare_schema(engine, upgrade=)`
  picks one of the two; its default upgrades a SQLite database (the single-process dev flow)
  and only checks PostgreSQL (a deployment, where migrating is the operator's step).
- `is_unavailable(exc)`: whether an exception means "the database does not answer" (a web
  process answers 503 for those, not 500).

Locks: `advisory_key(name, *parts)` makes the (int4, int4) key of a PostgreSQL advisory lock
(the first half is this project's namespace, the second a hash of the parts, which include the
schema: advisory locks are per database, one index is per schema); `FileLock` is an exclusive
`flock` on a file beside a SQLite database (per open file, so two threads of one process
exclude each other too; released by the kernel when the process dies, also by kill -9).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, make_url

from giftcert.errors import GiftCertError

log = logging.getLogger("giftcert.database")

# Constraint names that do not depend on the database: SQLite and PostgreSQL name an unnamed
# constraint differently, and a migration that drops or alters one must name it. Chosen before
# the first revision (0001); every table of the index and of the sign-in sessions follows it.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Tables of a database made before migrations existed (metadata.create_all), by any version.
LEGACY_TABLES = ("cursor", "blocks", "activity", "certificates", "holders", "redemptions",
                 "merchants", "batch_items", "merchant_days", "siwe_nonces", "siwe_sessions")

ADVISORY_NAMESPACE = 0x67696674  # "gift": the first int4 of every advisory lock key here


class DatabaseError(GiftCertError):
    """The database cannot be used as configured; the message says what to do."""


class DriverMissing(DatabaseError):
    """The URL needs a database driver that is not installed."""


class InvalidDatabaseUrl(DatabaseError):
    """GIFTCERT_DATABASE_URL is not a URL SQLAlchemy knows."""


class DatabaseUnavailable(DatabaseError):
    """The database does not answer (down, restarting, unreachable, refusing connections)."""


class SchemaNotCurrent(DatabaseError):
    """The schema is not at the newest revision this code knows (or is newer than it)."""

    def __init__(self, message: str, *, current: tuple[str, ...], head: str) -> None:
        super().__init__(message)
        self.current = current
        self.head = head


class LegacySchema(SchemaNotCurrent):
    """Tables made before migrations existed (no alembic_version): not migrated in place."""


# -- settings ------------------------------------------------------------------------------------


def _env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        return int(raw, 0)
    except ValueError:
        raise DatabaseError(f"{name} must be an integer, got {raw!r}") from None


def _env_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise DatabaseError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class PoolSettings:
    """How an engine holds connections. From the environment (and .env through the settings):

    GIFTCERT_DB_POOL_SIZE (5), GIFTCERT_DB_MAX_OVERFLOW (5), GIFTCERT_DB_POOL_TIMEOUT (10 s
    waiting for a free connection), GIFTCERT_DB_POOL_RECYCLE (1800 s; -1 never),
    GIFTCERT_DB_PRE_PING (true: a connection is tested before use, so a restarted database
    costs one retry, not an error), GIFTCERT_DB_CONNECT_TIMEOUT (5 s for a new PostgreSQL
    connection, so a down database fails fast), GIFTCERT_DB_BUSY_TIMEOUT (15 s a SQLite writer
    waits for another)."""

    pool_size: int = 5
    max_overflow: int = 5
    pool_timeout: int = 10
    pool_recycle: int = 1800
    pre_ping: bool = True
    connect_timeout: int = 5
    busy_timeout: int = 15

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 settings: Any = None) -> PoolSettings:
        """From `settings` fields of the same names where the Settings object has them (e.g.
        `db_pool_size`), else from `environ` (default: os.environ over the project's .env, the
        precedence of giftcert.config)."""
        env = _environment() if environ is None else environ
        values: dict[str, Any] = {}
        for name, default in (("pool_size", cls.pool_size), ("max_overflow", cls.max_overflow),
                              ("pool_timeout", cls.pool_timeout),
                              ("pool_recycle", cls.pool_recycle),
                              ("pre_ping", cls.pre_ping),
                              ("connect_timeout", cls.connect_timeout),
                              ("busy_timeout", cls.busy_timeout)):
            from_settings = getattr(settings, f"db_{name}", None)
            if from_settings is not None:
                values[name] = from_settings
            elif isinstance(default, bool):
                values[name] = _env_bool(env, f"GIFTCERT_DB_{name.upper()}", default)
            else:
                values[name] = _env_int(env, f"GIFTCERT_DB_{name.upper()}", default)
        return cls(**values)


def _environment() -> dict[str, str]:
    from dotenv import dotenv_values

    from giftcert.config import PROJECT_ROOT

    path = PROJECT_ROOT / ".env"
    values = {k: v for k, v in dotenv_values(path).items() if v is not None} \
        if path.is_file() else {}
    values.update(os.environ)
    return values


# -- engines -------------------------------------------------------------------------------------


def parse_url(database_url: str | URL) -> URL:
    """The URL SQLAlchemy will use: `postgres://` (as hosting providers write it) is read as
    `postgresql://`, which SQLAlchemy 2.1 maps to psycopg 3."""
    if isinstance(database_url, URL):
        return database_url
    raw = database_url.strip()
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw.removeprefix("postgres://")
    try:
        return make_url(raw)
    except sa_exc.ArgumentError:
        raise InvalidDatabaseUrl(
            f"GIFTCERT_DATABASE_URL {raw!r} is not a database URL: write e.g. "
            "sqlite:////absolute/path/giftcert.db or postgresql://user:password@host/dbname"
        ) from None


def safe_url(url: str | URL) -> str:
    """The URL without its password, for messages and logs."""
    return parse_url(url).render_as_string(hide_password=True)


def open_engine(database_url: str | URL, *, pool: PoolSettings | None = None,
                **engine_kwargs: Any) -> Engine:
    """An engine for `database_url` with `pool` (default: `PoolSettings.from_env()`).

    Raises `DriverMissing` (PostgreSQL without psycopg: `pip install 'giftcert[postgres]'`) or
    `InvalidDatabaseUrl` instead of ImportError / ArgumentError tracebacks. Connects lazily:
    a database that is down is found at the first query (`is_unavailable` classifies it)."""
    url = parse_url(database_url)
    pool = pool or PoolSettings.from_env()
    backend = url.get_backend_name()
    kwargs: dict[str, Any] = {"pool_pre_ping": pool.pre_ping}
    memory = backend == "sqlite" and url.database in (None, "", ":memory:")
    if not memory:
        kwargs.update(pool_size=pool.pool_size, max_overflow=pool.max_overflow,
                      pool_timeout=pool.pool_timeout, pool_recycle=pool.pool_recycle)
    if backend == "sqlite":
        if not memory:
            Path(str(url.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": pool.busy_timeout}
    elif backend == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": pool.connect_timeout}
    kwargs.update(engine_kwargs)
    try:
        engine = create_engine(url, **kwargs)
    except ImportError as exc:
        raise DriverMissing(_driver_message(url, exc)) from None
    except sa_exc.NoSuchModuleError:
        raise InvalidDatabaseUrl(
            f"GIFTCERT_DATABASE_URL {safe_url(url)!r}: SQLAlchemy has no database {backend!r} "
            "(use sqlite:/// or postgresql://)") from None
    if backend == "sqlite" and not memory:
        event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def _driver_message(url: URL, exc: ImportError) -> str:
    if url.get_backend_name() == "postgresql":
        return (f"GIFTCERT_DATABASE_URL is a PostgreSQL URL ({safe_url(url)}) but the driver "
                f"is not installed ({exc}): pip install 'giftcert[postgres]' (psycopg 3)")
    module = getattr(exc, "name", None) or str(exc)
    return (f"the driver for {safe_url(url)} is not installed ({exc}): pip install "
            f"{module}")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """WAL: readers see the last commit while a writer writes (the indexer beside web workers).
    Asked of every new connection; a database already in WAL answers at once."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


def is_postgres(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"


def sqlite_path(engine: Engine | Connection) -> Path | None:
    """The file of a SQLite engine (None for other databases and for :memory:)."""
    url = engine.engine.url if isinstance(engine, Connection) else engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database)).expanduser().resolve()


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database does not answer (connection refused or lost, server
    restarting, pool exhausted), as opposed to a bug or bad data: such requests get a 503."""
    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, sa_exc.TimeoutError):  # no free connection in the pool
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if not isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
            return False
        if "sqlite" in type(exc.orig).__module__:  # its OperationalError also means bad SQL
            return any(m in str(exc.orig).lower() for m in _SQLITE_UNAVAILABLE)
        return True
    return False


_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error",
                       "readonly database")


def schema_name(conn: Connection) -> str:
    """The schema the index lives in: current_schema() on PostgreSQL, 'main' on SQLite."""
    if is_postgres(conn):
        return str(conn.execute(text("select current_schema()")).scalar() or "")
    return "main"


def advisory_key(name: str, *parts: object) -> tuple[int, int]:
    """(namespace, hash) for pg_advisory_lock(int4, int4); shows in pg_locks as
    classid = namespace, objid = hash, objsubid = 2."""
    digest = hashlib.sha256("\x1f".join([name, *map(str, parts)]).encode()).digest()
    return ADVISORY_NAMESPACE, int.from_bytes(digest[:4], "big", signed=True)


def holder_description() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


def name_session(conn: Connection, role: str) -> None:
    """Names a PostgreSQL session after this process (pg_stat_activity.application_name), so
    whoever waits for its lock is told which process holds it."""
    if is_postgres(conn):
        conn.execute(text("select set_config('application_name', :name, false)"),
                     {"name": f"giftcert {role} {holder_description()}"[:63]})
        conn.commit()


# -- file locks (SQLite) ---------------------------------------------------------------------------


class FileLock:
    """An exclusive lock on `path` (flock). `acquire(timeout)` polls; the file holds the
    holder's description for the one who waits. Not re-entrant."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - kept open while the lock is held
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(holder_description() + "\n")
        handle.flush()
        self._file = handle
        return True

    def holder(self) -> str:
        """Who holds it, as written by the holder (best effort)."""
        try:
            return self.path.read_text().strip() or "another process"
        except OSError:
            return "another process"

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            try:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            finally:
                handle.close()


def wait_for(try_acquire: Callable[[], bool], *, timeout: float | None,
              on_wait: Callable[[], None], stop: Callable[[], bool] = lambda: False,
              poll: float = 0.2) -> bool:
    """Polls `try_acquire` until it succeeds (True), `timeout` passes or `stop()` (False).
    `on_wait` is called once, when the first try fails."""
    if try_acquire():
        return True
    if timeout is not None and timeout <= 0:
        return False
    on_wait()
    deadline = None if timeout is None else time.monotonic() + timeout
    while not stop():
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(poll if deadline is None else max(0.0, min(poll,
                                                              deadline - time.monotonic())))
        if try_acquire():
            return True
    return False


# -- migrations ------------------------------------------------------------------------------------


def alembic_config(engine: Engine | None = None, connection: Connection | None = None) -> Any:
    """The Alembic configuration of the migrations shipped in giftcert/migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    if engine is not None:
        config.set_main_option("sqlalchemy.url",
                               engine.url.render_as_string(hide_password=False)
                               .replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def _script() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision of the shipped migrations."""
    return str(_script().get_current_head())


def known_revisions() -> set[str]:
    return {rev.revision for rev in _script().walk_revisions()}


def current_revisions(conn: Connection) -> tuple[str, ...]:
    """The revisions the database is at (empty before the first upgrade)."""
    from alembic.runtime.migration import MigrationContext

    return tuple(MigrationContext.configure(conn).get_current_heads())


def legacy_tables(conn: Connection) -> list[str]:
    """giftcert tables in a database that has no alembic_version (made by create_all)."""
    names = set(inspect(conn).get_table_names())
    if "alembic_version" in names:
        return []
    return sorted(names & set(LEGACY_TABLES))


@dataclass(frozen=True)
class SchemaState:
    url: str
    current: tuple[str, ...]
    head: str
    legacy: tuple[str, ...] = ()

    @property
    def at_head(self) -> bool:
        return self.current == (self.head,)


def schema_state(engine: Engine) -> SchemaState:
    """Where the database's schema is (one connection, two small queries)."""
    with connect(engine) as conn:
        return SchemaState(safe_url(engine.url), current_revisions(conn), head_revision(),
                           tuple(legacy_tables(conn)))


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """engine.connect(), with "the database does not answer" as `DatabaseUnavailable`."""
    try:
        conn = engine.connect()
    except sa_exc.DBAPIError as exc:
        if is_unavailable(exc):
            raise DatabaseUnavailable(
                f"the database at {safe_url(engine.url)} does not answer: "
                f"{_first_line(exc.orig)}") from exc
        raise
    with conn:
        yield conn


def _first_line(exc: BaseException | None) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def require_head(engine: Engine) -> SchemaState:
    """Raises `SchemaNotCurrent` unless the schema is at the newest revision: what a process
    that does not migrate (a web worker, the indexer service) checks before its first query."""
    state = schema_state(engine)
    if state.at_head:
        return state
    raise _not_current(state)


def _not_current(state: SchemaState) -> SchemaNotCurrent:
    where = f"the database at {state.url}"
    if state.legacy:
        return LegacySchema(
            f"{where} has giftcert tables made before schema migrations "
            f"({', '.join(state.legacy)}) and no alembic_version: it cannot be migrated in "
            "place. The index is rebuilt from the chain, so drop them with `giftcert db upgrade "
            "--drop-legacy` (sign-in sessions are lost too) or use another "
            "GIFTCERT_DATABASE_URL", current=state.current, head=state.head)
    if not state.current:
        return SchemaNotCurrent(f"{where} has no giftcert schema yet: run `giftcert db upgrade`",
                                current=state.current, head=state.head)
    unknown = [r for r in state.current if r not in known_revisions()]
    if unknown:
        return SchemaNotCurrent(
            f"{where} is at schema revision {', '.join(unknown)}, newer than this giftcert "
            f"knows (its newest is {state.head}): run the newer giftcert, or upgrade this one",
            current=state.current, head=state.head)
    return SchemaNotCurrent(
        f"{where} is at schema revision {', '.join(state.current)}, not {state.head}: run "
        "`giftcert db upgrade`", current=state.current, head=state.head)


@dataclass(frozen=True)
class UpgradeResult:
    before: tuple[str, ...]
    after: tuple[str, ...]
    waited: bool

    @property
    def changed(self) -> bool:
        return self.before != self.after


def upgrade(engine: Engine | str, revision: str = "head", *, drop_legacy: bool = False,
            on_wait: Callable[[str], None] | None = None) -> UpgradeResult:
    """Migrates the database to `revision` (default: the newest), holding the migration lock:
    several processes may call this at once; the first migrates, the others wait, then find
    nothing to do. `drop_legacy` drops tables made before migrations existed first."""
    if isinstance(engine, str):
        engine = open_engine(engine)
    waited = False

    def waiting(holder: str) -> None:
        nonlocal waited
        waited = True
        message = (f"waiting for another schema upgrade of {safe_url(engine.url)} "
                   f"({holder}) to finish")
        (on_wait or log.warning)(message)

    with connect(engine) as conn, _migration_lock(conn, waiting):
        before = current_revisions(conn)
        legacy = legacy_tables(conn)
        if legacy:
            if not drop_legacy:
                raise _not_current(SchemaState(safe_url(engine.url), before, head_revision(),
                                               tuple(legacy)))
            _drop_tables(conn, legacy)
        if revision == "head" and before == (head_revision(),):
            return UpgradeResult(before, before, waited)
        from alembic import command

        command.upgrade(alembic_config(engine, conn), revision)
        conn.commit()
        after = current_revisions(conn)
    return UpgradeResult(before, after, waited)


def _drop_tables(conn: Connection, names: list[str]) -> None:
    for name in names:
        conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
    conn.commit()


@contextmanager
def _migration_lock(conn: Connection, on_wait: Callable[[str], None]) -> Iterator[None]:
    """PostgreSQL: a session advisory lock keyed by the schema (created first if the search
    path names one that does not exist yet). SQLite: a file lock beside the database file."""
    if is_postgres(conn):
        schema = _ensure_schema(conn)
        name_session(conn, "db upgrade")
        key = advisory_key("migrate", schema)
        locked = conn.execute(text("select pg_try_advisory_lock(:a, :b)"),
                              {"a": key[0], "b": key[1]}).scalar()
        conn.commit()
        if not locked:
            on_wait(pg_lock_holder(conn, key))
            conn.execute(text("select pg_advisory_lock(:a, :b)"), {"a": key[0], "b": key[1]})
            conn.commit()
        try:
            yield
        finally:
            try:
                conn.rollback()
                conn.execute(text("select pg_advisory_unlock(:a, :b)"),
                             {"a": key[0], "b": key[1]})
                conn.commit()
            except sa_exc.DBAPIError:  # the connection died: so did its lock
                pass
        return
    path = sqlite_path(conn)
    if path is None:
        yield
        return
    lock = FileLock(path.with_name(path.name + ".migrate.lock"))
    wait_for(lock.try_acquire, timeout=None, on_wait=lambda: on_wait(lock.holder()))
    try:
        yield
    finally:
        lock.release()


def _ensure_schema(conn: Connection) -> str:
    """The current schema, creating the first schema of the search path if it is missing (a
    URL with ?options=-csearch_path%3Dchain_1337 names a schema per chain)."""
    current = conn.execute(text("select current_schema()")).scalar()
    if current:
        conn.commit()
        return str(current)
    path = str(conn.execute(text("show search_path")).scalar() or "")
    first = next((p.strip().strip('"') for p in path.split(",")
                  if p.strip() and p.strip() != '"$user"'), "")
    if not first:
        raise DatabaseError(f"the search_path of {safe_url(conn.engine.url)} names no schema")
    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{first}"'))
    conn.commit()
    return first


def pg_lock_holder(conn: Connection, key: tuple[int, int]) -> str:
    """Who holds an advisory lock (pid, address, application, since when), for a log line."""
    row = conn.execute(text(
        "select a.pid, a.client_addr, a.application_name, a.backend_start "
        "from pg_locks l join pg_stat_activity a on a.pid = l.pid "
        "where l.locktype = 'advisory' and l.granted and l.classid = :a and l.objid = :b "
        "and l.objsubid = 2"), {"a": key[0] & 0xFFFFFFFF, "b": key[1] & 0xFFFFFFFF}).first()
    conn.commit()
    if row is None:
        return "another session"
    where = f" from {row.client_addr}" if row.client_addr else ""
    app = f" ({row.application_name})" if row.application_name else ""
    return f"database session pid {row.pid}{where}{app}, connected {row.backend_start:%H:%M:%S}"


def prepare_schema(engine: Engine, upgrade_schema: bool | None = None) -> None:
    """`upgrade_schema=True` migrates to head (tests, the single-process dev flow), False
    checks it is at head (`SchemaNotCurrent` otherwise). None (default): upgrade a SQLite
    database, check a PostgreSQL one."""
    if upgrade_schema is None:
        upgrade_schema = engine.dialect.name == "sqlite"
    state = schema_state(engine)
    if state.at_head:
        return  # the usual case: no lock taken, nothing written
    if not upgrade_schema:
        raise _not_current(state)
    upgrade(engine)
