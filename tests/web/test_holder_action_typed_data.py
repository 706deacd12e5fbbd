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


def test_a_tabs_open_ask_and_close_are_typed_for_the_relay(web):
    """Issue 17 without gas: OpenTab (no session key: the holder signs the vouchers),
    RequestTabClose and CloseTab, each at the certificate's nonce, said with the merchant."""
    cert = issue_eth(web, web.holder.sender, "0.5")
    r = typed(web, kind="open-tab", certificate=str(cert), **{"from": web.holder.sender})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["typedData"]["primaryType"] == "OpenTab"
    assert out["relay"] == "/api/v1/relay/open-tab"
    assert out["message"] == {"certificate": str(cert), "sessionKey": "0x" + "00" * 20,
                              "nonce": "0", "deadline": str(out["deadline"])}
    assert out["amount"] == {"amount": "0.50", "currency": "ETH"}
    assert out["merchantName"] == web.admin.certificate(cert).merchant_name
    signature = web.w3.provider.make_request(
        "eth_signTypedData_v4", [web.holder.sender, out["typedData"]])["result"]
    signed = SignedHolderAction.from_json({"message": out["message"], "signature": signature},
                                          "open-tab")
    assert signed.signer(web.admin.chain_id, web.admin.address) == web.holder.sender
    keyed = typed(web, kind="open-tab", certificate=str(cert),
                  sessionKey=web.friend.sender.lower()).get_json()
    assert keyed["message"]["sessionKey"] == keyed["sessionKey"] == web.friend.sender
    for kind, primary in (("request-tab-close", "RequestTabClose"), ("close-tab", "CloseTab")):
        out = typed(web, kind=kind, certificate=str(cert)).get_json()
        assert out["typedData"]["primaryType"] == primary, out
        assert set(out["message"]) == {"certificate", "nonce", "deadline"}
        assert out["sessionKey"] is None and out["relay"] == f"/api/v1/relay/{kind}"


def test_the_relay_routes_of_tab_actions_are_documented(web):
    spec = web.http.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for kind, model in (("open-tab", "RelayOpenTabRequest"),
                        ("request-tab-close", "RelayRequestTabCloseRequest"),
                        ("close-tab", "RelayCloseTabRequest")):
        route = spec["paths"][f"/relay/{kind}"]["post"]
        assert route["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
            model)
        assert "202" in route["responses"] and "409" in route["responses"]
    assert "sessionKey" in schemas["OpenTabMessage"]["properties"]
    kinds = schemas["TypedHolderActionRequest"]["properties"]["kind"]
    assert {"open-tab", "request-tab-close", "close-tab"} <= set(kinds.get("enum", []))
