"""Corrupted payment authorisations (a damaged QR code, a hand-edited JSON) are a 4xx naming
the input, never a 500; and a signature the contract refuses (the high-s twin, a bad v or r) is
refused by the desk the same way: the contract's ECDSA (OpenZeppelin's rules, in
CertificateLedger._recover65) accepts low s and v 27 or 28 only."""

from __future__ import annotations

import pytest
from helpers import issue_eth, post

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def signed_payment(web) -> tuple[dict, str, int]:
    """A fresh holder-signed Redemption (typed data, 0x signature) and its certificate."""
    cert = issue_eth(web, web.holder.sender, "1")
    typed = post(web, "/typed-data/redemption", {"certificate": str(cert), "amount": "0.1",
                                                 "orderRef": "77"}).get_json()["typedData"]
    reply = web.w3.provider.make_request("eth_signTypedData_v4", [web.holder.sender, typed])
    return typed, reply["result"], cert


def twin(signature: str) -> str:
    """The high-s twin of a signature: (r, n - s, v flipped) recovers the same signer with
    plain ecrecover, and the contract refuses it."""
    raw = bytes.fromhex(signature[2:])
    s = int.from_bytes(raw[32:64], "big")
    return "0x" + (raw[:32] + (N - s).to_bytes(32, "big") + bytes([55 - raw[64]])).hex()


def with_sig(signature: str, **parts: int) -> str:
    raw = bytearray(bytes.fromhex(signature[2:]))
    if "v" in parts:
        raw[64] = parts["v"]
    if "r" in parts:
        raw[:32] = parts["r"].to_bytes(32, "big")
    return "0x" + raw.hex()


def as_text(typed: dict, signature: str) -> str:
    m = typed["message"]
    return ":".join(["gc2", *(str(m[k]) for k in ("certificate", "merchant", "amount",
                                                   "orderRef", "nonce", "deadline")), signature])


def test_the_high_s_twin_is_refused_as_the_contract_refuses_it(web):
    typed, signature, _ = signed_payment(web)
    high = twin(signature)
    r = post(web, "/authorizations", {"typedData": typed, "signature": high})
    assert r.status_code == 422 and r.get_json()["code"] == "InvalidSignature", r.get_json()
    r = post(web, "/authorizations/decode", {"authorization": as_text(typed, high)})
    assert r.status_code == 422 and r.get_json()["code"] == "InvalidSignature", r.get_json()
    assert r.get_json()["details"]["signer"] is None
    # the contract agrees: simulating the merchant's redemption reverts with InvalidSignature
    r = post(web, "/tx/redeem-authorized", {"from": web.coffee.sender,
                                            "authorization": as_text(typed, high)})
    assert r.status_code == 422 and r.get_json()["code"] == "InvalidSignature", r.get_json()
    # and the low-s original goes through everywhere
    assert post(web, "/authorizations", {"typedData": typed,
                                         "signature": signature}).status_code == 201
    assert post(web, "/tx/redeem-authorized", {"from": web.coffee.sender, "authorization":
                                               as_text(typed, signature)}).status_code == 200


@pytest.mark.parametrize("damage", [{"v": 0}, {"v": 1}, {"v": 29}, {"v": 255}, {"r": 0},
                                    {"r": N}, {"r": 2**256 - 1}])
def test_a_bad_v_or_r_is_an_invalid_signature_not_a_crash(web, damage):
    typed, signature, _ = signed_payment(web)
    bad = with_sig(signature, **damage)
    r = post(web, "/authorizations", {"typedData": typed, "signature": bad})
    assert r.status_code == 422 and r.get_json()["code"] == "InvalidSignature", r.get_json()
    r = post(web, "/authorizations/decode", {"authorization": as_text(typed, bad)})
    assert r.status_code == 422 and r.get_json()["code"] == "InvalidSignature", r.get_json()


@pytest.mark.parametrize("domain", [
    {"chainId": "abc"}, {"chainId": "0xzz"}, {"chainId": None}, {"chainId": [1]},
    {"chainId": 1.5}, {"verifyingContract": "nope"}, {"verifyingContract": 5},
])
def test_a_damaged_domain_is_a_400_naming_the_input(web, domain):
    typed, signature, _ = signed_payment(web)
    typed = {**typed, "domain": {**typed["domain"], **domain}}
    r = post(web, "/authorizations", {"typedData": typed, "signature": signature})
    assert r.status_code == 400 and r.get_json()["field"] == "typedData", r.get_json()
    r = post(web, "/authorizations/decode",
             {"authorization": {"typedData": typed, "signature": signature}})
    assert r.status_code == 400 and r.get_json()["field"] == "authorization", r.get_json()


@pytest.mark.parametrize("domain", ["x", 5, [], None, True])
def test_a_domain_that_is_not_an_object_is_a_400(web, domain):
    typed, signature, _ = signed_payment(web)
    for path, body, field in (
            ("/authorizations", {"typedData": {**typed, "domain": domain},
                                 "signature": signature}, "typedData"),
            ("/authorizations/decode", {"authorization": {"typedData": {**typed,
                                        "domain": domain}, "signature": signature}},
             "authorization")):
        r = post(web, path, body)
        assert r.status_code == 400 and r.get_json()["field"] == field, (path, r.get_json())


def test_another_chain_is_refused_by_name(web):
    typed, signature, _ = signed_payment(web)
    typed = {**typed, "domain": {**typed["domain"], "chainId": 1}}
    r = post(web, "/authorizations", {"typedData": typed, "signature": signature})
    assert r.status_code == 400 and "another chain" in r.get_json()["error"]


@pytest.mark.parametrize("text", [
    "gc2:1:1:1:1:0:99:0x" + "ff" * 65,  # r and s out of range
    "gc2:1:1:1:1:0:99:0x" + "00" * 65,
    "gc2:1:1:1:1:0:99:0x" + "11" * 64 + "1b",
    "gc2:x:1:1:1:0:99:0x" + "11" * 65, "gc2:1:1:1:1:0:99:0x" + "1" * 131,
    "gc2:1:1:1:1:0:99:", "gc2:" + ":" * 7, "{\"typedData\": 5, \"signature\": 1}",
    "{\"typedData\": {\"domain\": \"x\", \"message\": {}}, \"signature\": \"0x\"}",
])
def test_corrupted_compact_text_is_never_a_500(web, text):
    for path, body in (("/authorizations/decode", {"authorization": text}),
                       ("/tx/redeem-authorized", {"from": web.coffee.sender,
                                                  "authorization": text}),
                       ("/tx/settle-batch", {"from": web.coffee.sender, "merchant": 1,
                                             "authorizations": [text]})):
        r = post(web, path, body)
        assert 400 <= r.status_code < 500, (path, text, r.get_json())
        if r.status_code == 400:  # malformed; a well-formed one the contract refuses is a 422
            assert r.get_json()["field"] in ("authorization", "authorizations",
                                             "authorizations[0]"), (path, r.get_json())
