"""`giftcert tab ...`: payment tabs (issue 17) from the command line.

The holder opens a tab (`open`, or `issue` to buy a certificate with one open), signs running
totals and leaves (`sign`, `request-close`, `close`); the merchant checks a voucher before
serving and keeps it (`verify --keep`), settles one or many (`settle`), closes at once or signs
a release (`close`, `release`) and runs the keeper (`keep`), which settles the stored vouchers
that are due. Vouchers are kept in the
database of GIFTCERT_DATABASE_URL (table tab_vouchers), which the site's workers share.

Loaded by giftcert/cli.py when used; every error a user can cause is one line.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from giftcert.cli import (
    ADDRESS,
    CERT_ID,
    _refusal_words,
    client_from,
    emit,
    friendly,
    json_option,
    say_to,
    settings_from,
)
from giftcert.client import GiftCert
from giftcert.database import open_engine, prepare_schema
from giftcert.errors import InvalidInput
from giftcert.money import Money, from_units, parse_decimal
from giftcert.rules import DAY
from giftcert.tabs import (
    MIN_SECONDS_LEFT,
    SignedVoucher,
    Tab,
    TabKeeper,
    check_voucher,
    decode_voucher,
    sign_tab_release,
    sign_voucher,
)
from giftcert.vouchers import VoucherStore


@click.group("tab")
def tab() -> None:
    """Payment tabs: open, sign running totals, verify, settle, close, keep."""


def _store(ctx: click.Context) -> VoucherStore:
    """The voucher store in GIFTCERT_DATABASE_URL (a SQLite file is migrated on first use; a
    PostgreSQL database must be at the newest revision: `giftcert db upgrade`)."""
    settings = settings_from(ctx)
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.state_dir).mkdir(parents=True, exist_ok=True)
    engine = open_engine(settings.database_url)
    prepare_schema(engine)
    return VoucherStore(engine)


def _tab_lines(t: Tab) -> list[str]:
    state = "open" if t.open else "not open"
    lines = [f"tab on {t.certificate}: {state}, epoch {t.epoch}, balance {t.balance}",
             f"  signer {t.signer}; settle until {t.settle_until}"]
    if t.close_requested:
        lines.append(f"  close requested: closes at {t.close_at}")
    return lines


def _voucher_arg(client: GiftCert, raw: str) -> SignedVoucher:
    """A voucher from its text or JSON, or `@FILE` holding either."""
    if raw.startswith("@"):
        try:
            raw = Path(raw[1:]).read_text().strip()
        except OSError as exc:
            raise InvalidInput(f"cannot read {raw[1:]}: {exc.strerror or exc}",
                               "voucher") from None
    return decode_voucher(raw, chain_id=client.chain_id, contract=client.address)


def _vouchers_in(client: GiftCert, path: str) -> list[SignedVoucher]:
    """Vouchers in a file: a JSON list (or one object), or one text per line."""
    try:
        text = Path(path).read_text().strip()
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None
    if text.startswith("["):
        try:
            items: list[Any] = json.loads(text)
        except ValueError as exc:
            raise click.ClickException(f"{path} is not JSON: {exc}") from None
    elif text.startswith("{"):
        items = [text]
    else:
        items = [line.strip() for line in text.splitlines() if line.strip()]
    found = []
    for n, item in enumerate(items):
        try:
            found.append(decode_voucher(item, chain_id=client.chain_id,
                                        contract=client.address))
        except InvalidInput as exc:
            raise click.ClickException(f"{path}, voucher #{n}: {exc.message}") from None
    return found


@tab.command("show")
@click.argument("certificate_id", type=CERT_ID)
@json_option
@click.pass_context
@friendly
def show_command(ctx: click.Context, certificate_id: int, as_json: bool) -> None:
    """Show a certificate's tab as the chain has it now."""
    client, _ = client_from(ctx)
    t = client.tab(certificate_id)
    emit(as_json, t.to_json(), _tab_lines(t))


@tab.command("open")
@click.argument("certificate_id", type=CERT_ID)
@click.option("--session-key", type=ADDRESS, default=None,
              help="An address whose key signs the vouchers (default: the holder's own).")
@json_option
@click.pass_context
@friendly
def open_command(ctx: click.Context, certificate_id: int, session_key: str | None,
                 as_json: bool) -> None:
    """Open a payment tab on a certificate you hold, at its merchant. Until it closes, its
    value leaves only by the merchant's settle of your latest voucher."""
    client, _ = client_from(ctx)
    t = client.open_tab(certificate_id, session_key)
    emit(as_json, t.to_json(), [f"opened a tab on {certificate_id} (epoch {t.epoch}); "
                                f"vouchers are signed by {t.signer}"])


@tab.command("issue")
@click.option("--amount", required=True, help="Amount, e.g. 20 (in --currency).")
@click.option("--merchant", type=int, required=True, help="Merchant id (`giftcert merchant list`).")
@click.option("--currency", default="tUSD", show_default=True, help="ETH or a token symbol.")
@click.option("--session-key", type=ADDRESS, default=None,
              help="An address whose key signs the vouchers (default: your own).")
