"""Item 8: redemption by the holder, by signed authorisation (EOA and ERC-1271), and in batches."""

from eth_account import Account
from harness import DAY, ONE_ETH, USD, YEAR


def test_holder_redeems_part_and_merchant_is_credited(h):
    cert = h.issue(amount=1000)
    receipt = h.tx("redeem", cert, 300, 42, sender=h.holder)
    assert h.balance(cert) == 700 and h.owed(h.coffee) == 300
    event = h.events("Redeemed", receipt)[0]["args"]
    assert event["id"] >> 224 == h.coffee  # the merchant is the id's top 32 bits
    assert (event["id"], event["orderRef"], event["amount"]) == (
        cert,
        42,
        300,
    )
    assert h.events("MetadataUpdate", receipt)[0]["args"]["_tokenId"] == cert
    # An order reference is the merchant's data, not a nonce: it may come again.
    h.tx("redeem", cert, 100, 42, sender=h.holder)
    assert h.balance(cert) == 600


def test_whole_redemption_leaves_an_empty_certificate(h):
    cert = h.issue(amount=1000)
    h.tx("redeem", cert, 1000, 1, sender=h.holder)
    assert h.balance(cert) == 0 and h.cert(cert)["owner"] == h.holder


def test_merchant_withdraws_eth_and_usd(h):
    cert = h.issue(amount=ONE_ETH // 10)
    h.tx("redeem", cert, ONE_ETH // 20, 1, sender=h.holder)
    before = h.eth_balance(h.coffee_account)
    receipt = h.tx("withdrawMerchant", h.coffee, 0, sender=h.coffee_account)
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert h.eth_balance(h.coffee_account) == before + ONE_ETH // 20 - fee
    assert h.owed(h.coffee) == 0
    with h.reverts("NothingToWithdraw"):
        h.tx("withdrawMerchant", h.coffee, 0, sender=h.coffee_account)
    h.fund_usd(h.buyer, 50 * USD)
    usd_cert = h.issue(amount=20 * USD, currency=h.usd_id)
    h.tx("redeem", usd_cert, 7_500_000, 2, sender=h.holder)
    h.tx("withdrawMerchant", h.coffee, h.usd_id, sender=h.coffee_account)
    assert h.view("balanceOf", h.coffee_account, contract=h.usd) == 7_500_000
    with h.reverts("NotMerchant"):
        h.tx("withdrawMerchant", h.coffee, 0, sender=h.outsider)


def test_redeem_failures_are_named(h):
    cert = h.issue(amount=1000, valid_from=h.now() + 3 * DAY)
    with h.reverts("NotYetValid", id=cert):
        h.tx("redeem", cert, 1, 1, sender=h.holder)
    h.warp(4 * DAY)
    with h.reverts("InsufficientBalance", balance=1000, needed=1001):
        h.tx("redeem", cert, 1001, 1, sender=h.holder)
    with h.reverts("NotHolder"):
        h.tx("redeem", cert, 1, 1, sender=h.outsider)
    with h.reverts("ZeroAmount"):
        h.tx("redeem", cert, 0, 1, sender=h.holder)
    h.tx("redeem", cert, 1, 1, sender=h.holder)
    h.warp(6 * YEAR)
    with h.reverts("Expired", id=cert):
        h.tx("redeem", cert, 1, 2, sender=h.holder)


def test_signed_redemption_submitted_by_merchant(h):
    cert = h.issue(amount=1000)
    auth, sig = h.sign_redemption(h.holder, cert, 250, order_ref=1001)
    holder_eth = h.eth_balance(h.holder)
    h.tx("redeemWithAuthorization", auth, sig, sender=h.coffee_account)
    assert h.balance(cert) == 750 and h.owed(h.coffee) == 250
    assert h.eth_balance(h.holder) == holder_eth  # the holder paid no gas


def test_signed_redemption_cannot_be_replayed(h):
    cert = h.issue(amount=1000)
    auth, sig = h.sign_redemption(h.holder, cert, 100, order_ref=7)
    h.tx("redeemWithAuthorization", auth, sig, sender=h.coffee_account)
    with h.reverts("WrongNonce", id=cert, expected=1, given=0):
        h.tx("redeemWithAuthorization", auth, sig, sender=h.coffee_account)
    assert h.balance(cert) == 900


def test_signed_redemption_rejections(h):
    cert = h.issue(amount=1000)
    auth, sig = h.sign_redemption(h.friend, cert, 100, order_ref=1)
    with h.reverts("InvalidSignature"):
        h.tx("redeemWithAuthorization", auth, sig, sender=h.coffee_account)
    auth, sig = h.sign_redemption(h.holder, cert, 100, order_ref=2, deadline=h.now() - 1)
    with h.reverts("AuthorizationExpired"):
        h.tx("redeemWithAuthorization", auth, sig, sender=h.coffee_account)
    auth, sig = h.sign_redemption(h.holder, cert, 100, order_ref=3)
    with h.reverts("NotMerchant"):
        h.tx("redeemWithAuthorization", auth, sig, sender=h.outsider)
    tampered = (auth[0], auth[1], 999, *auth[3:])
    with h.reverts("InvalidSignature"):
        h.tx("redeemWithAuthorization", tampered, sig, sender=h.coffee_account)
    auth, sig = h.sign_redemption(h.holder, cert, 100, order_ref=4, chain_id=1)
    with h.reverts("InvalidSignature"):
        h.tx("redeemWithAuthorization", auth, sig, sender=h.coffee_account)
    auth, sig = h.sign_redemption(h.holder, cert, 100, order_ref=5, contract=h.usd.address)
    with h.reverts("InvalidSignature"):
        h.tx("redeemWithAuthorization", auth, sig, sender=h.coffee_account)


def test_authorisation_for_another_merchant_is_refused(h):
    cert = h.issue(amount=1000)  # a coffee certificate
    auth, sig = h.sign_redemption(h.holder, cert, 100, order_ref=1, merchant=h.books)
    with h.reverts("WrongMerchant", merchant=h.books):
        h.tx("redeemWithAuthorization", auth, sig, sender=h.books_account)
    assert h.balance(cert) == 1000


def test_contract_wallet_signs_with_erc1271(h):
    owner = Account.create()
    wallet = h.deploy_helper("ERC1271Wallet", owner.address)
    h.keys[wallet.address] = owner.key.hex()  # the wallet's owner signs for it
    cert = h.issue(to=wallet.address, amount=1000)
    auth, sig = h.sign_redemption(wallet.address, cert, 400, order_ref=9)
    h.tx("redeemWithAuthorization", auth, sig, sender=h.coffee_account)
    assert h.balance(cert) == 600
    stranger = Account.create()
    h.keys[wallet.address] = stranger.key.hex()
    auth, sig = h.sign_redemption(wallet.address, cert, 1, order_ref=10)
    with h.reverts("InvalidSignature"):
        h.tx("redeemWithAuthorization", auth, sig, sender=h.coffee_account)


def test_batch_settlement_of_many_authorisations(h):
    certs = [h.issue(amount=1000) for _ in range(3)] + [h.issue(to=h.friend, amount=500)]
    h.fund_usd(h.buyer, 10 * USD)
    usd_cert = h.issue(amount=5 * USD, currency=h.usd_id)
    signed = [
        h.sign_redemption(h.holder, c, 100, order_ref=100 + i) for i, c in enumerate(certs[:3])
    ]
    signed.append(h.sign_redemption(h.friend, certs[3], 50, order_ref=200))
    signed.append(h.sign_redemption(h.holder, usd_cert, USD, order_ref=201))
    receipt = h.tx(
        "settleBatch",
        h.coffee,
        [a for a, _ in signed],
        [s for _, s in signed],
        False,
        sender=h.coffee_account,
    )
    assert not h.events("RedemptionRefused", receipt)
    assert [h.balance(c) for c in certs] == [900, 900, 900, 450]
    assert h.owed(h.coffee) == 350 and h.owed(h.coffee, h.usd_id) == USD


def test_batch_settlement_all_or_nothing_mode(h):
    certs = [h.issue(amount=1000) for _ in range(2)]
    good = h.sign_redemption(h.holder, certs[0], 100, order_ref=1)
    bad = h.sign_redemption(h.holder, certs[1], 5000, order_ref=2)
    with h.reverts("InsufficientBalance"):
        h.tx("settleBatch", h.coffee, [good[0], bad[0]], [good[1], bad[1]], True,
             sender=h.coffee_account)
    assert h.balance(certs[0]) == 1000 and h.owed(h.coffee) == 0
    with h.reverts("LengthMismatch"):
        h.tx("settleBatch", h.coffee, [good[0]], [], True, sender=h.coffee_account)
    with h.reverts("EmptyBatch"):
        h.tx("settleBatch", h.coffee, [], [], False, sender=h.coffee_account)
    other = h.issue(amount=1000, merchant=h.books)
    foreign = h.sign_redemption(h.holder, other, 1, order_ref=3)
    with h.reverts("WrongMerchant"):
        h.tx("settleBatch", h.coffee, [foreign[0]], [foreign[1]], True, sender=h.coffee_account)
