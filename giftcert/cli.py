"""The `giftcert` command.

Its own subcommands are here; other packages add theirs through the entry-point group
`giftcert.commands` (the web app's `serve`, declared in pyproject.toml), loaded only when used
or listed, so this module never imports the web app.
"""

from __future__ import annotations

import functools
import json
import signal
import sys
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import FrameType
from typing import Any

import click
import requests
from eth_account import Account
from eth_utils import is_address, to_checksum_address

from giftcert.client import DAY, GiftCert, Refusal, SignedRedemption
from giftcert.config import ANVIL_DEV_KEYS, DEV_CHAIN_ID, ConfigError, Settings, load_settings
from giftcert.demo import run_demo
from giftcert.deploy import Deployment, connect, connect_web3, deploy_system
from giftcert.errors import ContractRevert, GiftCertError
from giftcert.ids import decode_id
from giftcert.indexer import Indexer
from giftcert.money import format_decimal, from_units
from giftcert.rows import check_rows, read_csv_file, valid_rows
from giftcert.rules import indexed_status

ENTRY_POINT_GROUP = "giftcert.commands"
# Subcommands of this package in modules of their own, loaded like the entry points (only when
# run or listed), whatever the installed package metadata declares.
BUILTIN_PLUGINS = {"tab": "giftcert.tab_commands:tab"}


class PluginGroup(click.Group):
    """A group that also offers the commands declared in the entry-point group
    `giftcert.commands` (and `BUILTIN_PLUGINS`), loading each only when it is run or
    listed."""

    def _plugins(self) -> dict[str, EntryPoint]:
        found = {name: EntryPoint(name, value, ENTRY_POINT_GROUP)
                 for name, value in BUILTIN_PLUGINS.items()}
        found.update((ep.name, ep) for ep in entry_points(group=ENTRY_POINT_GROUP))
        return {name: ep for name, ep in found.items() if name not in self.commands}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        entry = self._plugins().get(cmd_name)
        if entry is None:
            return None
        try:
            loaded = entry.load()
        except ImportError as exc:  # e.g. the web app's dependencies are not installed
            return _unavailable(cmd_name, entry, exc)
        if not isinstance(loaded, click.Command):
            return _unavailable(cmd_name, entry, TypeError(f"{entry.value} is not a command"))
        return loaded


def _unavailable(name: str, entry: EntryPoint, exc: Exception) -> click.Command:
    reason = f"{entry.value} could not be loaded ({type(exc).__name__}: {exc})"

    def fail() -> None:
        raise click.ClickException(f"`giftcert {name}` is unavailable: {reason}; reinstall "
                                   "with `make setup` (pip install -e '.[dev]')")

    return click.Command(name, callback=fail, help=f"(unavailable: {reason})",
                         short_help="(unavailable)")


@click.group(cls=PluginGroup)
@click.option("--env-file", type=click.Path(path_type=Path), default=None,
              help="Settings file (default: .env in the project root).")
@click.option("--account", type=click.IntRange(0, 9), default=None,
              help="Act as anvil dev account N (dev chain only). Otherwise GIFTCERT_SIGNER_KEY, "
                   "else the deployer key.")
@click.pass_context
def main(ctx: click.Context, env_file: Path | None, account: int | None) -> None:
    """Tokenized gift certificates: compile, run a local chain, deploy, issue, redeem, index."""
    ctx.obj = {"env_file": env_file, "account": account}


def settings_from(ctx: click.Context) -> Settings:
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
    if sources is None:
        _refresh_packaged_abis(artifacts)


def _refresh_packaged_abis(artifacts: dict[str, Any]) -> None:
    """Keeps giftcert/abi/ (what connecting reads) in step with contracts/, in a checkout."""
    from giftcert.abis import SHIPPED, can_write_abis, write_abis

    if not can_write_abis() or not all(name in artifacts for name in SHIPPED):
        return
    for path in write_abis(artifacts):
        click.echo(f"updated {path.relative_to(path.parent.parent.parent)} (commit it)",
                   err=True)


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


# -- chain-facing commands (deploy, demo, certificates, merchants, index, serve) ----------------
# Every failure a user can cause ends as one line saying what to fix (click.ClickException),
# never a traceback: bad amounts and addresses, unknown ids, wrong network, no deployment.


