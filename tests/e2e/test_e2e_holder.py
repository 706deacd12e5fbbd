"""Holders in the browser: re-gift part of a balance; sign a payment that the merchant, in its own
browser signed in with Sign-In with Ethereum, redeems; a merchant settles a batch."""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal

import pytest
from e2e_stack import (
    BOOKS,
    COFFEE,
    FRIEND,
    GIVER,
    HOLDER,
    Chain,
    confirm,
    connect,
    events,
    gift_for_holder,
    ref,
    reload_until,
    sign_in_merchant,
)
from playwright.sync_api import expect

from giftcert.errors import revert_class
from giftcert.money import Money
from webapp.present import money as money_text


def test_holder_regifts_part_of_a_balance(open_browser, e2e_chain: Chain):
    cert_id = gift_for_holder(e2e_chain)
    friend = e2e_chain.address(FRIEND)
    holder = open_browser(HOLDER)
    page = connect(holder, f"/certificates/{cert_id}")
    expect(page.get_by_test_id("cert-balance")).to_have_text("30.00 tUSD")
    holder.screenshot("certificate")
    form = page.get_by_test_id("regift-part-form")
    form.get_by_test_id("regift-amount").fill("10")
    form.get_by_test_id("regift-part-to").fill(friend)
    form.get_by_test_id("regift-part-submit").click()
    confirm(form)
    expect(page.get_by_test_id("cert-balance")).to_have_text("20.00 tUSD")

    splits = events(e2e_chain, holder.wallet.sent, "Split")
    assert len(splits) == 1 and splits[0]["fromId"] == cert_id and splits[0]["to"] == friend
    part = e2e_chain.sdk.certificate(splits[0]["newId"])
    assert part.owner == friend and part.balance == Money(Decimal("10"), "tUSD")
    assert part.merchant == e2e_chain.merchant_id("Corner Coffee")
    rest = e2e_chain.sdk.certificate(cert_id)
    assert rest.owner == holder.wallet.account and rest.balance == Money(Decimal("20"), "tUSD")

    # The friend sees the new certificate in their list.
    page.goto(f"{holder.site.url}/holder/{friend}")
    card = page.locator(f'[data-testid="cert-card"][data-cert-id="{part.id}"]')
    reload_until(page, card)
    expect(card.get_by_test_id("cert-balance")).to_have_text("10.00 tUSD")
    holder.screenshot("holder-certificates")


def test_payment_request_qr_leads_the_holder_to_a_filled_in_pay_page(open_browser,
                                                                     e2e_chain: Chain):
    usable = gift_for_holder(e2e_chain, "30")
    too_small = gift_for_holder(e2e_chain, "2")
    elsewhere = gift_for_holder(e2e_chain, "30", merchant="Page Turner Books")
    order_ref = secrets.randbelow(10**9) + 1
    merchant = open_browser(COFFEE)
    desk = sign_in_merchant(merchant, "Corner Coffee")
    desk.get_by_test_id("request-amount").fill("4.50")
    desk.get_by_test_id("request-currency").select_option("tUSD")
    desk.get_by_test_id("request-ref").fill(str(order_ref))
    link = desk.get_by_test_id("request-link")
    expect(link).to_contain_text(f"amount=4.50&ref={order_ref}")
    qr = desk.get_by_test_id("request-qr")
    expect(qr.locator("svg")).to_be_visible()
    url = link.inner_text()
    assert qr.get_attribute("data-qr-text") == url
    coffee = e2e_chain.merchant_id("Corner Coffee")
    assert url.startswith(f"{merchant.site.url}/pay?merchant={coffee}&currency=tUSD")

    holder = open_browser(HOLDER)  # what the phone opens after scanning
    page = connect(holder, url[len(holder.site.url):])
    expect(page.get_by_test_id("request-summary")).to_contain_text("4.50 tUSD")
    choices = page.get_by_test_id("pay-choice")
    reload_until(page, choices)  # the list comes from the indexer
    hrefs = [choices.nth(i).get_attribute("href") for i in range(choices.count())]
    assert any(f"/pay/{ref(usable)}?" in h for h in hrefs)
    assert not any(f"/pay/{ref(too_small)}?" in h or f"/pay/{ref(elsewhere)}?" in h
                   for h in hrefs)
    page.locator(f'[data-testid="pay-choice"][href^="/pay/{ref(usable)}?"]').click()
    expect(page.get_by_test_id("pay-amount")).to_have_value("4.50")
    expect(page.get_by_test_id("pay-ref")).to_have_value(str(order_ref))
    page.get_by_test_id("pay-sign").click()
    authorization = page.get_by_test_id("pay-authorization")
    expect(authorization).to_have_value(re.compile(f"^gc2:.*:{order_ref}:"))


