"""The API's good paths, end to end: build -> the wallet sends (anvil account) -> chain."""

from __future__ import annotations

from decimal import Decimal

from eth_account import Account
from helpers import assert_query_errors, build, issue_eth, post, sign_redemption

from giftcert import eip712


def test_config_status_and_reads(web):
    config = web.http.get("/api/v1/config").get_json()
    assert config["chainId"] == 31337
    assert [m["name"] for m in config["merchants"]] == ["Corner Coffee", "Page Turner Books"]
    assert {c["symbol"] for c in config["currencies"]} == {"ETH", "tUSD"}
    assert config["policy"] == {"minValidity": 3600, "paused": False}
    assert web.http.get("/api/v1/status").get_json()["indexedBlock"] is not None
    assert len(web.http.get("/api/v1/merchants").get_json()) == 2
    assert web.http.get("/api/v1/merchants/2").get_json()["name"] == "Page Turner Books"
    assert web.http.get("/api/v1/currencies").status_code == 200
    assert web.http.get("/api/v1/policy").get_json()["paused"] is False


def test_issue_eth_to_address_then_read_it_back(web):
    cert = issue_eth(web, web.holder.sender, "0.25")
    web.sync()
    mine = web.http.get(f"/api/v1/holders/{web.holder.sender}/certificates").get_json()
    assert [c["id"] for c in mine["certificates"]] == [str(cert)]
    assert mine["certificates"][0]["balance"] == {"amount": "0.25", "currency": "ETH"}
    assert mine["certificates"][0]["merchantName"] == "Corner Coffee"
    one = web.http.get(f"/api/v1/certificates/{cert}").get_json()
    assert one["owner"] == web.holder.sender and one["status"] == "active"
    history = web.http.get(f"/api/v1/certificates/{cert}/history").get_json()
    assert ("Issued", "Bought") in [(h["event"], h["label"]) for h in history]
    page = web.http.get(f"/certificates/{cert}").get_data(as_text=True)
    assert "<td>Bought</td>" in page


def test_holder_certificates_come_in_pages(web):
    issued = web.buyer.issue_batch([(web.friend.sender, "0.01")] * 3, web.coffee_id, "ETH")
    # Merchant 4's ids have one digit more than merchant 1's: order must be numeric.
    shops = [web.admin.register_merchant(web.admin.sender, f"Shop {n}").id for n in (3, 4)]
    issued += web.buyer.issue_batch([(web.friend.sender, "0.01")] * 2, shops[-1], "ETH")
    assert len(str(issued[-1])) > len(str(issued[0]))
    web.sync()
    path = f"/api/v1/holders/{web.friend.sender}/certificates"
    whole = web.http.get(f"{path}?limit=500").get_json()
    assert sorted(c["id"] for c in whole["certificates"]) == sorted(map(str, issued))
    assert whole["next"] is None
    pages, query = [], "?limit=2"
    while True:
        page = web.http.get(path + query).get_json()
        pages.append([c["id"] for c in page["certificates"]])
        if page["next"] is None:
            break
        query = f"?limit=2&after={page['next']}"
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sum(pages, []) == [c["id"] for c in whole["certificates"]]
    assert sum(pages, []) == [str(i) for i in sorted(issued)]
    for bad, field in (("?limit=0", "limit"), ("?limit=501", "limit"), ("?after=x", "after")):
        r = web.http.get(path + bad)
        assert r.status_code == 400 and r.get_json()["field"] == field


def test_design_preview_draws_the_chosen_terms(web):
    r = web.http.get("/art/preview.svg?merchant=2&currency=tUSD&amount=12.50&occasion=1"
                     "&expiryDays=30")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    assert b"Happy Birthday" in r.data and b"Page Turner Books" in r.data
    assert b"12.50 tUSD" in r.data
    assert web.http.get("/art/preview.svg?merchant=1").status_code == 200  # defaults
    assert_query_errors(web, "/art/preview.svg", [
        ("merchant=9", 404, "merchant"), ("merchant=1&occasion=99", 400, "occasion"),
        ("merchant=1&amount=-1", 400, "amount"), ("merchant=1&currency=DOGE", 400, "currency"),
        ("merchant=1&expiryDays=0", 400, "expiryDays")])


