"""Givers: buy a certificate (address or claim link), bulk CSV, the gift's page (where the
buyer takes back an unclaimed claim-link gift)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from giftcert.client import DAY
from webapp.api.lookups import live_certificate
from webapp.present import OCCASIONS, chain_cert, date, gift_story, resolve_certificate, state

bp = Blueprint("give", __name__)


def _form_context() -> dict:
    st = state()
    policy = st.policy()
    min_days = -(-policy["minValidity"] // DAY)
    # A year unless the policy asks for more (a few days' margin over the minimum, which is
    # counted from the moment the purchase is mined).
    default_days = max(365, min_days + 1)
    return {"merchants": [m for m in st.merchants() if m.active],
            "currencies": [c for c in st.currencies() if c.allowed],
            "occasions": list(enumerate(OCCASIONS)), "policy": policy,
            "min_days": min_days, "default_days": default_days,
            "min_human": duration_text(policy["minValidity"]), "default_days_ok": True}


def duration_text(seconds: int) -> str:
    """The policy's minimum as a person says it: "5 years", "30 days", "1 hour"."""
    for unit, size in (("year", 365 * DAY), ("day", DAY), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size, 1)
            text = f"{count:g}"
            return f"{text} {unit}{'' if text == '1' else 's'}"
    return f"{seconds} seconds"


@bp.get("/give")
def give() -> ResponseReturnValue:
    return render_template("give.html", **_form_context())


@bp.get("/give/bulk")
def bulk() -> ResponseReturnValue:
    return render_template("give_bulk.html", **_form_context())


@bp.get("/gift/<cert>")
def gift(cert: str) -> ResponseReturnValue:
    """The gift's page: written for the recipient (who it is from, the message); the giver
    lands on it right after giving (`?sent=1`) with the step to share the link."""
    st = state()
    found = live_certificate(resolve_certificate(cert))
    now = st.client.now()
    # The contract's `reclaim`: awaiting its claim and strictly past the claim deadline.
    reclaim_open = found.awaiting_claim and now > found.claim_deadline
    return render_template("gift.html", cert=chain_cert(found, now), reclaim_open=reclaim_open,
                           story=gift_story(st, found.id), sent=request.args.get("sent") == "1",
                           date=date)
