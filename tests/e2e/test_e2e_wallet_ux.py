"""The site and the wallet: connecting, the header's state, a wallet on the wrong network
(switch, add the local chain), the user refusing a prompt, no wallet at all."""

from __future__ import annotations

from decimal import Decimal

from e2e_stack import FRIEND, GIFT_URL, GIVER, HOLDER, Chain, confirm, connect, events, fill_give
from playwright.sync_api import expect

from giftcert.money import Money


def test_connect_shows_account_network_and_wallet(open_browser, e2e_chain: Chain):
    holder = open_browser(HOLDER)
    page = holder.goto("/")
    expect(page.get_by_test_id("wallet-account")).to_have_text("not connected")
    expect(page.get_by_test_id("connect-button")).to_be_visible()
    assert holder.wallet.asked("eth_requestAccounts") == []  # nothing asked before the click
    page.get_by_test_id("connect-button").click()
    account = holder.wallet.account
    expect(page.get_by_test_id("connect-account")).to_have_attribute("data-address",
                                                                      account.lower())
    expect(page.get_by_test_id("connect-network")).to_have_text("Local test network")
    expect(page.get_by_test_id("wallet-name")).to_have_text("Wallet: MetaMask")
    expect(page.get_by_test_id("wrong-network")).to_be_hidden()
    expect(page.get_by_test_id("no-wallet")).to_be_hidden()
    holder.screenshot("connect")

    # The user picks another account in the wallet: the page follows without a reload.
    friend = e2e_chain.address(FRIEND)
    holder.wallet.switch_account(page, friend)
    expect(page.get_by_test_id("connect-account")).to_have_attribute("data-address",
                                                                      friend.lower())
    holder.goto("/admin/")
    expect(holder.page.get_by_test_id("admin-merchants")).to_contain_text("Corner Coffee")
    holder.screenshot("admin")


def test_without_a_wallet_the_page_says_so(open_browser):
    visitor = open_browser(HOLDER, wallet=False)
    page = visitor.goto("/give")
    expect(page.get_by_test_id("no-wallet")).to_be_visible()
    expect(page.get_by_test_id("wallet-account")).to_have_text("no wallet")


def test_header_hides_buttons_that_do_not_apply(open_browser):
    """Connected on the right network there is nothing to connect or switch; without a wallet
    there is nothing to connect. (The buttons carry `hidden`; the CSS must not show them.)"""
    holder = open_browser(HOLDER)
    page = connect(holder, "/")
    expect(page.get_by_test_id("connect-button")).to_be_hidden()
    expect(page.get_by_test_id("switch-network")).to_be_hidden()
    visitor = open_browser(HOLDER, wallet=False)
    page = visitor.goto("/")
    expect(page.get_by_test_id("no-wallet")).to_be_visible()
    expect(page.get_by_test_id("connect-button")).to_be_hidden()


def test_wrong_network_then_switch(open_browser, e2e_chain: Chain):
    """The wallet is on Ethereum mainnet and has never heard of the local chain: the page warns,
    and its switch button adds the chain (4902 -> wallet_addEthereumChain) and switches."""
    giver = open_browser(GIVER, chain_id=1, known_chains={1})
    page = giver.goto("/")
    page.get_by_test_id("connect-button").click()
    expect(page.get_by_test_id("wrong-network")).to_be_visible()
    expect(page.get_by_test_id("wallet-network")).to_contain_text("wrong network")
    expect(page.get_by_test_id("switch-network")).to_be_visible()
    giver.screenshot("wrong-network")
    page.get_by_test_id("switch-network").click()
    expect(page.get_by_test_id("wrong-network")).to_be_hidden()
    expect(page.get_by_test_id("wallet-network")).to_have_text("Local test network")
    assert giver.wallet.chain_id == 31337
    assert [r.outcome for r in giver.wallet.asked("wallet_switchEthereumChain")] == ["error 4902"]
    assert giver.wallet.added_chains[0]["rpcUrls"] == [e2e_chain.anvil.rpc_url]

    # Later the user flips the wallet back to mainnet: the warning returns without a reload,
    # and giving makes the page switch back before anything is sent.
    giver.wallet.switch_chain(page, 1)
    expect(page.get_by_test_id("wrong-network")).to_be_visible()
    page = giver.goto("/give")
    expect(page.get_by_test_id("wrong-network")).to_be_visible()
    fill_give(page, "Green Leaf Tea", "ETH", "0.005", e2e_chain.address(FRIEND))
    page.get_by_test_id("give-review").click()
    form = page.get_by_test_id("give-form")
    confirm(form)
    page.wait_for_url(GIFT_URL)
    assert giver.wallet.chain_id == 31337
    issued = events(e2e_chain, giver.wallet.sent, "Issued")
    assert len(issued) == 1 and len(giver.wallet.sent) == 1
    cert = e2e_chain.sdk.certificate(issued[0]["id"])
    assert cert.owner == e2e_chain.address(FRIEND)
    assert cert.balance == Money(Decimal("0.005"), "ETH")


def test_user_rejects_wallet_prompts_and_the_page_recovers(open_browser, e2e_chain: Chain):
    giver = open_browser(GIVER)
    page = giver.goto("/give")
    giver.wallet.reject_next(page)
    page.get_by_test_id("connect-button").click()
    expect(page.get_by_test_id("flash")).to_contain_text("declined")
    expect(page.get_by_test_id("connect-button")).to_be_visible()
    page = connect(giver, "/give")

    fill_give(page, "Corner Coffee", "ETH", "0.003", e2e_chain.address(FRIEND))
    page.get_by_test_id("give-review").click()
    form = page.get_by_test_id("give-form")
    giver.wallet.reject_next(page)
    confirm(form)
    expect(form.get_by_test_id("form-error")).to_contain_text("rejected")
    giver.screenshot("rejected")
    assert giver.wallet.sent == []
    assert [r.outcome for r in giver.wallet.asked("eth_sendTransaction")] == ["rejected"]

    # The form still works: review again and confirm.
    page.get_by_test_id("give-review").click()
    confirm(form)
    page.wait_for_url(GIFT_URL)
    issued = events(e2e_chain, giver.wallet.sent, "Issued")
    assert len(issued) == 1
    cert = e2e_chain.sdk.certificate(issued[0]["id"])
    assert cert.owner == e2e_chain.address(FRIEND)
    assert cert.balance == Money(Decimal("0.003"), "ETH")
