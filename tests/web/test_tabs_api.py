"""Payment tabs through the API (issue 17): open a tab (a built transaction the wallet sends),
the Voucher to sign for each purchase (the kept running total plus the purchase), a voucher
read and checked, kept by the signed-in merchant (old, over the balance, wrong epoch, close
pending, badly signed: refused or flagged in words), the merchant's open tabs, and the settle
of all of them in one settleTabs batch; bad input is a 4xx naming the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from helpers import build, post

from giftcert.config import ANVIL_DEV_KEYS
from giftcert.money import Money
from giftcert.tabs import sign_voucher
from webapp.present import gift_ref

COFFEE_KEY, BOOKS_KEY = ANVIL_DEV_KEYS[4], ANVIL_DEV_KEYS[5]


def sign_in(web, key: str = COFFEE_KEY) -> None:
    account = Account.from_key(key)
    message = web.http.get(f"/api/v1/siwe/nonce?address={account.address}").get_json()[
        "message"]
    signature = Account.sign_message(encode_defunct(text=message), key).signature
    r = web.http.post("/api/v1/siwe/verify",
                      json={"message": message, "signature": "0x" + signature.hex()})
    assert r.status_code == 200, r.get_json()


def gift(web, amount: str = "30", merchant: int = 1) -> int:
    return web.buyer.issue(web.holder.sender, amount, merchant, "tUSD").id


def open_tab(web, cert: int) -> None:
    web.send(build(web, "open-tab", web.holder.sender, certificate=str(cert))["tx"])


def tab(web, cert: int) -> dict[str, Any]:
    r = web.http.get(f"/api/v1/certificates/{cert}/tab")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def purchase(web, cert: int, amount: str) -> tuple[dict[str, Any], str]:
    """The till's steps: the typed data, the wallet's signature, the voucher's text."""
    r = post(web, "/typed-data/voucher", {"certificate": str(cert), "amount": amount})
    assert r.status_code == 200, r.get_json()
    built = r.get_json()
    signature = web.w3.provider.make_request(
        "eth_signTypedData_v4", [web.holder.sender, built["typedData"]])["result"]
    r = post(web, "/vouchers/decode",
             {"voucher": {"typedData": built["typedData"], "signature": signature}})
    assert r.status_code == 200, r.get_json()
    return built, r.get_json()["voucher"]


def keep(web, voucher: str):
    return post(web, "/vouchers", {"voucher": voucher})


def test_open_pay_three_times_keep_and_settle_once(web):
    cert = gift(web)
    assert tab(web, cert)["state"] == "none"
    open_tab(web, cert)
    state = tab(web, cert)
    assert state["state"] == "open" and state["open"]
    assert state["unsettled"] == {"amount": "0", "currency": "tUSD"}
    assert state["signer"] == web.holder.sender
    sign_in(web)
    totals = []
    for amount in ("3.50", "4", "3"):
        built, voucher = purchase(web, cert, amount)
        assert voucher.startswith("gt1:")
        r = keep(web, voucher)
        assert r.status_code == 201, r.get_json()
        kept = r.get_json()
        assert kept["kept"] and Decimal(kept["purchase"]["amount"]) == Decimal(amount)
        assert kept["total"] == built["total"]
        totals.append(Decimal(kept["total"]["amount"]))
    assert totals == [Decimal("3.5"), Decimal("7.5"), Decimal("10.5")]
    assert Decimal(tab(web, cert)["unsettled"]["amount"]) == Decimal("10.5")
    assert Decimal(tab(web, cert)["left"]["amount"]) == Decimal("19.5")
    # The same voucher again is kept already: no error, nothing changes.
    again = keep(web, voucher)
    assert again.status_code == 201 and again.get_json()["total"] == kept["total"]

    listed = web.http.get("/api/v1/merchants/1/tabs").get_json()
    mine = [t for t in listed["tabs"] if t["certificate"] == str(cert)]
    assert mine and mine[0]["unsettled"] == kept["total"]
    assert kept["total"] in listed["unsettled"]

    owed_before = web.admin.merchant_owed(1, "tUSD")
    out = build(web, "settle-tabs", web.coffee.sender, merchant=1,
                certificates=[str(cert)])
    assert out["willSettle"] == 1 and out["refused"] == []
    assert out["total"] == [kept["total"]]
    receipt = web.send(out["tx"])
    # On chain, to the unit: the gift's balance and what the merchant is owed.
    assert web.admin.certificate(cert).balance == Money(Decimal("19.5"), "tUSD")
    owed = web.admin.merchant_owed(1, "tUSD").amount - owed_before.amount
    assert owed == Decimal("10.5")
    outcome = web.http.get(
        f"/api/v1/transactions/{receipt['transactionHash'].to_0x_hex()}").get_json()
    assert outcome["status"] == "success" and outcome["refused"] == []
    assert out["tabs"] == [{"certificate": str(cert), "ref": gift_ref(cert),
                            "amount": kept["total"]}]
    # The tab goes on at the next epoch: nothing unsettled, the old voucher no longer counts.
    after = tab(web, cert)
    assert after["open"] and Decimal(after["unsettled"]["amount"]) == 0
    assert int(after["epoch"]) == int(state["epoch"]) + 1
    stale = keep(web, voucher)
    assert stale.status_code == 422 and stale.get_json()["code"] == "WrongEpoch"
    assert "no longer counts" in stale.get_json()["error"]
    web.sync()  # the index has the tab open: listed, with nothing to collect
    history = web.http.get(f"/api/v1/certificates/{cert}/history").get_json()
    labels = [h["label"] for h in history]
    assert "Tab opened" in labels and "Tab total collected by the merchant" in labels
    collected = next(h for h in history if h["event"] == "TabSettled")
    assert collected["amount"] == kept["total"]
    listed = web.http.get("/api/v1/merchants/1/tabs").get_json()
    mine = [t for t in listed["tabs"] if t["certificate"] == str(cert)]
    assert mine and Decimal(mine[0]["unsettled"]["amount"]) == 0
    assert Decimal(mine[0]["balance"]["amount"]) == Decimal("19.5")
    assert listed["unsettled"] == []