class Address(click.ParamType):
    name = "address"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if isinstance(value, str) and is_address(value):
            return to_checksum_address(value)
        self.fail(f"{value!r} is not a valid address (0x followed by 40 hex digits)", param, ctx)


class CertificateId(click.ParamType):
    name = "certificate-id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            number = int(str(value), 0)
        except ValueError:
            self.fail(f"{value!r} is not a certificate id (a decimal or 0x number)", param, ctx)
        if not 0 < number < 2**256:
            self.fail(f"{value!r} is out of range for a certificate id", param, ctx)
        return number


ADDRESS = Address()
CERT_ID = CertificateId()


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(fn)


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turns the errors a user can cause into one-line messages (exit status 1)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ContractRevert as exc:
            raise click.ClickException(_revert_message(exc)) from None
        except GiftCertError as exc:
            raise click.ClickException(_first_line(exc)) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise click.ClickException(
                f"no answer from the Ethereum node ({type(exc).__name__}): start it "
                "(`giftcert chain`) or check GIFTCERT_RPC_URL") from None

    return wrapper


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _revert_message(exc: ContractRevert) -> str:
    if exc.error_name == "UnknownCertificate":
        return (f"no certificate {exc.args_by_name.get('id')} on this chain: check the id "
                "(`giftcert list` shows certificates by owner)")
    if exc.error_name == "UnknownRevert" and exc.args_by_name.get("message"):
        return f"the transaction would fail: {_first_line(Exception(exc.args_by_name['message']))}"
    return f"the contract refused: {exc}: {exc.hint}"


def _signer_key(ctx: click.Context, settings: Any) -> str:
    index = (ctx.obj or {}).get("account")
    if index is not None:
        if not settings.is_dev_chain:
            raise click.ClickException("--account works on the dev chain only; set "
                                       "GIFTCERT_SIGNER_KEY for other networks")
        return ANVIL_DEV_KEYS[index]
    return settings.signer_key or settings.deployer_key


def client_from(ctx: click.Context) -> tuple[GiftCert, Deployment]:
    settings = settings_from(ctx)
    return connect(settings, private_key=_signer_key(ctx, settings))


def emit(as_json: bool, data: Any, lines: Iterable[str] = ()) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        for line in lines:
            click.echo(line)


def say_to(as_json: bool) -> Callable[[str], None]:
    """Progress goes to stderr, so --json output stays clean."""
    return lambda message: click.echo(message, err=as_json)


@main.command("deploy")
@click.option("--fresh", is_flag=True, help="Deploy new contracts even if a deployment exists.")
@json_option
@click.pass_context
@friendly
def deploy_command(ctx: click.Context, fresh: bool, as_json: bool) -> None:
    """Deploy the contracts (or reuse deployments/<chain-id>.json)."""
    settings = settings_from(ctx)
    w3 = connect_web3(settings)
    record, created = deploy_system(w3, settings, fresh=fresh, say=say_to(as_json))
    from giftcert.compiler import compile_contracts

    _refresh_packaged_abis(compile_contracts())  # cached: the deploy just compiled
    emit(as_json, {**record.to_json(), "created": created},
         [f"GiftCertificates: {record.gift_certificates}",
          f"Admin module:     {record.admin_module}", f"Renderer:         {record.renderer}",
          f"TestUSD:          {record.test_usd or '-'}", f"Chain id:         {record.chain_id}"])


@main.command("demo")
@json_option
@click.pass_context
@friendly
def demo_command(ctx: click.Context, as_json: bool) -> None:
    """Seed the dev chain: merchants, tUSD for dev accounts, certificates in every state."""
    settings = settings_from(ctx)
    say = say_to(as_json)
    deploy_system(connect_web3(settings), settings, say=say)
    client, _ = connect(settings)
    result = run_demo(client, say=say)
    emit(as_json, result, [f"{k}: {v}" for k, v in result.items() if k != "merchants"])


