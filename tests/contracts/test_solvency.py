"""Item 12: holdings equal liabilities; a reverting payee cannot lock funds or block others."""

from harness import ETH, ONE_ETH, USD, YEAR, holdings, liabilities


def test_reverting_merchant_payout_does_not_block_redemptions_or_others(h):
    bad = h.deploy_helper("RevertingReceiver")
    h.tx("registerMerchant", bad.address, "Broken Payout Shop", sender=h.admin)
    bad_id = 3
    cert = h.issue(amount=ONE_ETH // 10, merchant=bad_id)
    good = h.issue(amount=ONE_ETH // 10)
    h.tx("redeem", cert, ONE_ETH // 20, 1, sender=h.holder)  # credits the ledger, never calls out
    withdraw = h.gc.functions.withdrawMerchant(bad_id, ETH)._encode_transaction_data()
    with h.reverts("TransferFailed"):
        h.tx("execute", h.gc.address, 0, withdraw, sender=h.admin, contract=bad)
    assert h.owed(bad_id) == ONE_ETH // 20  # nothing lost
    h.tx("redeem", good, 1000, 1, sender=h.holder)  # others unaffected
    h.tx("withdrawMerchant", h.coffee, ETH, sender=h.coffee_account)
    move = h.gc.functions.setMerchantAccount(bad_id, h.friend)._encode_transaction_data()
    h.tx("execute", h.gc.address, 0, move, sender=h.admin, contract=bad)
    before = h.eth_balance(h.friend)
    h.tx("withdrawMerchant", bad_id, ETH, sender=h.friend)
    assert h.eth_balance(h.friend) > before
    assert holdings(h, ETH) == liabilities(h, ETH, [cert, good], [bad.address])


def test_refund_to_reverting_buyer_is_deferred_not_lost(h):
    buyer = h.deploy_helper("RevertingReceiver")
    terms = h.terms()
    issue = h.gc.functions.issue(
        h.holder, terms, 5000, "from a contract"
    )._encode_transaction_data()
    receipt = h.tx("execute", h.gc.address, 5000, issue, sender=h.admin, contract=buyer, value=5000)
    cert = h.events("Issued", receipt)[0]["args"]["id"]
    h.warp(6 * YEAR)
    receipt = h.tx("refund", cert, buyer.address, sender=h.outsider)
    deferred = h.events("PaymentDeferred", receipt)[0]["args"]
    assert deferred["to"] == buyer.address and deferred["amount"] == 5000
    assert h.view("deferredOf", buyer.address, ETH) == 5000
    assert holdings(h, ETH) == liabilities(h, ETH, [cert], [buyer.address])
    h.tx("setRefuse", False, sender=h.admin, contract=buyer)
    withdraw = h.gc.functions.withdrawDeferred(ETH)._encode_transaction_data()
    h.tx("execute", h.gc.address, 0, withdraw, sender=h.admin, contract=buyer)
    assert h.eth_balance(buyer.address) == 5000 and h.view("deferredOf", buyer.address, ETH) == 0


def test_void_to_reverting_holder_is_deferred(h):
    holder = h.deploy_helper("RevertingReceiver")
    cert = h.issue(to=holder.address, amount=7000)
    h.tx("void", cert, sender=h.coffee_account)
    assert h.view("deferredOf", holder.address, ETH) == 7000
    assert holdings(h, ETH) == liabilities(h, ETH, [cert], [holder.address])


def test_solvency_across_mixed_operations_in_both_currencies(h):
    h.fund_usd(h.buyer, 1000 * USD)
    certs = [h.issue(amount=ONE_ETH // 10), h.issue(amount=30 * USD, currency=h.usd_id)]
    split = h.tx("split", certs[0], 1000, h.friend, sender=h.holder)
    certs.append(h.events("Split", split)[0]["args"]["newId"])
    h.tx("redeem", certs[1], 5 * USD, 1, sender=h.holder)
    h.tx("redeem", certs[0], 12345, 2, sender=h.holder)
    h.tx("topUp", certs[1], 2 * USD, sender=h.buyer)
    h.tx("withdrawMerchant", h.coffee, h.usd_id, sender=h.coffee_account)
    for currency in (ETH, h.usd_id):
        assert holdings(h, currency) == liabilities(h, currency, certs, [])
