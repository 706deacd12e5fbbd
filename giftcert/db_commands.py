"""`giftcert db ...`: the database's schema (Alembic migrations shipped in giftcert/migrations).

Registered through the entry-point group `giftcert.commands` (pyproject.toml), like `serve`.

- `giftcert db upgrade`: migrates GIFTCERT_DATABASE_URL to the newest revision. Safe to run
  from several processes at once (deploy scripts, every container's start): one migrates, the
  others wait for it and find nothing to do. `make run` runs it before serving.
- `giftcert db current`: the revision, whether it is the newest, and whose index it is (chain,
  contract, last block, the writer's heartbeat); `--check` exits 1 unless at the newest.
- `giftcert db revision -m "..."`: for developers: writes a new revision from the difference
  between the declared tables and the migrations so far (review it before committing).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import click

from giftcert.cli import friendly, settings_from
from giftcert.database import (
    connect,
    open_engine,
    safe_url,
    schema_state,
    upgrade,
)


@click.group("db")
def db() -> None:
    """The database's schema: upgrade it (migrations), show where it is."""


def _revisions(revs: tuple[str, ...]) -> str:
    return ", ".join(revs) if revs else "(empty)"


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True,
              help="Target revision (default: the newest).")
@click.option("--drop-legacy", is_flag=True,
              help="Drop giftcert tables made before migrations existed (no alembic_version) "
                   "first: the index is rebuilt from the chain, sign-in sessions are lost.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@friendly
def upgrade_command(ctx: click.Context, revision: str, drop_legacy: bool,
                    as_json: bool) -> None:
    """Migrate GIFTCERT_DATABASE_URL to the newest schema (safe from several processes)."""
    settings = settings_from(ctx)
    engine = open_engine(settings.database_url)
    try:
        result = upgrade(engine, revision, drop_legacy=drop_legacy,
                         on_wait=lambda message: click.echo(message, err=True))
    finally:
        engine.dispose()
    url = safe_url(engine.url)
    if as_json:
        click.echo(json.dumps({"url": url, "before": list(result.before),
                               "after": list(result.after), "changed": result.changed}))
    elif result.changed:
        click.echo(f"upgraded {url}: {_revisions(result.before)} -> "
                   f"{_revisions(result.after)}")
    else:
        click.echo(f"{url} is at {_revisions(result.after)}: nothing to do")


@db.command("current")
@click.option("--check", is_flag=True, help="Exit with status 1 unless at the newest revision.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@friendly
def current_command(ctx: click.Context, check: bool, as_json: bool) -> None:
    """Show the schema revision and whose index the database holds."""
    from giftcert.indexer.identity import read_status

    settings = settings_from(ctx)
    engine = open_engine(settings.database_url)
    try:
        state = schema_state(engine)
        status = None
        if state.at_head:
            with connect(engine) as conn:
                status = read_status(conn)
    finally:
        engine.dispose()
    data: dict[str, Any] = {"url": state.url, "current": list(state.current),
                            "head": state.head, "atHead": state.at_head,
                            "legacyTables": list(state.legacy),
                            "index": status.to_json() if status else None}
    if as_json:
        click.echo(json.dumps(data))
    else:
        mark = "the newest" if state.at_head else f"not the newest ({state.head})"
        click.echo(f"{state.url}: revision {_revisions(state.current)}, {mark}")
        if state.legacy:
            click.echo(f"  tables made before migrations: {', '.join(state.legacy)} "
                       "(`giftcert db upgrade --drop-legacy`)")
        if status is not None:
            ago = status.seconds_since_check()
            click.echo(f"  index of chain {status.chain_id}, contract {status.contract}: "
                       f"block {status.block if status.block is not None else '-'}"
                       f" of {status.head if status.head is not None else '-'}"
                       + (f", writer seen {ago:.0f} s ago ({status.writer})"
                          if ago is not None else ""))
        elif state.at_head:
            click.echo("  no index yet (the indexer has not run)")
    if check and not state.at_head:
        raise SystemExit(1)


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option("--empty", is_flag=True, help="Write an empty revision (no autogenerate).")
@friendly
def revision_command(message: str, empty: bool) -> None:
    """(Developers) write a new revision from the declared tables' difference."""
    from alembic import command

    from giftcert.database import alembic_config

    versions = Path(__file__).parent / "migrations" / "versions"
    existing = sorted(p.name for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))
    rev_id = f"{int(existing[-1][:4]) + 1:04d}" if existing else "0001"
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{tmp}/scratch.db")
        try:
            upgrade(engine)
            with engine.connect() as conn:
                script = command.revision(alembic_config(engine, conn), message=message,
                                          autogenerate=not empty, rev_id=rev_id)
        finally:
            engine.dispose()
    paths = [script] if not isinstance(script, list) else script
    for item in paths:
        if item is not None:
            click.echo(f"wrote {item.path} (review it: SQLite's autogenerate is the starting "
                       "point, not the last word)")