def test_the_checks_before_serving_are_said_in_words(web):
    cert = gift(web, "10")
    open_tab(web, cert)
    sign_in(web)
    _, first = purchase(web, cert, "2")
    _, second = purchase(web, cert, "2")  # nothing kept yet: also 2.00 in all
    assert keep(web, first).status_code == 201
    _, bigger = purchase(web, cert, "3")  # 2 kept + 3
    assert keep(web, bigger).status_code == 201
    old = keep(web, first)
    assert old.status_code == 422 and old.get_json()["code"] == "VoucherBelowPrevious"
    assert "old voucher" in old.get_json()["error"] and "5.00 tUSD" in old.get_json()["error"]
    assert keep(web, second).get_json()["code"] == "VoucherBelowPrevious"

    # Over the balance: the till refuses to build it, and a signed one is refused at the desk.
    r = post(web, "/typed-data/voucher", {"certificate": str(cert), "amount": "5.01"})
    assert r.status_code == 422 and r.get_json()["field"] == "amount"
    assert "5.00 tUSD left on the tab" in r.get_json()["error"]
    over = sign_voucher(web.holder, cert, "10.01").to_text()
    r = keep(web, over)
    assert r.status_code == 422 and r.get_json()["code"] == "InsufficientBalance"
    assert "more than the gift holds (10.00 tUSD)" in r.get_json()["error"]

    # Signed by someone else (the friend's key), or altered.
    forged = sign_voucher(web.holder, cert, "6", key=ANVIL_DEV_KEYS[3]).to_text()
    r = keep(web, forged)
    assert r.status_code == 422 and r.get_json()["code"] == "InvalidSignature"
    assert "not signed by the gift's holder" in r.get_json()["error"]
    good = sign_voucher(web.holder, cert, "6").to_text()
    altered = good.replace(":6000000:", ":7000000:")
    assert keep(web, altered).get_json()["code"] == "InvalidSignature"

    # A wrong epoch (a voucher for the next one).
    ahead = sign_voucher(web.holder, cert, "6", epoch=int(tab(web, cert)["epoch"]) + 1).to_text()
    assert keep(web, ahead).get_json()["code"] == "WrongEpoch"

    # A close pending: what was signed is kept (it can be collected), flagged to serve no more.
    web.send(build(web, "request-tab-close", web.holder.sender, certificate=str(cert))["tx"])
    state = tab(web, cert)
    assert state["state"] == "closing" and state["closeAt"]
    r = keep(web, good)
    assert r.status_code == 201, r.get_json()
    assert "asked to close this tab" in r.get_json()["warning"]
    r = post(web, "/typed-data/voucher", {"certificate": str(cert), "amount": "1"})
    assert r.status_code == 422 and r.get_json()["code"] == "TabCloseAlreadyRequested"
    # The holder cannot close before the two days; the gift cannot move meanwhile.
    r = post(web, "/tx/close-tab", {"from": web.holder.sender, "certificate": str(cert)})
    assert r.status_code == 422 and r.get_json()["code"] == "TabCloseDelay"
    r = post(web, "/tx/transfer", {"from": web.holder.sender, "certificate": str(cert),
                                   "to": web.friend.sender})
    assert r.status_code == 422 and r.get_json()["code"] == "TabOpen"
    assert "0x" not in r.get_json()["error"]
    web.warp(2 * 86400 + 5)
    assert tab(web, cert)["state"] == "closable"
    web.send(build(web, "close-tab", web.holder.sender, certificate=str(cert))["tx"])
    assert tab(web, cert)["state"] == "none"


