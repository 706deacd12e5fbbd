"""Item 3 (issue), item 4 (batch issue), item 5 (top-up)."""

import pytest
from eth_abi import encode
from eth_utils import keccak
from harness import DAY, ETH, ONE_ETH, USD, YEAR

from giftcert.ids import decode_id, encode_id, is_buyer

ZERO = "0x" + "00" * 20


def test_issue_escrows_value_and_binds_terms(h):
    before = h.eth_balance(h.gc.address)
    valid_from = h.now() + 7 * DAY
    receipt = h.tx(
        "issue",
        h.holder,
        h.terms(occasion=2, valid_from=valid_from),
        ONE_ETH // 50,
        "Happy birthday, Sam",
        sender=h.buyer,
        value=ONE_ETH // 50,
    )
    issued = h.events("Issued", receipt)[0]["args"]
    cert_id = issued["id"]
    assert issued["message"] == "Happy birthday, Sam" and issued["amount"] == ONE_ETH // 50
    # The buyer is the mint's operator (Issued does not repeat it).
    mint = h.events("TransferSingle", receipt)[0]["args"]
    assert (mint["operator"], mint["from"], mint["to"]) == (h.buyer, "0x" + "00" * 20, h.holder)
    assert h.eth_balance(h.gc.address) - before == ONE_ETH // 50
    view = h.cert(cert_id)
    assert view["owner"] == h.holder and view["balance"] == ONE_ETH // 50
    assert view["merchant"] == h.coffee and view["currency"] == ETH and view["occasion"] == 2
    assert view["validFrom"] == valid_from and view["merchantName"] == "Corner Coffee"
    terms = decode_id(cert_id)
    assert terms.valid_from == valid_from and terms.merchant == h.coffee
    assert is_buyer(cert_id, h.buyer) and not is_buyer(cert_id, h.holder)
    assert h.view("balanceOf", h.holder, cert_id) == 1
    transfer = h.events("TransferSingle", receipt)[0]["args"]
    assert (
        transfer["to"] == h.holder
        and transfer["from"] == "0x" + "00" * 20
        and transfer["value"] == 1
    )


def test_issue_returns_the_new_id_to_an_account_and_to_a_contract(h):
    # An account recipient returns early (no receiver hook), a contract one after its hook:
    # both give the caller the id the Issued event names.
    receiver = h.deploy_helper("RevertingReceiver")
    for to in (h.holder, receiver.address):
        terms = h.terms()
        returned = h.gc.functions.issue(to, terms, 900, "hi").call({"from": h.buyer, "value": 900})
        receipt = h.tx("issue", to, terms, 900, "hi", sender=h.buyer, value=900)
        assert returned == h.issued_ids(receipt)[0] and h.view("ownerOf", returned) == to


@pytest.mark.parametrize("length", [0, 1, 31, 32, 33, 64, 100])
def test_issued_event_is_the_abi_encoding_of_any_message(h, length):
    # The escrow encodes Issued in place (not through the ABI encoder): its data must be the
    # exact ABI encoding, zero padding included, for every length and for multi-byte UTF-8.
    message = ("ü€" * length)[:length]
    expected = encode(["uint256", "string"], [777, message])
    topic = keccak(text="Issued(uint256,uint256,string)")
    claim_key = h.w3.eth.account.create().address
    deadline = h.now() + 30 * DAY
    for fn, args in (("issue", (h.holder, h.terms(), 777, message)),
                     ("issueClaimable", (claim_key, h.terms(), 777, deadline, message))):
        receipt = h.tx(fn, *args, sender=h.buyer, value=777)
        (log,) = [entry for entry in receipt["logs"] if entry["topics"][0] == topic]
        assert bytes(log["data"]) == expected, fn
        assert h.events("Issued", receipt)[0]["args"]["message"] == message


def test_minimum_validity_is_five_years_by_default(h):
    assert h.view("minValidity") >= 5 * YEAR
    with h.reverts("ValidityTooShort"):
        h.issue(validity=4 * YEAR)


def test_admin_can_shorten_policy_for_demo(h):
    h.tx("setMinValidity", 3600, sender=h.admin)
    cert = h.issue(validity=2 * 3600)
    assert h.cert(cert)["expiry"] > h.now()
    with h.reverts("AccessControlUnauthorizedAccount"):
        h.tx("setMinValidity", 1, sender=h.outsider)


def test_opens_on_must_precede_expiry(h):
    with h.reverts("InvalidValidFrom"):
        h.issue(valid_from=h.now() + 6 * YEAR, validity=5 * YEAR + DAY)


def test_zero_amount_and_zero_recipient_rejected(h):
    with h.reverts("ZeroAmount"):
        h.tx("issue", h.holder, h.terms(), 0, "", sender=h.buyer)
    with h.reverts("ERC1155InvalidReceiver"):
        h.tx("issue", "0x" + "00" * 20, h.terms(), 5, "", sender=h.buyer, value=5)


