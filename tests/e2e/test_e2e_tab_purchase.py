"""Buying a certificate for yourself with a payment tab already open, from the Give page, in a
real Chromium at phone (390 px) and desktop size: the third delivery choice hides the recipient
and the claim-link parts, the Review says everything in words with units (and any edit cancels
it), one purchase (issueWithTab) lands on the new certificate's page with the tab open, and one
purchase at the till is signed and kept by the desk. On chain the wallet holds it and the tab
is open at epoch 1. The Give page with the choice made has no axe-core violation and no
sideways scroll."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from e2e_stack import (
    COFFEE,
    HOLDER,
    REF,
    Chain,
    confirm,
    confirm_purchase,
    connect,
    events,
    fill_give,
    issued_id,
    ref,
    sign_in_merchant,
)
from playwright.sync_api import expect
from test_e2e_quality import SIZES, check

from giftcert.money import Money

CHANGED = "You changed the form, so the review was cancelled"


def pay_once_at_the_till(page, desk, amount: str, total: str) -> str:
    """One purchase on the tab, as tests/e2e/test_e2e_tabs.py makes them: the holder signs the
    new running total at the till, the merchant's desk keeps the code, the till says "Kept"."""
    page.get_by_test_id("till-amount").fill(amount)
    expect(page.get_by_test_id("till-line")).to_have_text(
        f"This purchase {Decimal(amount):.2f} tUSD · tab total {total} tUSD")
    page.get_by_test_id("till-sign").click()
    expect(page.get_by_test_id("till-shown-total")).to_have_text(f"{total} tUSD")
    voucher = page.get_by_test_id("till-voucher").input_value()
    assert voucher.startswith("gt1:")
    desk.get_by_test_id("tab-voucher").fill(voucher)
    expect(desk.get_by_test_id("tab-kept-total")).to_have_text(f"Kept: tab total {total} tUSD")
    expect(page.get_by_test_id("till-state")).to_have_text(
        f"Kept ✓ tab total {total} tUSD at Corner Coffee", timeout=15_000)
    return voucher