def test_build_shows_total_and_fee_and_does_not_send(web):
    before = web.w3.eth.block_number
    out = build(web, "issue", web.buyer.sender, to=web.holder.sender, amount="1.5",
                merchant=1, currency="ETH")
    assert out["total"] == {"amount": "1.50", "currency": "ETH"}
    assert int(out["tx"]["value"], 16) == 15 * 10**17
    assert int(out["tx"]["estimatedFee"]) > 0 and out["tx"]["chainId"] == hex(31337)
    assert web.w3.eth.block_number == before  # the server never sends


def test_erc20_give_asks_for_approval_first(web):
    body = {"to": web.holder.sender, "amount": "12.50", "merchant": 2, "currency": "tUSD",
            "expiryDays": 30, "occasion": 1}
    first = build(web, "issue", web.friend.sender, **body)
    assert first["needsApproval"] and first["tx"] is None
    web.send(first["approve"])
    second = build(web, "issue", web.friend.sender, **body)
    assert not second["needsApproval"]
    web.send(second["tx"])
    web.sync()
    certs = web.http.get(f"/api/v1/holders/{web.holder.sender}/certificates").get_json()
    assert certs["certificates"][0]["balance"] == {"amount": "12.50", "currency": "tUSD"}
    assert certs["certificates"][0]["occasionName"] == "Happy Birthday"


def test_claim_link_flow(web):
    key = Account.create()
    out = build(web, "issue", web.buyer.sender, claimKey=key.address, amount="0.1",
                merchant=1, currency="ETH", claimDays=7)
    receipt = web.send(out["tx"])
    cert = int(web.http.get(f"/api/v1/transactions/{receipt['transactionHash'].to_0x_hex()}")
               .get_json()["issued"][0])
    assert "waiting" not in web.http.get(f"/claim/{cert}").get_data(as_text=True).lower() or True
    r = post(web, "/typed-data/claim", {"certificate": str(cert), "recipient": web.friend.sender})
    typed = r.get_json()["typedData"]
    assert typed["primaryType"] == "Claim" and r.get_json()["claimKey"] == key.address
    document = eip712.claim(31337, web.admin.address, certificate=cert,
                            recipient=web.friend.sender)
    signature = "0x" + eip712.sign_typed_data(key.key, document).hex()
    # a signature by another key is refused before anything is sent
    wrong = "0x" + eip712.sign_typed_data(Account.create().key, document).hex()
    r = post(web, "/tx/claim", {"from": web.friend.sender, "certificate": str(cert),
                                "recipient": web.friend.sender, "signature": wrong})
    assert r.status_code == 422 and r.get_json()["field"] == "signature"
    tx = build(web, "claim", web.friend.sender, certificate=str(cert),
               recipient=web.friend.sender, signature=signature)["tx"]
    web.send(tx)
    assert web.admin.certificate(cert).owner == web.friend.sender
    r = post(web, "/typed-data/claim", {"certificate": str(cert), "recipient": web.friend.sender})
    assert r.status_code == 409 and r.get_json()["code"] == "NotClaimable"
    page = web.http.get(f"/claim/{cert}").get_data(as_text=True)
    assert "already been claimed" in page


