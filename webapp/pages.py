"""Connect (home) and certificate art."""

from __future__ import annotations

import base64
import json

from flask import Blueprint, Response, render_template

from giftcert.errors import ContractRevert
from webapp import validate as v
from webapp.present import state
from webapp.validate import ApiError

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    st = state()
    return render_template("connect.html", merchants=st.merchants(), policy=st.policy())


@bp.get("/connect")
def connect():
    return home()


@bp.get("/art/<cert>.svg")
def art(cert: str):
    """The certificate's on-chain SVG (from the contract's ERC-1155 `uri`)."""
    cert_id = v.certificate_id(cert)
    try:
        uri = state().client.token_uri(cert_id)
    except ContractRevert:
        raise ApiError(404, "no such certificate", "certificate") from None
    try:
        meta = json.loads(base64.b64decode(uri.split(",", 1)[1]))
        svg = base64.b64decode(meta["image"].split(",", 1)[1])
    except (ValueError, KeyError, IndexError):
        raise ApiError(404, "the certificate has no art", "certificate") from None
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "max-age=5"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
