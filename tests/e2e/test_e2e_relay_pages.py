"""No gas needed (issue 16), what the pages do besides the happy path: a relayed request still
on its way when the page reloads is followed again (Queued, Sent, Done) until it is done; a
site whose operator prefers the relay always (GIFTCERT_RELAY_PREFER=always) offers it first even
to a wallet with ETH; an empty wallet cashes out an ETH gift and ends holding exactly that; and
the relay's refusals and failures are said in words: over the daily limit per wallet
(GIFTCERT_RELAY_PER_ADDRESS_DAY=1) the page says when it can pay again, and a request that fails
on chain says "It did not go through" and why. Each page checked for axe and sideways scroll."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from e2e_stack import (
    COFFEE,
    GIVER,
    HOLDER,
    RELAYER_KEY,
    Chain,
    Site,
    connect,
    gift_for_holder,
    ref,
    reload_until,
    serve,
    sign_in_merchant,
)
from eth_account import Account
from eth_utils import keccak
from playwright.sync_api import expect
from test_e2e_quality import axe_violations, overflow

from giftcert.chain import free_port
from giftcert.money import Money

RELAYER = Account.from_key(RELAYER_KEY).address
# The second site's relayer: its own account, so neither site's nonces meet the other's.
STRICT_RELAYER_KEY = "0x" + keccak(text="giftcert e2e strict relayer").hex()
STRICT_RELAYER = Account.from_key(STRICT_RELAYER_KEY).address
# What a person must not be shown for a refusal or a failure.
RAW = ["429", "0x", "AddressLimit", "Retry-After", "retryAfter", "NotHolder", "WrongNonce",
       "InvalidSignature", "HTTP", "revert", "{"]


@pytest.fixture(scope="module")
def strict_site(e2e_chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A second site on the same chain whose operator prefers the relay always and pays for
    one request per address a day."""
    e2e_chain.w3.provider.make_request("anvil_setBalance", [STRICT_RELAYER, hex(100 * 10**18)])
    directory = tmp_path_factory.mktemp("strict-site")
    env = {**e2e_chain.env, "GIFTCERT_WEB_PORT": str(free_port()),
           "GIFTCERT_DATABASE_URL": f"sqlite:///{directory / 'index.db'}",
           "GIFTCERT_RELAYER_KEY": STRICT_RELAYER_KEY,
           "GIFTCERT_RELAY_PREFER": "always", "GIFTCERT_RELAY_PER_ADDRESS_DAY": "1"}
    with serve(env, directory) as site:
        yield site


def empty_account(chain: Chain) -> Any:
    """A fresh account holding exactly 0 ETH (the browser's wallet signs with its key)."""
    me = Account.create()
    chain.w3.provider.make_request("anvil_setBalance", [me.address, "0x0"])
    return me


def eth(chain: Chain, address: str) -> int:
    return int(chain.w3.eth.get_balance(address))


def assert_fits_and_passes_axe(page: Any) -> None:
    page.wait_for_load_state("networkidle")
    assert overflow(page) is None
    assert axe_violations(page) == []


def assert_plain(text: str) -> None:
    for word in RAW:
        assert word not in text, f"{word!r} in {text!r}"


