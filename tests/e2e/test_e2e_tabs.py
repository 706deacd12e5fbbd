"""Payment tabs in a real Chromium at phone size (issue 17): the holder opens a tab from the
certificate page (a reviewed step in plain words), pays three times at the till (each purchase
signs the new running total, no transaction), the merchant's desk keeps each voucher as it is
pasted and settles all of them once; the balances on chain match to the unit. The new pages
have no axe-core violation and no sideways scroll at 390 px. A wallet with exactly 0 ETH does it
all too: it opens the tab and asks to close it by signature, sent by the site's relay ("No gas
needed"), and still holds 0 ETH."""

from __future__ import annotations

import re
from decimal import Decimal

from e2e_stack import (
    COFFEE,
    GIVER,
    HOLDER,
    SCREENSHOTS,
    Chain,
    confirm,
    connect,
    gift_for_holder,
    ref,
    reload_until,
    sign_in_merchant,
)
from eth_account import Account
from playwright.sync_api import expect
from test_e2e_quality import check

from giftcert.money import Money
from giftcert.tabs import sign_voucher


def test_open_a_tab_pay_three_times_and_the_merchant_settles_once(open_browser,
                                                                  e2e_chain: Chain):
    cert_id = gift_for_holder(e2e_chain, "30")
    gift = ref(cert_id)
    problems: list[str] = []
    holder = open_browser(HOLDER, size="phone")
    page = connect(holder, f"/certificates/{gift}")

    # Opening: what it means, said before anything is sent, then reviewed.
    form = page.get_by_test_id("open-tab-form")
    expect(form).to_be_visible()
    terms = page.get_by_test_id("open-tab-terms")
    expect(terms).to_contain_text("The balance stays yours (30.00 tUSD).")
    expect(terms).to_contain_text("Only Corner Coffee can collect what you sign")
    expect(terms).to_contain_text("Closing takes 2 days")
    check(page, "/certificates (no tab)", problems)
    page.get_by_test_id("open-tab-submit").click()
    summary = form.get_by_test_id("tx-summary")
    expect(summary).to_contain_text("Open a tab at Corner Coffee on gift " + gift)
    expect(summary).to_contain_text("30.00 tUSD stays yours")
    expect(summary).to_contain_text("takes 2 days, unless Corner Coffee releases it sooner")
    check(page, "/certificates (open-tab review)", problems)
    form.screenshot(path=str(SCREENSHOTS / "tab-open-review-phone.png"))
    confirm(form)
    card = page.get_by_test_id("tab-card")
    expect(card).to_be_visible()
    expect(page.get_by_test_id("tab-state")).to_have_text("Open")
    expect(page.get_by_test_id("tab-unsettled")).to_have_text("0.00 tUSD")
    expect(page.get_by_test_id("regift-part-form")).to_have_count(0)  # it pays on the tab only
    assert e2e_chain.sdk.tab(cert_id).open
    assert len(holder.wallet.sent) == 1
    check(page, "/certificates (tab open)", problems)
    card.screenshot(path=str(SCREENSHOTS / "tab-card-phone.png"))

    merchant = open_browser(COFFEE, size="phone")
    desk = sign_in_merchant(merchant, "Corner Coffee")
    expect(desk.get_by_test_id("settle-tabs-submit")).to_be_disabled()
    owed_before = e2e_chain.sdk.merchant_owed(e2e_chain.merchant_id("Corner Coffee"), "tUSD")

    # At the till: three purchases, each a new running total signed and kept.
    page.get_by_test_id("cert-tab-pay").click()
    page.wait_for_url(re.compile(rf"/tab/{gift}$"))
    expect(page.get_by_test_id("till-total")).to_have_text("0.00 tUSD")
    box, kept = desk.get_by_test_id("tab-voucher"), desk.get_by_test_id("tab-kept")
    vouchers = []
    for amount, total in (("3.50", "3.50"), ("4", "7.50"), ("3.00", "10.50")):
        page.get_by_test_id("till-amount").fill(amount)
        expect(page.get_by_test_id("till-line")).to_have_text(
            f"This purchase {Decimal(amount):.2f} tUSD · tab total {total} tUSD")
        page.get_by_test_id("till-sign").click()
        expect(page.get_by_test_id("till-result")).to_be_visible()
        expect(page.get_by_test_id("till-shown-purchase")).to_have_text(
            f"{Decimal(amount):.2f} tUSD")
        expect(page.get_by_test_id("till-shown-total")).to_have_text(f"{total} tUSD")
        qr = page.get_by_test_id("till-qr").locator("svg").bounding_box()
        assert qr and qr["width"] >= 0.8 * (page.viewport_size["width"] - 60)
        voucher = page.get_by_test_id("till-voucher").input_value()
        assert voucher.startswith("gt1:")
        vouchers.append(voucher)
        if total == "10.50":
            check(page, "/tab (code)", problems)
            holder.screenshot("tab-till-phone")
        box.fill(voucher)
        expect(kept).to_have_attribute("data-state", "good")
        expect(desk.get_by_test_id("tab-kept-total")).to_have_text(f"Kept: tab total {total} tUSD")
        expect(page.get_by_test_id("till-state")).to_have_text(
            f"Kept ✓ tab total {total} tUSD at Corner Coffee", timeout=15_000)
        expect(page.get_by_test_id("till-total")).to_have_text(f"{total} tUSD")
        page.get_by_test_id("till-again").click()
    expect(page.get_by_test_id("till-left")).to_have_text("19.50 tUSD")
    assert len(holder.wallet.sent) == 1  # no transaction at the till

    # An old voucher is flagged in words at once, and not kept.
    box.fill(vouchers[0])
    expect(kept).to_have_attribute("data-state", "bad")
    expect(kept).to_contain_text("Not kept: this is an old voucher (tab total 3.50 tUSD)")
    assert "0x" not in kept.inner_text()
    box.fill("hello")
    expect(kept).to_have_text(re.compile(r"^Not kept: this is not a tab code"))
    box.fill(e2e_chain.client(HOLDER).sign_redemption(cert_id, "1", 77).to_text())
    expect(kept).to_contain_text("this is a payment code, not a tab code")

    # The desk lists the tab; Settle all collects it in one transaction.
    row = desk.locator(f'[data-testid="open-tab"][data-cert-id="{cert_id}"]')
    expect(row.get_by_test_id("open-tab-unsettled")).to_have_text("10.50 tUSD")
    expect(desk.get_by_test_id("tabs-unsettled")).to_contain_text("10.50 tUSD")
    check(desk, "/merchant/ (tabs)", problems)
    settle = desk.get_by_test_id("settle-tabs-form")
    desk.get_by_test_id("settle-tabs-submit").click()
    expect(settle.get_by_test_id("tx-total")).to_have_text("10.50 tUSD")
    expect(settle.get_by_test_id("tx-summary")).to_contain_text("1 of 1 collected, in one "
                                                                "transaction")
    expect(settle.get_by_test_id("tx-summary")).to_contain_text(f"Gift {gift}")
    check(desk, "/merchant/ (settle review)", problems)
    confirm(settle)
    expect(desk.get_by_test_id("tabs-settled-summary")).to_have_text(
        "Settled ✓ 1 tab: 10.50 tUSD collected, now owed to you (withdraw below).")
    expect(desk.get_by_test_id("tabs-figures")).to_contain_text(  # this session's settles
        re.compile(r"collected from tabs so far: [\d,]+\.\d\d tUSD in \d+ settles?"))
    desk.get_by_test_id("tabs-desk").screenshot(path=str(SCREENSHOTS / "tab-desk-phone.png"))

    # On chain, to the unit: the gift's balance and what the merchant is owed.
    units = e2e_chain.sdk.certificate(cert_id).balance
    assert units == Money(Decimal("19.50"), "tUSD")
    owed = e2e_chain.sdk.merchant_owed(e2e_chain.merchant_id("Corner Coffee"), "tUSD")
    assert owed.amount - owed_before.amount == Decimal("10.50")
    assert len(merchant.wallet.sent) == 1
    tab = e2e_chain.sdk.tab(cert_id)
    assert tab.open and tab.balance == Money(Decimal("19.50"), "tUSD")

    # The holder's till starts the next running total from nothing; the tab page says so.
    page.reload()
    expect(page.get_by_test_id("till-total")).to_have_text("0.00 tUSD")
    expect(page.get_by_test_id("till-left")).to_have_text("19.50 tUSD")
    check(page, "/tab (after the settle)", problems)
    assert not problems, "\n".join(problems)