def test_keeping_and_listing_need_the_merchants_sign_in(web):
    cert = gift(web)
    open_tab(web, cert)
    _, voucher = purchase(web, cert, "1")
    r = keep(web, voucher)
    assert r.status_code == 401 and r.get_json()["code"] == "NotSignedIn"
    assert web.http.get("/api/v1/merchants/1/tabs").status_code == 401
    sign_in(web, BOOKS_KEY)  # another shop
    r = keep(web, voucher)
    assert r.status_code == 403 and r.get_json()["field"] == "voucher"
    assert web.http.get("/api/v1/merchants/1/tabs").status_code == 403
    assert web.http.get("/api/v1/merchants/2/tabs").status_code == 200


def test_opening_is_the_holders_and_only_once(web):
    cert = gift(web)
    r = post(web, "/tx/open-tab", {"from": web.friend.sender, "certificate": str(cert)})
    assert r.status_code == 422 and r.get_json()["code"] == "NotHolder"
    open_tab(web, cert)
    r = post(web, "/tx/open-tab", {"from": web.holder.sender, "certificate": str(cert)})
    assert r.status_code == 422 and r.get_json()["code"] == "TabOpen"
    r = post(web, "/typed-data/voucher", {"certificate": str(gift(web)), "amount": "1"})
    assert r.status_code == 422 and r.get_json()["code"] == "TabNotOpen"


def test_settle_with_nothing_kept_and_a_refused_tab(web):
    sign_in(web)
    r = post(web, "/tx/settle-tabs", {"from": web.coffee.sender, "merchant": 1,
                                      "certificates": ["1"]})
    assert r.status_code == 422 and r.get_json()["code"] == "EmptyBatch"
    # Two tabs kept, settled together.
    good, gone = gift(web, "5"), gift(web, "5")
    for cert in (good, gone):
        open_tab(web, cert)
        assert keep(web, purchase(web, cert, "1")[1]).status_code == 201
    out = build(web, "settle-tabs", web.coffee.sender, merchant=1,
                certificates=[str(good), str(gone)])
    assert out["willSettle"] == 2
    web.send(out["tx"])
    # Settled: both at the next epoch, nothing left to settle.
    r = post(web, "/tx/settle-tabs", {"from": web.coffee.sender, "merchant": 1,
                                      "certificates": [str(good), str(gone)]})
    assert r.status_code == 422 and r.get_json()["code"] == "EmptyBatch"


