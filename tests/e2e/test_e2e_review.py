"""What is sent is what was reviewed (issue 15's severe defect): every form with a Review step
cancels the review on any edit, Confirm sends only the reviewed transaction, and the review
says everything that will happen, in words and with units. At phone and desktop sizes."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from e2e_stack import (
    BOOKS,
    COFFEE,
    COLLEAGUE,
    FRIEND,
    GIFT_URL,
    HOLDER,
    NEW_GIVER,
    STRANGER,
    Chain,
    confirm,
    connect,
    events,
    fill_give,
    gift_for_holder,
    issued_id,
    ref,
    sign_in_merchant,
)
from playwright.sync_api import expect

from giftcert.money import Money

SIZES = ["desktop", "phone"]


def summary(form) -> dict[str, str]:
    """The review's lines, label -> what it says."""
    rows = form.get_by_test_id("tx-summary").locator("div")
    return {rows.nth(i).locator("dt").inner_text(): rows.nth(i).locator("dd").inner_text()
            for i in range(rows.count())}


def press_hidden_confirm(form) -> None:
    """A click that reaches Confirm even though the review is hidden (a stale tab, a
    double-click, a script): it must send nothing."""
    form.get_by_test_id("tx-confirm").dispatch_event("click")


@pytest.mark.parametrize("size", SIZES)
def test_give_address_changed_after_review_sends_nothing_for_the_old_one(
        open_browser, e2e_chain: Chain, size: str):
    giver = open_browser(COLLEAGUE, size=size)  # 1000 tUSD, pays in ETH here: no approval
    a, b = e2e_chain.address(FRIEND), e2e_chain.address(STRANGER)
    page = connect(giver, "/give")
    fill_give(page, "Green Leaf Tea", "ETH", "0.01", a)
    page.get_by_test_id("give-review").click()
    form = page.get_by_test_id("give-form")
    expect(form.get_by_test_id("tx-review")).to_be_visible()
    shown = summary(form)
    assert a in shown["To"] and shown["You send"] == "0.01 ETH"
    assert shown["They receive"] == "a 0.01 ETH gift certificate at Green Leaf Tea"
    assert re.match(r"^\d{1,2} \w{3} \d{4}$", shown["Expires on"])
    assert shown["Opens on"] == "at once"
    giver.screenshot(f"review-give-{size}")
    page.get_by_test_id("tx-review").scroll_into_view_if_needed()
    giver.screenshot(f"review-give-top-{size}", full_page=False)

    page.get_by_test_id("give-to").fill(b)  # the giver corrects a typo after Review
    expect(form.get_by_test_id("tx-review")).to_be_hidden()
    expect(form.get_by_test_id("tx-status")).to_contain_text("review was cancelled")
    press_hidden_confirm(form)
    page.wait_for_timeout(300)
    assert giver.wallet.sent == [] and giver.wallet.asked("eth_sendTransaction") == []

    page.get_by_test_id("give-review").click()
    expect(form.get_by_test_id("tx-review")).to_be_visible()
    assert b in summary(form)["To"] and a not in summary(form)["To"]
    confirm(form)
    page.wait_for_url(GIFT_URL)
    cert = e2e_chain.sdk.certificate(issued_id(e2e_chain, giver.wallet.sent))
    assert cert.owner == b and cert.balance == Money(Decimal("0.01"), "ETH")
    assert len(giver.wallet.sent) == 1


@pytest.mark.parametrize("size", SIZES)
def test_give_amount_changed_after_review_sends_the_new_amount_only_after_a_new_review(
        open_browser, e2e_chain: Chain, size: str):
    giver = open_browser(COLLEAGUE, size=size)
    page = connect(giver, "/give")
    fill_give(page, "Green Leaf Tea", "ETH", "0.01", e2e_chain.address(FRIEND))
    page.get_by_test_id("give-review").click()
    form = page.get_by_test_id("give-form")
    expect(form.get_by_test_id("tx-total")).to_have_text("0.01 ETH")
    page.get_by_test_id("give-amount").fill("0.09")
    expect(form.get_by_test_id("tx-review")).to_be_hidden()
    press_hidden_confirm(form)
    page.wait_for_timeout(300)
    assert giver.wallet.sent == []
    page.get_by_test_id("give-review").click()
    expect(form.get_by_test_id("tx-total")).to_have_text("0.09 ETH")
    confirm(form)
    page.wait_for_url(GIFT_URL)
    cert = e2e_chain.sdk.certificate(issued_id(e2e_chain, giver.wallet.sent))
    assert cert.balance == Money(Decimal("0.09"), "ETH")


