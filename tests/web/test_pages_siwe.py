"""Every page renders (and bad ids are 4xx pages), and merchant sign-in with EIP-4361."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from helpers import build, issue_eth, post, sign_redemption

from giftcert.config import ANVIL_DEV_KEYS
from giftcert.money import Money
from webapp import siwe
from webapp.sessions import SESSION_SECONDS

COFFEE_KEY = ANVIL_DEV_KEYS[4]


def sign_in(web, key=COFFEE_KEY, *, message=None, signer=None):
    account = Account.from_key(key)
    if message is None:
        message = web.http.get(f"/api/v1/siwe/nonce?address={account.address}").get_json()[
            "message"]
    signature = Account.sign_message(encode_defunct(text=message), signer or key).signature
    return web.http.post("/api/v1/siwe/verify",
                         json={"message": message, "signature": "0x" + signature.hex()})


@pytest.mark.parametrize("path", ["/", "/connect", "/give", "/give/bulk", "/my", "/admin/",
                                  "/merchant/login"])
def test_static_pages(web, path):
    r = web.http.get(path)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="wallet-bar"' in html and "/static/js/app.js" in html
    assert "https://" not in html.split("<main>")[0]  # no CDN


def test_certificate_pages(web):
    cert = issue_eth(web, web.holder.sender, "0.5")
    web.sync()
    html = web.http.get(f"/holder/{web.holder.sender}").get_data(as_text=True)
    assert f'data-cert-id="{cert}"' in html and "0.50 ETH" in html and "Corner Coffee" in html
    page = web.http.get(f"/certificates/{cert}").get_data(as_text=True)
    assert "<td>Bought</td>" in page and 'data-tx="split"' in page and 'data-tx="top-up"' in page
    assert web.http.get(f"/gift/{cert}").status_code == 200
    assert "pay-sign" in web.http.get(f"/pay/{cert}?amount=1&ref=5").get_data(as_text=True)
    art = web.http.get(f"/art/{cert}.svg")
    assert art.status_code == 200 and art.mimetype == "image/svg+xml"
    assert b"<svg" in art.data
    assert "already been claimed" in web.http.get(f"/claim/{cert}").get_data(as_text=True)


def test_claim_page_states(web):
    key = Account.create()
    tx = build(web, "issue", web.buyer.sender, claimKey=key.address, amount="0.1", merchant=1,
               currency="ETH", expiryDays=1)["tx"]
    receipt = web.send(tx)
    cert = web.http.get(f"/api/v1/transactions/{receipt['transactionHash'].to_0x_hex()}"
                        ).get_json()["issued"][0]
    assert 'id="claim-form"' in web.http.get(f"/claim/{cert}").get_data(as_text=True)
    web.warp(2 * 86400)
    assert "expired" in web.http.get(f"/claim/{cert}").get_data(as_text=True)
    assert "no such gift" in web.http.get("/claim/12345").get_data(as_text=True)


@pytest.mark.parametrize("path, status", [
    ("/gift/abc", 400), ("/gift/12345", 404), ("/certificates/0", 400),
    ("/certificates/12345", 404), ("/pay/xyz", 400), ("/holder/0xnope", 400),
    ("/art/abc.svg", 400), ("/art/12345.svg", 404), ("/claim/abc", 400), ("/nowhere", 404),
    ("/merchant/export.csv", 401),
])
def test_bad_page_input(web, path, status):
    r = web.http.get(path)
    assert r.status_code == status
    assert "error-message" in r.get_data(as_text=True)


def test_merchant_sign_in_dashboard_and_export(web):
    assert web.http.get("/merchant/").status_code == 302
    cert = issue_eth(web, web.holder.sender, "1")
    auth = sign_redemption(web, cert, "0.25", 9)
    web.send(build(web, "redeem-authorized", web.coffee.sender, authorization=auth)["tx"])
    web.sync()
    r = sign_in(web)
    assert r.status_code == 200 and r.get_json()["merchants"][0]["name"] == "Corner Coffee"
    assert web.http.get("/api/v1/siwe/me").get_json()["address"] == web.coffee.sender
    html = web.http.get("/merchant/").get_data(as_text=True)
    assert "Corner Coffee" in html and 'id="redemptions-chart"' in html and "<rect" in html
    assert "0.75 ETH" in html  # outstanding liability
    csv = web.http.get("/merchant/export.csv").get_data(as_text=True)
    assert csv.splitlines()[0].startswith("date,certificate") and ",9,0.25,ETH," in csv
    assert web.http.get("/merchant/?merchant=2").status_code == 403
    web.http.post("/api/v1/siwe/logout", json={})
    assert web.http.get("/merchant/").status_code == 302


def test_non_merchant_sign_in(web):
    assert sign_in(web, ANVIL_DEV_KEYS[7]).status_code == 200
    assert web.http.get("/merchant/").status_code == 403


def test_siwe_wrong_nonce_reuse_expired_domain_and_signer(web):
    address = Account.from_key(COFFEE_KEY).address
    made_up = siwe.build_message("localhost", address, "http://localhost", 31337,
                                 "abcdef0123456789").text
    r = sign_in(web, message=made_up)
    assert r.status_code == 401 and r.get_json()["field"] == "nonce"
    message = web.http.get(f"/api/v1/siwe/nonce?address={address}").get_json()["message"]
    assert sign_in(web, message=message).status_code == 200
    r = sign_in(web, message=message)  # a nonce works once
    assert r.status_code == 401 and r.get_json()["code"] == "InvalidNonce"
    nonce = web.state.siwe.new_nonce()
    past = datetime.now(UTC) - timedelta(hours=1)
    old = siwe.build_message("localhost", address, "http://localhost", 31337, nonce, now=past)
    r = sign_in(web, message=old.text)
    assert r.status_code == 401 and r.get_json()["code"] == "Expired"
    other = siwe.build_message("evil.example", address, "http://evil.example", 31337,
                               web.state.siwe.new_nonce()).text
    assert sign_in(web, message=other).get_json()["code"] == "WrongDomain"
    wrong_chain = siwe.build_message("localhost", address, "http://localhost", 1,
                                     web.state.siwe.new_nonce()).text
    assert sign_in(web, message=wrong_chain).get_json()["code"] == "WrongChain"
    fresh = web.http.get(f"/api/v1/siwe/nonce?address={address}").get_json()["message"]
    r = sign_in(web, message=fresh, signer=ANVIL_DEV_KEYS[7])
    assert r.status_code == 401 and r.get_json()["field"] == "signature"


def test_session_expiry(web):
    assert sign_in(web).status_code == 200
    store = web.state.siwe
    later = store.clock() + SESSION_SECONDS + 1
    store.clock = lambda: later
    try:
        assert web.http.get("/merchant/").status_code == 302
    finally:
        store.clock = time.time


def test_merchant_sets_a_cash_out_limit_from_the_desk(web):
    body = {"merchant": web.coffee_id, "currency": "tUSD", "limit": "2.50"}
    web.send(build(web, "set-cash-out-limit", web.coffee.sender, **body)["tx"])
    assert web.admin.cash_out_limit(web.coffee_id, "tUSD") == Money(Decimal("2.50"), "tUSD")
    r = post(web, "/tx/set-cash-out-limit", {"from": web.friend.sender, **body})
    assert r.status_code == 422 and r.get_json()["code"] == "NotMerchant"
    r = post(web, "/tx/set-cash-out-limit", {"from": web.coffee.sender, **body, "limit": "-1"})
    assert r.status_code == 400 and r.get_json()["field"] == "limit"
    assert sign_in(web).status_code == 200
    web.sync()  # the desk shows the chain as of the index's block
    html = web.http.get("/merchant/").get_data(as_text=True)
    assert 'data-tx="set-cash-out-limit"' in html and "2.50 tUSD" in html
    web.send(build(web, "set-cash-out-limit", web.coffee.sender, **{**body, "limit": "0"})["tx"])
    assert web.admin.cash_out_limit(web.coffee_id, "tUSD") == Money(Decimal("0"), "tUSD")


def _desk_card(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start:html.index('<div class="card stat"', start + 1)
                if testid != "breakage" else html.index("</div>", start)]


def test_desk_owed_and_liability_describe_one_block(web):
    """A payment the index has not seen yet is neither owed nor out of the liability: the desk
    reads the chain at the index's block, so the two never count it twice (issue 15)."""
    cert = issue_eth(web, web.holder.sender, "1")
    web.sync()
    assert sign_in(web).status_code == 200
    auth = sign_redemption(web, cert, "0.25", 9)
    web.send(build(web, "redeem-authorized", web.coffee.sender, authorization=auth)["tx"])
    assert web.admin.merchant_owed(web.coffee_id) == Money(Decimal("0.25"), "ETH")  # on chain
    html = web.http.get("/merchant/").get_data(as_text=True)  # the index is a block behind
    assert "0.00 ETH" in _desk_card(html, "owed") and "1.00 ETH" in _desk_card(html, "liability")
    web.sync()
    html = web.http.get("/merchant/").get_data(as_text=True)
    assert "0.25 ETH" in _desk_card(html, "owed") and "0.75 ETH" in _desk_card(html, "liability")


def test_desk_figures_carry_their_units(web):
    assert sign_in(web).status_code == 200
    html = web.http.get("/merchant/").get_data(as_text=True)
    breakage = _desk_card(html, "breakage")
    for label in ("Expired, not yet returned", "Returned to givers", "Voided"):
        line = breakage[breakage.index(label):].split("</p>")[0]
        assert "0.00 ETH" in line and "0.00 tUSD" in line, line
    liability = _desk_card(html, "liability")
    assert "0.00 ETH" in liability and "0.00 tUSD" in liability
