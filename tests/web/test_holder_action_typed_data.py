"""POST /typed-data/holder-action: what a holder signs for "no gas needed" (issue 16): the
SDK's EIP-712 type with the certificate's current nonce and a deadline on the chain's clock,
the message as POST /relay/{kind} takes it, and what moves, in words for the review."""

from __future__ import annotations

from helpers import issue_eth, post

from giftcert.authorization import SignedHolderAction
from webapp.present import gift_ref


def typed(web, **body):
    return post(web, "/typed-data/holder-action", body)


def test_a_split_is_typed_with_the_nonce_a_deadline_and_what_moves(web):
    cert = issue_eth(web, web.holder.sender, "0.5")
    r = typed(web, kind="split", certificate=str(cert), amount="0.2", to=web.friend.sender,
              **{"from": web.holder.sender})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["typedData"]["primaryType"] == "Split" and out["relay"] == "/api/v1/relay/split"
    assert out["message"] == {"certificate": str(cert), "amount": str(2 * 10**17),
                              "to": web.friend.sender, "nonce": "0",
                              "deadline": str(out["deadline"])}
    assert 3500 <= out["deadline"] - web.admin.now() <= 3600
    assert out["amount"] == {"amount": "0.20", "currency": "ETH"}
    assert out["ref"] == gift_ref(cert) and out["holder"] == web.holder.sender
    # The holder's wallet signs it; the contract's signer rule recovers the holder.
    signature = web.w3.provider.make_request(
        "eth_signTypedData_v4", [web.holder.sender, out["typedData"]])["result"]
    signed = SignedHolderAction.from_json({"message": out["message"], "signature": signature},
                                          "split")
    assert signed.signer(web.admin.chain_id, web.admin.address) == web.holder.sender


def test_transfer_merge_and_cash_out_move_the_whole_balance(web):
    a = issue_eth(web, web.holder.sender, "0.5")
    b = issue_eth(web, web.holder.sender, "0.25")
    out = typed(web, kind="transfer", certificate=str(a), to=web.friend.sender).get_json()
    assert out["typedData"]["primaryType"] == "Transfer"
    assert out["amount"] == {"amount": "0.50", "currency": "ETH"} and out["to"] == web.friend.sender
    out = typed(web, kind="merge", certificate=str(b), into=str(a)).get_json()
    assert out["typedData"]["primaryType"] == "Merge"
    assert out["message"]["from"] == str(b) and out["message"]["into"] == str(a)
    assert out["intoRef"] == gift_ref(a) and out["amount"]["amount"] == "0.25"
    out = typed(web, kind="cash-out", certificate=str(b)).get_json()
    assert out["typedData"]["primaryType"] == "CashOut"
    assert set(out["message"]) == {"certificate", "nonce", "deadline"}


def test_what_cannot_be_signed_is_said_about_its_field(web):
    cert = issue_eth(web, web.holder.sender, "0.5")
    r = typed(web, kind="split", certificate=str(cert), amount="0.2", to=web.friend.sender,
              **{"from": web.friend.sender})
    assert r.status_code == 422 and r.get_json()["code"] == "NotHolder"
    r = typed(web, kind="split", certificate=str(cert), amount="0.5", to=web.friend.sender)
    assert r.status_code == 422 and r.get_json()["field"] == "amount"
    r = typed(web, kind="transfer", certificate=str(cert))
    assert r.status_code == 400 and r.get_json()["field"] == "to"
    r = typed(web, kind="burn", certificate=str(cert))
    assert r.status_code == 400 and r.get_json()["field"] == "kind"
    r = typed(web, kind="cash-out", certificate="12345")
    assert r.status_code == 404
