"""Whole-balance actions in the browser: a holder merges one certificate into another and cashes
out a small balance; a buyer takes back a claim-link gift nobody claimed in time. Each checks the
page and then the chain through the SDK."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from e2e_stack import (
    COFFEE,
    GIVER,
    HOLDER,
    STRANGER,
    Chain,
    confirm,
    connect,
    events,
    ref,
    reload_until,
)
from eth_account import Account
from playwright.sync_api import expect

from giftcert.client import DAY
from giftcert.errors import revert_class
from giftcert.money import Money

USD = 10**6  # tUSD has 6 decimals


def _usd_balance(chain: Chain, account: str) -> int:
    return chain.sdk.token("tUSD").functions.balanceOf(account).call()


def test_holder_merges_two_certificates(open_browser, e2e_chain: Chain):
    giver = e2e_chain.client(GIVER)
    coffee = e2e_chain.merchant_id("Corner Coffee")
    holder_address = e2e_chain.address(HOLDER)
    expiry = giver.now() + 30 * DAY
    small = giver.issue(holder_address, "4", coffee, "tUSD", expiry=expiry).id
    big = giver.issue(holder_address, "6", coffee, "tUSD", expiry=expiry + DAY).id

    holder = open_browser(HOLDER)
    page = connect(holder, f"/certificates/{small}")
    form = page.get_by_test_id("merge-form")
    reload_until(page, form.locator(f'option[value="{big}"]'))
    # Only certificates this one may merge into are offered; never itself.
    assert form.locator(f'option[value="{small}"]').count() == 0
    form.get_by_test_id("merge-into").select_option(str(big))
    form.get_by_test_id("merge-submit").click()
    expect(form.get_by_test_id("tx-total")).to_have_text("4.00 tUSD")
    expect(form.locator(".tx-total-label")).to_have_text("Moves")
    holder.screenshot("merge")
    confirm(form)
    page.wait_for_url(re.compile(rf"/certificates/{ref(big)}$"))  # the one it went into
    expect(page.get_by_test_id("cert-balance")).to_have_text("10.00 tUSD")

    merged = events(e2e_chain, holder.wallet.sent, "Merged")
    assert [(m["fromId"], m["intoId"], m["amount"]) for m in merged] == [(small, big, 4 * USD)]
    into = e2e_chain.sdk.certificate(big)
    assert into.owner == holder_address and into.balance == Money(Decimal("10"), "tUSD")
    with pytest.raises(revert_class("UnknownCertificate")):  # merged away: closed
        e2e_chain.sdk.certificate(small)


def test_buyer_reclaims_an_unclaimed_gift_after_its_deadline(open_browser, e2e_chain: Chain):
    giver_sdk = e2e_chain.client(GIVER)
    coffee = e2e_chain.merchant_id("Corner Coffee")
    # The shortest claim window: the contract keeps the deadline's day, so the gift can be
    # claimed until the end of the chain's current UTC day.
    deadline = giver_sdk.now() + 600
    terms = giver_sdk.terms(coffee, "tUSD", expiry=giver_sdk.now() + 30 * DAY)
    receipt = giver_sdk._send("issueClaimable", Account.create().address, terms, 3 * USD,
                              deadline, "Unclaimed")
    cert_id = events(e2e_chain, [receipt["transactionHash"].to_0x_hex()], "Issued")[0]["id"]
    assert e2e_chain.sdk.certificate(cert_id).awaiting_claim

    giver = open_browser(GIVER)
    page = connect(giver, f"/gift/{cert_id}")
    expect(page.get_by_test_id("reclaim-later")).to_contain_text("3.00 tUSD")
    expect(page.get_by_test_id("reclaim-form")).to_have_count(0)
    window_end = e2e_chain.sdk.certificate(cert_id).claim_deadline
    assert window_end % DAY == DAY - 1 and window_end >= deadline
    # Past the end of that day (at most a day away): everything else keeps its day's margin.
    e2e_chain.warp(window_end - giver_sdk.now() + 60)

    # Someone else than the buyer is refused, with the API's reason shown in the form.
    stranger = open_browser(STRANGER)
    other = connect(stranger, f"/gift/{cert_id}")
    form = other.get_by_test_id("reclaim-form")
    form.get_by_test_id("reclaim-submit").click()
    expect(form.get_by_test_id("form-error")).to_contain_text("only the buyer")
    expect(form.get_by_test_id("tx-review")).to_be_hidden()
    assert stranger.wallet.sent == []

    before = _usd_balance(e2e_chain, giver.wallet.account)
    page.reload()
    form = page.get_by_test_id("reclaim-form")
    form.get_by_test_id("reclaim-submit").click()
    expect(form.get_by_test_id("tx-total")).to_have_text("3.00 tUSD")
    giver.screenshot("reclaim")
    confirm(form)
    page.wait_for_url(re.compile(r"/holder/"))

    reclaimed = events(e2e_chain, giver.wallet.sent, "Reclaimed")
    assert [(r["id"], r["buyer"], r["amount"]) for r in reclaimed] == [
        (cert_id, giver.wallet.account, 3 * USD)]
    assert _usd_balance(e2e_chain, giver.wallet.account) == before + 3 * USD
    with pytest.raises(revert_class("UnknownCertificate")):
        e2e_chain.sdk.certificate(cert_id)


def test_holder_cashes_out_a_small_balance(open_browser, e2e_chain: Chain):
    coffee = e2e_chain.merchant_id("Corner Coffee")
    merchant = e2e_chain.client(COFFEE)
    giver = e2e_chain.client(GIVER)
    holder_address = e2e_chain.address(HOLDER)
    merchant.set_cash_out_limit(coffee, "tUSD", "5")
    try:
        small = giver.issue(holder_address, "2.50", coffee, "tUSD").id
        large = giver.issue(holder_address, "30", coffee, "tUSD").id
        holder = open_browser(HOLDER)
        page = connect(holder, f"/certificates/{large}")  # above the limit: why not, no form
        expect(page.get_by_test_id("cashout-unavailable")).to_contain_text("up to 5 tUSD")
        expect(page.get_by_test_id("cashout-form")).to_have_count(0)

        page.goto(f"{holder.site.url}/certificates/{small}")
        form = page.get_by_test_id("cashout-form")
        expect(form.get_by_test_id("cashout-amount")).to_have_text("2.50 tUSD")
        before = _usd_balance(e2e_chain, holder_address)
        form.get_by_test_id("cashout-submit").click()
        expect(form.get_by_test_id("tx-total")).to_have_text("2.50 tUSD")
        expect(form.locator(".tx-total-label")).to_have_text("You receive")
        holder.screenshot("cash-out")
        confirm(form)
        page.wait_for_url(re.compile(r"/holder/"))
    finally:
        merchant.set_cash_out_limit(coffee, "tUSD", 0)

    cashed = events(e2e_chain, holder.wallet.sent, "CashedOut")
    assert [(c["id"], c["holder"], c["amount"]) for c in cashed] == [
        (small, holder_address, 2_500_000)]
    assert _usd_balance(e2e_chain, holder_address) == before + 2_500_000
    with pytest.raises(revert_class("UnknownCertificate")):
        e2e_chain.sdk.certificate(small)
    assert e2e_chain.sdk.certificate(large).balance == Money(Decimal("30"), "tUSD")
