"""Prepared calls: the same operation sent by the SDK or handed, unsigned, to a wallet."""

from __future__ import annotations

import inspect
from decimal import Decimal

import pytest
from eth_account import Account

from giftcert import eip712
from giftcert.calls import Calls, ClaimLinkCall, PreparedCall, PurchaseCall
from giftcert.client import GiftCert
from giftcert.errors import (
    CurrencyNotAllowed,
    EnforcedPause,
    InsufficientBalance,
    InvalidInput,
    MerchantInactive,
    NotHolder,
    ValidityTooShort,
)
from giftcert.models import ZERO_ADDRESS
from giftcert.money import Money

TX_KEYS = {"from", "to", "data", "value", "chainId", "gas", "estimatedFee"}


def _keyless(sdk, account: str) -> GiftCert:
    """What the web server has: no key at all, only the address the wallet will sign with."""
    return GiftCert(sdk.w3, sdk.admin.contract, ZERO_ADDRESS).acting_as(account)


def _wallet_sends(sdk, tx: dict[str, str]) -> str:
    """What a browser wallet does with the dict: eth_sendTransaction (anvil's dev accounts
    sign), then wait for the receipt."""
    request = {k: v for k, v in tx.items() if k != "estimatedFee"}
    reply = sdk.w3.provider.make_request("eth_sendTransaction", [request])
    assert "error" not in reply, reply
    receipt = sdk.w3.eth.wait_for_transaction_receipt(reply["result"])
    assert receipt["status"] == 1
    return reply["result"]


def _state(sdk, cert_id: int, new_id: int) -> tuple:
    old, new = sdk.holder.certificate(cert_id), sdk.holder.certificate(new_id)
    return old.balance, old.nonce, new.owner, new.balance, new.merchant


def test_every_operation_has_a_prepared_call_named_like_the_client_method():
    wanted = ["issue", "issue_batch", "issue_claimable", "top_up", "claim", "reclaim",
              "transfer", "split", "merge", "redeem", "redeem_with_authorization",
              "settle_batch", "refund", "void", "cash_out", "withdraw", "withdraw_deferred",
              "set_cash_out_limit", "register_merchant", "set_merchant_active",
              "set_merchant_account", "allow_currency", "set_currency_allowed", "pause",
              "unpause", "set_min_validity"]
    for name in wanted:
        assert callable(getattr(Calls, name)), name
        sdk_params = inspect.signature(getattr(GiftCert, name)).parameters
        call_params = inspect.signature(getattr(Calls, name)).parameters
        positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
        assert ([p for p, v in sdk_params.items() if v.kind == positional]
                == [p for p, v in call_params.items() if v.kind == positional]), name
        # issue_batch: one call is one transaction; the client adds chunk and progress.
        # The calls may take more (a claim's ready signature, a browser-made claim key).
        assert set(sdk_params) - {"chunk", "progress"} <= set(call_params), name
    assert callable(Calls.approve) and callable(Calls.approval_needed)


def test_split_unsigned_sent_by_the_wallet_changes_the_chain_as_send_does(sdk):
    cert = sdk.buyer.issue(sdk.holder.sender, "20", sdk.coffee_id, "tUSD")
    five = Money(Decimal("5"), "tUSD")
    with sdk.snapshot():
        new = sdk.holder.calls.split(cert.id, five, sdk.friend.sender).send()
        sent = _state(sdk, cert.id, new.id)

    tx = _keyless(sdk, sdk.holder.sender).calls.split(cert.id, five, sdk.friend.sender).unsigned()
    assert set(tx) == TX_KEYS and tx["from"] == sdk.holder.sender
    assert tx["to"] == sdk.admin.address and tx["value"] == "0x0"
    assert int(tx["chainId"], 16) == 31337 and int(tx["gas"], 16) > 21_000
    assert int(tx["estimatedFee"]) > 0 and tx["estimatedFee"].isdigit()
    outcome = sdk.holder.transaction_outcome(_wallet_sends(sdk, tx))
    assert outcome is not None and outcome.success and len(outcome.split) == 1
    assert _state(sdk, cert.id, outcome.split[0]) == sent
    assert sent[3] == five and sent[2] == sdk.friend.sender


