"""Item 6: claim links bound to recipient, chain and contract; reclaim after the deadline."""

from eth_account import Account
from harness import DAY, ONE_ETH

from giftcert.transactions import call


def _claimable(h, amount=ONE_ETH // 100, deadline_days=30):
    key = Account.create()
    deadline = h.now() + deadline_days * DAY
    receipt = h.tx(
        "issueClaimable",
        key.address,
        h.terms(),
        amount,
        deadline,
        "For you",
        sender=h.buyer,
        value=amount,
    )
    cert_id = h.issued_ids(receipt)[0]
    created = h.events("ClaimLinkCreated", receipt)[0]["args"]
    # The deadline is kept as a day: it runs to the last second of that UTC day.
    assert created["claimKey"] == key.address
    assert created["deadline"] == deadline // DAY * DAY + DAY - 1 >= deadline
    return cert_id, key


def test_claim_delivers_to_signed_recipient_submitted_by_anyone(h):
    cert_id, key = _claimable(h)
    assert h.cert(cert_id)["awaitingClaim"]
    signature = h.sign_claim(key.key, cert_id, h.friend)
    h.tx("claim", cert_id, h.friend, signature, sender=h.outsider)  # a relayer pays the gas
    view = h.cert(cert_id)
    assert view["owner"] == h.friend and not view["awaitingClaim"] and view["claimDeadline"] == 0


def test_copied_claim_cannot_redirect_to_another_address(h):
    cert_id, key = _claimable(h)
    signature = h.sign_claim(key.key, cert_id, h.friend)
    with h.reverts("InvalidSignature"):
        h.tx("claim", cert_id, h.outsider, signature, sender=h.outsider)
    assert h.cert(cert_id)["owner"] == key.address


def test_claim_signature_bound_to_chain_and_contract(h):
    cert_id, key = _claimable(h)
    with h.reverts("InvalidSignature"):
        h.tx(
            "claim",
            cert_id,
            h.friend,
            h.sign_claim(key.key, cert_id, h.friend, chain_id=1),
            sender=h.friend,
        )
    with h.reverts("InvalidSignature"):
        other = h.sign_claim(key.key, cert_id, h.friend, contract=h.usd.address)
        h.tx("claim", cert_id, h.friend, other, sender=h.friend)


def test_claim_only_once_and_wrong_key_rejected(h):
    cert_id, key = _claimable(h)
    with h.reverts("InvalidSignature"):
        h.tx(
            "claim",
            cert_id,
            h.friend,
            h.sign_claim(Account.create().key, cert_id, h.friend),
            sender=h.friend,
        )
    h.tx("claim", cert_id, h.friend, h.sign_claim(key.key, cert_id, h.friend), sender=h.friend)
    with h.reverts("NotClaimable", id=cert_id):
        h.tx("claim", cert_id, h.friend, h.sign_claim(key.key, cert_id, h.friend), sender=h.friend)


def test_unclaimed_gift_cannot_be_spent_or_moved_by_key(h):
    cert_id, key = _claimable(h)
    with h.reverts("AwaitingClaim", id=cert_id):
        call(h.gc.functions.redeem(cert_id, 1, 1), key.address)
    with h.reverts("AwaitingClaim", id=cert_id):
        call(h.gc.functions.safeTransferFrom(key.address, h.outsider, cert_id, 1, b""), key.address)


def test_buyer_reclaims_after_deadline_only(h):
    amount = ONE_ETH // 100
    cert_id, _ = _claimable(h, amount=amount, deadline_days=10)
    with h.reverts("ClaimWindowOpen", id=cert_id):
        h.tx("reclaim", cert_id, sender=h.buyer)
    h.warp(12 * DAY)
    with h.reverts("NotBuyer", id=cert_id):
        h.tx("reclaim", cert_id, sender=h.outsider)
    before = h.eth_balance(h.buyer)
    receipt = h.tx("reclaim", cert_id, sender=h.buyer)
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert h.eth_balance(h.buyer) == before + amount - fee
    assert h.view("ownerOf", cert_id) == "0x" + "00" * 20


def test_claimed_gift_cannot_be_reclaimed(h):
    cert_id, key = _claimable(h, deadline_days=10)
    h.tx("claim", cert_id, h.friend, h.sign_claim(key.key, cert_id, h.friend), sender=h.friend)
    h.warp(12 * DAY)
    with h.reverts("NotClaimable", id=cert_id):
        h.tx("reclaim", cert_id, sender=h.buyer)


def test_claim_deadline_must_be_future_and_before_expiry(h):
    key = Account.create()
    with h.reverts("InvalidClaimDeadline"):
        h.tx(
            "issueClaimable", key.address, h.terms(), 10, h.now() - 1, "", sender=h.buyer, value=10
        )
    terms = h.terms()
    with h.reverts("InvalidClaimDeadline"):
        h.tx("issueClaimable", key.address, terms, 10, terms[4] + 1, "", sender=h.buyer, value=10)