def test_leaving_a_tab_says_when_it_closes_and_the_merchant_releases_it(open_browser,
                                                                        e2e_chain: Chain):
    cert_id = gift_for_holder(e2e_chain, "12")
    holder_sdk = e2e_chain.client(HOLDER)
    holder_sdk.open_tab(cert_id)
    signed = sign_voucher(holder_sdk, cert_id, "2.25").to_text()  # bought before leaving
    holder = open_browser(HOLDER, size="phone")
    page = connect(holder, f"/certificates/{ref(cert_id)}")
    form = page.get_by_test_id("tab-close-request-form")
    page.get_by_test_id("tab-close-request-submit").click()
    expect(form.get_by_test_id("tx-summary")).to_contain_text(
        "Corner Coffee has 2 days to collect what you signed (0.00 tUSD so far)")
    confirm(form)
    expect(page.get_by_test_id("tab-state")).to_have_text(
        re.compile(r"^Closing on \d{1,2} \w{3} \d{4}, \d\d:\d\d UTC$"))
    expect(page.get_by_test_id("tab-closing")).to_contain_text("can collect what you signed until")
    problems: list[str] = []
    check(page, "/certificates (tab closing)", problems)
    holder.goto(f"/tab/{ref(cert_id)}")
    expect(page.get_by_test_id("till-unavailable")).to_contain_text(
        "You asked to close this tab: it takes no more purchases.")
    check(page, "/tab (closing)", problems)

    # The desk keeps what was signed before, says to serve no more, collects, then releases.
    merchant = open_browser(COFFEE, size="phone")
    desk = sign_in_merchant(merchant, "Corner Coffee")
    desk.get_by_test_id("tab-voucher").fill(signed)
    expect(desk.get_by_test_id("tab-kept-total")).to_have_text("Kept: tab total 2.25 tUSD")
    expect(desk.get_by_test_id("tab-kept-warning")).to_contain_text(
        "the customer has asked to close this tab: serve nothing more on it")
    check(desk, "/merchant/ (kept, closing)", problems)
    desk.reload()
    expect(desk.get_by_test_id("release-settle-first")).to_be_visible()
    settle = desk.get_by_test_id("settle-tabs-form")
    desk.get_by_test_id("settle-tabs-submit").click()
    confirm(settle)
    expect(desk.get_by_test_id("tabs-settled-summary")).to_contain_text(
        "Settled ✓ 1 tab: 2.25 tUSD collected")
    release = desk.get_by_test_id("release-tab-form")
    expect(desk.get_by_test_id("release-certificate")).to_have_value(str(cert_id))
    desk.get_by_test_id("release-tab-submit").click()
    expect(release.get_by_test_id("tx-summary")).to_contain_text("the tab closes at once")
    check(desk, "/merchant/ (release review)", problems)
    confirm(release)
    expect(desk.get_by_test_id("release-tab-form")).to_have_count(0)
    assert not e2e_chain.sdk.tab(cert_id).open
    assert e2e_chain.sdk.certificate(cert_id).balance == Money(Decimal("9.75"), "tUSD")
    holder.goto(f"/certificates/{ref(cert_id)}")
    expect(page.get_by_test_id("open-tab-form")).to_be_visible()  # free again
    expect(page.get_by_test_id("regift-part-form")).to_be_visible()
    assert not problems, "\n".join(problems)