def test_amount_over_72_bits_rejected(h):
    h.fund_usd(h.buyer, 2**100)
    with h.reverts("AmountTooLarge", amount=2**90):
        h.issue(currency=h.usd_id, amount=2**90)


def test_batch_issue_to_many_recipients(h):
    recipients = [h.holder, h.friend, h.outsider]
    amounts = [1000, 2000, 3000]
    receipt = h.tx(
        "issueBatch", recipients, amounts, h.terms(), "Team thanks", sender=h.buyer, value=6000
    )
    ids = h.issued_ids(receipt)
    assert len(set(ids)) == 3
    for cert_id, owner, amount in zip(ids, recipients, amounts, strict=True):
        assert h.cert(cert_id)["owner"] == owner and h.balance(cert_id) == amount
    assert [decode_id(i).serial for i in ids] == [decode_id(ids[0]).serial + k for k in range(3)]


def test_batch_issue_rejects_mismatch_wrong_total_and_empty(h):
    with h.reverts("LengthMismatch"):
        h.tx("issueBatch", [h.holder], [1, 2], h.terms(), "", sender=h.buyer, value=3)
    with h.reverts("WrongPayment", sent=2, expected=3):
        h.tx("issueBatch", [h.holder, h.friend], [1, 2], h.terms(), "", sender=h.buyer, value=2)
    with h.reverts("EmptyBatch"):
        h.tx("issueBatch", [], [], h.terms(), "", sender=h.buyer)


def test_batch_issue_in_stablecoin(h):
    h.fund_usd(h.buyer, 100 * USD)
    receipt = h.tx(
        "issueBatch",
        [h.holder, h.friend],
        [25 * USD, 10 * USD],
        h.terms(currency=h.usd_id),
        "",
        sender=h.buyer,
    )
    assert [h.balance(i) for i in h.issued_ids(receipt)] == [25 * USD, 10 * USD]
    assert h.view("balanceOf", h.gc.address, contract=h.usd) == 35 * USD


def test_top_up_adds_value_and_emits_metadata_update(h):
    cert = h.issue(amount=1000)
    receipt = h.tx("topUp", cert, 500, sender=h.friend, value=500)
    assert h.balance(cert) == 1500
    assert h.events("ToppedUp", receipt)[0]["args"] == {"id": cert, "amount": 500}
    assert h.events("MetadataUpdate", receipt)[0]["args"]["_tokenId"] == cert


def test_top_up_rejects_unknown_expired_and_wrong_value(h):
    with h.reverts("UnknownCertificate", id=12345):
        h.tx("topUp", 12345, 1, sender=h.buyer, value=1)
    cert = h.issue(amount=1000)
    with h.reverts("WrongPayment"):
        h.tx("topUp", cert, 10, sender=h.buyer, value=9)
    h.warp(6 * YEAR)
    with h.reverts("Expired", id=cert):
        h.tx("topUp", cert, 10, sender=h.buyer, value=10)


def test_a_bad_item_anywhere_in_a_batch_names_its_error_and_mints_nothing(h):
    """The batch's minting loop checks each item; the first bad one reverts with its own error."""
    good = [h.friend, h.outsider, h.holder]
    cases = [
        ([h.friend, "0x" + "00" * 20, h.holder], [5, 5, 5], "ERC1155InvalidReceiver"),
        (good, [5, 0, 5], "ZeroAmount"),
        (good, [5, 5, 2**72], "AmountTooLarge"),
    ]
    for recipients, amounts, error in cases:
        terms = h.terms()
        with h.reverts(error):
            h.tx("issueBatch", recipients, amounts, terms, "", sender=h.buyer, value=sum(amounts))
        assert h.view("ownerOf", encode_id(*terms[:5], h.buyer, terms[5])) == ZERO
    # An id already taken (the buyer reused a serial with the same terms) is refused too.
    terms = h.terms()
    h.tx("issueBatch", [h.friend], [5], terms, "", sender=h.buyer, value=5)
    with h.reverts("CertificateExists"):
        h.tx("issueBatch", [h.holder, h.outsider], [5, 5], terms, "", sender=h.buyer, value=10)
    assert h.view("ownerOf", encode_id(*terms[:5], h.buyer, terms[5] + 1)) == ZERO
    # Malformed terms (a field wider than its type) are refused like any malformed call.
    fn = h.gc.functions.issue(h.holder, h.terms(), 5, "")
    data = bytearray(bytes.fromhex(fn._encode_transaction_data()[2:]))
    data[4 + 32 + 27] = 1  # the merchant word: a bit above its 32
    with pytest.raises(Exception):  # noqa: B017 - any revert: the node reports it without data
        h.w3.eth.call({"from": h.buyer, "to": h.gc.address, "data": bytes(data), "value": 5})
