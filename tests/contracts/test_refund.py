"""Item 9: refund after expiry, merchant void, small-balance cash-out."""

from harness import ONE_ETH, USD, YEAR

ZERO = "0x" + "00" * 20


def test_refund_after_expiry_returns_balance_to_buyer(h):
    cert = h.issue(amount=ONE_ETH // 10)
    h.tx("redeem", cert, ONE_ETH // 40, 1, sender=h.holder)
    with h.reverts("NotExpired", id=cert):
        h.tx("refund", cert, h.buyer, sender=h.buyer)
    h.warp(6 * YEAR)
    before = h.eth_balance(h.buyer)
    h.tx("refund", cert, h.buyer, sender=h.outsider)  # anyone may trigger; only the buyer is paid
    assert h.eth_balance(h.buyer) - before == ONE_ETH // 10 - ONE_ETH // 40
    assert h.view("ownerOf", cert) == ZERO
    with h.reverts("UnknownCertificate", id=cert):
        h.tx("refund", cert, h.buyer, sender=h.buyer)


def test_refund_only_to_the_real_buyer(h):
    cert = h.issue(amount=1000)
    h.warp(6 * YEAR)
    with h.reverts("NotBuyer", id=cert):
        h.tx("refund", cert, h.holder, sender=h.holder)


def test_refund_in_stablecoin(h):
    h.fund_usd(h.buyer, 30 * USD)
    cert = h.issue(amount=30 * USD, currency=h.usd_id)
    h.warp(6 * YEAR)
    h.tx("refund", cert, h.buyer, sender=h.buyer)
    assert h.view("balanceOf", h.buyer, contract=h.usd) == 30 * USD


def test_merchant_voids_balance_back_to_holder(h):
    cert = h.issue(amount=ONE_ETH // 10)
    before = h.eth_balance(h.holder)
    receipt = h.tx("void", cert, sender=h.coffee_account)
    assert h.eth_balance(h.holder) - before == ONE_ETH // 10
    event = h.events("Voided", receipt)[0]["args"]
    assert event["holder"] == h.holder and event["amount"] == ONE_ETH // 10
    assert h.view("ownerOf", cert) == ZERO


def test_only_the_certificates_merchant_voids(h):
    cert = h.issue(amount=1000)
    with h.reverts("NotMerchant"):
        h.tx("void", cert, sender=h.books_account)
    with h.reverts("NotMerchant"):
        h.tx("void", cert, sender=h.holder)


def test_cash_out_small_balance_where_merchant_allows(h):
    cert = h.issue(amount=ONE_ETH // 100)
    h.tx("redeem", cert, ONE_ETH // 100 - 5000, 1, sender=h.holder)
    with h.reverts("CashOutNotAllowed", balance=5000, limit=0):
        h.tx("cashOut", cert, sender=h.holder)
    h.tx("setCashOutLimit", h.coffee, 0, 10_000, sender=h.coffee_account)
    before = h.eth_balance(h.holder)
    receipt = h.tx("cashOut", cert, sender=h.holder)
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert h.eth_balance(h.holder) == before + 5000 - fee
    assert h.view("ownerOf", cert) == ZERO


def test_cash_out_refuses_balance_above_limit_and_strangers(h):
    cert = h.issue(amount=50_000)
    h.tx("setCashOutLimit", h.coffee, 0, 10_000, sender=h.coffee_account)
    with h.reverts("CashOutNotAllowed", balance=50_000, limit=10_000):
        h.tx("cashOut", cert, sender=h.holder)
    with h.reverts("NotHolder"):
        h.tx("cashOut", cert, sender=h.outsider)
    with h.reverts("NotMerchant"):
        h.tx("setCashOutLimit", h.coffee, 0, 10**18, sender=h.holder)
