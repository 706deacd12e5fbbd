"""Every validation error is a 4xx JSON {error, field}; no input makes the server answer 500."""

from __future__ import annotations

import pytest
from helpers import issue_eth, post, request_fields

GOOD = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # dev account 1 (the buyer)
HOLDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def give(**over):
    body = {"from": GOOD, "to": HOLDER, "amount": "1", "merchant": 1, "currency": "ETH"}
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize("body, field", [
    (give(**{"from": "0x123"}), "from"),
    (give(**{"from": None}), "from"),
    (give(to="not-an-address"), "to"),
    (give(to="0x3c44cdddb6a900fa2b585dd299e03d12fa4293bC"), "to"),  # bad checksum
    (give(amount="abc"), "amount"),
    (give(amount="-1"), "amount"),
    (give(amount="0"), "amount"),
    (give(amount=1.5), "amount"),
    (give(amount="0.0000000000000000001"), "amount"),
    (give(amount="1e5"), "amount"),
    (give(amount="999999999999999999999999"), "amount"),
    (give(merchant="x"), "merchant"),
    (give(merchant=0), "merchant"),
    (give(merchant=99), "merchant"),
    (give(currency="DOGE"), "currency"),
    (give(currency=7), "currency"),
    (give(occasion=300), "occasion"),
    (give(message="x" * 281), "message"),
    (give(message=5), "message"),
    (give(expiry=1), "expiry"),
    (give(expiryDays="soon"), "expiry"),
    (give(validFromDate="31/01/2030"), "validFrom"),
    (give(validFrom=4102444800, expiryDays=2), "validFrom"),
    (give(claimKey="0xnope", to=None), "claimKey"),
])
def test_issue_validation(web, body, field):
    r = post(web, "/tx/issue", body)
    assert 400 <= r.status_code < 500, r.get_json()
    assert r.get_json()["field"] == field, r.get_json()
    assert r.get_json()["error"]


def test_insufficient_funds_is_named(web):
    """Said about the amount (what the giver changes), in numbers."""
    r = post(web, "/tx/issue", give(amount="100000000"))
    assert r.status_code == 422 and r.get_json()["field"] == "amount"
    assert r.get_json()["code"] == "InsufficientFunds"
    assert r.get_json()["error"].startswith("You have ")


@pytest.mark.parametrize("path, body, field", [
    ("/tx/split", {"certificate": "abc", "amount": "1", "to": HOLDER}, "certificate"),
    ("/tx/split", {"certificate": "0", "amount": "1", "to": HOLDER}, "certificate"),
    ("/tx/split", {"certificate": str(2**256), "amount": "1", "to": HOLDER}, "certificate"),
    ("/tx/split", {"certificate": "12345", "amount": "1", "to": HOLDER}, "certificate"),
    ("/tx/transfer", {"certificate": "12345", "to": "0x0"}, "to"),
    ("/tx/claim", {"certificate": "1", "recipient": HOLDER, "signature": "0x1234"},
     "signature"),
    ("/tx/claim", {"certificate": "1", "recipient": HOLDER, "signature": "zz"}, "signature"),
    ("/tx/redeem-authorized", {"authorization": "hello"}, "authorization"),
    ("/tx/redeem-authorized", {"authorization": "gc1:1:1:1:1:1:0x00"}, "authorization"),
    ("/tx/redeem-authorized", {"authorization": "gc2:1:1:1:1:1:0x00"}, "authorization"),
    ("/tx/redeem-authorized", {"authorization": "gc2:1:1:1:1:x:1:0x" + "11" * 65},
     "authorization"),  # the nonce is not a number
    ("/tx/redeem-authorized", {"authorization": "{not json"}, "authorization"),
    ("/tx/redeem-authorized", {"authorization": {"typedData": {}}}, "authorization"),
    ("/tx/redeem-authorized", {"authorization": 5}, "authorization"),
    ("/tx/settle-batch", {"merchant": 1, "authorizations": []}, "authorizations"),
    ("/tx/settle-batch", {"merchant": 1, "authorizations": ["x"]}, "authorizations[0]"),
    ("/tx/set-merchant-active", {"merchant": 1, "active": "maybe"}, "active"),
    ("/tx/set-min-validity", {"seconds": -5}, "seconds"),
    ("/tx/register-merchant", {"account": HOLDER, "name": "  "}, "name"),
    ("/tx/allow-currency", {"token": HOLDER}, "token"),
    ("/tx/withdraw", {"merchant": 1, "currency": "999"}, "currency"),
    ("/tx/nonsense", {}, "operation"),
    ("/typed-data/redemption", {"certificate": "1", "amount": "1"}, "certificate"),
    ("/typed-data/claim", {"certificate": "1", "recipient": "me"}, "recipient"),
    ("/authorizations/decode", {"authorization": ""}, "authorization"),
    ("/authorizations", {"typedData": {"message": {}}, "signature": "0x"}, "typedData"),
    ("/give/preview", {"currency": "ETH", "rows": ""}, "rows"),
    ("/give/preview", {"currency": "ETH", "rows": 5}, "rows"),
    ("/siwe/verify", {"message": "hello", "signature": "0x" + "11" * 65}, "message"),
])
def test_other_validation(web, path, body, field):
    sender = {"from": GOOD} if path.startswith("/tx/") else {}  # only transactions have one
    r = post(web, path, {**sender, **body})
    assert 400 <= r.status_code < 500, (path, r.get_json())
    assert r.get_json()["field"] == field, (path, r.get_json())