def _signed_message(person, primary: str) -> dict:
    """The message of the one EIP-712 `primary` the wallet signed (what the relay sent)."""
    import json

    documents = [json.loads(r.params[1]) for r in person.wallet.requests
                 if r.method == "eth_signTypedData_v4" and r.outcome == "ok"]
    found = [d["message"] for d in documents if d["primaryType"] == primary]
    assert len(found) == 1, documents
    return found[0]


def test_an_empty_wallet_opens_a_tab_pays_three_times_and_asks_to_close_without_gas(
        open_browser, e2e_chain: Chain):
    me = Account.create()
    e2e_chain.w3.provider.make_request("anvil_setBalance", [me.address, "0x0"])
    coffee = e2e_chain.merchant_id("Corner Coffee")
    cert_id = e2e_chain.client(GIVER).issue(me.address, "20", coffee, "tUSD").id
    gift = ref(cert_id)
    problems: list[str] = []
    person = open_browser("0x" + me.key.hex(), size="phone")
    page = connect(person, f"/certificates/{gift}")

    # Opening: the review says it costs no gas and exactly what the signature says.
    form = page.get_by_test_id("open-tab-form")
    reload_until(page, form)
    expect(form).to_be_visible()
    page.get_by_test_id("open-tab-submit").click()
    expect(form.get_by_test_id("tx-gasless")).to_be_visible()
    expect(form.locator(".tx-fee-line")).to_be_hidden()
    summary = form.get_by_test_id("tx-summary")
    expect(summary).to_contain_text(f"Open a tab on gift {gift} at Corner Coffee (nothing else)")
    expect(summary).to_contain_text("Tab payments signed bythis wallet, at each purchase")
    expect(summary).to_contain_text("Your signature is valid until")
    expect(summary).to_contain_text("20.00 tUSD stays yours")
    expect(form.get_by_test_id("tx-self")).to_be_hidden()  # the wallet cannot pay the fee
    expect(form.get_by_test_id("tx-confirm")).to_have_text("No gas needed: sign in wallet")
    check(page, "/certificates (gasless open-tab review)", problems)
    form.screenshot(path=str(SCREENSHOTS / "tab-open-gasless-review-phone.png"))
    form.get_by_test_id("tx-confirm").click()
    expect(page.get_by_test_id("tab-card")).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("tab-state")).to_have_text("Open")
    opened = _signed_message(person, "OpenTab")
    assert opened == {"certificate": str(cert_id), "sessionKey": "0x" + "00" * 20,
                      "nonce": "0", "deadline": opened["deadline"]}
    assert e2e_chain.sdk.tab(cert_id).open
    check(page, "/certificates (tab open, no gas)", problems)

    # At the till: three purchases, each a running total signed (no transaction), kept.
    merchant = open_browser(COFFEE, size="phone")
    desk = sign_in_merchant(merchant, "Corner Coffee")
    owed_before = e2e_chain.sdk.merchant_owed(coffee, "tUSD")
    person.goto(f"/tab/{gift}")
    box = desk.get_by_test_id("tab-voucher")
    for amount, total in (("2.50", "2.50"), ("3", "5.50"), ("5.00", "10.50")):
        page.get_by_test_id("till-amount").fill(amount)
        page.get_by_test_id("till-sign").click()
        expect(page.get_by_test_id("till-shown-total")).to_have_text(f"{total} tUSD")
        box.fill(page.get_by_test_id("till-voucher").input_value())
        expect(desk.get_by_test_id("tab-kept-total")).to_have_text(
            f"Kept: tab total {total} tUSD")
        expect(page.get_by_test_id("till-state")).to_have_text(
            f"Kept ✓ tab total {total} tUSD at Corner Coffee", timeout=15_000)
        page.get_by_test_id("till-again").click()
    expect(page.get_by_test_id("till-left")).to_have_text("9.50 tUSD")

    # The merchant settles once (its own transaction).
    row = desk.locator(f'[data-testid="open-tab"][data-cert-id="{cert_id}"]')
    expect(row.get_by_test_id("open-tab-unsettled")).to_have_text("10.50 tUSD")
    settle = desk.get_by_test_id("settle-tabs-form")
    desk.get_by_test_id("settle-tabs-submit").click()
    expect(settle.get_by_test_id("tx-total")).to_have_text(re.compile(r"10\.50 tUSD"))
    confirm(settle)
    expect(desk.get_by_test_id("tabs-settled-summary")).to_contain_text(
        "Settled ✓ 1 tab: 10.50 tUSD collected")

    # Leaving: asked by signature, sent by the site.
    person.goto(f"/certificates/{gift}")
    leave = page.get_by_test_id("tab-close-request-form")
    page.get_by_test_id("tab-close-request-submit").click()
    expect(leave.get_by_test_id("tx-gasless")).to_be_visible()
    said = leave.get_by_test_id("tx-summary")
    expect(said).to_contain_text(
        f"Ask to close the tab on gift {gift} at Corner Coffee (nothing else)")
    expect(said).to_contain_text("Corner Coffee has 2 days to collect what you signed")
    check(page, "/certificates (gasless close review)", problems)
    leave.get_by_test_id("tx-confirm").click()
    expect(page.get_by_test_id("tab-state")).to_have_text(
        re.compile(r"^Closing on \d{1,2} \w{3} \d{4}, \d\d:\d\d UTC$"), timeout=20_000)
    asked = _signed_message(person, "RequestTabClose")
    assert asked["certificate"] == str(cert_id) and set(asked) == {
        "certificate", "nonce", "deadline"}
    check(page, "/certificates (tab closing, no gas)", problems)

    # On chain, to the unit; the account never sent a transaction and holds exactly 0 ETH.
    assert e2e_chain.sdk.certificate(cert_id).balance == Money(Decimal("9.50"), "tUSD")
    owed = e2e_chain.sdk.merchant_owed(coffee, "tUSD")
    assert owed.amount - owed_before.amount == Decimal("10.50")
    tab = e2e_chain.sdk.tab(cert_id)
    assert tab.open and tab.close_requested and tab.balance == Money(Decimal("9.50"), "tUSD")
    assert person.wallet.sent == [] and len(merchant.wallet.sent) == 1
    assert int(e2e_chain.w3.eth.get_balance(me.address)) == 0
    assert person.errors == [] and merchant.errors == []
    assert not problems, "\n".join(problems)