def test_a_relayed_request_is_followed_again_after_a_reload(open_browser,
                                                             e2e_chain: Chain) -> None:
    rpc = e2e_chain.w3.provider.make_request
    me = empty_account(e2e_chain)
    cert = e2e_chain.client(GIVER).issue(me.address, "12", e2e_chain.merchant_id("Corner Coffee"),
                                         "tUSD").id
    person = open_browser("0x" + me.key.hex(), size="phone")
    page = connect(person, f"/certificates/{ref(cert)}")
    form = page.get_by_test_id("regift-part-form")
    expect(form).to_be_visible()
    friend = Account.create().address
    rpc("evm_setAutomine", [False])  # the relay's transaction waits in the mempool
    try:
        form.get_by_test_id("regift-amount").fill("5")
        form.get_by_test_id("regift-part-to").fill(friend)
        form.get_by_test_id("regift-part-submit").click()
        expect(form.get_by_test_id("tx-gasless")).to_be_visible()
        form.get_by_test_id("tx-confirm").click()
        expect(form.get_by_test_id("tx-status")).to_contain_text("Sent:")
        stored = page.evaluate("JSON.parse(localStorage.getItem('giftcert.relay-pending'))")
        request = page.evaluate(f"fetch('/api/v1/relay/requests/{stored['requestId']}')"
                                ".then(r => r.json())")
        assert request["status"] == "sent" and request["txHash"]

        page.reload()  # the person reloads while the site is still sending it
        box = page.get_by_test_id("pending-relay")
        expect(box).to_be_visible()
        expect(box.get_by_test_id("pending-relay-what")).to_have_text(
            "Re-gifting part of it (5.00 tUSD), no gas needed: handed to the site before this "
            "page loaded.")
        expect(box.get_by_test_id("pending-relay-status")).to_have_text(
            "Sent: waiting for the network to confirm it (a few seconds)…")
        expect(box.locator("li.done")).to_have_text(["Signed and handed to the site"])
        person.screenshot("gasless-resumed-phone")
        assert_fits_and_passes_axe(page)
        assert rpc("eth_getTransactionReceipt", [request["txHash"]])["result"] is None
        rpc("evm_mine", [])
    finally:
        rpc("evm_setAutomine", [True])
    # Mined: the page says Done, finishes what the form started (it reloads), forgets it.
    expect(page.get_by_test_id("cert-balance")).to_have_text("7.00 tUSD", timeout=20_000)
    expect(page.locator("#flash")).to_contain_text("Done: it is on the network.")
    expect(page.get_by_test_id("pending-relay")).to_be_hidden()
    assert page.evaluate("localStorage.getItem('giftcert.relay-pending')") is None
    assert e2e_chain.sdk.certificate(cert).balance == Money(Decimal("7"), "tUSD")
    assert person.wallet.sent == [] and eth(e2e_chain, me.address) == 0


def test_an_operator_who_prefers_the_relay_offers_it_first_even_with_eth(
        open_browser, e2e_chain: Chain, strict_site: Site) -> None:
    holder_address = e2e_chain.address(HOLDER)
    link = e2e_chain.client(GIVER).issue_claimable("6", e2e_chain.merchant_id("Corner Coffee"),
                                                   "tUSD")
    holder = open_browser(HOLDER, on=strict_site)
    page = holder.goto(link.path)
    page.get_by_test_id("connect-button").click()
    expect(page.get_by_test_id("claim-button")).to_have_text("Claim the gift: no gas needed")
    expect(page.get_by_test_id("claim-gasless")).to_be_visible()

    cert = gift_for_holder(e2e_chain, "9")
    eth_before = eth(e2e_chain, holder_address)
    relayer_nonce = e2e_chain.w3.eth.get_transaction_count(STRICT_RELAYER)
    page = holder.goto(f"/certificates/{ref(cert)}")  # connected on the claim page
    form = page.get_by_test_id("regift-part-form")
    reload_until(page, form)
    expect(form).to_be_visible()
    form.get_by_test_id("regift-amount").fill("4")
    form.get_by_test_id("regift-part-to").fill(Account.create().address)
    form.get_by_test_id("regift-part-submit").click()
    expect(form.get_by_test_id("tx-gasless")).to_be_visible()
    expect(form.locator(".tx-fee-line")).to_be_hidden()
    expect(form.get_by_test_id("tx-confirm")).to_have_text("No gas needed: sign in wallet")
    expect(form.get_by_test_id("tx-self")).to_have_text("Pay the fee from my wallet instead")
    expect(form.get_by_test_id("tx-status")).to_have_text(
        "Check the details, then sign in your wallet (no gas needed).")
    assert_fits_and_passes_axe(page)
    form.get_by_test_id("tx-confirm").click()
    expect(page.get_by_test_id("cert-balance")).to_have_text("5.00 tUSD", timeout=20_000)
    assert e2e_chain.sdk.certificate(cert).balance == Money(Decimal("5"), "tUSD")
    assert holder.wallet.sent == []  # the site sent it, although the wallet could have paid
    assert [r.outcome for r in holder.wallet.asked("eth_signTypedData_v4")] == ["ok"]
    assert eth(e2e_chain, holder_address) == eth_before
    assert e2e_chain.w3.eth.get_transaction_count(STRICT_RELAYER) == relayer_nonce + 1
    assert holder.errors == []