def test_redemption_checks_before_signing(web):
    cert = issue_eth(web, web.holder.sender, "0.5")
    r = post(web, "/typed-data/redemption", {"certificate": str(cert), "amount": "0.6"})
    assert r.status_code == 422 and r.get_json()["code"] == "InsufficientBalance"
    r = post(web, "/typed-data/redemption", {"certificate": str(cert), "amount": "0.1",
                                             "deadline": "5"})
    assert r.status_code == 422 and r.get_json()["field"] == "deadline"
    r = post(web, "/tx/split", {"from": web.friend.sender, "certificate": str(cert),
                                "amount": "0.1", "to": HOLDER})
    assert r.status_code == 422 and r.get_json()["code"] == "NotHolder"


def test_bulk_preview_reports_each_row(web):
    rows = f"{HOLDER},1\nnot-an-address,2\n{HOLDER},-3\n{HOLDER}\n"
    out = post(web, "/give/preview", {"currency": "ETH", "rows": rows}).get_json()
    assert out["valid"] == 1 and out["invalid"] == 3
    assert [e["field"] for r in out["rows"] for e in r["errors"]] == ["to", "amount", "amount"]
    r = post(web, "/tx/issue-batch", {"from": GOOD, "merchant": 1, "rows": rows})
    assert r.status_code == 400 and r.get_json()["field"] == "rows"


@pytest.mark.parametrize("path", [
    "/api/v1/certificates/xyz", "/api/v1/certificates/-1", "/api/v1/certificates/1",
    "/api/v1/certificates/1/history", "/api/v1/holders/0xabc/certificates",
    "/api/v1/holders/" + HOLDER + "/certificates?closed=maybe",
    "/api/v1/merchants/0", "/api/v1/merchants/abc", "/api/v1/merchants/77/stats",
    "/api/v1/merchants/1/redemptions?limit=0", "/api/v1/transactions/0x12",
    "/api/v1/siwe/nonce", "/api/v1/siwe/nonce?address=0x1", "/api/v1/siwe/me",
    "/api/v1/nothing-here",
])
def test_bad_reads_are_4xx_json(web, path):
    r = web.http.get(path)
    assert 400 <= r.status_code < 500, (path, r.status_code)
    assert "error" in r.get_json() and "field" in r.get_json()


def test_non_json_bodies(web):
    r = web.http.post("/api/v1/tx/issue", data="amount=1")
    assert r.status_code == 400 and r.get_json()["field"] is None
    r = web.http.post("/api/v1/tx/issue", json=[1, 2])
    assert r.status_code == 400
    r = web.http.get("/api/v1/tx/issue")
    assert r.status_code == 405 and "error" in r.get_json()


JUNK = [None, "", "x", -1, 0, 2**300, 1.5, [], {}, True, "0x" + "ff" * 40, "'; drop table"]


def test_no_500_for_junk_anywhere(web):
    """Every documented field of every POST body, filled with junk (from stays good)."""
    spec = web.http.get("/api/v1/openapi.json").get_json()
    targets = request_fields(spec)
    assert len(targets) > 25
    for path, fields in targets.items():
        for junk in JUNK:
            body = {k: (GOOD if k == "from" else junk) for k in fields}
            r = post(web, path, body)
            assert r.status_code < 500, (path, junk, r.get_json())