@pytest.mark.parametrize("size", SIZES)
def test_a_holder_buys_for_itself_with_a_tab_and_pays_once_at_the_till(open_browser,
                                                                        e2e_chain: Chain,
                                                                        size: str):
    problems: list[str] = []
    holder = open_browser(HOLDER, size=size)
    me = holder.wallet.account
    page = connect(holder, "/give")
    fill_give(page, "Corner Coffee", "tUSD", "20")
    page.get_by_test_id("give-message").fill("My coffee card")

    # The third choice: no recipient box, no name to sign with, no later opening date.
    page.get_by_test_id("deliver-tab").check()
    expect(page.get_by_test_id("give-to")).to_be_hidden()
    expect(page.get_by_test_id("give-name")).to_be_hidden()
    expect(page.get_by_test_id("give-opens")).to_be_hidden()
    expect(page.get_by_test_id("give-opens-tab")).to_contain_text("Opens at once")
    note = page.get_by_test_id("give-tab-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("with a tab at Corner Coffee open at once")
    expect(page.locator("label", has=page.get_by_test_id("deliver-tab"))).to_contain_text(
        "for me, with a payment tab at Corner Coffee: pay at the till without a network fee "
        "per purchase")
    check(page, f"/give (tab chosen, {size})", problems)

    form = page.get_by_test_id("give-form")
    review, summary = form.get_by_test_id("tx-review"), form.get_by_test_id("tx-summary")
    page.get_by_test_id("give-review").click()
    expect(review).to_be_visible()
    shown = form.get_by_test_id("tx-total")
    expect(shown).to_contain_text("20.00 tUSD")
    expect(form.locator(".tx-total-label")).to_have_text("You pay")
    for words in ("The certificate20.00 tUSD at Corner Coffee, yours: it stays in this wallet",
                  f"Held by{me[:6]}", "A tab opensat Corner Coffee, at once",
                  "at each purchase you sign the new tab total, with no network fee each time",
                  "only Corner Coffee can collect what you sign",
                  "Closing the tabtakes 2 days", "MessageMy coffee card",
                  "Expires on"):
        expect(summary).to_contain_text(words)
    expect(summary).not_to_contain_text("They receive")
    expect(summary).not_to_contain_text("claim link")
    expect(form.get_by_test_id("tx-fee")).to_have_text(re.compile(r"^\d+\.\d{6}$"))
    check(page, f"/give (tab review, {size})", problems)
    if size == "phone":
        holder.screenshot("give-tab-review-phone")

    # Review, then edit: the review goes, as for the other choices (the amount, the choice).
    page.get_by_test_id("give-amount").fill("21")
    expect(review).to_be_hidden()
    expect(form.get_by_test_id("tx-status")).to_contain_text(CHANGED)
    page.get_by_test_id("give-amount").fill("20")
    page.get_by_test_id("give-review").click()
    expect(review).to_be_visible()
    page.get_by_test_id("deliver-address").check()
    expect(review).to_be_hidden()
    expect(page.get_by_test_id("give-to")).to_be_visible()
    page.get_by_test_id("deliver-tab").check()
    expect(page.get_by_test_id("give-to")).to_be_hidden()
    assert holder.wallet.sent == []
    page.get_by_test_id("give-review").click()
    expect(summary).to_contain_text("A tab opens")

    confirm_purchase(form, "20.00 tUSD")
    page.wait_for_url(re.compile(rf"/certificates/({REF})$"))
    cert_id = issued_id(e2e_chain, holder.wallet.sent)
    assert page.url.endswith(f"/certificates/{ref(cert_id)}")
    expect(page.get_by_test_id("tab-card")).to_be_visible()
    expect(page.get_by_test_id("tab-state")).to_have_text("Open")
    expect(page.get_by_test_id("tab-left")).to_have_text("20.00 tUSD")
    expect(page.get_by_test_id("open-tab-form")).to_have_count(0)
    check(page, f"/certificates (bought with a tab, {size})", problems)
    # One purchase transaction (issueWithTab: the Issued and TabOpened events), after an
    # approval if the token asked for one.
    issued = events(e2e_chain, holder.wallet.sent[-1:], "Issued")
    assert [e["id"] for e in issued] == [cert_id]
    assert len(events(e2e_chain, holder.wallet.sent[-1:], "TabOpened")) == 1
    purchases = len(holder.wallet.sent)

    # At the till: one purchase signed, kept by the desk; no transaction.
    merchant = open_browser(COFFEE, size=size)
    desk = sign_in_merchant(merchant, "Corner Coffee")
    page.get_by_test_id("cert-tab-pay").click()
    page.wait_for_url(re.compile(rf"/tab/{ref(cert_id)}$"))
    expect(page.get_by_test_id("till-total")).to_have_text("0.00 tUSD")
    pay_once_at_the_till(page, desk, "3.50", "3.50")
    assert len(holder.wallet.sent) == purchases

    # On chain: the wallet holds it, the tab is open at its first epoch, nothing collected yet.
    cert = e2e_chain.sdk.certificate(cert_id)
    assert cert.owner == me and cert.is_buyer(me)
    assert cert.balance == Money(Decimal("20"), "tUSD")
    assert cert.merchant == e2e_chain.merchant_id("Corner Coffee")
    tab = e2e_chain.sdk.tab(cert_id)
    assert tab.open and tab.epoch == 1 and tab.signer == me and not tab.close_requested

    # The desk collects it in one settle (which also leaves the desk with nothing unsettled,
    # as the other tab tests on this chain expect to find it): on chain to the unit.
    coffee = e2e_chain.merchant_id("Corner Coffee")
    owed_before = e2e_chain.sdk.merchant_owed(coffee, "tUSD")
    desk.reload()
    desk.get_by_test_id("settle-tabs-submit").click()
    confirm(desk.get_by_test_id("settle-tabs-form"))
    expect(desk.get_by_test_id("tabs-settled-summary")).to_have_text(
        "Settled ✓ 1 tab: 3.50 tUSD collected, now owed to you (withdraw below).")
    assert e2e_chain.sdk.certificate(cert_id).balance == Money(Decimal("16.50"), "tUSD")
    owed = e2e_chain.sdk.merchant_owed(coffee, "tUSD")
    assert owed.amount - owed_before.amount == Decimal("3.50")
    assert e2e_chain.sdk.tab(cert_id).epoch == 2
    assert holder.errors == [] and merchant.errors == []
    assert not problems, "\n".join(problems)