def test_an_empty_wallet_cashes_out_and_holds_exactly_what_it_took_out(
        open_browser, e2e_chain: Chain) -> None:
    coffee = e2e_chain.merchant_id("Corner Coffee")
    shop = open_browser(COFFEE, size="phone")
    desk = sign_in_merchant(shop, "Corner Coffee")
    limit = desk.get_by_test_id("cash-out-limit-form")
    limit.get_by_test_id("cash-out-currency").select_option("ETH")
    limit.get_by_test_id("cash-out-limit").fill("0.01")
    limit.get_by_test_id("cash-out-limit-submit").click()
    try:
        with desk.expect_navigation():
            expect(limit.get_by_test_id("tx-review")).to_be_visible()
            limit.get_by_test_id("tx-confirm").click()
        expect(desk.get_by_test_id("cash-out-limits")).to_contain_text("0.01 ETH")

        me = empty_account(e2e_chain)
        cert = e2e_chain.client(GIVER).issue(me.address, "0.004", coffee, "ETH").id
        person = open_browser("0x" + me.key.hex(), size="phone")
        page = connect(person, f"/certificates/{ref(cert)}")
        form = page.get_by_test_id("cashout-form")
        reload_until(page, form)
        expect(form.get_by_test_id("cashout-amount")).to_have_text("0.004 ETH")
        before = e2e_chain.w3.eth.block_number
        form.get_by_test_id("cashout-submit").click()
        expect(form.get_by_test_id("tx-gasless")).to_be_visible()
        expect(form.get_by_test_id("tx-total")).to_have_text("0.004 ETH")
        expect(form.get_by_test_id("tx-self")).to_be_hidden()  # 0 ETH: it cannot pay a fee
        person.screenshot("gasless-cash-out-phone")
        assert_fits_and_passes_axe(page)
        form.get_by_test_id("tx-confirm").click()
        page.wait_for_url(re.compile(rf"/holder/{me.address}$", re.IGNORECASE), timeout=20_000)
        expect(page.locator("#flash")).to_contain_text("Done: it is on the network.")
    finally:
        e2e_chain.client(COFFEE).set_cash_out_limit(coffee, "ETH", "0")
    cashed = e2e_chain.contract.events.CashedOut.get_logs(from_block=before + 1)
    assert [(c["args"]["id"], c["args"]["holder"], c["args"]["amount"]) for c in cashed] == [
        (cert, me.address, 4 * 10**15)]
    assert eth(e2e_chain, me.address) == 4 * 10**15  # the gift's value, not a wei less
    assert person.wallet.sent == []
    assert person.errors == [] and shop.errors == []


def test_over_the_daily_limit_the_page_says_when_the_site_pays_again(
        open_browser, e2e_chain: Chain, strict_site: Site) -> None:
    me = empty_account(e2e_chain)
    giver = e2e_chain.client(GIVER)
    coffee = e2e_chain.merchant_id("Corner Coffee")
    first = giver.issue(me.address, "3", coffee, "tUSD").id
    second = giver.issue(me.address, "4", coffee, "tUSD").id
    person = open_browser("0x" + me.key.hex(), size="phone", on=strict_site)
    page = connect(person, f"/certificates/{ref(first)}")
    whole = page.get_by_test_id("regift-whole-form")
    reload_until(page, whole)
    friend = Account.create().address
    whole.get_by_test_id("regift-whole-to").fill(friend)
    whole.get_by_test_id("regift-whole-submit").click()
    whole.get_by_test_id("tx-confirm").click()
    expect(page.get_by_test_id("cert-owner")).to_have_attribute("data-address", friend,
                                                               timeout=20_000)

    nonce = e2e_chain.w3.eth.get_transaction_count(STRICT_RELAYER)
    page.goto(f"{strict_site.url}/certificates/{ref(second)}")
    whole = page.get_by_test_id("regift-whole-form")
    reload_until(page, whole)
    whole.get_by_test_id("regift-whole-to").fill(Account.create().address)
    whole.get_by_test_id("regift-whole-submit").click()
    expect(whole.get_by_test_id("tx-gasless")).to_be_visible()
    whole.get_by_test_id("tx-confirm").click()
    error = whole.get_by_test_id("form-error")
    expect(error).to_contain_text(
        "This wallet has used the 1 free request a day the site pays the network fee for.",
        timeout=20_000)
    text = error.inner_text()
    assert re.fullmatch(
        r"This wallet has used the 1 free request a day the site pays the network fee for\. "
        r"It pays again in about (\d+ hours?( and \d+ minutes?)?|\d+ minutes?|a minute) "
        r"\(from \d{1,2} \w{3} \d{4}, 00:00 UTC\)\. Nothing was sent; or pay the fee from "
        r"your wallet\.", text), text
    assert_plain(text)
    person.screenshot("gasless-limit-phone")
    assert_fits_and_passes_axe(page)
    assert e2e_chain.w3.eth.get_transaction_count(STRICT_RELAYER) == nonce  # nothing sent
    assert e2e_chain.sdk.certificate(second).owner == me.address
    assert page.evaluate("localStorage.getItem('giftcert.relay-pending')") is None