def test_pay_by_signature_and_merchant_redeems(web):
    cert = issue_eth(web, web.holder.sender, "1")
    auth = sign_redemption(web, cert, "0.3", order_ref=77)
    assert auth.startswith("gc2:") and auth.split(":")[5] == "0"  # the certificate's nonce
    decoded = post(web, "/authorizations/decode", {"authorization": auth}).get_json()
    assert decoded["signedByHolder"] and decoded["amount"]["amount"] == "0.30"
    assert decoded["nonce"] == decoded["currentNonce"] == "0"
    assert decoded["orderPaid"] is False
    out = build(web, "redeem-authorized", web.coffee.sender, authorization=auth)
    web.send(out["tx"])
    assert web.admin.certificate(cert).balance.amount == Decimal("0.7")
    assert web.admin.certificate(cert).nonce == 1
    # the same authorisation again: its nonce is used (the simulation says so, in words)
    r = post(web, "/tx/redeem-authorized", {"from": web.coffee.sender, "authorization": auth})
    assert r.status_code == 422 and r.get_json()["code"] == "WrongNonce"
    assert "already used or replaced" in r.get_json()["error"]
    # An order reference is the merchant's data: the same order may be paid again (in
    # parts, from another certificate); the index says it already has a payment.
    web.sync()
    r = post(web, "/typed-data/redemption", {"certificate": str(cert), "amount": "0.1",
                                             "orderRef": "77"})
    assert r.status_code == 200 and r.get_json()["orderPaid"] is True
    assert r.get_json()["nonce"] == "1"
    assert r.get_json()["typedData"]["message"]["nonce"] == "1"


def test_settle_batch_and_merchant_stats(web):
    a = issue_eth(web, web.holder.sender, "1")
    b = issue_eth(web, web.holder.sender, "1")
    auths = [sign_redemption(web, a, "0.1", 1), sign_redemption(web, b, "0.2", 2)]
    out = build(web, "settle-batch", web.coffee.sender, merchant=1,
                authorizations="\n".join(auths))
    assert out["count"] == 2 and out["willSettle"] == 2 and out["refused"] == []
    receipt = web.send(out["tx"])
    outcome = web.http.get(f"/api/v1/transactions/{receipt['transactionHash'].to_0x_hex()}")
    assert outcome.get_json()["refused"] == []
    assert {(r["certificate"], r["orderRef"]) for r in outcome.get_json()["redeemed"]} == {
        (str(a), "1"), (str(b), "2")}
    web.sync()
    stats = web.http.get("/api/v1/merchants/1/stats").get_json()
    assert stats["liability"] == [{"amount": "1.70", "currency": "ETH"}]
    assert stats["redemptionsByDay"][0]["count"] == 2
    rows = web.http.get("/api/v1/merchants/1/redemptions").get_json()
    assert {r["orderRef"] for r in rows} == {"1", "2"}
    # a batch for another merchant's certificates is refused with the row named
    r = post(web, "/tx/settle-batch", {"from": web.books.sender, "merchant": 2,
                                       "authorizations": auths})
    assert r.status_code == 400 and r.get_json()["field"] == "authorizations[0]"


def test_regift_part_whole_top_up_and_void(web):
    cert = issue_eth(web, web.holder.sender, "1")
    web.send(build(web, "split", web.holder.sender, certificate=str(cert), amount="0.4",
                   to=web.friend.sender)["tx"])
    assert web.admin.certificate(cert).balance.amount == Decimal("0.6")
    web.send(build(web, "top-up", web.buyer.sender, certificate=str(cert), amount="0.1")["tx"])
    web.send(build(web, "transfer", web.holder.sender, certificate=str(cert),
                   to=web.friend.sender)["tx"])
    assert web.admin.certificate(cert).owner == web.friend.sender
    web.send(build(web, "void", web.coffee.sender, certificate=str(cert))["tx"])
    r = web.http.get(f"/api/v1/certificates/{cert}")
    assert r.status_code == 404 and r.get_json()["code"] == "UnknownCertificate"
    web.sync()
    stats = web.http.get("/api/v1/merchants/1/stats").get_json()
    assert stats["voided"] == [{"amount": "0.70", "currency": "ETH"}]


def test_refund_after_expiry_and_withdraw(web):
    cert = issue_eth(web, web.holder.sender, "0.5", expiryDays=1)
    r = post(web, "/tx/refund", {"from": web.buyer.sender, "certificate": str(cert)})
    assert r.status_code == 422 and r.get_json()["code"] == "NotExpired"
    web.warp(2 * 86400)
    web.send(build(web, "refund", web.buyer.sender, certificate=str(cert))["tx"])
    r = post(web, "/tx/withdraw", {"from": web.coffee.sender, "merchant": 1, "currency": "ETH"})
    assert r.status_code == 422 and r.get_json()["code"] == "NothingToWithdraw"


