"""Every client operation against anvil, with exact amounts and contract-named errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_account import Account

from giftcert.client import SignedRedemption, read_csv_rows
from giftcert.errors import ContractRevert
from giftcert.money import Money

DAY = 86400


def _issue_usd(sdk, amount="25.00", **kw):
    return sdk.buyer.issue(sdk.holder.sender, amount, sdk.coffee_id, "tUSD", message="hi", **kw)


def test_issue_eth_and_usd_amounts_are_exact(sdk):
    cert = sdk.buyer.issue(sdk.holder.sender, Decimal("0.01"), sdk.books_id, "ETH")
    assert cert.balance == Money(Decimal("0.01"), "ETH")
    assert cert.owner == sdk.holder.sender and cert.merchant_name == "Page Turner Books"
    usd = _issue_usd(sdk, Money(Decimal("12.50"), "tUSD"))
    assert usd.balance == Money(Decimal("12.5"), "tUSD") and usd.status(sdk.buyer.now()) == "active"
    assert usd.is_buyer(sdk.buyer.sender) and not usd.is_buyer(sdk.holder.sender)


def test_issue_rejects_bad_input_before_sending(sdk):
    for bad in ("-1", "0", "1.0000001"):
        with pytest.raises(ValueError):
            _issue_usd(sdk, bad)
    with pytest.raises(ValueError, match="not a valid 0x address"):
        sdk.buyer.issue("0x1234", "1", sdk.coffee_id, "tUSD")
    with pytest.raises(ValueError, match="unknown currency"):
        sdk.buyer.issue(sdk.holder.sender, "1", sdk.coffee_id, "DOGE")


def test_revert_is_named_contract_error(sdk):
    with pytest.raises(ContractRevert) as info:
        sdk.buyer.issue(sdk.holder.sender, "1", 99, "tUSD")
    assert info.value.error_name == "UnknownMerchant" and info.value.args_by_name["merchant"] == 99
    with pytest.raises(ContractRevert, match="UnknownCertificate"):
        sdk.buyer.certificate(12345)


def test_views_answer_as_web3_does(sdk):
    """The SDK's view path skips web3's ABI matching; results and reverts must not change."""
    cert = _issue_usd(sdk)
    fns = sdk.buyer.contract.functions
    for name, args in (("certificate", (cert.id,)), ("merchant", (sdk.coffee_id,)),
                       ("currency", (1,)), ("merchantLedger", (sdk.coffee_id, 1)),
                       ("paused", ()), ("uri", (cert.id,)), ("nonceOf", (cert.id,))):
        assert sdk.buyer._view(name, *args) == getattr(fns, name)(*args).call(), name
    assert sdk.buyer.certificate(cert.id).owner == sdk.holder.sender  # checksummed
    assert not hasattr(sdk.buyer, "order_ref_used")  # v2: order refs are event data only
    with pytest.raises(ContractRevert) as info:
        sdk.buyer._view("certificate", cert.id + 1)
    assert info.value.error_name == "UnknownCertificate"
    with pytest.raises(ValueError, match="not one view function"):
        sdk.buyer._view("noSuchFunction")


def test_preview_art_is_the_art_the_certificate_gets(sdk):
    expiry = sdk.buyer.now() + 6 * 365 * DAY
    cert = sdk.buyer.issue(sdk.holder.sender, "12.50", sdk.books_id, "tUSD", occasion=1,
                           expiry=expiry)
    preview = sdk.buyer.preview_art(sdk.books_id, "tUSD", "12.50", 1, expiry)
    assert preview == sdk.buyer.art(cert.id)
    assert b"Happy Birthday" in preview and b"Page Turner Books" in preview
    assert b"12.50 tUSD" in preview
    assert sdk.buyer.preview_art(sdk.books_id, "tUSD", "3", 2, expiry) != preview


def test_issue_batch_from_csv(sdk, tmp_path):
    path = tmp_path / "gifts.csv"
    path.write_text(f"recipient,amount\n{sdk.holder.sender},5\n{sdk.friend.sender},7.25\n")
    seen = []
    ids = sdk.buyer.issue_batch(read_csv_rows(path), sdk.coffee_id, "tUSD", chunk=1,
                                progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]
    assert [str(sdk.buyer.certificate(i).balance) for i in ids] == ["5 tUSD", "7.25 tUSD"]
    with pytest.raises(ValueError, match="row 2"):
        sdk.buyer.issue_batch([(sdk.holder.sender, "1"), (sdk.holder.sender, "-3")], 1, "tUSD")


def test_top_up_split_merge_transfer(sdk):
    cert = _issue_usd(sdk, "20")
    assert sdk.friend.top_up(cert.id, "5").balance.amount == 25
    part = sdk.holder.split(cert.id, "10", sdk.holder.sender)
    assert part.balance.amount == 10 and sdk.holder.certificate(cert.id).balance.amount == 15
    merged = sdk.holder.merge(part.id, cert.id)
    assert merged.balance.amount == 25
    with pytest.raises(ContractRevert, match="UnknownCertificate"):
        sdk.holder.certificate(part.id)  # burned by the merge
    moved = sdk.holder.transfer(cert.id, sdk.friend.sender)
    assert moved.owner == sdk.friend.sender


def test_claim_link_claim_and_reclaim(sdk):
    link = sdk.buyer.issue_claimable("3", sdk.coffee_id, "tUSD", claim_days=2)
    assert link.path == f"/claim/{link.certificate.id}#{link.key}"
    assert link.certificate.awaiting_claim
    claimed = sdk.friend.claim(link.certificate.id, link.key)  # recipient submits it
    assert claimed.owner == sdk.friend.sender and not claimed.awaiting_claim
    other = sdk.buyer.issue_claimable("4", sdk.coffee_id, "tUSD", claim_days=1)
    sdk.warp(2 * DAY)
    assert sdk.buyer.reclaim(other.certificate.id) == Money(Decimal(4), "tUSD")


def test_redeem_and_withdraw(sdk):
    cert = _issue_usd(sdk, "10")
    after = sdk.holder.redeem(cert.id, "3.75", order_ref=1)
    assert str(after.balance) == "6.25 tUSD"
    # An order reference is the merchant's data, not a lock: one order may be paid in parts.
    assert str(sdk.holder.redeem(cert.id, "0.25", order_ref=1).balance) == "6 tUSD"
    assert after.nonce == 0 and sdk.holder.certificate(cert.id).nonce == 0  # unsigned: no move
    with pytest.raises(ContractRevert, match="InsufficientBalance"):
        sdk.holder.redeem(cert.id, "7", order_ref=2)
    assert sdk.coffee.merchant_owed(sdk.coffee_id, "tUSD").amount == Decimal("4")
    assert sdk.coffee.withdraw(sdk.coffee_id, "tUSD").amount == Decimal("4")


def test_sign_verify_and_redeem_with_authorization(sdk):
    cert = _issue_usd(sdk, "10")
    signed = sdk.holder.sign_redemption(cert.id, "2", order_ref=7)
    assert sdk.coffee.verify_redemption(signed) == sdk.holder.sender
    again = SignedRedemption.from_json(signed.to_json())
    assert again == signed
    assert signed.nonce == 0
    after = sdk.coffee.redeem_with_authorization(again)
    assert after.balance.amount == 8 and after.nonce == 1
    with pytest.raises(ContractRevert, match="WrongNonce"):  # a replay: the nonce moved on
        sdk.coffee.redeem_with_authorization(signed)
    forged = sdk.friend.sign_redemption(cert.id, "2", order_ref=8)
    assert sdk.coffee.verify_redemption(forged) == sdk.friend.sender
    with pytest.raises(ContractRevert, match="InvalidSignature"):
        sdk.coffee.redeem_with_authorization(forged)


def test_one_usable_authorisation_per_certificate(sdk):
    """A later authorisation replaces an unused earlier one; moving the certificate voids
    both; successive nonces may be signed ahead and settle in order."""
    cert = _issue_usd(sdk, "10")
    first = sdk.holder.sign_redemption(cert.id, "1", order_ref=1)
    second = sdk.holder.sign_redemption(cert.id, "2", order_ref=2)
    assert first.nonce == second.nonce == 0
    sdk.coffee.redeem_with_authorization(second)
    with pytest.raises(ContractRevert, match="WrongNonce"):
        sdk.coffee.redeem_with_authorization(first)
    pending = sdk.holder.sign_redemption(cert.id, "1", order_ref=3)
    sdk.holder.transfer(cert.id, sdk.friend.sender)
    sdk.friend.transfer(cert.id, sdk.holder.sender)
    with pytest.raises(ContractRevert, match="WrongNonce"):  # signed before the move
        sdk.coffee.redeem_with_authorization(pending)
    nonce = sdk.holder.certificate(cert.id).nonce
    assert nonce == 3  # one signed redemption, two transfers
    ahead = [sdk.holder.sign_redemption(cert.id, "1", order_ref=10 + i, nonce=nonce + i)
             for i in range(3)]
    settlement = sdk.coffee.settle_batch(sdk.coffee_id, ahead)
    assert len(settlement.settled) == 3 and settlement.refused == []
    assert sdk.holder.certificate(cert.id).balance.amount == 5


def test_settle_batch(sdk):
    certs = [_issue_usd(sdk, "10") for _ in range(3)]
    signed = [sdk.holder.sign_redemption(c.id, "1.5", order_ref=100 + i)
              for i, c in enumerate(certs)]
    settlement = sdk.coffee.settle_batch(sdk.coffee_id, signed)
    assert settlement.settled == signed and settlement.refused == []
    assert settlement.receipt["status"] == 1
    assert [sdk.coffee.certificate(c.id).balance.amount for c in certs] == [Decimal("8.5")] * 3
    with pytest.raises(ValueError):
        sdk.coffee.settle_batch(sdk.coffee_id, [])

    # Skip-failed (the default): the valid items settle, each refused one says why.
    fresh = sdk.holder.sign_redemption(certs[0].id, "1", order_ref=200)
    too_much = sdk.holder.sign_redemption(certs[1].id, "9", order_ref=201)
    mixed = [signed[2], fresh, too_much]  # a replay, a good one, an overspend
    settlement = sdk.coffee.settle_batch(sdk.coffee_id, mixed)
    assert settlement.settled == [fresh]
    assert [(r.index, r.certificate, r.reason.error_name) for r in settlement.refused] == [
        (0, certs[2].id, "WrongNonce"), (2, certs[1].id, "InsufficientBalance")]
    assert settlement.refused[1].reason.args_by_name == {
        "id": certs[1].id, "balance": 8_500_000, "needed": 9_000_000}
    assert settlement.refused[0].to_json()["reason"] == "WrongNonce"
    assert sdk.coffee.certificate(certs[0].id).balance.amount == Decimal("7.5")

    # All or nothing: the first refusal reverts the whole batch.
    again = sdk.holder.sign_redemption(certs[0].id, "1", order_ref=300)
    with pytest.raises(ContractRevert, match="InsufficientBalance"):
        sdk.coffee.settle_batch(sdk.coffee_id, [again, too_much], all_or_nothing=True)
    assert sdk.coffee.certificate(certs[0].id).balance.amount == Decimal("7.5")


def test_refund_void_cash_out(sdk):
    sdk.admin.set_min_validity(3600)
    short = _issue_usd(sdk, "4", expiry=sdk.buyer.now() + 7200)
    with pytest.raises(ContractRevert, match="NotExpired"):
        sdk.buyer.refund(short.id)
    sdk.warp(7300)
    assert sdk.friend.refund(short.id, sdk.buyer.sender).amount == 4  # anyone may trigger it
    voided = _issue_usd(sdk, "6")
    assert sdk.coffee.void(voided.id).amount == 6
    small = _issue_usd(sdk, "0.50")
    assert sdk.holder.cash_out_limit(sdk.coffee_id, "tUSD") == Money(Decimal("0"), "tUSD")
    sdk.coffee.set_cash_out_limit(sdk.coffee_id, "tUSD", "1")
    assert sdk.holder.cash_out_limit(sdk.coffee_id, "tUSD") == Money(Decimal("1"), "tUSD")
    assert sdk.holder.cash_out(small.id) == Money(Decimal("0.5"), "tUSD")


def test_merchant_currency_and_pause_admin(sdk):
    merchant = sdk.admin.register_merchant(Account.create().address, "Third Place Tea")
    assert merchant.id == 3 and [m.name for m in sdk.admin.merchants()][-1] == "Third Place Tea"
    assert not sdk.admin.set_merchant_active(3, False).active
    with pytest.raises(ContractRevert, match="MerchantInactive"):
        sdk.buyer.issue(sdk.holder.sender, "1", 3, "tUSD")
    with pytest.raises(ContractRevert, match="AccessControl"):
        sdk.buyer.register_merchant(sdk.buyer.sender, "Nope")
    assert [c.symbol for c in sdk.admin.currencies()] == ["ETH", "tUSD"]
    sdk.admin.set_currency_allowed("tUSD", False)
    assert not sdk.admin.currency("tUSD").allowed
    sdk.admin.pause()
    assert sdk.admin.paused()
    with pytest.raises(ContractRevert, match="EnforcedPause"):
        _issue_usd(sdk)
    sdk.admin.unpause()
    sdk.admin.set_min_validity(7200)
    assert sdk.admin.min_validity() == 7200


def test_withdraw_deferred_nothing(sdk):
    with pytest.raises(ContractRevert, match="NothingToWithdraw"):
        sdk.holder.withdraw_deferred("ETH")


def test_unlocked_node_account_signs_the_same_typed_data(sdk):
    cert = _issue_usd(sdk, "10")
    unlocked = sdk.holder.acting_as(sender=sdk.holder.sender)  # anvil holds the key
    signed = unlocked.sign_redemption(cert.id, "1", order_ref=3, deadline=sdk.holder.now() + 600)
    local = sdk.holder.sign_redemption(cert.id, "1", order_ref=3, deadline=signed.deadline)
    assert signed.signature == local.signature
    assert sdk.coffee.verify_redemption(signed) == sdk.holder.sender


def test_claim_window_is_a_utc_day_and_follows_pause(sdk):
    """v2: the claim deadline is kept as a UTC day (its last second counts); no claim while
    paused or after the deadline."""
    link = sdk.buyer.issue_claimable("2", sdk.coffee_id, "tUSD", claim_days=1)
    deadline = link.certificate.claim_deadline
    assert deadline % DAY == DAY - 1 and sdk.buyer.now() + DAY <= deadline
    sdk.admin.pause()
    with pytest.raises(ContractRevert, match="EnforcedPause"):
        sdk.friend.claim(link.certificate.id, link.key)
    sdk.admin.unpause()
    sdk.warp(deadline - sdk.buyer.now() + 1)
    with pytest.raises(ContractRevert, match="ClaimWindowClosed"):
        sdk.friend.claim(link.certificate.id, link.key)
    assert sdk.buyer.reclaim(link.certificate.id) == Money(Decimal(2), "tUSD")


def test_only_the_merchant_changes_its_account(sdk):
    with pytest.raises(ContractRevert, match="NotMerchant"):
        sdk.admin.set_merchant_account(sdk.coffee_id, sdk.friend.sender)
    moved = sdk.coffee.set_merchant_account(sdk.coffee_id, sdk.friend.sender)
    assert moved.account == sdk.friend.sender


def test_no_void_after_expiry(sdk):
    sdk.admin.set_min_validity(3600)
    cert = _issue_usd(sdk, "3", expiry=sdk.buyer.now() + 7200)
    sdk.warp(7300)
    with pytest.raises(ContractRevert, match="Expired"):
        sdk.coffee.void(cert.id)
    assert sdk.friend.refund(cert.id, sdk.buyer.sender).amount == 3  # the buyer's refund
