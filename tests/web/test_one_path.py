"""One path to the contract: the site builds every transaction through the SDK's prepared calls
(giftcert.calls), lets the SDK compute a purchase's terms, reads a mined transaction through
the SDK, and says the contract's errors in the SDK's words. Nothing outside giftcert/ reaches
for a contract's functions or events (bench/gas.py measures raw contracts by design)."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import DAY, build, post

from giftcert.errors import declared_errors, hint_of
from webapp.errors import REVERT_MESSAGES, SITE_WORDS

ROOT = Path(__file__).resolve().parents[2]
EXEMPT = {Path("bench/gas.py")}  # gas anchors: raw contracts, measured by design


def test_nothing_outside_the_sdk_calls_contract_functions_or_events():
    sources = [p for folder in ("webapp", "scripts", "bench")
               for p in (ROOT / folder).rglob("*.py")]
    found = []
    for path in sources:
        if path.relative_to(ROOT) in EXEMPT:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("functions", "events"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert sources and not found, found
    assert not (ROOT / "giftcert/wallet.py").exists()
    assert not (ROOT / "webapp/validate.py").exists()


def test_the_sites_words_for_contract_errors_are_the_sdks_hints():
    for name, cls in declared_errors().items():
        if name in SITE_WORDS:
            continue
        hint = hint_of(cls)
        assert REVERT_MESSAGES[name] == hint[0].lower() + hint[1:].removesuffix("."), name


def test_the_sdk_computes_a_purchases_terms(web):
    now = web.admin.now()
    out = build(web, "issue", web.buyer.sender, to=web.holder.sender, amount="0.1",
                merchant=1, currency="ETH", expiryDays=10)
    assert now + 10 * DAY <= out["expiry"] <= now + 10 * DAY + 5 and out["validFrom"] == 0
    receipt = web.send(out["tx"])
    outcome = web.http.get(f"/api/v1/transactions/{receipt['transactionHash'].to_0x_hex()}")
    cert = web.admin.certificate(int(outcome.get_json()["issued"][0]))
    assert cert.expiry == out["expiry"]
    later = build(web, "issue", web.buyer.sender, to=web.holder.sender, amount="0.1",
                  merchant=1, currency="ETH", validFromDate="2031-01-15")
    assert later["validFrom"] == 1926201600  # midnight UTC
    assert later["expiry"] == later["validFrom"] + 3600 + DAY  # minimum validity from opening


def test_terms_the_contract_refuses_are_said_before_any_approval(web):
    body = {"from": web.friend.sender, "to": web.holder.sender, "amount": "1", "merchant": 1,
            "currency": "tUSD"}
    assert post(web, "/tx/issue", body).get_json()["needsApproval"]  # no allowance yet
    r = post(web, "/tx/issue", {**body, "expiry": web.admin.now() + 60})
    error = r.get_json()
    assert r.status_code == 422 and error["code"] == "ValidityTooShort"
    assert error["field"] == "expiry" and "the earliest expiry is" in error["error"]
    web.admin.set_merchant_active(1, False)
    web.state.forget()
    r = post(web, "/tx/issue", body)
    assert r.status_code == 422 and r.get_json()["code"] == "MerchantInactive"
