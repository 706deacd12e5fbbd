"""Signed payments under the v2 contract: one usable authorisation per certificate (its nonce),
batch settlement that pays every valid item and says why the others were refused, and every
contract error in plain words."""

from __future__ import annotations

import json
from decimal import Decimal

from helpers import build, issue_eth, post, resolve, sign_redemption

from webapp.errors import REVERT_MESSAGES
from webapp.present import gift_ref


def tx_outcome(web, receipt) -> dict:
    r = web.http.get(f"/api/v1/transactions/{receipt['transactionHash'].to_0x_hex()}")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def decode(web, auth: str):
    return post(web, "/authorizations/decode", {"authorization": auth})


def test_a_split_or_a_transfer_replaces_the_signed_payment(web):
    cert = issue_eth(web, web.holder.sender, "1")
    auth = sign_redemption(web, cert, "0.2", 5)
    assert decode(web, auth).status_code == 200
    web.send(build(web, "split", web.holder.sender, certificate=str(cert), amount="0.1",
                   to=web.friend.sender)["tx"])
    r = decode(web, auth)
    body = r.get_json()
    assert r.status_code == 422 and body["code"] == "WrongNonce"
    assert body["error"].startswith("this authorisation was already used or replaced")
    assert body["details"]["nonce"] == "0" and body["details"]["currentNonce"] == "1"
    # A fresh one carries the new nonce and is good; giving the certificate away replaces it.
    fresh = sign_redemption(web, cert, "0.2", 5)
    assert fresh.split(":")[5] == "1" and decode(web, fresh).status_code == 200
    web.send(build(web, "transfer", web.holder.sender, certificate=str(cert),
                   to=web.friend.sender)["tx"])
    assert decode(web, fresh).get_json()["code"] == "WrongNonce"


def test_two_payments_signed_at_once_only_one_goes_through(web):
    cert = issue_eth(web, web.holder.sender, "1")
    first, second = sign_redemption(web, cert, "0.1", 1), sign_redemption(web, cert, "0.2", 2)
    web.send(build(web, "redeem-authorized", web.coffee.sender, authorization=second)["tx"])
    r = post(web, "/tx/redeem-authorized", {"from": web.coffee.sender, "authorization": first})
    assert r.status_code == 422 and r.get_json()["code"] == "WrongNonce"
    assert decode(web, first).get_json()["code"] == "WrongNonce"


def test_a_top_up_keeps_the_signed_payment_and_an_hour_ends_it(web):
    cert = issue_eth(web, web.holder.sender, "1")
    auth = sign_redemption(web, cert, "0.5", 9)
    web.send(build(web, "split", web.holder.sender, certificate=str(cert), amount="0.6",
                   to=web.friend.sender)["tx"])
    fresh = sign_redemption(web, cert, "0.4", 9)
    web.send(build(web, "top-up", web.buyer.sender, certificate=str(cert), amount="0.1")["tx"])
    assert decode(web, fresh).status_code == 200  # a top-up does not move the nonce
    assert decode(web, auth).get_json()["code"] == "WrongNonce"
    web.warp(2 * 3600)  # authorisations are good for an hour
    r = decode(web, fresh)
    assert r.status_code == 422 and r.get_json()["code"] == "AuthorizationExpired"
    assert "sign again" in r.get_json()["error"]


def test_batch_settles_the_valid_items_and_reports_the_refused_ones(web):
    a = issue_eth(web, web.holder.sender, "1")
    b = issue_eth(web, web.holder.sender, "1")
    used = sign_redemption(web, a, "0.1", 10)
    web.send(build(web, "redeem-authorized", web.coffee.sender, authorization=used)["tx"])
    good_a, good_b = sign_redemption(web, a, "0.2", 11), sign_redemption(web, b, "0.3", 12)
    # Line 4 pays from `b` again with the same nonce: line 2 moves it first.
    again_b = sign_redemption(web, b, "0.1", 13)
    lines = [good_a, good_b, used, again_b]
    out = build(web, "settle-batch", web.coffee.sender, merchant=1,
                authorizations="\n".join(lines))
    assert out["count"] == 4 and out["willSettle"] == 2
    assert [(r["item"], r["reason"]) for r in out["refused"]] == [(3, "WrongNonce"),
                                                                  (4, "WrongNonce")]
    assert all("already used or replaced" in r["message"] for r in out["refused"])
    receipt = web.send(out["tx"])
    outcome = tx_outcome(web, receipt)
    assert outcome["status"] == "success"
    assert sorted(r["orderRef"] for r in outcome["redeemed"]) == ["11", "12"]
    assert [(r["item"], r["index"], r["certificate"], r["reason"])
            for r in outcome["refused"]] == [(3, 2, str(a), "WrongNonce"),
                                             (4, 3, str(b), "WrongNonce")]
    assert outcome["refused"][0]["message"] == REVERT_MESSAGES["WrongNonce"]
    assert outcome["refused"][0]["details"] == {"id": str(a), "expected": "2", "given": "0"}
    assert web.admin.certificate(a).balance.amount == Decimal("0.7")
    assert web.admin.certificate(b).balance.amount == Decimal("0.7")
    # The certificate's history keeps the refusal, in words.
    web.sync()
    history = web.http.get(f"/api/v1/certificates/{a}/history").get_json()
    refused = [h for h in history if h["event"] == "RedemptionRefused"]
    assert [h["label"] for h in refused] == [
        "Payment refused: " + REVERT_MESSAGES["WrongNonce"]]