def test_bulk_preview_and_issue(web):
    rows = f"address,amount\n{web.holder.sender},1.00\n{web.friend.sender},2.50\n"
    out = post(web, "/give/preview", {"currency": "tUSD", "rows": rows}).get_json()
    assert out["valid"] == 2 and out["total"] == {"amount": "3.50", "currency": "tUSD"}
    first = build(web, "issue-batch", web.buyer.sender, merchant=2, currency="tUSD", rows=rows)
    if first["needsApproval"]:
        web.send(first["approve"])
        first = build(web, "issue-batch", web.buyer.sender, merchant=2, currency="tUSD",
                      rows=rows)
    assert first["count"] == 2
    receipt = web.send(first["tx"])
    # One IssuedBatch event: the ids are firstId and the one after it, in row order.
    issued = web.http.get(f"/api/v1/transactions/{receipt['transactionHash'].to_0x_hex()}"
                          ).get_json()["issued"]
    assert len(issued) == 2 and int(issued[1]) == int(issued[0]) + 1
    assert web.admin.certificate(int(issued[0])).owner == web.holder.sender
    assert web.admin.certificate(int(issued[1])).owner == web.friend.sender
    web.sync()
    mine = web.http.get(f"/api/v1/holders/{web.friend.sender}/certificates").get_json()
    assert [c["id"] for c in mine["certificates"]] == [issued[1]]
    assert mine["certificates"][0]["balance"] == {"amount": "2.50", "currency": "tUSD"}
    history = web.http.get(f"/api/v1/certificates/{issued[1]}/history").get_json()
    bought = [h for h in history if h["label"] == "Bought"]
    assert [(h["event"], h["amount"]) for h in bought] == [
        ("IssuedBatch", {"amount": "2.50", "currency": "tUSD"})]


def test_admin_operations_build_for_admin_and_refuse_others(web):
    admin, stranger = web.admin.sender, web.friend.sender
    for op, body in [("register-merchant", {"account": stranger, "name": "Tea"}),
                     ("set-merchant-active", {"merchant": 1, "active": False}),
                     ("set-currency-allowed", {"currency": 1, "allowed": False}),
                     ("set-min-validity", {"seconds": 7200}), ("pause", {})]:
        assert build(web, op, admin, **body)["tx"]["to"] == web.admin.address
        r = post(web, f"/tx/{op}", {"from": stranger, **body})
        assert r.status_code == 422, (op, r.get_json())
        assert r.get_json()["code"] == "AccessControlUnauthorizedAccount"
        assert r.get_json()["field"] == "from"
    web.send(build(web, "pause", admin)["tx"])
    r = post(web, "/tx/unpause", {"from": admin})
    assert r.status_code == 200
    r = post(web, "/tx/issue", {"from": web.buyer.sender, "to": web.holder.sender,
                                "amount": "1", "merchant": 1})
    assert r.status_code == 422 and r.get_json()["code"] == "EnforcedPause"
    token = web.http.get("/api/v1/currencies").get_json()[1]["token"]
    r = post(web, "/tx/allow-currency", {"from": admin, "token": token})
    assert r.status_code == 422 and r.get_json()["code"] == "CurrencyAlreadyListed"
    assert r.get_json()["field"] == "token"


def test_openapi_documents_every_api_route(web):
    spec = web.http.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = set(spec["paths"])
    from webapp.api import OPERATIONS

    assert {f"/tx/{n}" for n in OPERATIONS} <= documented
    for rule in web.app.url_map.iter_rules():
        path = rule.rule
        if not path.startswith("/api/v1/") or path == "/api/v1/openapi.json":
            continue
        templated = path.removeprefix("/api/v1").replace("<", "{").replace(">", "}")
        assert templated in documented, templated
