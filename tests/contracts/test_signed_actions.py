"""Signed holder actions (issue 16): transfer, split, merge and cash-out with the holder's EIP-712
signature, submitted by anyone. The submitter (a relayer, here `outsider`) pays the gas and can
change nothing: every field is signed, the signature is bound to chain, contract, signer and
purpose, and it works once (the certificate's nonce, shared with signed redemptions)."""

from __future__ import annotations

import pytest
from eth_account import Account
from harness import DAY, ETH, ONE_ETH, USD, YEAR

from giftcert.authorization import HALF_N, SECP256K1_N

ZERO = "0x" + "00" * 20


def _submit(h, kind: str, struct, signature, sender=None):
    function = {"transfer": "transferWithAuthorization", "split": "splitWithAuthorization",
                "merge": "mergeWithAuthorization",
                "cash-out": "cashOutWithAuthorization"}[kind]
    return h.tx(function, struct, signature, sender=sender or h.outsider)


def _signed(h, kind: str, cert: int, **fields):
    """A holder-signed action with the fields each kind needs by default."""
    defaults = {"transfer": {"to": h.friend}, "split": {"amount": 300, "to": h.friend},
                "merge": {}, "cash-out": {}}[kind]
    return h.sign_action(kind, h.holder, cert, **{**defaults, **fields})


# ---------------------------------------------------------------- each action works once


def test_a_relayer_submits_a_signed_transfer_and_the_holder_pays_nothing(h):
    cert = h.issue(amount=1000)
    struct, sig = _signed(h, "transfer", cert)
    holder_eth = h.eth_balance(h.holder)
    receipt = _submit(h, "transfer", struct, sig)
    assert h.cert(cert)["owner"] == h.friend
    assert h.view("nonceOf", cert) == 1
    assert h.eth_balance(h.holder) == holder_eth
    (moved,) = h.events("TransferSingle", receipt)
    assert moved["args"]["operator"] == h.outsider and moved["args"]["from"] == h.holder
    with h.reverts("WrongNonce", expected=1, given=0):  # the same signature again
        _submit(h, "transfer", struct, sig)


def test_a_signed_split_makes_the_new_certificate_and_moves_the_nonce(h):
    cert = h.issue(amount=1000)
    struct, sig = _signed(h, "split", cert, amount=400)
    receipt = _submit(h, "split", struct, sig)
    new_id = h.events("Split", receipt)[0]["args"]["newId"]
    assert h.balance(cert) == 600 and h.balance(new_id) == 400
    assert h.cert(new_id)["owner"] == h.friend and h.cert(cert)["owner"] == h.holder
    assert h.view("nonceOf", cert) == 1
    with h.reverts("WrongNonce"):
        _submit(h, "split", struct, sig)
    struct, sig = _signed(h, "split", cert, amount=601)
    with h.reverts("InsufficientBalance", balance=600, needed=601):
        _submit(h, "split", struct, sig)


def test_a_signed_merge_burns_the_source_once(h):
    a, b = h.issue(amount=100), h.issue(amount=250)
    struct, sig = _signed(h, "merge", a, into=b)
    _submit(h, "merge", struct, sig)
    assert h.balance(b) == 350 and h.view("balanceOf", h.holder, a) == 0
    with h.reverts("UnknownCertificate", id=a):
        _submit(h, "merge", struct, sig)


def test_a_signed_merge_into_someone_elses_certificate_is_refused(h):
    mine, theirs = h.issue(amount=100), h.issue(to=h.friend, amount=250)
    struct, sig = _signed(h, "merge", mine, into=theirs)
    with h.reverts("NotHolder", id=theirs):
        _submit(h, "merge", struct, sig)
    coffee, books = h.issue(amount=100), h.issue(amount=100, merchant=h.books)
    struct, sig = _signed(h, "merge", coffee, into=books)
    with h.reverts("IncompatibleCertificates"):
        _submit(h, "merge", struct, sig)
    assert h.balance(mine) == 100 and h.balance(theirs) == 250


