"""Merchants: SIWE sign-in, dashboard (liability, chart, breakage), redeem, settle, void, CSV."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from giftcert.client import Merchant
from giftcert.errors import NodeError, NodeUnreachable
from giftcert.money import CurrencyInfo, Money, from_units
from giftcert.multicall import ChainClock
from webapp import siwe
from webapp.api.fields import MerchantId, parse
from webapp.api.tabs import merchant_tabs
from webapp.errors import ApiError
from webapp.present import date, state
from webapp.sessions import SiweSession
from webapp.state import AppState
from webapp.stats import chart_svg, merchant_stats, redemptions

bp = Blueprint("merchant", __name__, url_prefix="/merchant")


def _signed_in() -> SiweSession | None:
    return state().siwe.session(siwe.session_id())


def _merchant_for(session: SiweSession) -> tuple[Merchant | None, list[Merchant]]:
    mine = state().merchants_of(session.address)
    if not mine:
        return None, mine
    wanted = request.args.get("merchant")
    if wanted:
        mid = parse(MerchantId, wanted, "merchant")
        chosen = next((m for m in mine if m.id == mid), None)
        if chosen is None:
            raise ApiError(403, "you are not signed in as that merchant", "merchant")
        return chosen, mine
    return mine[0], mine


@bp.get("/login")
def login() -> ResponseReturnValue:
    return render_template("merchant_login.html", session=_signed_in())


@bp.get("/")
def dashboard() -> ResponseReturnValue:
    session = _signed_in()
    if session is None:
        return redirect(url_for("merchant.login"))
    merchant, mine = _merchant_for(session)
    if merchant is None:
        return render_template("merchant_none.html", session=session), 403
    st = state()
    ledgers, stats = desk_figures(st, merchant.id)
    # Withdraw per currency, disabled at zero.
    owed = [{**o.to_json(), "currencyId": c.id, "zero": not o.amount}
            for (o, _), c in zip(ledgers, st.currencies(), strict=True)]
    cash_out = [limit for _, limit in ledgers]
    # Every figure in every currency, with its unit (0.00 tUSD, not a bare 0.00).
    figures = {key: every_currency(stats[key], st.currencies())
               for key in ("liability", "expiredUnrefunded", "refunded", "voided")}
    return render_template("merchant.html", session=session, merchant=merchant, mine=mine,
                           stats=stats, figures=figures, chart=chart_svg(stats["redemptionsByDay"]),
                           recent=redemptions(st, merchant.id, 20), owed=owed,
                           cash_out=cash_out, tabs=merchant_tabs(merchant.id),
                           currencies=st.currencies(), date=date)


def every_currency(amounts: list[dict[str, str]], currencies: list[CurrencyInfo]
                   ) -> list[dict[str, str]]:
    """One amount per currency (the stats leave zeros out), in the currencies' order."""
    by_symbol = {a["currency"]: a for a in amounts}
    listed = [by_symbol.pop(c.symbol) if c.symbol in by_symbol else from_units(0, c).to_json()
              for c in currencies]
    return listed + list(by_symbol.values())


def desk_figures(st: AppState, merchant: int) -> tuple[list[tuple[Money, Money]], dict[str, Any]]:
    """The desk's ledgers (owed, cash-out limit per currency) and index figures (liability,
    expired, chart), all as of one block: the index's. The chain is read at the block the index
    has reached (one node call, which also gives that block's time, the clock expiry is judged
    by), so a redemption the index has not seen yet is neither owed nor out of the liability,
    and the two never count the same value twice or not at all. The index moving meanwhile
    starts over."""
    currencies = st.currencies()
    for _ in range(3):
        st.ensure_index()
        cursor = st.indexer.cursor()
        block: int | str = "latest" if cursor is None else cursor[0]
        seen = ChainClock(ttl=math.inf)  # learns the read block's number and time
        try:
            ledgers = st.client.merchant_ledgers(merchant, currencies, block=block, clock=seen)
        except NodeUnreachable:
            raise
        except NodeError:  # the node no longer (or not yet) has that block: the head then
            ledgers = st.client.merchant_ledgers(merchant, currencies, clock=seen)
        at = seen.fresh()
        stats = merchant_stats(st, merchant, now=None if at is None else at[1])
        if st.indexer.cursor() == cursor:
            break
    return ledgers, stats


@bp.get("/export.csv")
def export() -> ResponseReturnValue:
    session = _signed_in()
    if session is None:
        raise ApiError(401, "sign in first", None)
    merchant, _ = _merchant_for(session)
    if merchant is None:
        raise ApiError(403, "this account is not a merchant", None)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "certificate", "order_ref", "amount", "currency", "tx_hash"])
    for r in redemptions(state(), merchant.id):
        writer.writerow([r["day"], r["certificate"], "tab" if r["tab"] else r["orderRef"],
                         r["amount"]["amount"],
                         r["amount"]["currency"], r["txHash"]])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="redemptions-merchant-{merchant.id}.csv"')
    return response
