"""Claim links under the v2 contract: the claim deadline is a UTC day (claims go through until
its last second, and not after), and no claim goes through while the contract is paused. The
site says so before the wallet opens."""

from __future__ import annotations

from eth_account import Account
from helpers import DAY, build, post

from giftcert import eip712


def claim_gift(web, claim_days: int = 2) -> tuple[int, Account, dict]:
    key = Account.create()
    out = build(web, "issue", web.buyer.sender, claimKey=key.address, amount="0.1",
                merchant=web.coffee_id, currency="ETH", expiryDays=30, claimDays=claim_days)
    receipt = web.send(out["tx"])
    tx = web.http.get(f"/api/v1/transactions/{receipt['transactionHash'].to_0x_hex()}")
    return int(tx.get_json()["issued"][0]), key, out


def claim_body(web, cert: int, key) -> dict:
    document = eip712.claim(31337, web.admin.address, certificate=cert,
                            recipient=web.friend.sender)
    return {"from": web.friend.sender, "certificate": str(cert),
            "recipient": web.friend.sender,
            "signature": "0x" + eip712.sign_typed_data(key.key, document).hex()}


def test_the_claim_deadline_is_the_end_of_a_utc_day(web):
    cert, _key, out = claim_gift(web)
    deadline = web.admin.certificate(cert).claim_deadline
    assert deadline % DAY == DAY - 1 and out["claimDeadline"] == deadline
    page = web.http.get(f"/claim/{cert}").get_data(as_text=True)
    assert "23:59 UTC" in page and 'data-testid="claim-deadline"' in page


def test_a_claim_at_the_deadline_goes_through(web):
    cert, key, _ = claim_gift(web)
    deadline = web.admin.certificate(cert).claim_deadline
    web.w3.provider.make_request("evm_setNextBlockTimestamp", [deadline - 1])
    web.w3.provider.make_request("evm_mine", [])
    tx = build(web, "claim", web.friend.sender, **{k: v for k, v in claim_body(
        web, cert, key).items() if k != "from"})["tx"]
    web.w3.provider.make_request("evm_setNextBlockTimestamp", [deadline])
    web.send(tx)
    assert web.admin.certificate(cert).owner == web.friend.sender


def test_no_claim_after_the_deadline(web):
    cert, key, _ = claim_gift(web)
    deadline = web.admin.certificate(cert).claim_deadline
    web.warp(deadline - web.admin.now() + 1)
    r = post(web, "/tx/claim", claim_body(web, cert, key))
    assert r.status_code == 410 and r.get_json()["code"] == "ClaimWindowClosed"
    assert "can no longer be claimed" in r.get_json()["error"]
    r = post(web, "/typed-data/claim", {"certificate": str(cert),
                                        "recipient": web.friend.sender})
    assert r.status_code == 410 and r.get_json()["code"] == "ClaimWindowClosed"
    page = web.http.get(f"/claim/{cert}").get_data(as_text=True)
    assert "claim window closed" in page and 'id="claim-form"' not in page


def test_no_claim_while_paused(web):
    cert, key, _ = claim_gift(web)
    web.admin.pause()
    web.sync()
    r = post(web, "/tx/claim", claim_body(web, cert, key))
    assert r.status_code == 422 and r.get_json()["code"] == "EnforcedPause"
    assert "paused" in r.get_json()["error"]
    page = web.http.get(f"/claim/{cert}").get_data(as_text=True)
    assert "Claims are stopped for now" in page and 'id="claim-form"' not in page
    web.admin.unpause()
    web.sync()
    assert 'id="claim-form"' in web.http.get(f"/claim/{cert}").get_data(as_text=True)