@main.command("issue")
@click.option("--to", "to", type=ADDRESS, help="Recipient (omit with --claim-link or --csv).")
@click.option("--amount", help="Amount, e.g. 12.50 (in --currency).")
@click.option("--merchant", type=int, required=True, help="Merchant id (`giftcert merchant list`).")
@click.option("--currency", default="tUSD", show_default=True, help="ETH or a token symbol.")
@click.option("--message", default="", help="A note for the recipient.")
@click.option("--valid-days", type=int, default=None,
              help="Days until expiry (default: the contract's minimum plus a day).")
@click.option("--opens-in-days", type=int, default=0, help="Not spendable before this.")
@click.option("--claim-link", is_flag=True, help="Issue to a fresh claim key; print the link.")
@click.option("--csv", "csv_file", type=click.Path(exists=True, dir_okay=False),
              help="Batch: a CSV of recipient,amount rows.")
@json_option
@click.pass_context
@friendly
def issue_command(ctx: click.Context, to: str | None, amount: str | None, merchant: int,
                  currency: str, message: str, valid_days: int | None, opens_in_days: int,
                  claim_link: bool, csv_file: str | None, as_json: bool) -> None:
    """Buy a certificate (or one per CSV row) for a merchant."""
    client, _ = client_from(ctx)
    now = client.now()
    terms: dict[str, Any] = {"valid_from": now + opens_in_days * DAY if opens_in_days else 0}
    if valid_days is not None:
        terms["expiry"] = now + valid_days * DAY
    if csv_file:
        _issue_csv(client, csv_file, merchant, currency, message, terms, as_json)
        return
    if amount is None or (to is None and not claim_link):
        raise click.ClickException("give --amount and --to (or --claim-link, or --csv FILE)")
    if claim_link:
        link = client.issue_claimable(amount, merchant, currency, message=message, **terms)
        emit(as_json, {**link.certificate.to_json(now), "claimLink": link.path},
             [f"issued {link.certificate.id}", f"claim link: {link.path}"])
        return
    assert to is not None  # checked above
    cert = client.issue(to, amount, merchant, currency, message=message, **terms)
    emit(as_json, cert.to_json(now), [f"issued {cert.id}: {cert.balance} for {cert.owner}"])


