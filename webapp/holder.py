"""Holders: claim a link, my certificates, one certificate (history, re-gift, top-up, merge,
cash-out, its payment tab), pay, pay on a tab (the till)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from giftcert.client import Certificate
from giftcert.money import ETH, format_decimal
from giftcert.rules import can_merge
from webapp.api.fields import Address, Amount, MerchantId, Uint, parse, units
from webapp.api.lookups import certificate_or_none, currency_arg, live_certificate, merchant_arg
from webapp.api.tabs import tab_view
from webapp.present import (
    activity,
    chain_cert,
    date,
    date_time,
    gift_story,
    indexed_cert,
    resolve_certificate,
    state,
    status_of,
)
from webapp.state import AppState

bp = Blueprint("holder", __name__)
_ORDER_REF = Annotated[int, Uint(1)]


@bp.get("/claim/<cert>")
def claim(cert: str) -> ResponseReturnValue:
    st = state()
    cert_id = resolve_certificate(cert)
    found = certificate_or_none(cert_id)
    problem = None
    now = st.client.now()
    if found is None:
        problem = "This gift link is not valid: no such gift (or it was taken back)."
    elif not found.awaiting_claim:
        problem = "This gift has already been claimed."
    elif now >= found.expiry:
        problem = "This gift has expired."
    elif now > found.claim_deadline:
        problem = (f"The claim window closed on {date_time(found.claim_deadline)}: the gift can no "
                   "longer be claimed, and the giver may take it back.")
    elif st.policy()["paused"]:
        problem = "Claims are stopped for now (the contract is paused): try again later."
    return render_template("claim.html", cert=chain_cert(found) if found else None,
                           cert_id=str(cert_id), problem=problem, date=date,
                           story=gift_story(st, cert_id) if found else None)


@bp.get("/my")
def my() -> ResponseReturnValue:
    return render_template("my.html")


@bp.get("/holder/<holder>")
def holder(holder: str) -> ResponseReturnValue:
    st = state()
    account = parse(Address, holder, "holder")
    now = st.client.now()  # the chain's clock decides expiry, not the server's
    rows = [indexed_cert(st, r, now) for r in st.indexer.certificates_of(account)]
    return render_template("holder.html", holder=account, certs=rows, totals=totals(rows),
                           date=date)


def totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a holder has per currency (gifts not yet claimed, expired or closed left out),
    and how much of it can be spent today (a gift that opens later counts, but not yet)."""
    out: dict[str, dict[str, Any]] = {}
    for c in rows:
        if c["status"] not in ("active", "not-yet-valid"):
            continue
        t = out.setdefault(c["currency"], {"currency": c["currency"], "total": Decimal(0),
                                           "spendable": Decimal(0), "count": 0})
        t["total"] += Decimal(c["balance"]["amount"])
        t["count"] += 1
        if c["status"] == "active":
            t["spendable"] += Decimal(c["balance"]["amount"])
    return [{"currency": t["currency"], "amount": format_decimal(t["total"]),
             "ready": format_decimal(t["spendable"]), "count": t["count"]}
            for t in out.values()]


def _cert(cert: str) -> Certificate:
    return live_certificate(resolve_certificate(cert))


def cash_out(st: AppState, found: Certificate, status: str) -> dict[str, Any] | None:
    """The contract's `cashOut` rule: the certificate is spendable, the contract not paused,
    and 0 < balance <= the merchant's cash-out limit in its currency. None when the merchant
    allows no cash-out there (limit 0) or the certificate cannot be spent anyway; otherwise
    {limit, why}, where `why` says what stops it (None: the form can be sent)."""
    if status != "active" or not found.balance.amount:
        return None
    limit = st.client.cash_out_limit(found.merchant, found.currency.id)
    if not limit.amount:
        return None
    why = None
    if found.balance.amount > limit.amount:
        why = (f"{found.merchant_name or 'The merchant'} lets holders cash out balances of up "
               f"to {limit}; this one holds {found.balance}.")
    elif st.policy()["paused"]:
        why = "Cash-out is stopped while the contract is paused."
    return {"limit": limit.to_json(), "why": why}


def merge_targets(st: AppState, found: Certificate, now: int) -> list[dict[str, Any]]:
    """The holder's other spendable certificates (from the index) this one can merge into."""
    return [indexed_cert(st, row, now) for row in st.indexer.certificates_of(found.owner)
            if status_of(row, now) == "active" and can_merge(found.id, int(row["id"]))]


@bp.get("/certificates/<cert>")
def certificate(cert: str) -> ResponseReturnValue:
    st = state()
    found = _cert(cert)
    now = st.client.now()  # the chain's clock, as the contract judges
    status = found.status(now)
    # The mint's own transfer repeats "Bought": a person's history leaves it out.
    history = [activity(st, e, found.currency) for e in st.indexer.history(found.id)
               if not (e["event"] == "TransferSingle"
                       and int(str(e["args"].get("from", "0x0")), 16) == 0)]
    tab = tab_view(found).to_json(now) if status in ("active", "expired") else None
    # While a tab is open the gift pays only on the tab: the other ways out are not offered.
    active = status == "active" and not (tab and tab["open"])
    return render_template("certificate.html", cert=chain_cert(found, now), history=history,
                           claimed=request.args.get("claimed") == "1",
                           cash_out=cash_out(st, found, status) if active else None,
                           merge_into=merge_targets(st, found, now) if active else None,
                           tab=tab, can_move=active, date=date)


@bp.get("/pay")
def pay_request() -> ResponseReturnValue:
    """A merchant's payment request (its link or QR code): the holder's page then offers the
    certificates at that merchant that can pay it, each opening its pay page filled in."""
    args = request.args
    merchant = merchant_arg(parse(MerchantId, args.get("merchant"), "merchant"))
    info = currency_arg(args.get("currency")) if args.get("currency") else None
    amount = args.get("amount", "")
    if amount:  # ETH's 18 decimals: any sensible amount without a currency
        units(parse(Amount, amount, "amount"), info or ETH)
    ref = args.get("ref", "")
    if ref:
        parse(_ORDER_REF, ref, "ref")
    return render_template("pay_request.html", merchant=merchant, currency=info, amount=amount,
                           ref=ref)


@bp.get("/tab/<cert>")
def till(cert: str) -> ResponseReturnValue:
    """Paying on a tab, at the till: each purchase raises the running total the holder signs
    (no network fee); the code shows the purchase and the new total."""
    st = state()
    found = _cert(cert)
    now = st.client.now()
    return render_template("tab.html", cert=chain_cert(found, now),
                           tab=tab_view(found).to_json(now),
                           amount=request.args.get("amount", ""), date=date)


@bp.get("/pay/<cert>")
def pay(cert: str) -> ResponseReturnValue:
    found = _cert(cert)
    amount = request.args.get("amount", "")
    ref = request.args.get("ref", "")
    # A gift with a tab open pays on the tab only (a signed payment would be refused).
    tab_open = state().client.tab(found.id).open
    return render_template("pay.html", cert=chain_cert(found), amount=amount, ref=ref,
                           tab_open=tab_open, date=date)