def test_unsigned_simulates_first_and_raises_the_named_error(sdk):
    cert = sdk.buyer.issue(sdk.holder.sender, "3", sdk.coffee_id, "tUSD")
    holder = _keyless(sdk, sdk.holder.sender)
    with pytest.raises(InsufficientBalance) as info:
        holder.calls.split(cert.id, "4", sdk.friend.sender).unsigned()
    assert info.value.args_by_name["needed"] == 4 * 10**6
    with pytest.raises(NotHolder):
        _keyless(sdk, sdk.friend.sender).calls.redeem(cert, "1", 7).unsigned()
    with pytest.raises(InvalidInput, match="expected tUSD"):
        holder.calls.split(cert.id, Money(Decimal("1"), "ETH"), sdk.friend.sender)


def test_erc20_issue_needs_an_approval_first_and_the_wallet_sends_both(sdk):
    giver = _keyless(sdk, sdk.friend.sender)
    sdk.friend.calls.approve("tUSD")  # preparing sends nothing
    issue = giver.calls.issue(sdk.holder.sender, Money(Decimal("2.5"), "tUSD"), sdk.coffee_id,
                              "tUSD", message="thanks")
    assert issue.pays is not None and issue.pays[1] == 2_500_000 and issue.value == 0
    assert giver.calls.approval_needed("tUSD", 2_500_000)
    approval = issue.approval()
    assert approval is not None and approval.function == "approve"
    _wallet_sends(sdk, approval.unsigned())
    assert issue.approval() is None and not giver.calls.approval_needed("tUSD", issue.pays[1])
    outcome = giver.transaction_outcome(_wallet_sends(sdk, issue.unsigned()))
    assert outcome is not None and len(outcome.issued) == 1
    cert = sdk.holder.certificate(outcome.issued[0])
    assert cert.balance == Money(Decimal("2.5"), "tUSD") and cert.is_buyer(sdk.friend.sender)


def test_eth_payment_is_the_value_and_send_decodes_the_result(sdk):
    call = sdk.buyer.calls.issue(sdk.holder.sender, "0.01", sdk.books_id, "ETH")
    assert isinstance(call, PreparedCall) and call.value == 10**16 and call.pays is None
    assert call.approval() is None
    cert = call.send()
    assert cert.balance == Money(Decimal("0.01"), "ETH") and cert.owner == sdk.holder.sender
    paid = sdk.holder.calls.redeem(cert, "0.004", 55).send()
    assert paid.balance == Money(Decimal("0.006"), "ETH")
    receipt = sdk.holder.calls.prepare("redeem", cert.id, 10**15, 56).send()  # any function
    outcome = sdk.holder.transaction_outcome(receipt["transactionHash"])
    assert outcome is not None and outcome.success
    assert [(p.certificate, p.merchant, p.order_ref, p.units) for p in outcome.redeemed] == [
        (cert.id, sdk.books_id, 56, 10**15)]
    assert sdk.holder.transaction_outcome("0x" + "ab" * 32) is None  # unknown: pending


def test_claim_link_call_knows_its_key_before_sending(sdk):
    made = sdk.buyer.calls.issue_claimable("4", sdk.coffee_id, "tUSD")
    assert isinstance(made, ClaimLinkCall) and made.key and made.claim_address
    assert Account.from_key(made.key).address == made.claim_address
    link = made.send()
    assert link.key == made.key and link.certificate.awaiting_claim
    assert link.path == f"/claim/{link.certificate.id}#{made.key}"

    # The browser made the key: the server sees only its address and the claim signature.
    key = Account.create()
    browser = _keyless(sdk, sdk.buyer.sender).calls.issue_claimable(
        "3", sdk.coffee_id, "tUSD", claim_key=key.address)
    assert browser.key is None and browser.claim_address == key.address
    cert_id = sdk.buyer.transaction_outcome(_wallet_sends_with_approval(sdk, browser)).issued[0]
    document = eip712.claim(sdk.admin.chain_id, sdk.admin.address, certificate=cert_id,
                            recipient=sdk.holder.sender)
    signature = "0x" + eip712.sign_typed_data(key.key, document).hex()
    claim = _keyless(sdk, sdk.friend.sender).calls.claim(cert_id, recipient=sdk.holder.sender,
                                                         signature=signature)
    _wallet_sends(sdk, claim.unsigned())  # anyone may send it; the gift goes to the holder
    assert sdk.holder.certificate(cert_id).owner == sdk.holder.sender
    with pytest.raises(InvalidInput, match="key or its signature"):
        sdk.friend.calls.claim(cert_id)


def _wallet_sends_with_approval(sdk, call: PreparedCall) -> str:
    approval = call.approval()
    if approval is not None:
        _wallet_sends(sdk, approval.unsigned())
    return _wallet_sends(sdk, call.unsigned())


