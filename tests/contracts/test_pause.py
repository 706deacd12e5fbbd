"""Item 10: pause stops issue, claims, value transfer and redemption, never refunds of expired
ones."""

from eth_account import Account
from harness import DAY, YEAR


def test_pause_blocks_value_moving_operations(h):
    cert = h.issue(amount=1000)
    auth, sig = h.sign_redemption(h.holder, cert, 10, order_ref=1)
    key = Account.create()
    receipt = h.tx("issueClaimable", key.address, h.terms(), 50, h.now() + 3 * DAY, "",
                   sender=h.buyer, value=50)
    link = h.issued_ids(receipt)[0]
    h.tx("pause", sender=h.admin)
    assert h.view("paused")
    blocked = [
        lambda: h.issue(amount=1000),
        lambda: h.tx("issueBatch", [h.friend], [5], h.terms(), "", sender=h.buyer, value=5),
        lambda: h.tx("topUp", cert, 5, sender=h.buyer, value=5),
        lambda: h.tx("safeTransferFrom", h.holder, h.friend, cert, 1, b"", sender=h.holder),
        lambda: h.tx("split", cert, 5, h.friend, sender=h.holder),
        lambda: h.tx("redeem", cert, 5, 1, sender=h.holder),
        lambda: h.tx("redeemWithAuthorization", auth, sig, sender=h.coffee_account),
        lambda: h.tx("settleBatch", h.coffee, [auth], [sig], False, sender=h.coffee_account),
        lambda: h.tx("cashOut", cert, sender=h.holder),
        # v2: a claim is a transfer too, and follows the pause like every other.
        lambda: h.tx("claim", link, h.friend, h.sign_claim(key.key, link, h.friend),
                     sender=h.friend),
    ]
    for action in blocked:
        with h.reverts("EnforcedPause"):
            action()
    h.tx("unpause", sender=h.admin)
    h.tx("redeemWithAuthorization", auth, sig, sender=h.coffee_account)
    assert h.balance(cert) == 990


def test_pause_never_blocks_refund_of_expired_certificate(h):
    cert = h.issue(amount=1000)
    h.tx("pause", sender=h.admin)
    h.warp(6 * YEAR)
    h.tx("refund", cert, h.buyer, sender=h.buyer)
    assert h.view("ownerOf", cert) == "0x" + "00" * 20


def test_only_pauser_pauses_and_double_pause_is_named(h):
    with h.reverts("AccessControlUnauthorizedAccount"):
        h.tx("pause", sender=h.outsider)
    with h.reverts("ExpectedPause"):
        h.tx("unpause", sender=h.admin)
    h.tx("pause", sender=h.admin)
    with h.reverts("EnforcedPause"):
        h.tx("pause", sender=h.admin)