@pytest.mark.parametrize(("path", "body", "status", "field"), [
    ("/typed-data/voucher", {"certificate": "x", "amount": "1"}, 400, "certificate"),
    ("/typed-data/voucher", {"certificate": "1", "amount": "abc"}, 400, "amount"),
    ("/typed-data/voucher", {"certificate": "1", "amount": "0"}, 404, "certificate"),
    ("/typed-data/voucher", {"certificate": "1"}, 400, "amount"),
    ("/vouchers/decode", {"voucher": 12}, 400, "voucher"),
    ("/vouchers/decode", {"voucher": "gt1:1:2"}, 400, "voucher"),
    ("/vouchers/decode", {"voucher": "gc2:1:2:3:4:5:6:0x00"}, 400, "voucher"),
    ("/vouchers/decode", {"voucher": "gt1:x:0:1:0x" + "11" * 65}, 400, "voucher"),
    ("/vouchers/decode", {"voucher": "gt1:5:0:1:0x11"}, 404, "voucher"),
    ("/vouchers/decode", {"voucher": "{not json"}, 400, "voucher"),
    ("/vouchers/decode", {"voucher": {"typedData": {}, "signature": "0x00"}}, 400, "voucher"),
    ("/vouchers/decode", {"voucher": "gt1:5:0:1:0x" + "11" * 65}, 404, "voucher"),
    ("/vouchers", {"voucher": "nonsense"}, 400, "voucher"),
    ("/vouchers", {}, 400, "voucher"),
    ("/tx/open-tab", {"from": "0x12", "certificate": "1"}, 400, "from"),
    ("/tx/open-tab", {"from": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
                      "certificate": "1", "sessionKey": "nope"}, 400, "sessionKey"),
    ("/tx/settle-tabs", {"from": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
                         "merchant": 0}, 400, "merchant"),
    ("/tx/settle-tabs", {"from": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
                         "merchant": 1, "certificates": ["1"] * 101}, 400, "certificates"),
    ("/tx/settle-tabs", {"from": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
                         "merchant": 99}, 404, "merchant"),
])
def test_bad_input_is_a_4xx_naming_the_field(web, path, body, status, field):
    r = post(web, path, body)
    assert r.status_code == status, r.get_json()
    data = r.get_json()
    assert data["field"] == field and data["error"], data
    assert "Traceback" not in data["error"]


def test_a_bad_tab_path_is_a_4xx(web):
    assert web.http.get("/api/v1/certificates/abc/tab").status_code == 400
    r = web.http.get("/api/v1/certificates/5/tab")
    assert r.status_code == 404 and r.get_json()["field"] == "certificate"
    assert web.http.get("/api/v1/merchants/0/tabs").status_code == 400


def test_the_pages_say_the_tab_in_words(web):
    cert = gift(web, "30")
    page = web.http.get(f"/certificates/{cert}").get_data(as_text=True)
    assert 'data-tx="open-tab"' in page and "Open a tab at Corner Coffee" in page
    assert "Closing takes 2 days" in page and "The balance stays yours (30.00 tUSD)" in page
    open_tab(web, cert)
    sign_in(web)
    assert keep(web, purchase(web, cert, "3.50")[1]).status_code == 201
    page = web.http.get(f"/certificates/{cert}").get_data(as_text=True)
    assert 'data-tx="open-tab"' not in page and 'data-tx="split"' not in page
    assert 'data-testid="tab-unsettled">3.50 tUSD' in page
    assert f'href="/tab/{gift_ref(cert)}"' in page
    till = web.http.get(f"/tab/{cert}").get_data(as_text=True)
    assert 'data-testid="till-total">3.50 tUSD' in till and "26.50 tUSD" in till
    assert 'data-tab-total="3.5' in till
    asked = web.http.get(f"/tab/{cert}?amount=2.50").get_data(as_text=True)
    assert 'value="2.50"' in asked
    pay = web.http.get(f"/pay/{cert}").get_data(as_text=True)
    assert 'data-testid="pay-on-tab"' in pay and 'id="pay-form"' not in pay
    web.sync()
    mine = web.http.get(f"/holder/{web.holder.sender}").get_data(as_text=True)
    assert f'href="/tab/{gift_ref(cert)}" data-testid="cert-tab-pay"' in mine
    listed = web.http.get(f"/api/v1/holders/{web.holder.sender}/certificates").get_json()
    assert [c["tabOpen"] for c in listed["certificates"] if c["id"] == str(cert)] == [True]
    desk = web.http.get("/merchant/").get_data(as_text=True)
    assert f'data-cert-id="{cert}"' in desk and "3.50 tUSD" in desk
    web.send(build(web, "request-tab-close", web.holder.sender, certificate=str(cert))["tx"])
    page = web.http.get(f"/certificates/{cert}").get_data(as_text=True)
    assert "Closing on" in page and 'data-testid="tab-closing"' in page
    till = web.http.get(f"/tab/{cert}").get_data(as_text=True)
    assert "You asked to close this tab" in till and 'id="till-form"' not in till


