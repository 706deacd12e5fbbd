"""Operators: merchants, currencies, policy, pause (the chain enforces the roles)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from giftcert.client import DAY
from webapp.give import duration_text
from webapp.present import state

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
def admin() -> ResponseReturnValue:
    st = state()
    st.forget()
    policy = st.policy()
    return render_template("admin.html", merchants=st.merchants(), currencies=st.currencies(),
                           policy=policy, min_days=policy["minValidity"] / DAY,
                           min_human=duration_text(policy["minValidity"]))