def test_a_signed_cash_out_pays_the_holder_not_the_submitter(h):
    cert = h.issue(amount=ONE_ETH // 100)
    h.tx("setCashOutLimit", h.coffee, ETH, ONE_ETH, sender=h.coffee_account)
    struct, sig = _signed(h, "cash-out", cert)
    holder_eth, relayer_eth = h.eth_balance(h.holder), h.eth_balance(h.outsider)
    receipt = _submit(h, "cash-out", struct, sig)
    assert h.eth_balance(h.holder) == holder_eth + ONE_ETH // 100
    assert h.eth_balance(h.outsider) < relayer_eth  # the submitter only paid gas
    assert h.events("CashedOut", receipt)[0]["args"]["holder"] == h.holder
    with h.reverts("UnknownCertificate"):
        _submit(h, "cash-out", struct, sig)


def test_a_signed_cash_out_above_the_merchants_limit_is_refused(h):
    cert = h.issue(amount=5000)
    h.tx("setCashOutLimit", h.coffee, ETH, 4999, sender=h.coffee_account)
    struct, sig = _signed(h, "cash-out", cert)
    with h.reverts("CashOutNotAllowed", balance=5000, limit=4999):
        _submit(h, "cash-out", struct, sig)


def test_a_signed_cash_out_of_a_token_certificate_pays_the_token_to_the_holder(h):
    h.fund_usd(h.buyer, 10 * USD)
    cert = h.issue(amount=2 * USD, currency=h.usd_id)
    h.tx("setCashOutLimit", h.coffee, h.usd_id, 5 * USD, sender=h.coffee_account)
    before = h.view("balanceOf", h.holder, contract=h.usd)
    _submit(h, "cash-out", *_signed(h, "cash-out", cert))
    assert h.view("balanceOf", h.holder, contract=h.usd) == before + 2 * USD


# ---------------------------------------------------------------- the submitter changes nothing


@pytest.mark.parametrize("kind,field,value", [
    ("transfer", "to", "outsider"),
    ("split", "to", "outsider"),
    ("split", "amount", 999),
    ("merge", "into", "other"),
])
def test_a_submitter_that_changes_a_signed_field_is_refused(h, kind, field, value):
    cert = h.issue(amount=1000)
    other = h.issue(amount=5)
    struct, sig = _signed(h, kind, cert, **({"into": other} if kind == "merge" else {}))
    names = {"transfer": ["certificate", "to", "nonce", "deadline"],
             "split": ["certificate", "amount", "to", "nonce", "deadline"],
             "merge": ["from", "into", "nonce", "deadline"]}[kind]
    changed = list(struct)
    changed[names.index(field)] = {"outsider": h.outsider, "other": h.issue(amount=7)}.get(
        value, value)
    with h.reverts("InvalidSignature"):
        _submit(h, kind, tuple(changed), sig)
    assert h.balance(cert) == 1000 and h.cert(cert)["owner"] == h.holder


@pytest.mark.parametrize("kind", ["transfer", "split", "merge", "cash-out"])
def test_wrong_chain_wrong_contract_foreign_signer_and_expired_are_refused(h, kind):
    cert = h.issue(amount=1000)
    h.tx("setCashOutLimit", h.coffee, ETH, ONE_ETH, sender=h.coffee_account)
    extra = {"into": h.issue(amount=5)} if kind == "merge" else {}
    for bad in ({"chain_id": 1}, {"contract": h.usd.address},
                {"key": h.keys[h.friend]}, {"key": Account.create().key.hex()}):
        struct, sig = _signed(h, kind, cert, **extra, **bad)
        with h.reverts("InvalidSignature"):
            _submit(h, kind, struct, sig)
    struct, sig = _signed(h, kind, cert, **extra, deadline=h.now() - 1)
    with h.reverts("AuthorizationExpired"):
        _submit(h, kind, struct, sig)
    assert h.balance(cert) == 1000 and h.view("nonceOf", cert) == 0


def test_a_signature_for_one_action_is_not_a_signature_for_another(h):
    """Bound to purpose: the typehash differs, so a transfer signature cannot split."""
    cert = h.issue(amount=1000)
    _, transfer_sig = _signed(h, "transfer", cert)
    split_struct, _ = _signed(h, "split", cert)
    with h.reverts("InvalidSignature"):
        _submit(h, "split", split_struct, transfer_sig)


def test_the_high_s_twin_of_a_signature_is_refused(h):
    cert = h.issue(amount=1000)
    struct, sig = _signed(h, "transfer", cert)
    s = int.from_bytes(sig[32:64], "big")
    assert s <= HALF_N
    twin = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    with h.reverts("InvalidSignature"):
        _submit(h, "transfer", struct, twin)


def test_an_approved_operator_cannot_sign_for_the_holder(h):
    cert = h.issue(amount=1000)
    h.tx("setApprovalForAll", h.friend, True, sender=h.holder)
    struct, sig = h.sign_action("transfer", h.friend, cert, to=h.friend)
    with h.reverts("InvalidSignature"):
        _submit(h, "transfer", struct, sig)


# ---------------------------------------------------------------- one nonce for every signature


def test_a_signed_action_voids_the_holders_outstanding_payment_signature_and_back(h):
    cert = h.issue(amount=1000)
    auth, pay_sig = h.sign_redemption(h.holder, cert, 100, order_ref=1)
    _submit(h, "split", *_signed(h, "split", cert, amount=10))
    with h.reverts("WrongNonce"):
        h.tx("redeemWithAuthorization", auth, pay_sig, sender=h.coffee_account)
    struct, sig = _signed(h, "transfer", cert)
    auth, pay_sig = h.sign_redemption(h.holder, cert, 100, order_ref=2)
    h.tx("redeemWithAuthorization", auth, pay_sig, sender=h.coffee_account)
    with h.reverts("WrongNonce"):
        _submit(h, "transfer", struct, sig)


def test_nobody_but_the_holder_can_move_the_nonce(h):
    """A stranger cannot void a holder's signed action: only the holder's own actions move the
    nonce, and a stranger's signature moves nothing."""
    cert = h.issue(amount=1000)
    struct, sig = _signed(h, "transfer", cert)
    stranger = h.sign_action("split", h.outsider, cert, amount=1, to=h.outsider)
    with h.reverts("InvalidSignature"):
        _submit(h, "split", *stranger)
    _submit(h, "transfer", struct, sig)
    assert h.cert(cert)["owner"] == h.friend


# ---------------------------------------------------------------- the usual rules still hold


def test_signed_actions_keep_the_rules_of_their_holder_sent_twins(h):
    sealed = h.issue(amount=1000, valid_from=h.now() + 7 * DAY)
    with h.reverts("NotYetValid"):
        _submit(h, "transfer", *_signed(h, "transfer", sealed))
    with h.reverts("ERC1155InvalidReceiver"):
        _submit(h, "transfer", *_signed(h, "transfer", h.issue(amount=5), to=ZERO))
    with h.reverts("ERC1155InvalidReceiver"):  # a contract that takes no ERC-1155
        _submit(h, "transfer", *_signed(h, "transfer", h.issue(amount=5), to=h.usd.address))
    with h.reverts("ZeroAmount"):
        _submit(h, "split", *_signed(h, "split", h.issue(amount=5), amount=0))
    expiring = h.issue(amount=1000, validity=5 * YEAR + 2 * DAY)
    h.tx("setMinValidity", 0, sender=h.admin)
    struct, sig = h.sign_action("transfer", h.holder, expiring, to=h.friend,
                                deadline=h.now() + 10 * YEAR)
    h.warp(5 * YEAR + 3 * DAY)
    with h.reverts("Expired"):
        _submit(h, "transfer", struct, sig)


def test_signed_actions_stop_while_paused(h):
    cert, other = h.issue(amount=1000), h.issue(amount=5)
    h.tx("setCashOutLimit", h.coffee, ETH, ONE_ETH, sender=h.coffee_account)
    h.tx("pause", sender=h.admin)
    for kind in ("transfer", "split", "cash-out"):
        with h.reverts("EnforcedPause"):
            _submit(h, kind, *_signed(h, kind, cert))
    with h.reverts("EnforcedPause"):
        _submit(h, "merge", *_signed(h, "merge", cert, into=other))


def test_the_claim_key_of_an_unclaimed_gift_cannot_sign_it_away(h):
    """While a gift awaits its claim, its nonce field holds the claim day: a signature by the
    claim key with that nonce must still be refused (only a claim delivers it)."""
    key = Account.create()
    terms = h.terms()
    deadline = h.now() + 30 * DAY
    receipt = h.tx("issueClaimable", key.address, terms, 1000, deadline, "", sender=h.buyer,
                   value=1000)
    cert = h.issued_ids(receipt)[0]
    struct, sig = h.sign_action("transfer", key.address, cert, to=h.outsider, key=key.key.hex())
    with h.reverts("AwaitingClaim", id=cert):
        _submit(h, "transfer", struct, sig)


def test_a_contract_wallet_holder_signs_with_erc1271(h):
    owner = Account.create()
    wallet = h.deploy_helper("ERC1271Wallet", owner.address)
    h.keys[wallet.address] = owner.key.hex()
    cert = h.issue(to=wallet.address, amount=1000)
    struct, sig = h.sign_action("split", wallet.address, cert, amount=250, to=h.friend)
    _submit(h, "split", struct, sig)
    assert h.balance(cert) == 750
    struct, sig = h.sign_action("transfer", wallet.address, cert, to=h.friend,
                                key=Account.create().key.hex())
    with h.reverts("InvalidSignature"):
        _submit(h, "transfer", struct, sig)
