"""Givers in the browser: issue to an address, a claim link claimed in another browser, a
copied claim redirected to another address, bulk give from a CSV. Each checks the page and the
chain (through the SDK)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from e2e_stack import (
    COLLEAGUE,
    FRIEND,
    GIFT_URL,
    GIVER,
    HOLDER,
    NEW_GIVER,
    STRANGER,
    Chain,
    confirm,
    confirm_purchase,
    connect,
    events,
    fill_give,
    issued_id,
    ref,
)
from playwright.sync_api import expect

from giftcert.errors import ContractRevert
from giftcert.money import Money


def test_giver_issues_to_an_address(open_browser, e2e_chain: Chain):
    giver = open_browser(NEW_GIVER)  # has tUSD, has never approved the contract
    friend = e2e_chain.address(FRIEND)
    page = connect(giver, "/give")
    fill_give(page, "Corner Coffee", "tUSD", "12.50", friend)
    page.get_by_test_id("give-occasion").select_option(label="Happy Birthday")
    page.get_by_test_id("give-message").fill("Happy birthday, have a coffee on me")
    # The design preview follows the choices (drawn by the contract's renderer).
    preview = page.get_by_test_id("give-preview")
    expect(preview).to_have_attribute("src", re.compile(r"occasion=1.*amount=12\.50"))
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0",
                           arg=preview.element_handle())
    giver.screenshot("give")
    page.get_by_test_id("give-review").click()

    form = page.get_by_test_id("give-form")
    expect(form.get_by_test_id("tx-total")).to_contain_text("12.50 tUSD")
    expect(form.get_by_test_id("tx-total")).to_contain_text("approve")
    confirm(form)  # the token approval
    expect(form.get_by_test_id("tx-total")).to_have_text("12.50 tUSD")
    confirm(form)  # the purchase
    page.wait_for_url(GIFT_URL)
    cert_id = issued_id(e2e_chain, giver.wallet.sent)
    assert GIFT_URL.search(page.url).group(1) == ref(cert_id)
    expect(page.get_by_test_id("gift-owner")).to_have_attribute("data-address", friend)
    expect(page.get_by_test_id("cert-balance")).to_have_text("12.50 tUSD")
    expect(page.get_by_test_id("claim-share")).to_have_count(0)
    expect(page.get_by_test_id("gift-message")).to_have_text("Happy birthday, have a coffee on me")
    gift_qr = page.get_by_test_id("gift-qr")
    expect(gift_qr.locator("svg")).to_be_visible()
    assert gift_qr.get_attribute("data-qr-text") == f"{giver.site.url}/gift/{ref(cert_id)}"
    giver.screenshot("gift-sent")

    cert = e2e_chain.sdk.certificate(cert_id)
    assert cert.owner == friend
    assert cert.balance == Money(Decimal("12.50"), "tUSD")
    assert cert.merchant == e2e_chain.merchant_id("Corner Coffee")
    assert cert.occasion == 1 and cert.status(e2e_chain.sdk.now()) == "active"
    assert cert.is_buyer(giver.wallet.account)
    issued = events(e2e_chain, giver.wallet.sent, "Issued")
    assert [e["id"] for e in issued] == [cert_id]
    assert issued[0]["message"] == "Happy birthday, have a coffee on me"
    assert len(giver.wallet.sent) == 2  # approve, issue


def _give_claim_link(open_browser, e2e_chain: Chain, amount: str) -> tuple[int, str]:
    giver = open_browser(GIVER)
    page = connect(giver, "/give")
    fill_give(page, "Corner Coffee", "ETH", amount)
    page.get_by_test_id("deliver-link").check()
    page.get_by_test_id("give-review").click()
    form = page.get_by_test_id("give-form")
    expect(form.get_by_test_id("tx-total")).to_have_text(f"{amount} ETH")
    confirm(form)
    page.wait_for_url(GIFT_URL)
    cert_id = issued_id(e2e_chain, giver.wallet.sent)
    link = page.get_by_test_id("claim-link")
    expect(link).to_have_value(re.compile(
        rf"^http://127\.0\.0\.1:\d+/claim/{ref(cert_id)}#0x[0-9a-f]{{64}}$"))
    expect(page.get_by_test_id("claim-qr").locator("svg, canvas, img").first).to_be_visible()
    giver.page.get_by_test_id("claim-saved").check()  # the link is kept: the page lets it go
    return cert_id, link.input_value()


def test_claim_link_is_claimed_in_another_browser(open_browser, e2e_chain: Chain):
    cert_id, link = _give_claim_link(open_browser, e2e_chain, "0.02")
    cert = e2e_chain.sdk.certificate(cert_id)
    assert cert.awaiting_claim and cert.balance == Money(Decimal("0.02"), "ETH")

    friend = open_browser(FRIEND)
    page = friend.page
    page.goto(link)
    page.get_by_test_id("connect-button").click()
    expect(page.get_by_test_id("claim-recipient")).to_have_attribute(
        "data-address", friend.wallet.account.lower())
    friend.screenshot("claim")
    page.get_by_test_id("claim-button").click()
    page.wait_for_url(re.compile(rf"/certificates/{ref(cert_id)}\?claimed=1$"))
    expect(page.get_by_test_id("its-yours")).to_contain_text("It's yours")
    expect(page.get_by_test_id("cert-owner")).to_have_attribute("data-address",
                                                               friend.wallet.account)

    cert = e2e_chain.sdk.certificate(cert_id)
    assert cert.owner == friend.wallet.account and not cert.awaiting_claim
    assert cert.balance == Money(Decimal("0.02"), "ETH")
    # The claim is the certificate's move out of the claim key (no separate Claimed event).
    moves = events(e2e_chain, friend.wallet.sent, "TransferSingle")
    assert [(e["id"], e["to"]) for e in moves] == [(cert_id, friend.wallet.account)]

    # The link is spent: opening it again says so.
    again = open_browser(STRANGER)
    again.page.goto(link)
    expect(again.page.get_by_test_id("claim-problem")).to_contain_text("already been claimed")


def test_copied_claim_for_another_address_fails(open_browser, e2e_chain: Chain):
    """The friend's claim (signed in the page with the link's key) leaks before it is mined;
    a stranger replays its signature with their own address: the site refuses to build it and
    the contract reverts it. The friend then claims."""
    cert_id, link = _give_claim_link(open_browser, e2e_chain, "0.01")
    friend = open_browser(FRIEND)
    captured: list[dict] = []
    friend.context.on("request", lambda r: captured.append(r.post_data_json)
                      if r.url.endswith("/api/v1/tx/claim") else None)
    page = friend.page
    page.goto(link)
    page.get_by_test_id("connect-button").click()
    # Connected first: the rejection below must meet the claim, not a slow connect.
    expect(page.get_by_test_id("claim-recipient")).to_have_attribute(
        "data-address", friend.wallet.account.lower())
    friend.wallet.reject_next(page)  # the friend hesitates: nothing is sent yet
    page.get_by_test_id("claim-button").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("rejected")
    assert friend.wallet.sent == []
    leaked = captured[-1]
    assert leaked["recipient"].lower() == friend.wallet.account.lower()

    stranger = open_browser(STRANGER)
    connect(stranger, "/")
    answer = stranger.context.request.post(
        f"{stranger.site.url}/api/v1/tx/claim",
        data={"from": stranger.wallet.account, "certificate": str(cert_id),
              "recipient": stranger.wallet.account, "signature": leaked["signature"]})
    assert answer.status == 422 and answer.json()["field"] == "signature"
    with pytest.raises(ContractRevert):
        e2e_chain.client(STRANGER)._send("claim", cert_id, stranger.wallet.account,
                                         bytes.fromhex(leaked["signature"][2:]))
    assert e2e_chain.sdk.certificate(cert_id).awaiting_claim

    page.get_by_test_id("claim-button").click()  # the page recovered from the refusal
    page.wait_for_url(re.compile(rf"/certificates/{ref(cert_id)}\?claimed=1$"))
    assert e2e_chain.sdk.certificate(cert_id).owner == friend.wallet.account


def test_bulk_give_from_csv(open_browser, e2e_chain: Chain):
    giver = open_browser(GIVER)
    page = connect(giver, "/give/bulk")
    recipients = [e2e_chain.address(i) for i in (HOLDER, FRIEND, COLLEAGUE)]
    amounts = ["5.00", "7.25", "10"]
    good = "".join(f"{to},{amount}\n" for to, amount in zip(recipients, amounts, strict=True))
    bad = "0x1234,5\n" + f"{recipients[0]},-3\n"
    page.get_by_test_id("bulk-merchant").select_option(label="Page Turner Books")
    page.get_by_test_id("bulk-currency").select_option("tUSD")
    page.get_by_test_id("bulk-file").set_input_files(
        files=[{"name": "team.csv", "mimeType": "text/csv",
                "buffer": ("address,amount\n" + good + bad).encode()}])
    expect(page.get_by_test_id("bulk-rows")).to_have_value(re.compile("address,amount"))
    page.get_by_test_id("bulk-preview").click()
    rows = page.get_by_test_id("bulk-table").locator("tbody tr")
    expect(rows).to_have_count(5)
    expect(page.get_by_test_id("bulk-summary")).to_contain_text("3 valid, 2 with problems")
    expect(rows.nth(3)).to_have_class(re.compile("bad"))
    expect(rows.nth(4)).to_have_class(re.compile("bad"))
    giver.screenshot("give-bulk-preview")
    # A bad file does not get sent.
    page.get_by_test_id("bulk-review").click()
    form = page.get_by_test_id("bulk-form")
    expect(form.locator('[data-error-for="rows"]')).to_contain_text("invalid")
    expect(form.get_by_test_id("tx-review")).to_be_hidden()
    assert giver.wallet.sent == []

    page.get_by_test_id("bulk-rows").fill(good)
    page.get_by_test_id("bulk-preview").click()
    expect(page.get_by_test_id("bulk-summary")).to_contain_text("3 valid, 0 with problems")
    page.get_by_test_id("bulk-review").click()
    confirm_purchase(form, "22.25 tUSD")
    page.wait_for_url(re.compile(rf"/holder/{giver.wallet.account}$", re.I))

    # All in one transaction, one IssuedBatch event: ids firstId, firstId + 1, ...
    batch = events(e2e_chain, giver.wallet.sent[-1:], "IssuedBatch")
    assert len(batch) == 1 and batch[0]["buyer"] == giver.wallet.account
    assert batch[0]["amounts"] == [int(Decimal(a) * 10**6) for a in amounts]
    assert events(e2e_chain, giver.wallet.sent[-1:], "Issued") == []
    for offset, (to, amount) in enumerate(zip(recipients, amounts, strict=True)):
        cert = e2e_chain.sdk.certificate(batch[0]["firstId"] + offset)
        assert cert.owner == to
        assert cert.balance == Money(Decimal(amount), "tUSD")
        assert cert.merchant == e2e_chain.merchant_id("Page Turner Books")