def test_a_batch_with_nothing_to_settle_is_not_built(web):
    cert = issue_eth(web, web.holder.sender, "1")
    auth = sign_redemption(web, cert, "0.1", 1)
    web.send(build(web, "redeem-authorized", web.coffee.sender, authorization=auth)["tx"])
    r = post(web, "/tx/settle-batch", {"from": web.coffee.sender, "merchant": 1,
                                       "authorizations": [auth]})
    body = r.get_json()
    assert r.status_code == 422 and body["code"] == "WrongNonce"
    assert body["field"] == "authorizations" and "1: this authorisation" in body["error"]
    assert body["details"]["refused"][0]["item"] == 1
    web.warp(2 * 3600)
    stale = [auth, sign_redemption(web, cert, "0.1", 2)]
    web.warp(2 * 3600)
    r = post(web, "/tx/settle-batch", {"from": web.coffee.sender, "merchant": 1,
                                       "authorizations": stale})
    assert r.status_code == 422 and r.get_json()["code"] == "RedemptionRefused"
    assert [x["reason"] for x in r.get_json()["details"]["refused"]] == [
        "AuthorizationExpired", "AuthorizationExpired"]


def test_authorisations_in_json_carry_the_nonce(web):
    cert = issue_eth(web, web.holder.sender, "1")
    signed = web.holder.sign_redemption(cert, "0.1", 3)
    as_json = json.dumps(signed.to_json())
    r = decode(web, as_json)
    assert r.status_code == 200 and r.get_json()["nonce"] == "0"
    assert r.get_json()["authorization"].startswith("gc2:")
    data = signed.to_json()
    del data["typedData"]["message"]["nonce"]
    r = decode(web, json.dumps(data))
    assert r.status_code == 400 and "nonce" in r.get_json()["error"]


def test_an_authorisation_of_the_old_format_is_named(web):
    r = decode(web, "gc1:1:1:1:1:1:0x" + "11" * 65)
    assert r.status_code == 400 and "previous version" in r.get_json()["error"]


def test_every_contract_error_has_plain_words(web):
    errors = {e["name"] for e in web.admin.contract.abi if e["type"] == "error"}
    ours = {n for n in errors if not n.startswith(("ERC", "ECDSA", "AccessControl",
                                                   "ReentrancyGuard", "SafeERC20",
                                                   "SafeCast", "Address", "Strings",
                                                   "FailedCall", "InvalidShortString",
                                                   "StringTooLong"))}
    assert {"WrongNonce", "ClaimWindowClosed", "CertificateExists", "SerialOverflow",
            "NonceExhausted", "BuyerTagTaken"} <= ours
    assert sorted(ours - set(REVERT_MESSAGES)) == []
    assert "OrderRefUsed" not in REVERT_MESSAGES  # v1: order references are data now


def test_void_after_expiry_is_refused_in_words(web):
    cert = issue_eth(web, web.holder.sender, "0.5", expiryDays=1)
    web.warp(2 * 86400)
    r = post(web, "/tx/void", {"from": web.coffee.sender, "certificate": str(cert)})
    assert r.status_code == 422 and r.get_json()["code"] == "Expired"
    assert r.get_json()["error"] == "the certificate has expired"


def test_openapi_describes_settlement_results(web):
    spec = web.http.get("/api/v1/openapi.json").get_json()
    def properties(where):
        return resolve(spec, where["content"]["application/json"]["schema"])["properties"]

    settle = spec["paths"]["/tx/settle-batch"]["post"]
    assert "allOrNothing" in settle["description"] and "always false" in settle["description"]
    assert "allOrNothing" not in properties(settle["requestBody"])
    assert {"count", "willSettle", "refused"} <= set(properties(settle["responses"]["200"]))
    outcome = spec["paths"]["/transactions/{txHash}"]["get"]["responses"]
    assert {"issued", "redeemed", "refused"} <= set(properties(outcome["200"]))
    assert "202" in outcome
    refusal = spec["components"]["schemas"]["Refusal"]["properties"]
    assert {"item", "certificate", "reason", "message"} <= set(refusal)
    typed = spec["paths"]["/typed-data/redemption"]["post"]["responses"]["200"]
    assert "nonce" in properties(typed)


def test_answers_the_browser_reads_carry_the_short_reference(web):
    """The reference rule lives in webapp/present.py only: the API hands the browser `ref`
    wherever it shows a gift (decode, the redemption build, a batch's refused items before
    and after mining)."""
    a = issue_eth(web, web.holder.sender, "1")
    used = sign_redemption(web, a, "0.1", 10)
    decoded = decode(web, used).get_json()
    assert decoded["ref"] == gift_ref(a)
    built = build(web, "redeem-authorized", web.coffee.sender, authorization=used)
    assert built["redemption"]["ref"] == gift_ref(a)
    web.send(built["tx"])
    good = sign_redemption(web, a, "0.2", 11)
    out = build(web, "settle-batch", web.coffee.sender, merchant=1,
                authorizations="\n".join([good, used]))
    assert [r["ref"] for r in out["refused"]] == [gift_ref(a)]
    outcome = tx_outcome(web, web.send(out["tx"]))
    assert [r["ref"] for r in outcome["refused"]] == [gift_ref(a)]