def _issue_csv(client: GiftCert, path: str, merchant: int, currency: str, message: str,
               terms: dict[str, Any], as_json: bool) -> None:
    checked = valid_rows(check_rows(read_csv_file(path), client.currency(currency)))
    rows = [(r.recipient or "", r.amount) for r in checked]
    bar: Any
    with click.progressbar(length=len(rows), label="issuing", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.update(done - bar.pos)

        ids = client.issue_batch(rows, merchant, currency, message=message, progress=progress,
                                 **terms)
    emit(as_json, [str(i) for i in ids], [f"issued {len(ids)} certificates"] +
         [str(i) for i in ids])


@main.command("show")
@click.argument("certificate_id", type=CERT_ID)
@json_option
@click.pass_context
@friendly
def show_command(ctx: click.Context, certificate_id: int, as_json: bool) -> None:
    """Show one certificate as the chain has it now."""
    client, _ = client_from(ctx)
    cert = client.certificate(certificate_id)
    data = cert.to_json(client.now())
    emit(as_json, data, [f"{k:<14} {v['amount'] + ' ' + v['currency'] if k == 'balance' else v}"
                         for k, v in data.items()])


def _indexer(ctx: click.Context, *, service: bool = False) -> tuple[Indexer, GiftCert]:
    """The index of the recorded deployment. `service` (index --follow): the database and the
    chain are checked by follow(), which retries, instead of here, where an error exits."""
    settings = settings_from(ctx)
    client, record = client_from(ctx)
    Path(settings.state_dir).mkdir(parents=True, exist_ok=True)
    index = Indexer(client.w3, client.contract, settings.database_url, start_block=record.block,
                    chain_id=client.chain_id, check=not service)
    return index, client


@main.command("list")
@click.option("--owner", type=ADDRESS, default=None, help="Default: the acting account.")
@json_option
@click.pass_context
@friendly
def list_command(ctx: click.Context, owner: str | None, as_json: bool) -> None:
    """List an address's certificates (from the index, brought up to date first)."""
    index, client = _indexer(ctx)
    index.try_sync()  # up to date, unless an indexer service is doing that already
    rows = index.certificates_of(owner or client.sender)
    now = client.now()
    data = [_listed(client, r, now) for r in rows]
    emit(as_json, data, [f"{d['id']}  {d['balance']:>14}  merchant {d['merchant']}  "
                         f"{d['status']}" for d in data] or ["no certificates"])


def _listed(client: GiftCert, row: dict[str, Any], now: int) -> dict[str, Any]:
    info = client.currency(row["currency"])
    balance = info.money(int(row["balance"]))
    return {"id": row["id"], "balance": str(balance), "merchant": row["merchant"],
            "expiry": row["expiry"], "status": str(indexed_status(row, now))}


@main.command("redeem")
@click.argument("certificate_id", type=CERT_ID)
@click.option("--amount", required=True, help="Amount to pay, e.g. 4.50.")
@click.option("--order-ref", type=click.IntRange(min=0), required=True,
              help="The merchant's order number (recorded with the payment; `giftcert order` "
                   "looks it up).")
@json_option
@click.pass_context
@friendly
def redeem_command(ctx: click.Context, certificate_id: int, amount: str, order_ref: int,
                   as_json: bool) -> None:
    """Pay --amount from a certificate you hold to its merchant."""
    client, _ = client_from(ctx)
    cert = client.redeem(certificate_id, amount, order_ref)
    emit(as_json, cert.to_json(client.now()), [f"redeemed; balance now {cert.balance}"])


@main.command("sign-redeem")
@click.argument("certificate_id", type=CERT_ID)
@click.option("--amount", required=True, help="Amount the merchant may take, e.g. 4.50.")
@click.option("--order-ref", type=click.IntRange(min=0), required=True)
@click.option("--valid-minutes", type=click.IntRange(min=1), default=60, show_default=True)
@click.pass_context
@friendly
def sign_redeem_command(ctx: click.Context, certificate_id: int, amount: str, order_ref: int,
                        valid_minutes: int) -> None:
    """Print a signed redemption authorisation (JSON) for the merchant to settle.

    It carries the certificate's current nonce, so one authorisation per certificate is usable
    at a time: settling it, signing another one that is settled first, or moving the
    certificate (transfer, split) makes it unusable."""
    client, _ = client_from(ctx)
    signed = client.sign_redemption(certificate_id, amount, order_ref,
                                    valid_for=valid_minutes * 60)
    click.echo(json.dumps(signed.to_json(), indent=2))


@main.command("settle")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@json_option
@click.pass_context
@friendly
def settle_command(ctx: click.Context, file: str, as_json: bool) -> None:
    """Submit signed authorisations (a JSON object or list, as sign-redeem prints) in one batch.

    Every valid authorisation is settled; each refused one is reported with its position in
    FILE (from 0), its certificate and why (e.g. already used or replaced, not enough balance,
    past its deadline). When none would settle, nothing is sent (no gas is spent).

    Exit status: 0 when at least one was settled (even if others were refused); 1 when nothing
    was settled because every authorisation was refused (or FILE is unusable)."""
    try:
        data = json.loads(Path(file).read_text())
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise click.ClickException(f"{file} is not JSON: {exc}") from None
    signed = [SignedRedemption.from_json(d) for d in (data if isinstance(data, list) else [data])]
    if not signed:
        raise click.ClickException(f"{file} holds no authorisations")
    merchants = {s.merchant for s in signed}
    if len(merchants) != 1:
        raise click.ClickException("all authorisations in FILE must be for one merchant")
    merchant = merchants.pop()
    client, _ = client_from(ctx)
    tx, settled, refused = None, 0, _refused_if_none_settles(client, merchant, signed)
    if not refused:
        settlement = client.settle_batch(merchant, signed)
        tx = settlement.receipt["transactionHash"].hex()
        settled, refused = len(settlement.settled), settlement.refused
    words = [_refusal_words(client, r) for r in refused]
    data = {"settled": settled, "refused": [{**r.to_json(), "message": w}
                                            for r, w in zip(refused, words, strict=True)],
            "total": len(signed), "tx": tx}
    head = (f"settled {settled} of {len(signed)} in {tx}" if tx else
            f"settled 0 of {len(signed)}: nothing sent")
    emit(as_json, data, [head] + [f"  refused #{r.index} (certificate {r.certificate}): {w}"
                                  for r, w in zip(refused, words, strict=True)])
    if settled == 0:
        reasons = ", ".join(sorted({r.reason.error_name for r in refused}))
        raise click.ClickException(f"nothing settled: {len(refused)} of {len(signed)} "
                                   f"authorisations refused ({reasons})")


def _refused_if_none_settles(client: GiftCert, merchant: int,
                             signed: list[SignedRedemption]) -> list[Refusal]:
    """Simulates the batch; when not one authorisation would settle, each one's reason (every
    item then meets the chain as it is now, so simulating it alone gives its reason)."""
    if client.calls.settle_batch(merchant, signed).simulate() > 0:
        return []
    refused = []
    for i, s in enumerate(signed):
        try:
            client.calls.settle_batch(merchant, [s], all_or_nothing=True).simulate()
        except ContractRevert as exc:
            refused.append(Refusal(i, s.certificate, exc))
    return refused


def _refusal_words(client: GiftCert, refusal: Refusal) -> str:
    """Why an authorisation was refused, for the merchant at the till: the error's own hint
    (the SDK's words, as the site shows them), with amounts in money where it carries them."""
    reason, args = refusal.reason, refusal.reason.args_by_name
    if reason.error_name != "InsufficientBalance":
        return f"{reason.error_name}: {reason.hint}"

    def money(units: Any) -> str:
        try:
            return str(from_units(int(units), client.currency(decode_id(refusal.certificate)
                                                              .currency)))
        except GiftCertError:
            return f"{units} units"

    return (f"{reason.error_name}: the certificate holds {money(args.get('balance', 0))}, "
            f"less than the {money(args.get('needed', 0))} asked")


@main.command("order")
@click.argument("order_ref", type=click.IntRange(min=0))
@click.option("--merchant", type=int, required=True, help="Merchant id.")
@json_option
@click.pass_context
@friendly
def order_command(ctx: click.Context, order_ref: int, merchant: int, as_json: bool) -> None:
    """Was ORDER_REF paid? The payments to --merchant carrying that order reference, from the
    index (brought up to date first): the contract keeps no record of order references."""
    index, client = _indexer(ctx)
    index.try_sync()  # up to date, unless an indexer service is doing that already
    rows = index.order_redemptions(merchant, order_ref)
    paid = []
    for r in rows:
        amount = from_units(int(r["amount"]), client.currency(r["currency"]))
        paid.append({"certificate": r["certificate"], "amount": amount.to_json(),
                     "block": r["block"], "tx": r["tx_hash"], "timestamp": r["timestamp"],
                     "shown": str(amount)})
    lines = ([f"order {order_ref} at merchant {merchant}: paid in {len(paid)} "
              f"payment{'s' if len(paid) != 1 else ''}"]
             + [f"  {p['shown']} from certificate {p['certificate']} (block {p['block']})"
                for p in paid]) if paid else [f"order {order_ref} at merchant {merchant}: "
                                              "no payment found"]
    emit(as_json, {"merchant": merchant, "orderRef": str(order_ref), "paid": bool(paid),
                   "payments": [{k: v for k, v in p.items() if k != "shown"} for p in paid]},
         lines)


@main.command("refund")
@click.argument("certificate_id", type=CERT_ID)
@click.option("--buyer", type=ADDRESS, default=None, help="Default: the acting account.")
@json_option
@click.pass_context
@friendly
def refund_command(ctx: click.Context, certificate_id: int, buyer: str | None,
                   as_json: bool) -> None:
    """Return an expired certificate's balance to its buyer."""
    client, _ = client_from(ctx)
    amount = client.refund(certificate_id, buyer)
    emit(as_json, {"refunded": amount.to_json()}, [f"refunded {amount}"])


@main.command("refund-expired")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="At most this many certificates per run.")
@click.option("--dry-run", is_flag=True, help="List what would be refunded; send nothing.")
@json_option
@click.pass_context
@friendly
def refund_expired_command(ctx: click.Context, limit: int, dry_run: bool,
                           as_json: bool) -> None:
    """Return what is left on expired certificates to their givers (anyone may send this; the
    acting account pays the gas, the value goes to each certificate's buyer)."""
    index, client = _indexer(ctx)
    say = say_to(as_json)
    index.try_sync()  # up to date, unless an indexer service is doing that already
    due = index.expired_with_balance(client.now(), limit)
    refunded: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    totals: dict[str, Decimal] = {}
    for n, row in enumerate(due, 1):
        cert_id, buyer = int(row["id"]), row["buyer"]
        if dry_run:
            refunded.append({"id": str(cert_id), "buyer": buyer})
            continue
        try:
            amount = client.refund(cert_id, buyer)
        except ContractRevert as exc:  # e.g. refunded by someone else since the last index
            failed.append({"id": str(cert_id), "error": str(exc)})
            continue
        refunded.append({"id": str(cert_id), "buyer": buyer, "amount": amount.to_json()})
        totals[amount.currency] = totals.get(amount.currency, Decimal(0)) + amount.amount
        say(f"  {n}/{len(due)} refunded {amount} to {buyer}")
    summary = ", ".join(f"{format_decimal(v)} {k}" for k, v in totals.items()) or "nothing"
    lines = (["nothing to refund: no expired certificate holds a balance"] if not due else
             [f"would refund {len(due)} certificates"] if dry_run else
             [f"refunded {len(refunded)} certificates ({summary}); {len(failed)} failed"])
    emit(as_json, {"refunded": refunded, "failed": failed, "dryRun": dry_run}, lines +
         [f"  {f['id']}: {f['error']}" for f in failed])