def test_settle_names_a_tab_it_cannot_collect_and_collects_the_others(web):
    sign_in(web)
    lasting = web.buyer.issue(web.holder.sender, "5", 1, "tUSD", expiry_days=365).id
    short = web.buyer.issue(web.holder.sender, "5", 1, "tUSD", expiry_days=1).id
    for cert in (lasting, short):
        open_tab(web, cert)
        assert keep(web, purchase(web, cert, "2")[1]).status_code == 201
    web.warp(9 * 86400)  # the short gift's settle window (expiry and a week) is over
    out = build(web, "settle-tabs", web.coffee.sender, merchant=1,
                certificates=[str(lasting), str(short)])
    assert out["count"] == 2 and out["willSettle"] == 1
    assert [t["certificate"] for t in out["tabs"]] == [str(lasting)]
    (refused,) = out["refused"]
    assert refused["certificate"] == str(short) and refused["reason"] == "TabSettleEnded"
    assert refused["ref"] == gift_ref(short) and "can no longer be collected" in refused["message"]
    web.send(out["tx"])
    assert web.admin.certificate(lasting).balance == Money(Decimal("3"), "tUSD")
    assert web.admin.certificate(short).balance == Money(Decimal("5"), "tUSD")
    # Only the refused one is left: nothing can be settled, and why is said.
    r = post(web, "/tx/settle-tabs", {"from": web.coffee.sender, "merchant": 1,
                                      "certificates": [str(short)]})
    assert r.status_code == 422 and r.get_json()["code"] == "RedemptionRefused"
    assert gift_ref(short) in r.get_json()["error"]
    assert r.get_json()["details"]["refused"][0]["reason"] == "TabSettleEnded"


def test_the_merchant_releases_a_leaving_customers_tab_once_collected(web):
    cert = gift(web, "8")
    open_tab(web, cert)
    sign_in(web)
    assert keep(web, purchase(web, cert, "2")[1]).status_code == 201
    web.send(build(web, "request-tab-close", web.holder.sender, certificate=str(cert))["tx"])
    web.sync()
    desk = web.http.get("/merchant/").get_data(as_text=True)
    assert 'data-testid="release-settle-first"' in desk  # 2.00 tUSD still to collect
    web.send(build(web, "settle-tabs", web.coffee.sender, merchant=1,
                   certificates=[str(cert)])["tx"])
    web.sync()
    desk = web.http.get("/merchant/").get_data(as_text=True)
    assert 'data-testid="release-certificate"' in desk and f'value="{cert}"' in desk
    web.send(build(web, "close-tab", web.coffee.sender, certificate=str(cert))["tx"])
    assert tab(web, cert)["state"] == "none"
    assert web.admin.certificate(cert).balance == Money(Decimal("6"), "tUSD")


def _kept(web, cert: int):
    from webapp.api.tabs import store

    with web.app.app_context():
        return store().latest(cert)


