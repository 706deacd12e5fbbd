"""Holders: claim a link, my certificates, one certificate (history, re-gift, top-up), pay."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from giftcert.errors import ContractRevert
from webapp import validate as v
from webapp.api import load_certificate
from webapp.present import activity, chain_cert, date, indexed_cert, state
from webapp.validate import ApiError

bp = Blueprint("holder", __name__)


@bp.get("/claim/<cert>")
def claim(cert: str):
    st = state()
    cert_id = v.certificate_id(cert)
    try:
        found = st.client.certificate(cert_id)
    except ContractRevert:
        found = None
    problem = None
    now = st.client.now()
    if found is None or not found.exists:
        problem = "This gift link is not valid: no such gift (or it was taken back)."
    elif not found.awaiting_claim:
        problem = "This gift has already been claimed."
    elif now >= found.expiry:
        problem = "This gift has expired."
    elif found.claim_deadline and now > found.claim_deadline:
        problem = "The claim window has passed; the giver may take the gift back."
    return render_template("claim.html", cert=chain_cert(found) if found and found.exists
                           else None, cert_id=str(cert_id), problem=problem, date=date)


@bp.get("/my")
def my():
    return render_template("my.html")


@bp.get("/holder/<holder>")
def holder(holder: str):
    st = state()
    account = v.address(holder, "holder")
    now = st.client.now()  # the chain's clock decides expiry, not the server's
    rows = [indexed_cert(st, r, now) for r in st.indexer.certificates_of(account)]
    return render_template("holder.html", holder=account, certs=rows, date=date)


def _cert(cert: str):
    cert_id = v.certificate_id(cert)
    found = load_certificate(cert_id)
    if not found.exists:
        raise ApiError(404, "no such certificate (or it was closed)", "certificate")
    return found


@bp.get("/certificates/<cert>")
def certificate(cert: str):
    st = state()
    found = _cert(cert)
    history = [activity(st, e, found.currency) for e in st.indexer.history(found.id)]
    return render_template("certificate.html", cert=chain_cert(found), history=history,
                           date=date)


@bp.get("/pay/<cert>")
def pay(cert: str):
    found = _cert(cert)
    amount = request.args.get("amount", "")
    ref = request.args.get("ref", "")
    return render_template("pay.html", cert=chain_cert(found), amount=amount, ref=ref,
                           date=date)
