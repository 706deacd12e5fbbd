"""No gas needed (issue 16): a person whose wallet holds exactly 0 ETH claims a claim link,
re-gifts half of it to a friend and pays at a merchant, all from the site. The claim and the
split are signed in the browser (the link's key, the wallet's EIP-712 signature) and sent by
the site's relay (GIFTCERT_RELAYER_KEY: the e2e stack's own funded account); the payment is
the pay page's signed authorisation, taken at the merchant's desk. The chain shows each result
and the account still holds exactly 0 ETH. With ETH enough and the operator's preference
"when-needed", the wallet's own path stays the default."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from e2e_stack import (
    COFFEE,
    FRIEND,
    GIVER,
    HOLDER,
    RELAYER_KEY,
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
from test_e2e_quality import axe_violations

from giftcert.money import Money

RELAYER = Account.from_key(RELAYER_KEY).address
# Everything the forms' status lines (aria-live) say, kept across the page loads of one tab.
STEPS_SEEN = """() => {
  const said = () => JSON.parse(sessionStorage.getItem("e2e.said") || "[]");
  new MutationObserver(() => {
    for (const line of document.querySelectorAll(".tx-status")) {
      const text = line.textContent.trim(), all = said();
      if (text && all.at(-1) !== text) sessionStorage.setItem("e2e.said", JSON.stringify(
        [...all, text]));
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
}"""


def said(page: Any) -> list[str]:
    """What the forms' status lines said in this tab, in order."""
    return page.evaluate("JSON.parse(sessionStorage.getItem('e2e.said') || '[]')")


def steps(lines: list[str]) -> list[str]:
    """The relay's steps among them, by their first word."""
    return [line.split(":")[0] for line in lines
            if line.startswith(("Queued:", "Sent:", "Done:", "It did not go through"))]


def assert_fits_and_passes_axe(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"
    assert axe_violations(page) == []


def eth(chain: Chain, address: str) -> int:
    return int(chain.w3.eth.get_balance(address))


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_an_empty_wallet_claims_regifts_half_and_pays(open_browser, e2e_chain: Chain,
                                                      size: str) -> None:
    me = Account.create()
    e2e_chain.w3.provider.make_request("anvil_setBalance", [me.address, "0x0"])
    link = e2e_chain.client(GIVER).issue_claimable(
        "20", e2e_chain.merchant_id("Corner Coffee"), "tUSD", message="For you\n— Sam")
    cert = link.certificate.id
    relayer_before = eth(e2e_chain, RELAYER)

    # Claim: the link's key signs for this wallet in the browser; the site sends it.
    person = open_browser("0x" + me.key.hex(), size=size)
    person.context.add_init_script(script=f"({STEPS_SEEN})()")
    page = person.goto(f"{link.path}")
    page.get_by_test_id("connect-button").click()
    expect(page.get_by_test_id("claim-gasless")).to_be_visible()
    button = page.get_by_test_id("claim-button")
    expect(button).to_have_text("Claim the gift: no gas needed")
    person.screenshot(f"gasless-claim-{size}")
    assert_fits_and_passes_axe(page)
    button.click()
    page.wait_for_url(re.compile(rf"/certificates/{ref(cert)}\?claimed=1$"))
    expect(page.get_by_test_id("its-yours")).to_contain_text("It's yours! 20.00 tUSD")
    assert e2e_chain.sdk.certificate(cert).owner == me.address

    # Re-gift half: reviewed, then signed in the wallet, then sent by the site.
    form = page.get_by_test_id("regift-part-form")
    expect(form).to_be_visible()
    form.get_by_test_id("regift-amount").fill("10")
    friend = e2e_chain.address(FRIEND)
    form.get_by_test_id("regift-part-to").fill(friend)
    form.get_by_test_id("regift-part-submit").click()
    expect(form.get_by_test_id("tx-review")).to_be_visible()
    expect(form.get_by_test_id("tx-gasless")).to_be_visible()
    expect(form.locator(".tx-fee-line")).to_be_hidden()
    expect(form.get_by_test_id("tx-total")).to_have_text("10.00 tUSD")
    expect(form.get_by_test_id("tx-summary")).to_contain_text(friend)
    expect(form.get_by_test_id("tx-summary")).to_contain_text("Your signature is valid until")
    expect(form.get_by_test_id("tx-self")).to_be_hidden()  # the wallet cannot pay the fee
    confirm_button = form.get_by_test_id("tx-confirm")
    expect(confirm_button).to_have_text("No gas needed: sign in wallet")
    person.screenshot(f"gasless-split-review-{size}")
    assert_fits_and_passes_axe(page)
    before = e2e_chain.w3.eth.block_number
    confirm_button.click()
    page.wait_for_load_state()
    expect(page.get_by_test_id("cert-balance")).to_have_text("10.00 tUSD", timeout=20_000)
    expect(page.locator("#flash")).to_contain_text("Done", timeout=10_000)
    splits = e2e_chain.contract.events.Split.get_logs(from_block=before + 1)
    assert [(s["args"]["fromId"], s["args"]["to"], s["args"]["amount"]) for s in splits] == [
        (cert, friend, 10 * 10**6)]
    new = e2e_chain.sdk.certificate(splits[0]["args"]["newId"])
    assert new.owner == friend and new.balance == Money(Decimal("10"), "tUSD")
    signed = [r for r in person.wallet.requests if r.method == "eth_signTypedData_v4"]
    assert [r.outcome for r in signed] == ["ok"]
    assert '"primaryType": "Split"' in signed[0].params[1] or \
        '"primaryType":"Split"' in signed[0].params[1]
    # Said in words, to the end: the claim's steps, then the split's.
    relayed = steps(said(page))
    assert relayed.count("Done") == 2 and "It did not go through" not in relayed, said(page)
    assert relayed[-1] == "Done" and set(relayed) <= {"Queued", "Sent", "Done"}, said(page)
    assert "Sign in your wallet (no gas needed)…" in said(page)

    # Pay at the merchant: the pay page's signed code, taken at the desk (the shop sends it).
    page.goto(person.site.url + f"/pay/{ref(cert)}")
    page.get_by_test_id("pay-amount").fill("4.50")
    page.get_by_test_id("pay-ref").fill("8080")
    page.get_by_test_id("pay-sign").click()
    expect(page.get_by_test_id("pay-result")).to_be_visible()
    code = page.get_by_test_id("pay-authorization").input_value()
    shop = open_browser(COFFEE, size=size)
    desk = sign_in_merchant(shop, "Corner Coffee")
    redeem = desk.get_by_test_id("redeem-form")
    redeem.get_by_test_id("redeem-authorization").fill(code)
    redeem.get_by_test_id("redeem-submit").click()
    confirm(redeem)
    expect(desk.get_by_test_id("redeem-done")).to_contain_text("4.50 tUSD", timeout=20_000)
    expect(page.get_by_test_id("pay-state")).to_have_text(
        "Paid ✓ 4.50 tUSD at Corner Coffee", timeout=15_000)

    # The chain: the claim, the split and the payment; the wallet never sent and has 0 ETH.
    assert e2e_chain.sdk.certificate(cert).balance == Money(Decimal("5.5"), "tUSD")
    assert e2e_chain.sdk.certificate(cert).owner == me.address
    assert person.wallet.sent == []
    assert eth(e2e_chain, me.address) == 0
    assert eth(e2e_chain, RELAYER) < relayer_before  # the site paid the gas
    assert person.errors == [] and shop.errors == []


def test_with_eth_enough_the_wallet_path_stays_the_default(open_browser,
                                                           e2e_chain: Chain) -> None:
    cert = gift_for_holder(e2e_chain, "8")
    nonce_before = e2e_chain.w3.eth.get_transaction_count(RELAYER)
    holder = open_browser(HOLDER, size="phone")
    page = connect(holder, f"/certificates/{ref(cert)}")
    form = page.get_by_test_id("regift-part-form")
    reload_until(page, form)
    form.get_by_test_id("regift-amount").fill("3")
    form.get_by_test_id("regift-part-to").fill(e2e_chain.address(FRIEND))
    form.get_by_test_id("regift-part-submit").click()
    expect(form.get_by_test_id("tx-review")).to_be_visible()
    expect(form.get_by_test_id("tx-gasless")).to_be_hidden()
    expect(form.get_by_test_id("tx-self")).to_be_hidden()
    expect(form.get_by_test_id("tx-confirm")).to_have_text("Confirm in wallet")
    confirm(form)
    expect(page.get_by_test_id("cert-balance")).to_have_text("5.00 tUSD", timeout=20_000)
    assert len(holder.wallet.sent) == 1  # sent from the wallet, which paid the fee
    assert holder.wallet.asked("eth_signTypedData_v4") == []
    assert e2e_chain.w3.eth.get_transaction_count(RELAYER) == nonce_before


def test_an_empty_wallet_merges_and_passes_a_gift_on(open_browser, e2e_chain: Chain) -> None:
    """The other holder actions take the same path: a merge, then a whole re-gift."""
    me = Account.create()
    e2e_chain.w3.provider.make_request("anvil_setBalance", [me.address, "0x0"])
    giver = e2e_chain.client(GIVER)
    coffee = e2e_chain.merchant_id("Corner Coffee")
    expiry = giver.now() + 60 * 86400
    small = giver.issue(me.address, "2", coffee, "tUSD", expiry=expiry).id
    big = giver.issue(me.address, "5", coffee, "tUSD", expiry=expiry + 86400).id
    person = open_browser("0x" + me.key.hex(), size="phone")
    page = connect(person, f"/certificates/{ref(small)}")
    form = page.get_by_test_id("merge-form")
    reload_until(page, form.locator(f'option[value="{big}"]'))
    form.get_by_test_id("merge-into").select_option(str(big))
    form.get_by_test_id("merge-submit").click()
    expect(form.get_by_test_id("tx-gasless")).to_be_visible()
    expect(form.get_by_test_id("tx-total")).to_have_text("2.00 tUSD")
    form.get_by_test_id("tx-confirm").click()
    page.wait_for_url(re.compile(rf"/certificates/{ref(big)}$"), timeout=20_000)
    expect(page.get_by_test_id("cert-balance")).to_have_text("7.00 tUSD")
    assert e2e_chain.sdk.certificate(big).balance == Money(Decimal("7"), "tUSD")

    whole = page.get_by_test_id("regift-whole-form")
    friend = e2e_chain.address(FRIEND)
    whole.get_by_test_id("regift-whole-to").fill(friend)
    whole.get_by_test_id("regift-whole-submit").click()
    expect(whole.get_by_test_id("tx-gasless")).to_be_visible()
    expect(whole.get_by_test_id("tx-total")).to_have_text("7.00 tUSD")
    whole.get_by_test_id("tx-confirm").click()
    expect(page.get_by_test_id("cert-owner")).to_have_attribute("data-address", friend,
                                                               timeout=20_000)
    assert e2e_chain.sdk.certificate(big).owner == friend
    assert person.wallet.sent == [] and eth(e2e_chain, me.address) == 0