def test_holder_signs_payment_and_merchant_redeems(open_browser, e2e_chain: Chain):
    cert_id = gift_for_holder(e2e_chain)
    order_ref = secrets.randbelow(10**9) + 1
    holder = open_browser(HOLDER)
    page = connect(holder, f"/pay/{cert_id}")
    expect(page.get_by_test_id("pay-balance")).to_have_text("30.00 tUSD")
    page.get_by_test_id("pay-amount").fill("4.50")
    page.get_by_test_id("pay-ref").fill(str(order_ref))
    page.get_by_test_id("pay-sign").click()
    expect(page.get_by_test_id("pay-result")).to_be_visible()
    expect(page.get_by_test_id("pay-qr").locator("svg, canvas, img").first).to_be_visible()
    authorization = page.get_by_test_id("pay-authorization").input_value()
    assert authorization.startswith("gc2:") and f":{order_ref}:" in authorization
    holder.screenshot("pay")
    assert holder.wallet.sent == []  # the holder pays no gas
    assert [r.outcome for r in holder.wallet.asked("eth_signTypedData_v4")] == ["ok"]

    merchant = open_browser(COFFEE)
    desk = sign_in_merchant(merchant, "Corner Coffee")
    form = desk.get_by_test_id("redeem-form")
    form.get_by_test_id("redeem-authorization").fill(authorization)
    expect(desk.get_by_test_id("redeem-amount")).to_have_text("4.50 tUSD")
    expect(desk.get_by_test_id("redeem-details")).to_contain_text("signed by its holder")
    merchant.screenshot("merchant-redeem")
    form.get_by_test_id("redeem-submit").click()
    with desk.expect_navigation():  # the desk reloads once the receipt is in
        confirm(form)

    cert = e2e_chain.sdk.certificate(cert_id)
    assert cert.balance == Money(Decimal("25.50"), "tUSD")
    redeemed = events(e2e_chain, merchant.wallet.sent, "Redeemed")
    assert [(r["id"], r["orderRef"], r["amount"]) for r in redeemed] == [
        (cert_id, order_ref, 4_500_000)]
    assert cert.nonce == 1  # the authorisation is used up
    row = desk.get_by_test_id("recent-redemptions").locator("tr", has_text=str(order_ref))
    reload_until(desk, row)
    expect(row).to_contain_text("4.50 tUSD")
    merchant.screenshot("merchant-desk")
    # The same authorisation pasted again: the desk says, in words, that it is spent.
    desk.get_by_test_id("redeem-authorization").fill(authorization)
    expect(desk.get_by_test_id("redeem-details")).to_contain_text(
        "Cannot be taken: this authorisation was already used or replaced")


def test_merchant_settles_a_batch(open_browser, e2e_chain: Chain):
    """Every valid line is paid in one transaction; a line whose certificate the holder has
    since passed on (its nonce moved) is refused, and the desk says which and why."""
    holder = e2e_chain.client(HOLDER)
    certs = [gift_for_holder(e2e_chain, "20"), gift_for_holder(e2e_chain, "15"),
             gift_for_holder(e2e_chain, "5")]
    refs = [secrets.randbelow(10**9) + 1 for _ in certs]
    amounts = ["3.25", "1.75", "1"]
    signed = [holder.sign_redemption(c, a, r)
              for c, a, r in zip(certs, amounts, refs, strict=True)]
    holder.transfer(certs[2], e2e_chain.address(FRIEND))  # replaces line 3's authorisation
    lines = "\n".join(json.dumps(s.to_json()) for s in signed)

    merchant = open_browser(COFFEE)
    desk = sign_in_merchant(merchant, "Corner Coffee")
    form = desk.get_by_test_id("settle-form")
    form.get_by_test_id("settle-authorizations").fill(lines)
    form.get_by_test_id("settle-submit").click()
    note = form.get_by_test_id("tx-note")
    expect(note).to_contain_text("2 of 3 will be paid")
    expect(note.get_by_test_id("refused-item")).to_have_text(re.compile(
        rf"^line 3 \(gift {ref(certs[2])}\): this authorisation was already used or replaced"))
    with desk.expect_navigation():
        confirm(form)
    expect(desk.get_by_test_id("merchant-name")).to_have_text("Corner Coffee")
    result = desk.get_by_test_id("settle-result")
    expect(result.get_by_test_id("settle-summary")).to_have_text(
        "Last batch: 2 paid, 1 refused:")
    expect(result.get_by_test_id("refused-item")).to_contain_text(
        f"line 3 (gift {ref(certs[2])}): this authorisation was already used")
    merchant.screenshot("merchant-settle-refused")

    assert len(merchant.wallet.sent) == 1  # one transaction for the batch
    redeemed = events(e2e_chain, merchant.wallet.sent, "Redeemed")
    assert sorted((r["id"], r["orderRef"]) for r in redeemed) == sorted(
        zip(certs[:2], refs[:2], strict=True))
    refused = events(e2e_chain, merchant.wallet.sent, "RedemptionRefused")
    assert [(r["index"], r["certificate"]) for r in refused] == [(2, certs[2])]
    assert e2e_chain.sdk.certificate(certs[0]).balance == Money(Decimal("16.75"), "tUSD")
    assert e2e_chain.sdk.certificate(certs[1]).balance == Money(Decimal("13.25"), "tUSD")
    assert e2e_chain.sdk.certificate(certs[2]).balance == Money(Decimal("5"), "tUSD")
    row = desk.get_by_test_id("recent-redemptions").locator("tr", has_text=str(refs[1]))
    reload_until(desk, row)
    desk.reload()  # the row may have been there without a reload: the note is said once
    expect(desk.get_by_test_id("settle-result")).to_be_hidden()