@click.option("--message", default="", help="A note kept in the Issued event.")
@click.option("--valid-days", type=int, default=None,
              help="Days until expiry (default: the contract's minimum plus a day).")
@json_option
@click.pass_context
@friendly
def issue_command(ctx: click.Context, amount: str, merchant: int, currency: str,
                  session_key: str | None, message: str, valid_days: int | None,
                  as_json: bool) -> None:
    """Buy yourself a certificate with a payment tab already open at the merchant: `giftcert
    issue` to your own address and `tab open` in one transaction (the certificate is always
    the buyer's own)."""
    client, _ = client_from(ctx)
    terms: dict[str, Any] = {}
    if valid_days is not None:
        terms["expiry"] = client.now() + valid_days * DAY
    t = client.issue_with_tab(amount, merchant, currency, session_key=session_key,
                              message=message, **terms)
    emit(as_json, t.to_json(), [f"issued {t.certificate} with a tab open (epoch {t.epoch}): "
                                f"{t.balance}; vouchers are signed by {t.signer}"])


@tab.command("request-close")
@click.argument("certificate_id", type=CERT_ID)
@json_option
@click.pass_context
@friendly
def request_close_command(ctx: click.Context, certificate_id: int, as_json: bool) -> None:
    """Ask to close your tab: the merchant has two days to settle, then `tab close` closes."""
    client, _ = client_from(ctx)
    t = client.request_tab_close(certificate_id)
    emit(as_json, t.to_json(), [f"close requested: `giftcert tab close {certificate_id}` "
                                f"works from {t.close_at}"])


@tab.command("close")
@click.argument("certificate_id", type=CERT_ID)
@click.option("--release", default=None,
              help="The merchant's TabRelease signature (0x hex, `tab release` prints it): "
                   "the holder closes at once.")
@json_option
@click.pass_context
@friendly
def close_command(ctx: click.Context, certificate_id: int, release: str | None,
                  as_json: bool) -> None:
    """Close a tab: the merchant at once; the holder after the close delay, or at once with
    the merchant's --release."""
    client, _ = client_from(ctx)
    t = (client.close_tab_with_release(certificate_id, release) if release
         else client.close_tab(certificate_id))
    emit(as_json, t.to_json(), [f"closed the tab on {certificate_id} (epoch now {t.epoch})"])


@tab.command("release")
@click.argument("certificate_id", type=CERT_ID)
@click.pass_context
@friendly
def release_command(ctx: click.Context, certificate_id: int) -> None:
    """(Merchant) print a TabRelease signature letting the holder close the tab at once."""
    client, _ = client_from(ctx)
    click.echo("0x" + sign_tab_release(client, certificate_id).hex())


@tab.command("sign")
@click.argument("certificate_id", type=CERT_ID)
@click.option("--total", required=True,
              help="The running total of this epoch (everything bought since the last "
                   "settle), e.g. 5.50.")
@click.option("--epoch", type=click.IntRange(min=0), default=None,
              help="Default: the tab's current epoch.")
@json_option
@click.pass_context
@friendly
def sign_command(ctx: click.Context, certificate_id: int, total: str, epoch: int | None,
                 as_json: bool) -> None:
    """Print a signed voucher (the gt1: text the till's QR code carries, or JSON)."""
    client, _ = client_from(ctx)
    voucher = sign_voucher(client, certificate_id, total, epoch=epoch)
    if as_json:
        click.echo(json.dumps(voucher.to_json(), indent=2))
    else:
        click.echo(voucher.to_text())


@tab.command("verify")
@click.argument("voucher")
@click.option("--previous", default=None,
              help="The running total served before (default: the stored voucher's, with "
                   "--keep; else 0).")
@click.option("--min-minutes", type=click.IntRange(min=0), default=MIN_SECONDS_LEFT // 60,
              show_default=True, help="Time that must be left to settle the tab.")
@click.option("--merchant", type=int, default=None,
              help="The merchant serving (default: the certificate's).")
@click.option("--keep", is_flag=True,
              help="Store it as the tab's latest voucher when it passes (for `tab keep`).")
@json_option
@click.pass_context
@friendly
def verify_command(ctx: click.Context, voucher: str, previous: str | None, min_minutes: int,
                   merchant: int | None, keep: bool, as_json: bool) -> None:
    """Check VOUCHER (its text, JSON or @FILE) before serving: the tab is open, not closing
    soon, the voucher of its epoch, not below the previous total nor above the balance, and
    signed by the tab's signer. Exit status 1 when it is refused."""
    client, _ = client_from(ctx)
    signed = _voucher_arg(client, voucher)
    store = _store(ctx) if keep else None
    before: Any = None
    if previous is not None:
        before = Money(parse_decimal(previous), client.currency(signed.currency_id).symbol)
    elif store is not None:
        before = store.latest(signed.certificate)
    checked = check_voucher(client, signed, previous_total=before,
                            min_seconds_left=min_minutes * 60, merchant_id=merchant)
    kept = bool(store is not None and checked.ok and store.keep(checked))
    data = {**checked.to_json(), "kept": kept}
    if not checked.ok:
        assert checked.refusal is not None
        emit(as_json, data)
        raise click.ClickException(f"refused: {checked.refusal.error_name}: "
                                   f"{checked.refusal.hint}")
    emit(as_json, data, [f"ok: total {checked.total}, this purchase {checked.increase}"
                         + ("; kept" if kept else "")])


