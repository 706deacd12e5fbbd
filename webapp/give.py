"""Givers: buy a certificate (address or claim link), bulk CSV, the gift's page (where the
buyer takes back an unclaimed claim-link gift)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from giftcert.client import DAY
from webapp.api.fields import CertificateId, parse
from webapp.api.lookups import live_certificate
from webapp.present import OCCASIONS, chain_cert, date, state

bp = Blueprint("give", __name__)


def _form_context() -> dict:
    st = state()
    policy = st.policy()
    min_days = -(-policy["minValidity"] // DAY)
    return {"merchants": [m for m in st.merchants() if m.active],
            "currencies": [c for c in st.currencies() if c.allowed],
            "occasions": list(enumerate(OCCASIONS)), "policy": policy,
            "min_days": min_days, "default_days": min_days + 1}


@bp.get("/give")
def give() -> ResponseReturnValue:
    return render_template("give.html", **_form_context())


@bp.get("/give/bulk")
def bulk() -> ResponseReturnValue:
    return render_template("give_bulk.html", **_form_context())


@bp.get("/gift/<cert>")
def gift(cert: str) -> ResponseReturnValue:
    found = live_certificate(parse(CertificateId, cert, "certificate"))
    now = state().client.now()
    # The contract's `reclaim`: awaiting its claim and strictly past the claim deadline.
    reclaim_open = found.awaiting_claim and now > found.claim_deadline
    return render_template("gift.html", cert=chain_cert(found, now), reclaim_open=reclaim_open,
                           date=date)
