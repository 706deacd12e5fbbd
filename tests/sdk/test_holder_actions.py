"""Signed holder actions through the SDK: the holder signs (here with its key, in the browser with
its wallet), anyone submits with `calls.holder_action`, and the JSON form the site and the relay
carry survives a round trip and refuses what is malformed, naming the field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from giftcert import eip712
from giftcert.authorization import SignedHolderAction
from giftcert.errors import InvalidInput, InvalidSignature, WrongNonce
from giftcert.money import Money

HOUR = 3600


def _split(sdk, cert_id: int, amount: str = "5") -> SignedHolderAction:
    return sdk.holder.calls.sign_holder_action(
        "split", cert_id, sdk.holder.private_key, deadline=sdk.holder.now() + HOUR,
        amount=amount, to=sdk.friend.sender)


def test_a_split_signed_by_the_holder_is_sent_by_someone_else(sdk):
    cert = sdk.buyer.issue(sdk.holder.sender, "20", sdk.coffee_id, "tUSD")
    signed = _split(sdk, cert.id)
    assert signed.signer(sdk.holder.chain_id, sdk.holder.address) == sdk.holder.sender
    new = sdk.books.calls.holder_action(signed).send()  # any account submits it
    assert new.owner == sdk.friend.sender and new.balance == Money(Decimal("5"), "tUSD")
    assert sdk.holder.certificate(cert.id).balance == Money(Decimal("15"), "tUSD")
    with pytest.raises(WrongNonce):  # used once
        sdk.books.calls.holder_action(signed).simulate()


def test_transfer_merge_and_cash_out_decode_like_their_holder_sent_twins(sdk):
    a = sdk.buyer.issue(sdk.holder.sender, "1", sdk.coffee_id, "tUSD")
    b = sdk.buyer.issue(sdk.holder.sender, "2", sdk.coffee_id, "tUSD")
    deadline = sdk.holder.now() + HOUR
    key = sdk.holder.private_key
    merged = sdk.books.calls.holder_action(
        sdk.holder.calls.sign_holder_action("merge", a.id, key, deadline=deadline, into=b.id)
    ).send()
    assert merged.id == b.id and merged.balance == Money(Decimal("3"), "tUSD")
    sdk.coffee.calls.set_cash_out_limit(sdk.coffee_id, "tUSD", "5").send()
    paid = sdk.books.calls.holder_action(
        sdk.holder.calls.sign_holder_action("cash-out", b.id, key, deadline=deadline)).send()
    assert paid == Money(Decimal("3"), "tUSD")
    c = sdk.buyer.issue(sdk.holder.sender, "4", sdk.coffee_id, "tUSD")
    moved = sdk.books.calls.holder_action(sdk.holder.calls.sign_holder_action(
        "transfer", c.id, key, deadline=deadline, to=sdk.friend.sender)).send()
    assert moved.owner == sdk.friend.sender and moved.nonce == 1


def test_what_a_wallet_signs_is_what_the_contract_accepts(sdk):
    """eth_signTypedData_v4 of the node's own EIP-712 encoder (anvil's unlocked dev account, the
    same call a browser wallet answers), given the document as the site hands it to wallets."""
    cert = sdk.buyer.issue(sdk.holder.sender, "20", sdk.coffee_id, "tUSD")
    message = {"certificate": cert.id, "amount": 7 * 10**6, "to": sdk.friend.sender,
               "nonce": 0, "deadline": sdk.holder.now() + HOUR}
    document = eip712.holder_action("split", sdk.holder.chain_id, sdk.holder.address, **message)
    reply = sdk.w3.provider.make_request(
        "eth_signTypedData_v4", [sdk.holder.sender, eip712.wallet_json(document)])
    signature = bytes.fromhex(reply["result"].removeprefix("0x"))
    signed = SignedHolderAction("split", message, signature)
    new = sdk.books.calls.holder_action(signed).send()
    assert new.balance == Money(Decimal("7"), "tUSD")


def test_the_json_form_round_trips_and_names_what_is_wrong(sdk):
    cert = sdk.buyer.issue(sdk.holder.sender, "20", sdk.coffee_id, "tUSD")
    signed = _split(sdk, cert.id)
    assert SignedHolderAction.from_json(signed.to_json()) == signed
    body = signed.to_json()
    cases = [
        ({**body, "kind": "steal"}, "kind"),
        ({**body, "message": {**body["message"], "tip": "1"}}, "message"),
        ({**body, "message": {k: v for k, v in body["message"].items() if k != "to"}}, "to"),
        ({**body, "message": {**body["message"], "to": "0x123"}}, "to"),
        ({**body, "message": {**body["message"], "amount": "lots"}}, "amount"),
        ({**body, "signature": "nothex"}, "signature"),
    ]
    for bad, field in cases:
        with pytest.raises(InvalidInput) as refused:
            SignedHolderAction.from_json(bad)
        assert refused.value.field == field, (bad, refused.value)


def test_a_signature_made_for_other_values_is_refused_before_sending(sdk):
    cert = sdk.buyer.issue(sdk.holder.sender, "20", sdk.coffee_id, "tUSD")
    signed = _split(sdk, cert.id)
    changed = SignedHolderAction("split", {**signed.message, "to": sdk.books.sender},
                                 signed.signature)
    assert changed.signer(sdk.holder.chain_id, sdk.holder.address) != sdk.holder.sender
    with pytest.raises(InvalidSignature):
        sdk.books.calls.holder_action(changed).simulate()