@main.group("merchant")
def merchant_group() -> None:
    """Merchant administration."""


@merchant_group.command("add")
@click.argument("name")
@click.argument("account", type=ADDRESS)
@json_option
@click.pass_context
@friendly
def merchant_add(ctx: click.Context, name: str, account: str, as_json: bool) -> None:
    """Register merchant NAME paid to ACCOUNT (registrar role)."""
    client, _ = client_from(ctx)
    merchant = client.register_merchant(account, name)
    emit(as_json, merchant.to_json(), [f"registered {merchant.name} as merchant {merchant.id}"])


@merchant_group.command("list")
@json_option
@click.pass_context
@friendly
def merchant_list(ctx: click.Context, as_json: bool) -> None:
    """List registered merchants."""
    client, _ = client_from(ctx)
    merchants = client.merchants()
    emit(as_json, [m.to_json() for m in merchants],
         [f"{m.id:>3}  {'active' if m.active else 'inactive':<8}  {m.account}  {m.name}"
          for m in merchants] or ["no merchants"])


@main.command("index")
@click.option("--follow", is_flag=True, help="Keep following new blocks (Ctrl-C stops).")
@click.option("--poll", type=float, default=1.0, show_default=True, help="Seconds between polls.")
@json_option
@click.pass_context
@friendly
def index_command(ctx: click.Context, follow: bool, poll: float, as_json: bool) -> None:
    """Index contract events into the database (GIFTCERT_DATABASE_URL)."""
    index, _ = _indexer(ctx, service=follow)
    say = say_to(as_json)

    def progress(block: int, head: int, events: int) -> None:
        say(f"indexed to block {block}/{head} ({events} events)")

    started = time.perf_counter()
    count = 0
    if follow:  # the service: waits for the writer lock, retries every error, never exits
        _stop_on_signals()
        try:
            index.follow(poll, progress=progress)
        except KeyboardInterrupt:
            say("stopped")
    else:
        count = index.sync(progress=progress)
    cursor = index.cursor()
    emit(as_json, {"events": count, "block": cursor[0] if cursor else None, **index.counts()},
         [f"{count} new events in {time.perf_counter() - started:.2f} s; "
          f"at block {cursor[0] if cursor else '-'}"])


def run_subcommand(name: str, argv: list[str] | None = None) -> int:
    """Runs `giftcert <name> [argv]` in-process and returns its exit code: how the scripts in
    scripts/ work both as plain Python and under `ape run` (which calls their main())."""
    code = 0
    try:
        main.main(args=[name, *(argv or [])], prog_name=f"{name}.py", standalone_mode=True)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code


if __name__ == "__main__":
    main()
