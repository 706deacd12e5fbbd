"""POST /tx/issue-with-tab: a certificate bought for the sender itself with a payment tab
already open at its merchant, in one transaction (the contract's `issueWithTab`). The built
transaction names no recipient: whoever sends it holds the certificate, so a body naming a
recipient is refused and a session key only signs the vouchers. Bad input is a 400 naming the
field, as for `issue`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from helpers import DAY, build, post

from giftcert.money import Money

ATTACKER = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"  # dev account 9: holds nothing here


def body(web, **over: Any) -> dict[str, Any]:
    out = {"from": web.holder.sender, "amount": "0.01", "merchant": 1, "currency": "ETH"}
    out.update(over)
    return {k: v for k, v in out.items() if v is not None}


def issued(web, receipt: dict[str, Any]) -> int:
    outcome = web.http.get(f"/api/v1/transactions/{receipt['transactionHash'].to_0x_hex()}")
    assert outcome.status_code == 200, outcome.get_json()
    (cert,) = outcome.get_json()["issued"]
    return int(cert)


def test_buy_for_yourself_with_the_tab_open_in_one_transaction(web):
    me = web.holder.sender
    out = build(web, "issue-with-tab", me, amount="0.01", merchant=1, currency="ETH",
                message="coffee card", expiryDays=90)
    assert out["operation"] == "issue-with-tab" and out["holder"] == me
    assert out["total"] == {"amount": "0.01", "currency": "ETH"} and not out["needsApproval"]
    assert out["validFrom"] == 0
    now = web.admin.now()
    assert now + 90 * DAY <= out["expiry"] <= now + 90 * DAY + 5
    assert int(out["tx"]["value"], 16) == 10**16 and out["tx"]["from"] == me
    receipt = web.send(out["tx"])
    cert_id = issued(web, receipt)
    cert = web.admin.certificate(cert_id)
    assert cert.owner == me and cert.is_buyer(me)
    assert cert.balance == Money(Decimal("0.01"), "ETH") and cert.expiry == out["expiry"]
    tab = web.admin.tab(cert_id)
    assert tab.open and tab.epoch == 1 and tab.signer == me and tab.merchant == 1
    # The site's reads say so too: the tab state, and the index's list of the holder's gifts.
    state = web.http.get(f"/api/v1/certificates/{cert_id}/tab").get_json()
    assert state["state"] == "open" and int(state["epoch"]) == 1
    web.sync()
    listed = web.http.get(f"/api/v1/holders/{me}/certificates").get_json()["certificates"]
    mine = [c for c in listed if c["id"] == str(cert_id)]
    assert mine and mine[0]["tabOpen"] and mine[0]["owner"] == me
    history = web.http.get(f"/api/v1/certificates/{cert_id}/history").get_json()
    assert "Tab opened" in [h["label"] for h in history]


def test_a_token_purchase_approves_first_as_issue_does(web):
    me = web.holder.sender
    out = build(web, "issue-with-tab", me, amount="12.50", merchant=1, currency="tUSD")
    assert Decimal(out["total"]["amount"]) == Decimal("12.50")
    assert out["total"]["currency"] == "tUSD"
    if out["needsApproval"]:
        assert out["tx"] is None
        web.send(out["approve"])
        out = build(web, "issue-with-tab", me, amount="12.50", merchant=1, currency="tUSD")
    assert not out["needsApproval"] and int(out["tx"]["value"], 16) == 0
    cert_id = issued(web, web.send(out["tx"]))
    assert web.admin.certificate(cert_id).owner == me
    tab = web.admin.tab(cert_id)
    assert tab.open and tab.epoch == 1 and tab.balance == Money(Decimal("12.5"), "tUSD")


@pytest.mark.parametrize("over, field", [
    ({"to": ATTACKER}, "to"),  # there is no recipient: naming one is refused
    ({"recipient": ATTACKER}, "recipient"),
    ({"claimKey": ATTACKER}, "claimKey"),
    ({"from": "0x123"}, "from"),
    ({"from": None}, "from"),
    ({"amount": None}, "amount"),
    ({"amount": "abc"}, "amount"),
    ({"amount": "0"}, "amount"),
    ({"amount": "-1"}, "amount"),
    ({"amount": 1.5}, "amount"),
    ({"merchant": "x"}, "merchant"),
    ({"merchant": None}, "merchant"),
    ({"currency": "DOGE"}, "currency"),
    ({"occasion": 300}, "occasion"),
    ({"message": "x" * 281}, "message"),
    ({"expiryDays": "soon"}, "expiry"),
    ({"sessionKey": "0xnope"}, "sessionKey"),
    ({"sessionKey": "0xA0Ee7A142d267C1f36714E4a8F75612F20a79720"}, "sessionKey"),  # checksum
    ({"validFromDate": "2031-01-15"}, "validFrom"),  # a tab opens at once
    ({"validFromDate": "31/01/2030"}, "validFrom"),
])
def test_bad_input_is_refused_naming_the_field(web, over, field):
    r = post(web, "/tx/issue-with-tab", body(web, **over))
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["field"] == field and r.get_json()["error"], r.get_json()


def test_what_the_contract_or_the_wallet_refuses_is_said_before_the_wallet_opens(web):
    r = post(web, "/tx/issue-with-tab", body(web, amount="100000000"))
    assert r.status_code == 422 and r.get_json()["field"] == "amount"
    assert r.get_json()["code"] == "InsufficientFunds"
    for over, status, code in (({"merchant": 99}, 404, "UnknownMerchant"),
                               ({"expiry": 1}, 422, "ValidityTooShort")):
        r = post(web, "/tx/issue-with-tab", body(web, **over))
        assert (r.status_code, r.get_json()["code"]) == (status, code), r.get_json()
        assert r.get_json()["field"] == next(iter(over)), r.get_json()
    web.admin.set_merchant_active(1, False)
    try:
        r = post(web, "/tx/issue-with-tab", body(web))
        assert 400 <= r.status_code < 500 and r.get_json()["field"] == "merchant", r.get_json()
    finally:
        web.admin.set_merchant_active(1, True)


def test_a_session_key_or_another_sender_never_makes_it_land_with_anyone_else(web):
    """An attacker's body names its own address as the session key: the certificate is still
    the sender's (the key only signs vouchers). The built calldata names no recipient at all:
    the same transaction sent from another account mints to that account, never to a third
    party, so a leaked or tampered build cannot redirect a purchase."""
    me = web.holder.sender
    out = build(web, "issue-with-tab", me, amount="0.01", merchant=1, currency="ETH",
                sessionKey=ATTACKER)
    assert out["holder"] == me
    cert_id = issued(web, web.send(out["tx"]))
    assert web.admin.certificate(cert_id).owner == me != ATTACKER
    tab = web.admin.tab(cert_id)
    assert tab.open and tab.epoch == 1 and tab.signer == ATTACKER  # it signs, it holds nothing
    web.sync()
    held = web.http.get(f"/api/v1/holders/{ATTACKER}/certificates").get_json()
    assert held["certificates"] == []

    plain = build(web, "issue-with-tab", me, amount="0.01", merchant=1, currency="ETH")
    assert me[2:].lower() not in plain["tx"]["data"].lower()  # no address in the calldata
    other = Account.create().address
    assert other[2:].lower() not in plain["tx"]["data"].lower()
    sent_by_friend = {**plain["tx"], "from": web.friend.sender}
    friend_cert = issued(web, web.send(sent_by_friend))
    assert web.admin.certificate(friend_cert).owner == web.friend.sender  # msg.sender
    assert web.admin.tab(friend_cert).signer == web.friend.sender
