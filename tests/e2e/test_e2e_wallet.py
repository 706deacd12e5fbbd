"""The test wallet itself, on a blank page of a made-up origin (no site needed): if these fail,
the journeys' failures say nothing about the site."""

from __future__ import annotations

import pytest
from e2e_stack import FRIEND, HOLDER, STRANGER, Chain
from e2e_wallet import Wallet
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from giftcert import eip712

ORIGIN = "http://dapp.test"

DISCOVER = """async () => {
  const found = [];
  window.addEventListener("eip6963:announceProvider", (e) => found.push(e.detail));
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  await new Promise((r) => setTimeout(r, 50));
  window.provider = found[0].provider;
  window.seen = [];
  for (const name of ["accountsChanged", "chainChanged"]) {
    window.provider.on(name, (v) => window.seen.push([name, v]));
  }
  return {count: found.length, info: found[0].info, isMetaMask: found[0].provider.isMetaMask,
          same: found[0].provider === window.ethereum, frozen: Object.isFrozen(found[0])};
}"""

CALL = """async ([method, params]) => {
  try { return {result: await window.provider.request({method, params})}; }
  catch (e) { return {code: e.code, message: e.message, isError: e instanceof Error}; }
}"""


@pytest.fixture
def dapp(chromium, e2e_chain: Chain):
    contexts = []

    def open_(account: int, **wallet_kw):
        context = chromium.new_context()
        wallet = Wallet(e2e_chain.anvil.rpc_url, e2e_chain.address(account), **wallet_kw)
        wallet.install(context)
        context.route(f"{ORIGIN}/**", lambda route: route.fulfill(
            status=200, content_type="text/html", body="<!doctype html><title>dapp</title>"))
        page = context.new_page()
        page.goto(ORIGIN + "/")
        contexts.append(context)
        return page, wallet

    yield open_
    for context in contexts:
        context.close()


def rpc(page, method, params=None):
    return page.evaluate(CALL, [method, params if params is not None else []])


def test_announces_itself_as_metamask_and_connects_on_request(dapp, e2e_chain):
    page, wallet = dapp(HOLDER)
    found = page.evaluate(DISCOVER)
    assert found["count"] == 1 and found["isMetaMask"] and found["same"] and found["frozen"]
    assert found["info"]["rdns"] == "io.metamask" and found["info"]["name"] == "MetaMask"
    assert found["info"]["icon"].startswith("data:image/svg+xml")
    assert "__e2eWallet" not in page.evaluate("Object.keys(window)")
    assert rpc(page, "eth_chainId") == {"result": "0x7a69"}
    assert rpc(page, "eth_accounts") == {"result": []}
    holder = e2e_chain.address(HOLDER).lower()
    assert rpc(page, "eth_requestAccounts") == {"result": [holder]}
    assert page.evaluate("window.seen") == [["accountsChanged", [holder]]]
    assert rpc(page, "anvil_setBalance", [holder, "0x1"])["code"] == -32601


def test_sends_and_signs_as_the_selected_account(dapp, e2e_chain):
    page, wallet = dapp(HOLDER)
    page.evaluate(DISCOVER)
    holder = e2e_chain.address(HOLDER)
    stranger = e2e_chain.address(STRANGER)
    rpc(page, "eth_requestAccounts")
    before = e2e_chain.w3.eth.get_balance(stranger)
    sent = rpc(page, "eth_sendTransaction", [{"from": holder.lower(), "to": stranger,
                                              "value": hex(12345)}])
    # anvil mines right after it answers; on a busy machine the receipt can lag the hash
    receipt = e2e_chain.w3.eth.wait_for_transaction_receipt(sent["result"], timeout=30)
    assert receipt["status"] == 1 and receipt["from"] == holder
    assert e2e_chain.w3.eth.get_balance(stranger) == before + 12345

    signed = rpc(page, "personal_sign", ["0x68656c6c6f", holder.lower()])["result"]
    assert Account.recover_message(encode_defunct(b"hello"), signature=signed) == holder

    document = eip712.claim(31337, e2e_chain.record.gift_certificates, certificate=7,
                            recipient=holder)
    typed = rpc(page, "eth_signTypedData_v4", [holder, _json(document)])["result"]
    assert Account.recover_message(encode_typed_data(full_message=document),
                                   signature=typed) == holder

    wrong = eip712.claim(1, e2e_chain.record.gift_certificates, certificate=7, recipient=holder)
    refused = rpc(page, "eth_signTypedData_v4", [holder, _json(wrong)])
    assert "must match the active chainId" in refused["message"]
    other = rpc(page, "eth_sendTransaction", [{"from": stranger, "to": holder, "value": "0x1"}])
    assert other["code"] == 4100


def test_user_rejection_and_account_switch(dapp, e2e_chain):
    page, wallet = dapp(HOLDER)
    page.evaluate(DISCOVER)
    wallet.reject_next(page)
    refused = rpc(page, "eth_requestAccounts")
    assert refused["code"] == 4001 and refused["isError"]
    assert rpc(page, "eth_accounts") == {"result": []}
    assert rpc(page, "eth_requestAccounts")["result"] == [e2e_chain.address(HOLDER).lower()]
    wallet.switch_account(page, e2e_chain.address(FRIEND))
    friend = e2e_chain.address(FRIEND).lower()
    assert page.evaluate("window.seen")[-1] == ["accountsChanged", [friend]]
    assert rpc(page, "eth_accounts") == {"result": [friend]}
    assert [r.outcome for r in wallet.asked("eth_requestAccounts")] == ["rejected", "ok"]


def test_wrong_chain_refuses_to_send_until_the_chain_is_added(dapp, e2e_chain):
    page, wallet = dapp(HOLDER, chain_id=1, known_chains={1})
    page.evaluate(DISCOVER)
    holder = e2e_chain.address(HOLDER)
    rpc(page, "eth_requestAccounts")
    assert rpc(page, "eth_chainId") == {"result": "0x1"}
    assert rpc(page, "eth_sendTransaction", [{"from": holder, "to": holder}])["code"] == -32603
    assert rpc(page, "wallet_switchEthereumChain", [{"chainId": "0x7a69"}])["code"] == 4902
    added = rpc(page, "wallet_addEthereumChain", [{
        "chainId": "0x7a69", "chainName": "giftcert local", "rpcUrls": [e2e_chain.anvil.rpc_url],
        "nativeCurrency": {"name": "Ether", "symbol": "ETH", "decimals": 18}}])
    assert added == {"result": None}
    assert page.evaluate("window.seen")[-1] == ["chainChanged", "0x7a69"]
    assert page.evaluate("window.provider.chainId") == "0x7a69"
    assert wallet.sent == []


def _json(document):
    import json

    from giftcert.client import wallet_json

    return json.dumps(wallet_json(document))
