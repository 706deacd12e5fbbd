"""A transaction still pending when the page reloads: the page keeps its hash (localStorage),
says it is waiting after the reload, and finishes the job once it is mined."""

from __future__ import annotations

from decimal import Decimal

from e2e_stack import FRIEND, GIVER, HOLDER, Chain, confirm, connect
from playwright.sync_api import expect

from giftcert.money import Money


def test_pending_transaction_is_resumed_after_a_reload(open_browser, e2e_chain: Chain):
    rpc = e2e_chain.w3.provider.make_request
    cert_id = e2e_chain.client(GIVER).issue(e2e_chain.address(HOLDER), "12", 1, "tUSD").id
    holder = open_browser(HOLDER)
    page = connect(holder, f"/certificates/{cert_id}")
    expect(page.get_by_test_id("cert-balance")).to_have_text("12.00 tUSD")
    rpc("evm_setAutomine", [False])  # the chain takes the transaction but mines nothing
    try:
        form = page.get_by_test_id("regift-part-form")
        form.get_by_test_id("regift-amount").fill("5")
        form.get_by_test_id("regift-part-to").fill(e2e_chain.address(FRIEND))
        form.get_by_test_id("regift-part-submit").click()
        confirm(form)
        expect(form.get_by_test_id("tx-status")).to_contain_text("Waiting for the network")
        sent = holder.wallet.sent[-1]

        page.reload()  # the person closes or reloads the page while it is pending
        banner = page.get_by_test_id("pending-tx")
        expect(banner).to_contain_text(f"{sent[:6]}…{sent[-4:]}")
        expect(banner).to_contain_text("sent before this page loaded")
        assert rpc("eth_getTransactionReceipt", [sent])["result"] is None  # still pending
        rpc("evm_mine", [])
    finally:
        rpc("evm_setAutomine", [True])
    # Mined: the page finishes what the form started (it reloads) and forgets the hash.
    expect(page.get_by_test_id("cert-balance")).to_have_text("7.00 tUSD")
    expect(banner).to_be_hidden()
    assert e2e_chain.sdk.certificate(cert_id).balance == Money(Decimal("7"), "tUSD")
    assert page.evaluate("localStorage.getItem('giftcert.pending')") is None
