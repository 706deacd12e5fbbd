"""What runs where: the escrow's own dispatcher holds only the hot paths (and the refund); the
rare value paths run in the admin module by delegatecall, on the escrow's storage, balance and
transient storage. Called directly, the module runs on its own empty storage and moves nothing.
A payee that calls back while any payout runs, escrow code or module code, is refused by one
reentrancy flag: the escrow's.
"""

from __future__ import annotations

import pytest
from eth_utils import function_abi_to_4byte_selector
from harness import ETH, ONE_ETH, YEAR, holdings, liabilities
from web3.exceptions import ContractLogicError

HOT_PATHS = {"issue", "issueBatch", "issueClaimable", "topUp", "claim", "split", "merge",
             "redeem", "redeemWithAuthorization", "settleBatch", "safeTransferFrom", "refund",
             "transferWithAuthorization", "splitWithAuthorization", "mergeWithAuthorization",
             "cashOutWithAuthorization", "settleTabs"}
MOVED = {"void", "cashOut", "reclaim", "withdrawMerchant", "withdrawDeferred",
         "safeBatchTransferFrom", "supportsInterface", "adminModule"}


def _functions(abi) -> set[str]:
    return {e["name"] for e in abi if e.get("type") == "function"}


def _module(h):
    """The admin module at its own address, with its own ABI."""
    return h.w3.eth.contract(address=h.view("adminModule"),
                             abi=h.artifacts["GiftCertificatesAdmin"].abi)


def test_the_escrow_dispatches_only_the_hot_paths_and_the_refund(h):
    merged = _functions(h.artifacts["GiftCertificates"].abi)
    module = _functions(h.artifacts["GiftCertificatesAdmin"].abi)
    assert merged - module == HOT_PATHS
    assert MOVED <= module and not MOVED & HOT_PATHS
    # adminModule answers the module's own address at both addresses (it is the module's code).
    assert h.view("adminModule") == _module(h).functions.adminModule().call()
    assert len(h.w3.eth.get_code(h.view("adminModule"))) > 0