def test_issue_batch_is_one_transaction_per_call_and_settle_simulates(sdk):
    rows = [(sdk.holder.sender, "1"), (sdk.friend.sender, Money(Decimal("2.25"), "tUSD"))]
    ids = sdk.buyer.calls.issue_batch(rows, sdk.coffee_id, "tUSD").send()
    assert [sdk.holder.certificate(i).balance.amount for i in ids] == [1, Decimal("2.25")]
    with pytest.raises(InvalidInput, match="row 2"):
        sdk.buyer.calls.issue_batch([(sdk.holder.sender, "1"), ("0x12", "1")], 1, "tUSD")
    signed = [sdk.holder.sign_redemption(ids[0], "0.5", 1)]
    settle = sdk.coffee.calls.settle_batch(sdk.coffee_id, signed)
    assert settle.simulate() == 1  # how many would settle; nothing is sent
    assert sdk.holder.certificate(ids[0]).balance.amount == 1
    result = settle.send()
    assert result.settled == signed and not result.refused


def test_a_purchase_call_carries_its_terms_and_payment(sdk):
    now, days = sdk.buyer.now(), 2000  # beyond the minimum validity (5 years here)
    call = sdk.buyer.calls.issue(sdk.holder.sender, "3", sdk.coffee_id, "tUSD", occasion=2,
                                 expiry_days=days)
    assert isinstance(call, PurchaseCall) and call.payment == Money(Decimal("3"), "tUSD")
    assert call.valid_from == 0 and now + days * 86400 <= call.expiry <= now + days * 86400 + 5
    assert call.terms[:3] == (sdk.coffee_id, 1, 2)
    batch = sdk.buyer.calls.issue_batch([(sdk.holder.sender, "1"), (sdk.friend.sender, "2")],
                                        sdk.coffee_id, "ETH", valid_from=now + 86400)
    assert batch.payment == Money(Decimal("3"), "ETH") and batch.value == 3 * 10**18
    assert batch.valid_from == now + 86400
    assert batch.expiry == now + 86400 + sdk.buyer.min_validity() + 86400
    assert sdk.buyer.calls.redeem(call.send(), "1", 1).payment is None


def test_no_approval_is_asked_for_a_purchase_the_contract_refuses_anyway(sdk):
    giver = _keyless(sdk, sdk.friend.sender)
    assert giver.calls.approval_needed("tUSD", 10**6)
    short = giver.calls.issue(sdk.holder.sender, "1", sdk.coffee_id, "tUSD",
                              expiry=sdk.admin.now() + 60)
    with pytest.raises(ValidityTooShort) as too_short:
        short.approval()
    assert too_short.value.args_by_name["minimumExpiry"] > short.expiry
    sdk.admin.set_currency_allowed("tUSD", False)
    with pytest.raises(CurrencyNotAllowed):
        giver.calls.issue(sdk.holder.sender, "1", sdk.coffee_id, "tUSD").approval()
    sdk.admin.pause()  # the contract's order: the pause first
    with pytest.raises(EnforcedPause):
        giver.calls.issue(sdk.holder.sender, "1", sdk.coffee_id, "tUSD").approval()
    sdk.admin.unpause()
    sdk.admin.set_currency_allowed("tUSD", True)
    sdk.admin.set_merchant_active(sdk.coffee_id, False)
    with pytest.raises(MerchantInactive):
        giver.calls.issue(sdk.holder.sender, "1", sdk.coffee_id, "tUSD").approval()
    sdk.admin.set_merchant_active(sdk.coffee_id, True)
    ok = giver.calls.issue(sdk.holder.sender, "1", sdk.coffee_id, "tUSD").approval()
    assert ok is not None and ok.function == "approve"  # only the allowance is missing


def test_payments_reads_redemptions_from_the_logs(sdk):
    start = sdk.w3.eth.block_number + 1
    cert = sdk.buyer.issue(sdk.holder.sender, "5", sdk.coffee_id, "tUSD")
    sdk.holder.redeem(cert.id, "1", 42)
    sdk.coffee.redeem_with_authorization(sdk.holder.sign_redemption(cert.id, "2", 43))
    assert [(p.certificate, p.merchant, p.order_ref, p.units)
            for p in sdk.admin.payments(start)] == [(cert.id, sdk.coffee_id, 42, 10**6),
                                                    (cert.id, sdk.coffee_id, 43, 2 * 10**6)]
