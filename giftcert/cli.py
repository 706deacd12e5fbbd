"""The `giftcert` command. Subcommands are added here by the modules that own them."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType

import click
from eth_account import Account

from giftcert.config import ANVIL_DEV_KEYS, DEV_CHAIN_ID, ConfigError, load_settings


@click.group()
@click.option("--env-file", type=click.Path(path_type=Path), default=None,
              help="Settings file (default: .env in the project root).")
@click.pass_context
def main(ctx: click.Context, env_file: Path | None) -> None:
    """Tokenized gift certificates: compile, run a local chain, deploy, serve."""
    ctx.obj = {"env_file": env_file}


def settings_from(ctx: click.Context):
    """Loaded lazily so commands that do not need settings still run with a broken .env."""
    try:
        return load_settings(ctx.obj.get("env_file") if ctx.obj else None)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("compile")
@click.option("--force", is_flag=True, help="Ignore the artifact cache.")
@click.option("--sources", type=click.Path(path_type=Path, file_okay=False, exists=True),
              default=None, help="Directory of .sol files (default: contracts/).")
def compile_command(force: bool, sources: Path | None) -> None:
    """Compile contracts/ (cached by source hash)."""
    from giftcert.compiler import CompileError, compile_contracts, find_solc

    started = time.perf_counter()
    try:
        artifacts = compile_contracts(force=force, sources_dir=sources)
    except CompileError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    elapsed = time.perf_counter() - started
    for name, artifact in sorted(artifacts.items()):
        size = (len(artifact.runtime_bytecode) - 2) // 2
        click.echo(f"  {name:<28} {size:>6} bytes runtime  ({artifact.source_path.name})")
    solc = find_solc()
    click.echo(f"compiled {len(artifacts)} contracts with solc {solc.version} ({solc.kind}) "
               f"in {elapsed:.2f} s")


@main.command("chain")
@click.option("--port", type=int, default=None, help="Default: GIFTCERT_ANVIL_PORT (8545).")
@click.option("--fresh", is_flag=True, help="Delete the saved chain state first.")
@click.pass_context
def chain_command(ctx: click.Context, port: int | None, fresh: bool) -> None:
    """Run the local dev chain (anvil) in the foreground; state survives restarts."""
    from giftcert.chain import Anvil, ChainError

    settings = settings_from(ctx)
    state_file = settings.anvil_state_file
    if fresh:
        state_file.unlink(missing_ok=True)
    anvil = Anvil(port or settings.anvil_port, chain_id=DEV_CHAIN_ID, state_file=state_file)
    try:
        anvil.start()
    except ChainError as exc:
        raise click.ClickException(str(exc)) from None
    _stop_on_signals()
    _print_chain_banner(anvil.rpc_url, state_file)
    try:
        anvil.wait()
        click.echo("anvil exited", err=True)
    except KeyboardInterrupt:
        click.echo("\nstopping anvil (saving state)...")
    finally:
        anvil.stop()
    click.echo(f"stopped; state in {state_file}")


def _stop_on_signals() -> None:
    """SIGINT and SIGTERM both stop cleanly, also when started in the background by a script
    (non-interactive shells start background jobs with SIGINT ignored)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def _print_chain_banner(rpc_url: str, state_file: Path) -> None:
    account = Account.from_key(ANVIL_DEV_KEYS[0])
    click.echo(f"RPC URL:     {rpc_url}")
    click.echo(f"Chain id:    {DEV_CHAIN_ID}")
    click.echo(f"State file:  {state_file}")
    click.echo(f"Dev account: {account.address}")
    click.echo(f"Dev key:     {ANVIL_DEV_KEYS[0]}")
    click.echo("             (a public test key: import it into a browser wallet for this local")
    click.echo("             chain only; never send real funds to its address)")
    click.echo("Ctrl-C to stop.")


if __name__ == "__main__":
    main()