def test_a_relayed_request_that_fails_on_chain_says_why_in_words(
        open_browser, e2e_chain: Chain, strict_site: Site) -> None:
    rpc = e2e_chain.w3.provider.make_request
    me = empty_account(e2e_chain)
    cert = e2e_chain.client(GIVER).issue(me.address, "5", e2e_chain.merchant_id("Corner Coffee"),
                                         "tUSD").id
    person = open_browser("0x" + me.key.hex(), on=strict_site)
    page = connect(person, f"/certificates/{ref(cert)}")
    whole = page.get_by_test_id("regift-whole-form")
    reload_until(page, whole)
    whole.get_by_test_id("regift-whole-to").fill(Account.create().address)
    elsewhere = Account.create().address
    rpc("evm_setAutomine", [False])
    try:
        whole.get_by_test_id("regift-whole-submit").click()
        expect(whole.get_by_test_id("tx-gasless")).to_be_visible()
        whole.get_by_test_id("tx-confirm").click()
        expect(whole.get_by_test_id("tx-status")).to_contain_text("Sent:")
        stored = page.evaluate("JSON.parse(localStorage.getItem('giftcert.relay-pending'))")
        request = page.evaluate(f"fetch('/api/v1/relay/requests/{stored['requestId']}')"
                                ".then(r => r.json())")
        # Before it is mined the holder gives the gift away from the wallet itself, at a far
        # higher fee (mined first), and the relay's transaction leaves the mempool: the keeper
        # sends its stored bytes again and they revert.
        rpc("anvil_setBalance", [me.address, hex(10**18)])
        w3 = e2e_chain.w3
        gift_away = e2e_chain.contract.functions.safeTransferFrom(
            me.address, elsewhere, cert, 1, b"").build_transaction({
                "from": me.address, "nonce": 0, "gas": 300_000, "chainId": 31337,
                "maxFeePerGas": 500 * 10**9, "maxPriorityFeePerGas": 400 * 10**9})
        w3.eth.send_raw_transaction(Account.sign_transaction(gift_away, me.key).raw_transaction)
        rpc("anvil_dropTransaction", [request["txHash"]])
        rpc("evm_mine", [])
    finally:
        rpc("evm_setAutomine", [True])
    rpc("evm_mine", [])
    error = whole.get_by_test_id("form-error")
    expect(error).to_contain_text("It did not go through: ", timeout=20_000)
    expect(error).to_have_text(
        "It did not go through: the gift changed after you signed (it was passed on, paid with "
        "or signed for again). Nothing changed.")
    assert_plain(error.inner_text())
    expect(whole.get_by_test_id("relay-steps")).to_have_class(re.compile(r"\bfailed\b"))
    assert page.evaluate("localStorage.getItem('giftcert.relay-pending')") is None
    assert_fits_and_passes_axe(page)
    assert e2e_chain.sdk.certificate(cert).owner == elsewhere
    final = page.evaluate(f"fetch('/api/v1/relay/requests/{stored['requestId']}')"
                          ".then(r => r.json())")
    assert final["status"] == "failed", final