def test_merchant_desk_shows_amounts_to_withdraw_as_on_chain(open_browser, e2e_chain: Chain):
    """The demo redeemed 12.50 tUSD at Page Turner Books: the desk says "12.50 tUSD" and
    "0 ETH", formatted like every other amount on the site."""
    merchant = open_browser(BOOKS)
    desk = sign_in_merchant(merchant, "Page Turner Books")
    owed = desk.get_by_test_id("owed")
    books = e2e_chain.merchant_id("Page Turner Books")
    for currency in ("tUSD", "ETH"):
        expect(owed).to_contain_text(money_text(e2e_chain.sdk.merchant_owed(books, currency)))


def test_expired_certificate_is_shown_expired_and_cannot_be_paid_with(open_browser,
                                                                      e2e_chain: Chain):
    """The demo's expired certificate (the chain's clock is past its expiry): the site must
    judge expiry by the chain's time, as the contract does, not by the server's clock."""
    cert_id = int(e2e_chain.demo["expiredRefundable"])
    assert e2e_chain.sdk.certificate(cert_id).status(e2e_chain.sdk.now()) == "expired"
    holder = open_browser(HOLDER)
    page = connect(holder, f"/certificates/{cert_id}")
    expect(page.get_by_test_id("cert-status")).to_have_text(re.compile(r"^Expired on \d"))
    expect(page.get_by_test_id("cert-pay")).to_have_count(0)


def test_merchant_desk_refuses_an_account_that_is_no_merchant(open_browser, e2e_chain: Chain):
    visitor = open_browser(HOLDER)
    page = visitor.goto("/merchant/login")
    visitor.wallet.reject_next(page)
    page.get_by_test_id("siwe-button").click()  # connects first: the user refuses
    expect(page.get_by_test_id("form-error")).to_contain_text("declined")
    page.get_by_test_id("siwe-button").click()
    expect(page.get_by_test_id("not-merchant")).to_have_attribute("data-address",
                                                                   visitor.wallet.account)
    me = visitor.context.request.get(f"{visitor.site.url}/api/v1/siwe/me")  # signed in, still
    assert me.status == 200 and me.json()["merchants"] == []
    assert e2e_chain.sdk.merchants() and all(
        m.account != visitor.wallet.account for m in e2e_chain.sdk.merchants())


def test_buyer_refunds_an_expired_certificate(open_browser, e2e_chain: Chain):
    giver_sdk = e2e_chain.client(GIVER)
    expiry = giver_sdk.now() + giver_sdk.min_validity() + 120
    cert = giver_sdk.issue(e2e_chain.address(HOLDER), "5", e2e_chain.merchant_id("Corner Coffee"),
                           "tUSD", expiry=expiry)
    e2e_chain.warp(3 * 3600)  # past this certificate's expiry; others keep a day's margin
    giver = open_browser(GIVER)
    page = connect(giver, f"/certificates/{cert.id}")
    form = page.get_by_test_id("refund-form")
    expect(page.get_by_test_id("cert-status")).to_contain_text("Expired on")
    form.get_by_test_id("refund-submit").click()
    confirm(form)
    page.wait_for_url(re.compile(r"/holder/"))

    refunds = events(e2e_chain, giver.wallet.sent, "Refunded")
    assert len(refunds) == 1 and refunds[0]["id"] == cert.id
    assert refunds[0]["buyer"] == giver.wallet.account and refunds[0]["amount"] == 5 * 10**6
    with pytest.raises(revert_class("UnknownCertificate")):  # burned: the slot is cleared
        e2e_chain.sdk.certificate(cert.id)


def test_merchant_sets_a_cash_out_limit_on_the_desk(open_browser, e2e_chain: Chain):
    coffee = e2e_chain.merchant_id("Corner Coffee")
    merchant = open_browser(COFFEE)
    desk = sign_in_merchant(merchant, "Corner Coffee")
    form = desk.get_by_test_id("cash-out-limit-form")
    form.get_by_test_id("cash-out-currency").select_option("tUSD")
    form.get_by_test_id("cash-out-limit").fill("1.25")
    form.get_by_test_id("cash-out-limit-submit").click()
    try:
        with desk.expect_navigation():
            confirm(form)
        expect(desk.get_by_test_id("cash-out-limits")).to_contain_text("1.25 tUSD")
        assert e2e_chain.sdk.cash_out_limit(coffee, "tUSD") == Money(Decimal("1.25"), "tUSD")
    finally:
        e2e_chain.client(COFFEE).set_cash_out_limit(coffee, "tUSD", "0")