def test_an_edit_while_the_review_is_being_built_drops_that_review(open_browser,
                                                                   e2e_chain: Chain):
    """The build answer arrives after the giver changed the address: it is not shown (it was
    built for the old address), so nothing can confirm it."""
    giver = open_browser(COLLEAGUE)
    page = connect(giver, "/give")
    fill_give(page, "Green Leaf Tea", "ETH", "0.01", e2e_chain.address(FRIEND))
    held = []
    page.route("**/api/v1/tx/issue", lambda route: held.append(route))
    page.get_by_test_id("give-review").click()
    page.wait_for_function("() => document.querySelector('#give-form').dataset.building")
    while not held:
        page.wait_for_timeout(50)
    page.get_by_test_id("give-to").fill(e2e_chain.address(STRANGER))
    held[0].continue_()
    page.wait_for_function("() => !document.querySelector('#give-form').dataset.building")
    form = page.get_by_test_id("give-form")
    expect(form.get_by_test_id("tx-review")).to_be_hidden()
    press_hidden_confirm(form)
    page.wait_for_timeout(300)
    assert giver.wallet.sent == []


@pytest.mark.parametrize("size", SIZES)
def test_regift_review_says_who_gets_what_and_what_is_kept(open_browser, e2e_chain: Chain,
                                                           size: str):
    cert_id = gift_for_holder(e2e_chain, "30")
    friend = e2e_chain.address(FRIEND)
    holder = open_browser(HOLDER, size=size)
    page = connect(holder, f"/certificates/{ref(cert_id)}")
    form = page.get_by_test_id("regift-part-form")
    form.get_by_test_id("regift-amount").fill("10")
    form.get_by_test_id("regift-part-to").fill(friend)
    form.get_by_test_id("regift-part-submit").click()
    expect(form.get_by_test_id("tx-review")).to_be_visible()
    shown = summary(form)
    assert shown["They receive"] == "10.00 tUSD" and friend in shown["To"]
    assert shown["You keep"] == "20.00 tUSD" and "Corner Coffee" in shown["What"]
    assert "—" not in form.get_by_test_id("tx-review").inner_text()
    holder.screenshot(f"review-regift-{size}")
    form.get_by_test_id("regift-amount").fill("12")  # changed: the review is cancelled
    expect(form.get_by_test_id("tx-review")).to_be_hidden()
    press_hidden_confirm(form)
    page.wait_for_timeout(300)
    assert holder.wallet.sent == []

    whole = page.get_by_test_id("regift-whole-form")
    whole.get_by_test_id("regift-whole-to").fill(friend)
    whole.get_by_test_id("regift-whole-submit").click()
    expect(whole.get_by_test_id("tx-total")).to_have_text("30.00 tUSD")
    assert summary(whole)["You keep"].startswith("nothing")
    whole.get_by_test_id("tx-cancel").click()
    expect(whole.get_by_test_id("tx-review")).to_be_hidden()
    assert holder.wallet.sent == []


