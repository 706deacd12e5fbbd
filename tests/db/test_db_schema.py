"""The schema: Alembic migrations to head, `giftcert db upgrade` from several processes at
once, the check processes that do not migrate make, and the errors an operator can meet."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy import exc as sa_exc

from giftcert.database import (
    DatabaseError,
    DatabaseUnavailable,
    DriverMissing,
    LegacySchema,
    SchemaNotCurrent,
    head_revision,
    is_unavailable,
    open_engine,
    parse_url,
    require_head,
    schema_state,
    upgrade,
)
from giftcert.indexer import Indexer, IndexReader
from giftcert.indexer.schema import metadata
from giftcert.relay.schema import metadata as relay
from giftcert.vouchers import metadata as vouchers

CLI = [sys.executable, "-m", "giftcert.cli"]


def _tables() -> set[str]:
    from webapp.sessions import metadata as sessions

    return {t.name for m in (metadata, sessions, relay, vouchers) for t in m.sorted_tables}


def _cli(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environ = {**os.environ, "GIFTCERT_DATABASE_URL": url, **(env or {})}
    return subprocess.Popen([*CLI, "db", *args], env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_upgrade_creates_every_table_as_declared(backend):
    engine = open_engine(backend.url(migrated=False))
    with pytest.raises(SchemaNotCurrent, match="no giftcert schema yet: run `giftcert db upgrade`"):
        require_head(engine)
    result = upgrade(engine)
    assert result.before == () and result.after == (head_revision(),) and result.changed
    assert _tables() <= set(inspect(engine).get_table_names())
    from webapp.sessions import metadata as sessions

    with engine.connect() as conn:  # the migrations and the declarations agree
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, [metadata, sessions, relay, vouchers]) == []
    assert not upgrade(engine).changed  # a second run finds nothing to do
    require_head(engine)
    engine.dispose()


def test_db_upgrade_from_several_processes_at_once(backend):
    """Four `giftcert db upgrade` started together on an empty database: one migrates, the
    others wait for its lock and find nothing to do; all exit 0 (without the lock, PostgreSQL
    answers the second CREATE TABLE with a duplicate pg_type row, issue 14)."""
    url = backend.url(migrated=False)
    procs = [_cli(url, "upgrade", "--json") for _ in range(4)]
    results = [(p.wait(120), p.stdout.read(), p.stderr.read()) for p in procs]
    assert all(code == 0 for code, _, _ in results), results
    reports = [json.loads(out) for _, out, _ in results]
    assert sum(r["changed"] for r in reports) == 1, reports
    assert all(r["after"] == [head_revision()] for r in reports)
    engine = open_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from alembic_version")).scalar() == 1
    assert schema_state(engine).at_head
    engine.dispose()


def test_db_current_tells_where_the_schema_and_the_index_are(sdk, backend):
    url = backend.url(migrated=False)
    before = _cli(url, "current", "--check")
    assert before.wait(60) == 1
    assert "not the newest" in before.stdout.read()
    assert _cli(url, "upgrade").wait(60) == 0
    index = Indexer(sdk.w3, sdk.admin.contract, url, start_block=sdk.record.block)
    index.sync()
    now = _cli(url, "current", "--check", "--json")
    assert now.wait(60) == 0, now.stderr.read()
    data = json.loads(now.stdout.read())
    assert data["atHead"] and data["current"] == [head_revision()]
    assert data["index"]["chainId"] == 31337 and data["index"]["contract"] == sdk.admin.address
    assert data["index"]["block"] == sdk.w3.eth.block_number and data["index"]["lagBlocks"] == 0
    text_out = _cli(url, "current")
    assert text_out.wait(60) == 0
    assert f"index of chain 31337, contract {sdk.admin.address}" in text_out.stdout.read()


def test_a_process_that_does_not_migrate_refuses_an_old_schema(sdk, backend):
    """Indexer(upgrade=False) (and by default on PostgreSQL) and readers only check."""
    url = backend.url(migrated=False)
    with pytest.raises(SchemaNotCurrent, match="run `giftcert db upgrade`"):
        Indexer(sdk.w3, sdk.admin.contract, url, upgrade=False)
    if backend.is_postgres:  # the default there: the operator migrates
        with pytest.raises(SchemaNotCurrent):
            Indexer(sdk.w3, sdk.admin.contract, url)
    engine = open_engine(url)
    with pytest.raises(SchemaNotCurrent):
        IndexReader(engine).check(31337, sdk.admin.address)
    assert "alembic_version" not in inspect(engine).get_table_names()  # nothing was created
    engine.dispose()


def test_a_newer_schema_than_this_code_knows_is_refused(backend):
    engine = open_engine(backend.url())
    with engine.begin() as conn:
        conn.execute(text("update alembic_version set version_num = '9999'"))
    with pytest.raises(SchemaNotCurrent, match="9999, newer than this giftcert knows"):
        require_head(engine)
    engine.dispose()


def test_tables_from_before_migrations_are_refused_and_dropped_only_on_request(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:  # what create_all made before migrations existed
        conn.execute(text("create table cursor (id integer primary key, contract varchar(42), "
                          "block integer, block_hash varchar(66))"))
        conn.execute(text("create table siwe_sessions (id_sha256 varchar(64) primary key)"))
    engine.dispose()
    engine = open_engine(url)
    with pytest.raises(LegacySchema, match="--drop-legacy"):
        require_head(engine)
    with pytest.raises(LegacySchema):
        upgrade(engine)
    assert set(inspect(engine).get_table_names()) == {"cursor", "siwe_sessions"}  # untouched
    assert upgrade(engine, drop_legacy=True).changed
    require_head(engine)
    engine.dispose()


def test_a_missing_postgresql_driver_is_one_line_with_the_pip_command():
    blocked = ("import sys; sys.modules['psycopg'] = None; sys.modules['psycopg2'] = None; "
               "from giftcert.cli import main; main()")
    env = {**os.environ, "GIFTCERT_DATABASE_URL": "postgresql://giftcert@127.0.0.1:1/giftcert"}
    done = subprocess.run([sys.executable, "-c", blocked, "db", "current"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: GIFTCERT_DATABASE_URL is a PostgreSQL URL"), done.stderr
    assert "pip install 'giftcert[postgres]'" in last


def test_missing_driver_and_bad_urls_in_python(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(DriverMissing, match=r"pip install 'giftcert\[postgres\]'"):
        open_engine("postgresql://u:secret@db/giftcert")
    with pytest.raises(DriverMissing) as info:
        open_engine("postgresql://u:secret@db/giftcert")
    assert "secret" not in str(info.value)  # the password never reaches a message
    with pytest.raises(DatabaseError, match="not a database URL"):
        open_engine("giftcert.db")
    with pytest.raises(DatabaseError, match="no database 'nosuchdb'"):
        open_engine("nosuchdb://x/y")
    assert parse_url("postgres://u@h/d").get_backend_name() == "postgresql"


def test_pool_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GIFTCERT_DB_POOL_SIZE", "3")
    monkeypatch.setenv("GIFTCERT_DB_MAX_OVERFLOW", "1")
    monkeypatch.setenv("GIFTCERT_DB_PRE_PING", "false")
    engine = open_engine(f"sqlite:///{tmp_path / 'p.db'}")
    assert engine.pool.size() == 3 and engine.pool._max_overflow == 1  # noqa: SLF001
    assert engine.pool._pre_ping is False  # noqa: SLF001
    monkeypatch.setenv("GIFTCERT_DB_POOL_SIZE", "many")
    with pytest.raises(DatabaseError, match="GIFTCERT_DB_POOL_SIZE must be an integer"):
        open_engine(f"sqlite:///{tmp_path / 'p.db'}")


def test_a_database_that_does_not_answer_is_unavailable():
    from db.postgres import _free_port

    engine = open_engine(f"postgresql://postgres@127.0.0.1:{_free_port()}/postgres")
    with pytest.raises(DatabaseUnavailable, match="does not answer"):
        IndexReader(engine).status()
    try:
        with engine.connect():
            pass
    except sa_exc.OperationalError as exc:
        assert is_unavailable(exc)
    assert not is_unavailable(ValueError("bug"))
    engine.dispose()


def test_a_postgresql_schema_named_in_the_url_is_created_by_the_upgrade():
    """One database, a schema per chain: `?options=-csearch_path%3D<schema>`."""
    from db.postgres import drop_schema, server

    url = f"{server()}?options=-csearch_path%3Dgiftcert_1337_{os.getpid()}"
    engine = open_engine(url)
    try:
        assert upgrade(engine).changed
        with engine.connect() as conn:
            assert conn.execute(text("select current_schema()")).scalar() == (
                f"giftcert_1337_{os.getpid()}")
    finally:
        engine.dispose()
        drop_schema(f"giftcert_1337_{os.getpid()}")
