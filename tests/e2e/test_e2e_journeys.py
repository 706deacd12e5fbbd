"""The four journeys of issue 15, each at phone and desktop sizes: the giver (defaults, a claim
link with no address box, the fee warning, the share step that keeps the link until it is
saved), the recipient (who it is from, the message, "It's yours"), the holder at the till
(totals, Pay first, a full-width code with a countdown that turns "Paid" by itself) and the
merchant at the desk (Redeem on top, codes flagged as soon as they are pasted, the failing line
of a batch named, Withdraw disabled at zero)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from e2e_stack import (
    COFFEE,
    FRIEND,
    GIFT_URL,
    GIVER,
    HOLDER,
    STRANGER,
    TEA,
    Chain,
    confirm,
    connect,
    fill_give,
    gift_for_holder,
    issued_id,
    ref,
    reload_until,
    sign_in_merchant,
)
from playwright.sync_api import expect

from giftcert.money import Money

SIZES = ["desktop", "phone"]


@pytest.mark.parametrize("size", SIZES)
def test_giver_defaults_fee_warning_and_the_claim_link_share_step(open_browser,
                                                                  e2e_chain: Chain, size: str):
    giver = open_browser(GIVER, size=size)
    giver.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                    origin=giver.site.url)
    page = connect(giver, "/give")
    form = page.get_by_test_id("give-form")
    # Sensible defaults: a year (the dev chain's policy asks for an hour), said in words.
    page.locator("details.more summary").click()
    expect(page.get_by_test_id("give-expiry-days")).to_have_value("365")
    expect(form.locator('label[for="give-expiry-days"]')).to_contain_text("at least 1 hour")
    expect(page.get_by_test_id("give-expiry-text")).to_contain_text(
        re.compile(r"until about \d{1,2} \w{3} \d{4}"))
    # A claim link needs no address: the box goes away.
    expect(page.get_by_test_id("give-to")).to_be_visible()
    page.get_by_test_id("deliver-link").check()
    expect(page.get_by_test_id("give-to")).to_be_hidden()
    # A gift smaller than its network fee is warned about in the review.
    fill_give(page, "Corner Coffee", "ETH", "0.0000001")
    page.get_by_test_id("give-name").fill("Sam")
    page.get_by_test_id("give-message").fill("Coffee's on me this week")
    page.get_by_test_id("give-review").click()
    expect(form.get_by_test_id("tx-warn")).to_contain_text("larger than the gift itself")
    page.get_by_test_id("give-amount").fill("0.02")
    expect(form.get_by_test_id("tx-review")).to_be_hidden()
    page.get_by_test_id("give-review").click()
    expect(form.get_by_test_id("tx-total")).to_have_text("0.02 ETH")
    expect(form.get_by_test_id("tx-warn")).to_be_hidden()
    expect(form.get_by_test_id("tx-summary")).to_contain_text("Coffee's on me this week\n— Sam")
    confirm(form)
    page.wait_for_url(GIFT_URL)
    cert_id = issued_id(e2e_chain, giver.wallet.sent)

    # The share step: the link, copied with feedback, kept until the giver says it is saved.
    share = page.get_by_test_id("claim-share")
    expect(share).to_be_visible()
    link = page.get_by_test_id("claim-link").input_value()
    assert re.fullmatch(rf"{re.escape(giver.site.url)}/claim/{ref(cert_id)}#0x[0-9a-f]{{64}}",
                        link)
    page.get_by_test_id("claim-link-copy").click()
    expect(share.get_by_test_id("copied")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == link
    done = page.get_by_test_id("claim-done")
    expect(done).to_have_attribute("aria-disabled", "true")
    giver.screenshot(f"journey-share-{size}")
    giver.screenshot(f"journey-share-top-{size}", full_page=False)
    done.dispatch_event("click")  # not yet: the page keeps the link
    page.wait_for_timeout(300)
    assert "/gift/" in page.url
    page.get_by_test_id("claim-saved").check()
    expect(done).to_have_attribute("aria-disabled", "false")
    done.click()
    page.wait_for_url(re.compile(r"/give$"))

    # The recipient opens the link: a page written for them, with the giver's words.
    friend = open_browser(FRIEND, size=size)
    friend.page.goto(link)
    expect(friend.page.get_by_test_id("gift-from")).to_have_text(
        "A gift from Sam at Corner Coffee")
    expect(friend.page.get_by_test_id("gift-message")).to_have_text("Coffee's on me this week")
    expect(friend.page.get_by_test_id("cert-balance")).to_have_text("0.02 ETH")
    friend.screenshot(f"journey-recipient-claim-{size}")
    friend.page.get_by_test_id("connect-button").click()
    expect(friend.page.get_by_test_id("claim-recipient")).to_have_attribute(
        "data-address", friend.wallet.account.lower())
    friend.page.get_by_test_id("claim-button").click()
    friend.page.wait_for_url(re.compile(rf"/certificates/{ref(cert_id)}\?claimed=1$"))
    expect(friend.page.get_by_test_id("its-yours")).to_contain_text(
        "It's yours! 0.02 ETH to spend at Corner Coffee")
    friend.screenshot(f"journey-its-yours-{size}")
    assert e2e_chain.sdk.certificate(cert_id).owner == friend.wallet.account


@pytest.mark.parametrize("size", SIZES)
def test_recipient_page_of_an_address_gift_shows_the_message_and_actions_to_the_holder_only(
        open_browser, e2e_chain: Chain, size: str):
    friend_address = e2e_chain.address(FRIEND)
    cert_id = e2e_chain.client(GIVER).issue(
        friend_address, "15", e2e_chain.merchant_id("Green Leaf Tea"), "tUSD", occasion=2,
        message="Thank you for the plants\n— Alex").id
    visitor = open_browser(STRANGER, size=size)
    page = connect(visitor, f"/gift/{ref(cert_id)}")
    expect(page.get_by_test_id("gift-from")).to_have_text("A gift from Alex at Green Leaf Tea")
    expect(page.get_by_test_id("gift-message")).to_have_text("Thank you for the plants")
    expect(page.locator(".occasion")).to_have_text("Thank You")
    expect(page.get_by_test_id("holder-actions")).to_be_hidden()  # not the stranger's
    friend = open_browser(FRIEND, size=size)
    page = connect(friend, f"/gift/{ref(cert_id)}")
    actions = page.get_by_test_id("holder-actions")
    expect(actions).to_be_visible()
    expect(actions).to_contain_text("It's yours: 15.00 tUSD to spend at Green Leaf Tea")
    friend.screenshot(f"journey-recipient-{size}")
    friend.screenshot(f"journey-recipient-top-{size}", full_page=False)


@pytest.mark.parametrize("size", SIZES)
def test_holder_at_the_till_pays_and_the_page_turns_paid_by_itself(open_browser,
                                                                  e2e_chain: Chain, size: str):
    cert_id = gift_for_holder(e2e_chain, "27.50")
    holder = open_browser(HOLDER, size=size)
    page = connect(holder, f"/holder/{e2e_chain.address(HOLDER)}")
    card = page.locator(f'[data-testid="cert-card"][data-cert-id="{cert_id}"]')
    reload_until(page, card)
    totals = page.get_by_test_id("holder-total")
    expect(totals.filter(has_text="tUSD").first).to_contain_text(re.compile(r"[\d,]+\.\d{2} tUSD"))
    expect(card.get_by_test_id("cert-balance")).to_have_text("27.50 tUSD")
    pay = card.get_by_test_id("cert-pay")
    expect(pay).to_be_visible()
    assert "secondary" not in (pay.get_attribute("class") or "")  # Pay is the primary action
    holder.screenshot(f"journey-holder-{size}")
    holder.screenshot(f"journey-holder-top-{size}", full_page=False)
    pay.click()
    page.wait_for_url(re.compile(rf"/pay/{ref(cert_id)}$"))
    amount = page.get_by_test_id("pay-amount")
    amount.fill("30")  # more than the gift holds: Pay is disabled, and why is said
    expect(page.get_by_test_id("pay-sign")).to_be_disabled()
    expect(page.get_by_test_id("pay-amount-error")).to_contain_text("27.50 tUSD")
    amount.fill("4.50")
    page.get_by_test_id("pay-ref").fill("4242")
    expect(page.get_by_test_id("pay-sign")).to_be_enabled()
    page.get_by_test_id("pay-sign").click()
    result = page.get_by_test_id("pay-result")
    expect(result).to_be_visible()
    expect(page.get_by_test_id("pay-shown-amount")).to_have_text("4.50 tUSD")
    expect(page.get_by_test_id("pay-shown-ref")).to_have_text("Order 4242")
    expect(page.get_by_test_id("pay-countdown")).to_have_text(
        re.compile(r"^Valid for (59|60):\d\d$"))
    qr = page.get_by_test_id("pay-qr").locator("svg").bounding_box()
    width = page.viewport_size["width"]
    assert qr and (qr["width"] >= 0.8 * (width - 60) if size == "phone" else qr["width"] >= 400)
    holder.screenshot(f"journey-pay-{size}")
    holder.screenshot(f"journey-pay-top-{size}", full_page=False)
    authorization = page.get_by_test_id("pay-authorization").input_value()
    assert holder.wallet.sent == []

    # The merchant takes it (from its own till); the holder's page turns by itself.
    from giftcert.authorization import decode_authorization

    signed = decode_authorization(authorization, chain_id=31337,
                                  contract=e2e_chain.sdk.address)
    e2e_chain.client(COFFEE).redeem_with_authorization(signed)
    state = page.get_by_test_id("pay-state")
    expect(state).to_have_text("Paid ✓ 4.50 tUSD at Corner Coffee", timeout=15_000)
    expect(result).to_have_class(re.compile(r"\bpaid\b"))
    holder.screenshot(f"journey-paid-{size}")
    holder.screenshot(f"journey-paid-top-{size}", full_page=False)
    assert e2e_chain.sdk.certificate(cert_id).balance == Money(Decimal("23"), "tUSD")


@pytest.mark.parametrize("size", SIZES)
def test_merchant_desk_flags_codes_as_they_are_pasted(open_browser, e2e_chain: Chain,
                                                      size: str):
    holder_sdk = e2e_chain.client(HOLDER)
    good_cert, used_cert = gift_for_holder(e2e_chain, "10"), gift_for_holder(e2e_chain, "10")
    books_cert = gift_for_holder(e2e_chain, "10", merchant="Page Turner Books")
    good = holder_sdk.sign_redemption(good_cert, "2.50", 501).to_text()
    used = holder_sdk.sign_redemption(used_cert, "1", 502)
    e2e_chain.client(COFFEE).redeem_with_authorization(used)  # already taken
    expired = holder_sdk.sign_redemption(good_cert, "1", 503,
                                         deadline=holder_sdk.now() - 5).to_text()
    elsewhere = holder_sdk.sign_redemption(books_cert, "1", 504).to_text()
    forged = e2e_chain.client(STRANGER).sign_redemption(good_cert, "1", 505).to_text()

    merchant = open_browser(COFFEE, size=size)
    desk = sign_in_merchant(merchant, "Corner Coffee")
    # Redeem is the first thing on the desk.
    first_form = desk.locator("main form").first
    expect(first_form).to_have_attribute("data-testid", "redeem-form")
    field, details = desk.get_by_test_id("redeem-authorization"), desk.get_by_test_id(
        "redeem-details")
    for code, words in [(used.to_text(), "already used or replaced"),
                        (expired, "expired"),
                        (elsewhere, "for Page Turner Books, not this shop"),
                        (forged, "not signed by the certificate's holder")]:
        field.fill(code)
        expect(details).to_have_attribute("data-state", "bad")
        expect(details).to_contain_text(words)
    field.fill(good)
    expect(details).to_have_attribute("data-state", "good")
    expect(desk.get_by_test_id("redeem-amount")).to_have_text("2.50 tUSD")
    merchant.screenshot(f"journey-desk-{size}")
    merchant.screenshot(f"journey-desk-top-{size}", full_page=False)

    # A batch: the failing line is named as soon as it is pasted.
    batch = desk.get_by_test_id("settle-authorizations")
    batch.fill(f"{good}\n{used.to_text()}")
    lines = desk.get_by_test_id("settle-line")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_have_class("good")
    expect(lines.nth(1)).to_have_class("bad")
    expect(lines.nth(1)).to_contain_text("line 2: Cannot be taken: this authorisation was "
                                         "already used")
    merchant.screenshot(f"journey-desk-batch-{size}")


def test_a_merchant_with_nothing_to_withdraw_cannot_press_withdraw(open_browser,
                                                                   e2e_chain: Chain):
    merchant = open_browser(TEA)  # Green Leaf Tea has taken no payment
    desk = sign_in_merchant(merchant, "Green Leaf Tea")
    for currency in ("ETH", "tUSD"):
        expect(desk.get_by_test_id(f"withdraw-{currency}")).to_be_disabled()
    expect(desk.get_by_test_id("owed")).to_contain_text("0.00 tUSD")