def test_redeem_and_withdraw_reviews_say_what_the_merchant_receives(open_browser,
                                                                    e2e_chain: Chain):
    holder_sdk = e2e_chain.client(HOLDER)
    first = gift_for_holder(e2e_chain, "20")
    second = gift_for_holder(e2e_chain, "20")
    a = holder_sdk.sign_redemption(first, "4.50", 9001).to_text()
    b = holder_sdk.sign_redemption(second, "2.25", 9002).to_text()
    merchant = open_browser(COFFEE)
    desk = sign_in_merchant(merchant, "Corner Coffee")
    form = desk.get_by_test_id("redeem-form")
    form.get_by_test_id("redeem-authorization").fill(a)
    expect(desk.get_by_test_id("redeem-amount")).to_have_text("4.50 tUSD")
    form.get_by_test_id("redeem-submit").click()
    expect(form.get_by_test_id("tx-total")).to_have_text("4.50 tUSD")
    shown = summary(form)
    assert shown["You receive"] == "4.50 tUSD" and ref(first) in shown["From"]
    assert shown["Order"] == "9001" and shown["Left on the gift after"] == "15.50 tUSD"
    # Another code pasted after the review: cancelled; the reviewed one is not sent.
    form.get_by_test_id("redeem-authorization").fill(b)
    expect(form.get_by_test_id("tx-review")).to_be_hidden()
    press_hidden_confirm(form)
    desk.wait_for_timeout(300)
    assert merchant.wallet.sent == []
    form.get_by_test_id("redeem-submit").click()
    expect(form.get_by_test_id("tx-total")).to_have_text("2.25 tUSD")
    with desk.expect_navigation():
        confirm(form)
    expect(desk.get_by_test_id("redeem-done")).to_contain_text(
        f"Paid ✓ 2.25 tUSD from gift {ref(second)}, order 9002")
    redeemed = events(e2e_chain, merchant.wallet.sent, "Redeemed")
    assert [(r["id"], r["amount"]) for r in redeemed] == [(second, 2_250_000)]
    assert e2e_chain.sdk.certificate(first).balance == Money(Decimal("20"), "tUSD")

    owed = e2e_chain.sdk.merchant_owed(e2e_chain.merchant_id("Corner Coffee"), "tUSD")
    withdraw = desk.get_by_test_id("withdraw-tUSD")
    withdraw.click()
    box = desk.locator("form[data-tx=withdraw]", has=withdraw)
    expect(box.get_by_test_id("tx-total")).to_contain_text(f"{owed.amount:,.2f} tUSD")
    assert summary(box)["You receive"].endswith("tUSD")
    box.get_by_test_id("tx-cancel").click()


def test_settle_review_totals_what_will_be_paid(open_browser, e2e_chain: Chain):
    holder_sdk = e2e_chain.client(HOLDER)
    certs = [gift_for_holder(e2e_chain, "10"), gift_for_holder(e2e_chain, "10")]
    lines = "\n".join(holder_sdk.sign_redemption(c, amount, 7000 + i).to_text()
                      for i, (c, amount) in enumerate(zip(certs, ["1.25", "2"], strict=True)))
    merchant = open_browser(COFFEE)
    desk = sign_in_merchant(merchant, "Corner Coffee")
    form = desk.get_by_test_id("settle-form")
    form.get_by_test_id("settle-authorizations").fill(lines)
    form.get_by_test_id("settle-submit").click()
    expect(form.get_by_test_id("tx-total")).to_have_text("3.25 tUSD")
    assert summary(form)["Payments"].startswith("2 of 2 will be paid")
    form.get_by_test_id("settle-authorizations").fill(lines.split("\n")[0])
    expect(form.get_by_test_id("tx-review")).to_be_hidden()
    press_hidden_confirm(form)
    desk.wait_for_timeout(300)
    assert merchant.wallet.sent == []


def test_a_token_gift_above_the_wallet_balance_is_refused_in_numbers(open_browser,
                                                                     e2e_chain: Chain):
    giver = open_browser(NEW_GIVER)  # 1000 tUSD
    page = connect(giver, "/give")
    fill_give(page, "Corner Coffee", "tUSD", "99999999", e2e_chain.address(FRIEND))
    page.get_by_test_id("give-review").click()
    form = page.get_by_test_id("give-form")
    amount = form.get_by_test_id("give-amount")
    error = form.locator('[data-error-for="amount"]')
    # Beside the amount, tied to it (read out with it, announced when it appears).
    expect(error).to_have_text(re.compile(
        r"^You have [\d,]+(\.\d+)? tUSD; this needs 99,999,999 tUSD\.$"))
    expect(error).to_have_attribute("aria-live", "polite")
    error_id = error.get_attribute("id")
    assert error_id and error_id in (amount.get_attribute("aria-describedby") or "").split()
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_test_id("form-error")).to_have_text("")
    expect(form.get_by_test_id("tx-review")).to_be_hidden()
    assert giver.wallet.sent == []


def test_books_desk_withdraw_is_disabled_at_zero(open_browser, e2e_chain: Chain):
    merchant = open_browser(BOOKS)
    desk = sign_in_merchant(merchant, "Page Turner Books")
    expect(desk.get_by_test_id("withdraw-ETH")).to_be_disabled()
    expect(desk.get_by_test_id("withdraw-tUSD")).to_be_enabled()