@tab.command("settle")
@click.argument("vouchers", nargs=-1)
@click.option("--file", "file", type=click.Path(dir_okay=False), default=None,
              help="Vouchers in a file: a JSON list, or one gt1: text per line.")
@click.option("--stored", is_flag=True, help="Every voucher the store keeps for --merchant.")
@click.option("--merchant", type=int, required=True, help="The merchant id (you act as it).")
@json_option
@click.pass_context
@friendly
def settle_command(ctx: click.Context, vouchers: tuple[str, ...], file: str | None,
                   stored: bool, merchant: int, as_json: bool) -> None:
    """Collect tab vouchers (texts or JSON, @FILE each) in one transaction. Every valid one
    settles; each refused one is reported with its position and why. When none would settle,
    nothing is sent. Exit status 1 when nothing settled."""
    client, _ = client_from(ctx)
    items = [_voucher_arg(client, v) for v in vouchers]
    if file:
        items += _vouchers_in(client, file)
    store = _store(ctx) if stored else None
    if store is not None:
        items += [s.voucher for s in store.open_tabs(merchant)]
    if not items:
        raise click.ClickException("no vouchers: give them as arguments, --file or --stored")
    call = client.calls.settle_tabs(merchant, items)
    if call.simulate() == 0:
        words = []
        for i, v in enumerate(items):
            refusal = check_voucher(client, v, min_seconds_left=0,
                                    merchant_id=merchant).refusal
            words.append(f"#{i} ({v.certificate}): "
                         f"{refusal.error_name if refusal else 'refused'}")
        raise click.ClickException(f"nothing settled: every voucher would be refused "
                                   f"({'; '.join(words)})")
    outcome = call.send()
    if store is not None:
        for v in outcome.settled:
            store.remove(v)
    lines = [f"settled {len(outcome.settled)} of {len(items)} in {outcome.tx_hash}"]
    for r in outcome.refused:
        lines.append(f"  refused #{r.index} (certificate {r.certificate}): "
                     f"{_refusal_words(client, r)}")
    emit(as_json, outcome.to_json(), lines)


def _threshold(client: GiftCert, text: str) -> tuple[int, Money]:
    parts = text.split()
    if len(parts) != 2:
        raise click.BadParameter(f"{text!r}: write the amount and the currency, e.g. '10 tUSD'",
                                 param_hint="--threshold")
    info = client.currency(parts[1])
    return info.id, from_units(info.units(parts[0]), info)


@tab.command("keep")
@click.option("--merchant", type=int, required=True, help="The merchant id (you act as it).")
@click.option("--threshold", "thresholds", multiple=True,
              help="Settle a tab once its unsettled total reaches this, e.g. '10 tUSD' "
                   "(repeat per currency; a currency not named settles by time only).")
@click.option("--margin-hours", type=click.IntRange(min=0), default=24, show_default=True,
              help="Settle a tab this long before its settle window ends.")
@click.option("--follow", is_flag=True, help="Keep running (Ctrl-C stops).")
@click.option("--poll", type=float, default=60.0, show_default=True,
              help="Seconds between runs with --follow.")
@json_option
@click.pass_context
@friendly
def keep_command(ctx: click.Context, merchant: int, thresholds: tuple[str, ...],
                 margin_hours: int, follow: bool, poll: float, as_json: bool) -> None:
    """Settle the stored vouchers that are due, in one batch: over a threshold, their holder
    asked to close, or their settle window ending within the margin. Settled and void
    vouchers are removed, so running it again sends nothing new."""
    client, _ = client_from(ctx)
    limits: dict[int | str, Money | Decimal | str] = dict(_threshold(client, t)
                                                          for t in thresholds)
    keeper = TabKeeper(client, _store(ctx), merchant, thresholds=limits,
                       margin=margin_hours * 3600)
    if follow:
        try:
            keeper.follow(poll, say=say_to(as_json))
        except KeyboardInterrupt:
            say_to(as_json)("stopped")
        return
    report = keeper.run()
    lines = [f"settled {len(report.settled)} tab{'s' if len(report.settled) != 1 else ''}"
             + (f" in {', '.join(report.transactions)}" if report.transactions else
                ": nothing due")
             + f"; {len(report.waiting)} waiting, {len(report.forgotten)} forgotten, "
               f"{len(report.refused)} refused, {len(report.held)} held"]
    lines += [f"  forgot {v.certificate}: {why}" for v, why in report.forgotten]
    lines += [f"  held {v.certificate}: {r.error_name}: {r.hint}" for v, r in report.held]
    emit(as_json, report.to_json(), lines)