def test_the_module_called_directly_runs_on_its_own_empty_storage_and_moves_nothing(h):
    cert = h.issue(amount=ONE_ETH // 10)
    h.tx("redeem", cert, ONE_ETH // 100, 1, sender=h.holder)  # the merchant is owed something
    h.tx("setCashOutLimit", h.coffee, ETH, ONE_ETH, sender=h.coffee_account)
    module = _module(h)
    before = (h.eth_balance(h.gc.address), h.view("ownerOf", cert), h.balance(cert),
              h.owed(h.coffee))
    refused = [
        ("void", (cert,), h.coffee_account, "UnknownCertificate"),
        ("cashOut", (cert,), h.holder, "UnknownCertificate"),
        ("reclaim", (cert,), h.buyer, "UnknownCertificate"),
        ("withdrawMerchant", (h.coffee, ETH), h.coffee_account, "UnknownMerchant"),
        ("withdrawDeferred", (ETH,), h.holder, "NothingToWithdraw"),
        ("safeBatchTransferFrom", (h.holder, h.friend, [cert], [1], b""), h.holder,
         "ERC1155InsufficientBalance"),
        ("registerMerchant", (h.outsider, "Impostor"), h.admin,
         "AccessControlUnauthorizedAccount"),
        ("pause", (), h.admin, "AccessControlUnauthorizedAccount"),
        ("initialize", (h.outsider,), h.outsider, "AlreadyInitialized"),
    ]
    for name, args, sender, error in refused:
        with h.reverts(error):
            h.tx(name, *args, sender=sender, contract=module)
    # Its one payable function issues nothing there: no merchant can be registered in its storage.
    with h.reverts("UnknownMerchant"):
        h.tx("issueWithTab", h.terms(), 1000, "", h.holder, sender=h.buyer, value=1000,
             contract=module)
    # Its own storage knows no certificate, merchant or role; it holds nothing and takes nothing.
    assert module.functions.ownerOf(cert).call() == "0x" + "00" * 20
    assert module.functions.merchantCount().call() == 0
    assert h.eth_balance(module.address) == 0
    with pytest.raises(ContractLogicError):  # no receive: ETH cannot get in
        h.w3.eth.call({"from": h.buyer, "to": module.address, "value": 1})
    # The escrow, where the value is, did not move.
    assert (h.eth_balance(h.gc.address), h.view("ownerOf", cert), h.balance(cert),
            h.owed(h.coffee)) == before
    assert holdings(h, ETH) == liabilities(h, ETH, [cert], [h.holder])


def test_the_escrows_payable_fallback_takes_value_only_for_issue_with_tab(h):
    # The fallback forwards the value for the module's one payable function; every other module
    # function refuses a value itself, and plain ETH (no function at all) is refused too.
    cert = h.issue(amount=1000)
    with pytest.raises(ContractLogicError):
        h.w3.eth.call({"from": h.buyer, "to": h.gc.address, "value": 1})
    for fn, args in [("openTab", (cert, h.holder)), ("pause", ()), ("setApprovalForAll",
                                                                    (h.friend, True))]:
        data = getattr(h.gc.functions, fn)(*args)._encode_transaction_data()
        with pytest.raises(ContractLogicError):
            h.w3.eth.call({"from": h.holder, "to": h.gc.address, "value": 1, "data": data})
    receipt = h.tx("issueWithTab", h.terms(), 700, "", "0x" + "00" * 20, sender=h.holder,
                   value=700)
    (tab_cert,) = h.issued_ids(receipt)
    assert h.eth_balance(h.gc.address) == 1700 and h.eth_balance(h.view("adminModule")) == 0
    assert holdings(h, ETH) == liabilities(h, ETH, [cert, tab_cert], [])


def _reentry(h, payee) -> tuple[bool, bool, str | None]:
    """Whether the payee called back, whether that call succeeded, and its error's name."""
    selector = h.view("reentryError", contract=payee)
    names = {function_abi_to_4byte_selector(e): e["name"] for e in h.gc.abi
             if e.get("type") == "error"}
    return (h.view("reentered", contract=payee), h.view("reentrySucceeded", contract=payee),
            names.get(selector))


@pytest.mark.parametrize("reentry", ["withdrawDeferred", "void", "cashOut", "refund"])
def test_a_payout_of_module_code_refuses_reentry_into_any_guarded_path(h, reentry):
    payee = h.deploy_helper("ReentrantPayee")
    cert = h.issue(to=payee.address, amount=5000)
    other = h.issue(amount=5000)
    args = {"withdrawDeferred": (ETH,), "void": (other,), "cashOut": (other,),
            "refund": (other, h.buyer)}[reentry]
    data = getattr(h.gc.functions, reentry)(*args)._encode_transaction_data()
    h.tx("arm", h.gc.address, data, sender=h.admin, contract=payee)
    receipt = h.tx("void", cert, sender=h.coffee_account)  # module code pays the holder
    assert _reentry(h, payee) == (True, False, "ReentrancyGuardReentrantCall")
    # The payment itself landed (the payee accepted it after its call back failed).
    assert not h.events("PaymentDeferred", receipt) and h.eth_balance(payee.address) == 5000
    assert holdings(h, ETH) == liabilities(h, ETH, [cert, other], [payee.address])


def test_a_refund_of_escrow_code_refuses_reentry_into_module_code(h):
    # The escrow's own refund sets the flag; the module's withdrawDeferred, entered through a
    # fresh call to the escrow and its fallback's delegatecall, reads it: one flag, the escrow's.
    payee = h.deploy_helper("ReentrantPayee")
    issue = h.gc.functions.issue(h.holder, h.terms(), 5000, "")._encode_transaction_data()
    receipt = h.tx("execute", h.gc.address, 5000, issue, sender=h.admin, contract=payee,
                   value=5000)
    cert = h.issued_ids(receipt)[0]
    h.warp(6 * YEAR)
    data = h.gc.functions.withdrawDeferred(ETH)._encode_transaction_data()
    h.tx("arm", h.gc.address, data, sender=h.admin, contract=payee)
    h.tx("refund", cert, payee.address, sender=h.outsider)
    assert _reentry(h, payee) == (True, False, "ReentrancyGuardReentrantCall")
    assert h.eth_balance(payee.address) == 5000 and h.view("deferredOf", payee.address, ETH) == 0


def test_a_payee_that_calls_a_hot_path_back_finds_the_state_already_written(h):
    # Hot paths take no guard: they write every word before any call out, so a payee that
    # calls back sees its voided certificate gone (checks-effects-interactions).
    payee = h.deploy_helper("ReentrantPayee")
    cert = h.issue(to=payee.address, amount=5000)
    data = h.gc.functions.redeem(cert, 1, 0)._encode_transaction_data()
    h.tx("arm", h.gc.address, data, sender=h.admin, contract=payee)
    h.tx("void", cert, sender=h.coffee_account)
    assert _reentry(h, payee) == (True, False, "UnknownCertificate")
    assert h.eth_balance(payee.address) == 5000 and h.owed(h.coffee) == 0


def test_module_paths_through_the_escrow_still_move_the_escrows_value(h):
    # The same calls that moved nothing at the module's address move value at the escrow's.
    cert = h.issue(amount=ONE_ETH // 10)
    h.tx("redeem", cert, ONE_ETH // 100, 1, sender=h.holder)
    before = h.eth_balance(h.coffee_account)
    receipt = h.tx("withdrawMerchant", h.coffee, ETH, sender=h.coffee_account)
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert h.eth_balance(h.coffee_account) == before + ONE_ETH // 100 - fee
    holder_before = h.eth_balance(h.holder)
    h.tx("void", cert, sender=h.coffee_account)
    assert h.eth_balance(h.holder) == holder_before + ONE_ETH // 10 - ONE_ETH // 100
    assert h.eth_balance(h.gc.address) == 0 and h.eth_balance(h.view("adminModule")) == 0
