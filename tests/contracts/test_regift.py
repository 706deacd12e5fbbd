"""Item 7: transfer (re-gift), split into a new certificate, merge."""

from harness import DAY, YEAR

ZERO = "0x" + "00" * 20


def test_transfer_whole_certificate(h):
    cert = h.issue(amount=1000)
    h.tx("safeTransferFrom", h.holder, h.friend, cert, 1, b"", sender=h.holder)
    assert h.cert(cert)["owner"] == h.friend
    assert h.view("balanceOf", h.holder, cert) == 0 and h.view("balanceOf", h.friend, cert) == 1


def test_transfer_needs_owner_or_operator(h):
    cert = h.issue(amount=1000)
    with h.reverts("ERC1155MissingApprovalForAll"):
        h.tx("safeTransferFrom", h.holder, h.friend, cert, 1, b"", sender=h.outsider)
    h.tx("setApprovalForAll", h.outsider, True, sender=h.holder)
    h.tx("safeTransferFrom", h.holder, h.friend, cert, 1, b"", sender=h.outsider)
    assert h.cert(cert)["owner"] == h.friend


def test_transfer_rejects_wrong_value_wrong_from_and_zero_address(h):
    cert = h.issue(amount=1000)
    with h.reverts("ERC1155InsufficientBalance"):
        h.tx("safeTransferFrom", h.holder, h.friend, cert, 2, b"", sender=h.holder)
    with h.reverts("ERC1155InsufficientBalance"):
        h.tx("safeTransferFrom", h.friend, h.outsider, cert, 1, b"", sender=h.friend)
    with h.reverts("ERC1155InvalidReceiver"):
        h.tx("safeTransferFrom", h.holder, ZERO, cert, 1, b"", sender=h.holder)


def test_transfer_to_contract_without_receiver_hook_reverts(h):
    cert = h.issue(amount=1000)
    with h.reverts("ERC1155InvalidReceiver"):
        h.tx("safeTransferFrom", h.holder, h.usd.address, cert, 1, b"", sender=h.holder)


def test_batch_transfer(h):
    a, b = h.issue(amount=10), h.issue(amount=20)
    h.tx("safeBatchTransferFrom", h.holder, h.friend, [a, b], [1, 1], b"", sender=h.holder)
    assert h.view("balanceOfBatch", [h.friend, h.friend], [a, b]) == [1, 1]


def test_sealed_gift_cannot_move_before_opens_on(h):
    cert = h.issue(amount=1000, valid_from=h.now() + 7 * DAY)
    with h.reverts("NotYetValid", id=cert):
        h.tx("safeTransferFrom", h.holder, h.friend, cert, 1, b"", sender=h.holder)
    h.warp(8 * DAY)
    h.tx("safeTransferFrom", h.holder, h.friend, cert, 1, b"", sender=h.holder)


def test_split_moves_part_into_new_certificate_with_same_terms(h):
    cert = h.issue(amount=1000)
    receipt = h.tx("split", cert, 300, h.friend, sender=h.holder)
    event = h.events("Split", receipt)[0]["args"]
    new_id = event["newId"]
    assert h.balance(cert) == 700 and h.balance(new_id) == 300
    assert h.cert(new_id)["owner"] == h.friend
    assert new_id >> 32 == cert >> 32  # same terms, buyer included; only the serial differs
    assert new_id != cert


def test_split_rejects_more_than_balance_zero_and_strangers(h):
    cert = h.issue(amount=1000)
    with h.reverts("InsufficientBalance", balance=1000, needed=1001):
        h.tx("split", cert, 1001, h.friend, sender=h.holder)
    with h.reverts("ZeroAmount"):
        h.tx("split", cert, 0, h.friend, sender=h.holder)
    with h.reverts("NotHolder"):
        h.tx("split", cert, 1, h.friend, sender=h.friend)


def test_merge_same_merchant_currency_and_buyer(h):
    a = h.issue(amount=1000, validity=5 * YEAR + 60 * DAY)
    b = h.issue(amount=250, validity=5 * YEAR + 30 * DAY)
    h.tx("merge", b, a, sender=h.holder)
    assert h.balance(a) == 1250
    assert h.view("ownerOf", b) == ZERO


def test_merge_refuses_incompatible_certificates(h):
    a = h.issue(amount=1000, validity=5 * YEAR + 30 * DAY)
    later = h.issue(amount=100, validity=5 * YEAR + 60 * DAY)
    other_merchant = h.issue(amount=100, merchant=h.books)
    other_buyer = h.issue(amount=100, sender=h.friend)
    for source in (later, other_merchant, other_buyer):
        with h.reverts("IncompatibleCertificates"):
            h.tx("merge", source, a, sender=h.holder)
    with h.reverts("IncompatibleCertificates"):
        h.tx("merge", a, a, sender=h.holder)


def test_merge_requires_holding_both(h):
    a = h.issue(amount=1000, validity=5 * YEAR + 60 * DAY)
    b = h.issue(to=h.friend, amount=10, validity=5 * YEAR + 30 * DAY)
    with h.reverts("NotHolder"):
        h.tx("merge", b, a, sender=h.holder)