def _database(web) -> dict[str, list[tuple]]:
    """Every row of every table of the site's database, to compare before and after."""
    from sqlalchemy import column, inspect, select, table

    engine = web.state.indexer.engine
    out = {}
    with engine.connect() as conn:
        for name in sorted(inspect(engine).get_table_names()):
            columns = [c["name"] for c in inspect(engine).get_columns(name)]
            rows = conn.execute(select(*[column(c) for c in columns]).select_from(table(name)))
            out[name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def test_a_settles_outcome_names_the_tabs_collected_and_writes_nothing(web):
    """GET /transactions/{hash} of a settle (what the desk reads to confirm it) reports each
    tab collected (the SDK's TransactionOutcome.tabs_settled) and is a read only: the kept
    vouchers of the epochs collected go when the index records the settle; a voucher of the
    next epoch stays."""
    a, b = gift(web), gift(web, "12")
    for cert in (a, b):
        open_tab(web, cert)
    sign_in(web)
    epoch_a = int(tab(web, a)["epoch"])
    for cert, amount in ((a, "2.25"), (b, "1")):
        assert keep(web, purchase(web, cert, amount)[1]).status_code == 201
    receipt = web.send(build(web, "settle-tabs", web.coffee.sender, merchant=1,
                             certificates=[str(a), str(b)])["tx"])
    sdk = web.admin.transaction_outcome(receipt["transactionHash"])
    assert sdk is not None
    assert sorted((t.certificate, t.epoch, t.units) for t in sdk.tabs_settled) == sorted(
        [(a, epoch_a, 2_250_000), (b, int(tab(web, b)["epoch"]) - 1, 1_000_000)])
    assert all(t.merchant == 1 for t in sdk.tabs_settled)
    # The next purchase on `a` is kept before the index has the settle.
    assert keep(web, purchase(web, a, "0.5")[1]).status_code == 201
    before = _database(web)
    outcome = web.http.get(
        f"/api/v1/transactions/{receipt['transactionHash'].to_0x_hex()}").get_json()
    assert _database(web) == before  # a GET writes nothing
    collected = {t["certificate"]: t for t in outcome["tabsSettled"]}
    assert collected[str(a)] == {"certificate": str(a), "ref": gift_ref(a), "merchant": 1,
                                 "epoch": str(epoch_a), "units": "2250000",
                                 "amount": {"amount": "2.25", "currency": "tUSD"}}
    assert collected[str(b)]["amount"] == {"amount": "1", "currency": "tUSD"}
    assert _kept(web, b) is not None  # void, but the index has not recorded the settle yet
    listed = web.http.get("/api/v1/merchants/1/tabs").get_json()  # the chain's epochs count
    assert _database(web) == before
    mine = {t["certificate"]: t for t in listed["tabs"]}
    assert Decimal(mine[str(a)]["unsettled"]["amount"]) == Decimal("0.5")
    assert str(b) not in mine or Decimal(mine[str(b)]["unsettled"]["amount"]) == 0
    web.sync()
    assert _kept(web, b) is None
    newer = _kept(web, a)
    assert newer is not None and newer.epoch == epoch_a + 1 and newer.cumulative == 500_000
    plain = web.send(build(web, "open-tab", web.holder.sender, certificate=str(gift(web)))["tx"])
    other = web.http.get(
        f"/api/v1/transactions/{plain['transactionHash'].to_0x_hex()}").get_json()
    assert other["tabsSettled"] == []


def test_a_settle_nobody_polls_is_forgotten_once_indexed(web):
    """The merchant settles with the SDK (the CLI, a keeper), nobody reads the transaction:
    after the index syncs, the desk lists the tab with nothing unsettled and the voucher is
    gone from the database; reading the transaction afterwards changes nothing."""
    cert = gift(web, "20")
    open_tab(web, cert)
    sign_in(web)
    _, text = purchase(web, cert, "4")
    assert keep(web, text).status_code == 201
    voucher = _kept(web, cert)
    assert voucher is not None and voucher.to_text() == text
    settled = web.coffee.settle_tabs(1, [voucher])
    assert [v.certificate for v in settled.settled] == [cert]
    assert _kept(web, cert) is not None  # until the index has it
    web.sync()
    assert _kept(web, cert) is None
    listed = web.http.get("/api/v1/merchants/1/tabs").get_json()
    mine = [t for t in listed["tabs"] if t["certificate"] == str(cert)]
    assert mine and Decimal(mine[0]["unsettled"]["amount"]) == 0
    assert Decimal(mine[0]["balance"]["amount"]) == Decimal("16")
    assert listed["unsettled"] == []
    before = _database(web)
    r = web.http.get(f"/api/v1/transactions/{settled.tx_hash}")
    assert r.status_code == 200 and [t["certificate"] for t in r.get_json()["tabsSettled"]] == [
        str(cert)]
    assert _database(web) == before


def test_two_desks_keeping_at_once_end_with_the_higher_voucher(web):
    """Two signed-in desks hand in a smaller and a larger running total of one tab at the
    same instant, round after round: the larger is kept every time; the smaller is kept
    (before it) or refused as old, never left in its place."""
    import threading

    cert = gift(web, "30")
    open_tab(web, cert)
    clients = [web.app.test_client(), web.app.test_client()]
    for http in clients:
        web.http = http
        sign_in(web)
    totals = [sign_voucher(web.holder, cert, str(n)).to_text() for n in range(1, 13)]
    answers: list[list[tuple[int, str | None]]] = [[], []]
    gate = threading.Barrier(2)

    def desk(n: int) -> None:
        for r in range(6):
            gate.wait(60)
            got = clients[n].post("/api/v1/vouchers", json={"voucher": totals[2 * r + n]})
            answers[n].append((got.status_code, (got.get_json() or {}).get("code")))

    threads = [threading.Thread(target=desk, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(a == (201, None) for a in answers[1]), answers
    assert all(a in {(201, None), (422, "VoucherBelowPrevious")} for a in answers[0]), answers
    assert _kept(web, cert).to_text() == totals[-1]
