"""Merchants: SIWE sign-in, dashboard (liability, chart, breakage), redeem, settle, void, CSV."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from giftcert.client import Merchant
from webapp import siwe
from webapp.api.fields import MerchantId, parse
from webapp.errors import ApiError
from webapp.present import date, state
from webapp.sessions import SiweSession
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
    # One node call: every currency's ledger and the block's time (the stats' clock) together.
    ledgers = st.client.merchant_ledgers(merchant.id, st.currencies())
    # Withdraw per currency, disabled at zero (the page waits for the index to reach a mined
    # payment before it reloads, so owed and liability describe the same moment).
    owed = [{**o.to_json(), "currencyId": c.id, "zero": not o.amount}
            for (o, _), c in zip(ledgers, st.currencies(), strict=True)]
    cash_out = [limit for _, limit in ledgers]
    stats = merchant_stats(st, merchant.id)
    return render_template("merchant.html", session=session, merchant=merchant, mine=mine,
                           stats=stats, chart=chart_svg(stats["redemptionsByDay"]),
                           recent=redemptions(st, merchant.id, 20), owed=owed,
                           cash_out=cash_out,
                           currencies=st.currencies(), date=date)


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
        writer.writerow([r["day"], r["certificate"], r["orderRef"], r["amount"]["amount"],
                         r["amount"]["currency"], r["txHash"]])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="redemptions-merchant-{merchant.id}.csv"')
    return response
