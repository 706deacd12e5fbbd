"""Connect (home) and certificate art."""

from __future__ import annotations

import time
from typing import Annotated

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue

from giftcert.client import DAY
from giftcert.errors import ContractRevert
from giftcert.money import from_units
from webapp.api.fields import Amount, CertificateId, MerchantId, Uint, parse, units
from webapp.api.lookups import currency_arg, merchant_arg
from webapp.errors import ApiError
from webapp.present import OCCASIONS, state, template_helpers

bp = Blueprint("pages", __name__)


@bp.app_context_processor
def _helpers() -> dict:
    return template_helpers()
_OCCASION = Annotated[int, Uint(0, len(OCCASIONS) - 1)]
_DAYS = Annotated[int, Uint(1, 36_500)]


@bp.get("/")
def home() -> ResponseReturnValue:
    st = state()
    return render_template("connect.html", merchants=st.merchants(), policy=st.policy())


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """Browsers ask for /favicon.ico whatever the page links: the same SVG logo."""
    response = current_app.send_static_file("images/favicon.svg")
    response.headers["Cache-Control"] = "max-age=86400"
    return response


@bp.get("/connect")
def connect() -> ResponseReturnValue:
    return home()


def _svg(svg: bytes, max_age: int) -> Response:
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = f"max-age={max_age}"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.get("/art/<cert>.svg")
def art(cert: str) -> ResponseReturnValue:
    """The certificate's on-chain SVG (from the contract's ERC-1155 `uri`)."""
    cert_id = parse(CertificateId, cert, "certificate")
    try:
        return _svg(state().client.art(cert_id), max_age=5)
    except ContractRevert:
        raise ApiError(404, "no such certificate", "certificate") from None
    except ValueError:
        raise ApiError(404, "the certificate has no art", "certificate") from None


@bp.get("/art/preview.svg")
def art_preview() -> ResponseReturnValue:
    """The design a gift with these terms would get, drawn by the deployed renderer; the give
    page shows it as the giver picks merchant, occasion, amount and expiry."""
    args = request.args
    merchant = merchant_arg(parse(MerchantId, args.get("merchant"), "merchant")).id
    info = currency_arg(args.get("currency"))
    amount = units(parse(Amount, args["amount"], "amount"), info) if args.get("amount") else 0
    occasion = parse(_OCCASION, args.get("occasion", "0"), "occasion")
    days = parse(_DAYS, args.get("expiryDays", "1825"), "expiryDays")
    expiry = int(time.time()) + days * DAY
    svg = state().client.preview_art(merchant, info.id, from_units(amount, info), occasion,
                                     expiry)
    return _svg(svg, max_age=60)
