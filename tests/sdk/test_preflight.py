"""The contract's checks of signed redemptions, off-chain (giftcert.authorization.Preflight):
each item of a batch gets the error the chain gives it, with the same arguments, in batch order;
a contract wallet holder is asked through ERC-1271 as the contract asks it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account

from giftcert import eip712
from giftcert.authorization import HALF_N, SECP256K1_N, Preflight, SignedRedemption
from giftcert.errors import ContractRevert, ZeroAmount


def _high_s_twin(signed: SignedRedemption) -> SignedRedemption:
    """The same signature with s mirrored (N - s) and v flipped: valid ECDSA, refused by the
    contract's low-s rule."""
    sig = signed.signature
    s = int.from_bytes(sig[32:64], "big")
    assert s <= HALF_N
    twin = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    return replace(signed, signature=twin)


def test_each_item_gets_the_chains_refusal_with_its_arguments(sdk):
    a = sdk.buyer.issue(sdk.holder.sender, "10", sdk.coffee_id, "tUSD")
    b = sdk.buyer.issue(sdk.holder.sender, "10", sdk.coffee_id, "tUSD")
    books = sdk.buyer.issue(sdk.holder.sender, "10", sdk.books_id, "tUSD")
    first = sdk.holder.sign_redemption(a.id, "4", 1)
    items = [
        first,
        sdk.holder.sign_redemption(a.id, "1", 2),  # the same nonce: item 0 moves it first
        sdk.holder.sign_redemption(b.id, "11", 3),  # more than the balance
        sdk.holder.sign_redemption(b.id, "1", 4, deadline=sdk.holder.now() - 1),
        sdk.holder.sign_redemption(books.id, "1", 5),  # another merchant's certificate
        _high_s_twin(sdk.holder.sign_redemption(b.id, "2", 6)),
        sdk.friend.sign_redemption(b.id, "2", 7),  # not the holder's signature
        sdk.holder.sign_redemption(b.id, "3", 8),  # settles
    ]
    checks = Preflight(sdk.coffee, sdk.coffee_id)
    expected = {i: p for i, s in enumerate(items) if (p := checks.refusal(s)) is not None}
    assert {i: p.error_name for i, p in expected.items()} == {
        1: "WrongNonce", 2: "InsufficientBalance", 3: "AuthorizationExpired",
        4: "WrongMerchant", 5: "InvalidSignature", 6: "InvalidSignature"}
    # The batch as the preflight leaves it: the settled items moved balance and nonce.
    assert checks.certificate(a.id).nonce == 1 and checks.certificate(b.id).nonce == 1
    assert checks.certificate(b.id).balance.amount == 7

    settlement = sdk.coffee.settle_batch(sdk.coffee_id, items)
    chain = {r.index: r.reason for r in settlement.refused}
    assert {i: (p.error_name, p.args_by_name) for i, p in expected.items()} == {
        i: (r.error_name, r.args_by_name) for i, r in chain.items()}
    assert sdk.holder.certificate(b.id).balance == checks.certificate(b.id).balance


def _chain_refusal(sdk, signed: SignedRedemption) -> ContractRevert:
    """What the chain says of one item (an all-or-nothing batch of it, simulated)."""
    with pytest.raises(ContractRevert) as refused:
        sdk.coffee.calls.settle_batch(sdk.coffee_id, [signed], all_or_nothing=True).simulate()
    return refused.value


def test_spent_unknown_and_zero_items_as_the_chain_says(sdk):
    cert = sdk.buyer.issue(sdk.holder.sender, "2", sdk.coffee_id, "tUSD")
    whole = sdk.holder.sign_redemption(cert.id, "2", 1)
    checks = Preflight(sdk.coffee, sdk.coffee_id)
    assert checks.refusal(whole) is None
    assert checks.certificate(cert.id).balance.amount == 0
    sdk.coffee.redeem_with_authorization(whole)
    again = sdk.holder.sign_redemption(cert.id, "1", 2)  # nothing left
    unknown = replace(again, certificate=cert.id ^ 1)  # another serial: no such certificate
    zero = replace(again, amount=0)
    for item in (again, unknown, zero):
        ours = Preflight(sdk.coffee, sdk.coffee_id).refusal(item)
        chain = _chain_refusal(sdk, item)
        assert ours is not None and (ours.error_name, ours.args_by_name) == (
            chain.error_name, chain.args_by_name)
    assert isinstance(Preflight(sdk.coffee, sdk.coffee_id).refusal(zero), ZeroAmount)


def test_a_contract_wallet_holder_answers_through_erc1271(sdk, artifacts):
    owner = Account.create()
    artifact = artifacts["ERC1271Wallet"]
    factory = sdk.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx = factory.constructor(owner.address).transact({"from": sdk.admin.sender})
    wallet = sdk.w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    cert = sdk.buyer.issue(wallet, "5", sdk.coffee_id, "tUSD")

    def signed_by(key: str, order_ref: int) -> SignedRedemption:
        doc = eip712.redemption(sdk.admin.chain_id, sdk.admin.address, certificate=cert.id,
                                merchant=sdk.coffee_id, amount=10**6, order_ref=order_ref,
                                nonce=0, deadline=sdk.admin.now() + 600)
        return SignedRedemption(cert.id, sdk.coffee_id, 10**6, order_ref, 0,
                                doc["message"]["deadline"], eip712.sign_typed_data(key, doc),
                                doc)

    good, stranger = signed_by(owner.key, 1), signed_by(Account.create().key, 2)
    assert good.signer() == owner.address != wallet  # the wallet itself signs nothing
    assert Preflight(sdk.coffee, sdk.coffee_id).refusal(good) is None
    refusal = Preflight(sdk.coffee, sdk.coffee_id).refusal(stranger)
    assert refusal is not None and refusal.error_name == "InvalidSignature"
    settlement = sdk.coffee.settle_batch(sdk.coffee_id, [stranger, good])
    assert [r.reason.error_name for r in settlement.refused] == ["InvalidSignature"]
    assert len(settlement.settled) == 1
