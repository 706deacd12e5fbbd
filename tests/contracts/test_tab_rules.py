"""Payment tabs (issue 17), one test per rule: the holder signs running totals off chain, only
the merchant settles the latest voucher of the current epoch, nothing else takes value while the
tab is open, and leaving gives the merchant time to collect."""

from __future__ import annotations

from eth_abi import encode
from eth_account import Account
from eth_utils import keccak
from harness import DAY, ETH, ONE_ETH, USD, YEAR, holdings, liabilities

ZERO = "0x" + "00" * 20
CLOSE_DELAY = 2 * DAY
GRACE = 7 * DAY
FLAG_TAB_OPEN = 4  # CertWord.FLAG_TAB_OPEN
# GiftCertStorage's ERC-7201 slot: `certs`, the layout's first field, is a mapping based there.
CERTS_SLOT = int("3e0f186b91510aaff27e81f4e2807e7d45010da0307dd256e0e6b713a75d6600", 16)


def _open(h, cert=None, sender=None, session_key=ZERO, **issue_kw):
    cert = cert or h.issue(amount=1000, **issue_kw)
    h.tx("openTab", cert, session_key, sender=sender or h.holder)
    return cert


def _tab(h, cert) -> dict:
    names = ["open", "epoch", "balance", "signer", "closeAt", "settleUntil"]
    return dict(zip(names, h.view("tab", cert), strict=True))


# ---------------------------------------------------------------- rule 1: opening


def test_the_holder_opens_a_tab_and_the_epoch_moves_on(h):
    cert = h.issue(amount=1000)
    auth, pay_sig = h.sign_redemption(h.holder, cert, 100, order_ref=1)  # made before the tab
    receipt = h.tx("openTab", cert, ZERO, sender=h.holder)
    assert h.events("TabOpened", receipt)[0]["args"]["epoch"] == 1
    tab = _tab(h, cert)
    assert tab["open"] and tab["epoch"] == 1 and tab["balance"] == 1000
    assert tab["signer"] == h.holder and tab["closeAt"] == 0
    assert tab["settleUntil"] == (cert >> 128 & (2**40 - 1)) + GRACE
    with h.reverts("TabOpen", id=cert):  # an older signature cannot take value any more
        h.tx("redeemWithAuthorization", auth, pay_sig, sender=h.coffee_account)


def test_only_the_holder_opens_and_only_one_tab_at_a_time(h):
    cert = h.issue(amount=1000)
    h.tx("setApprovalForAll", h.outsider, True, sender=h.holder)
    with h.reverts("NotHolder"):
        h.tx("openTab", cert, ZERO, sender=h.outsider)
    _open(h, cert)
    with h.reverts("TabOpen", id=cert):  # a second tab
        h.tx("openTab", cert, ZERO, sender=h.holder)


def test_a_claim_link_gift_cannot_open_a_tab_until_claimed(h):
    key = Account.create()
    receipt = h.tx("issueClaimable", key.address, h.terms(), 1000, h.now() + 30 * DAY, "",
                   sender=h.buyer, value=1000)
    cert = h.issued_ids(receipt)[0]
    h.w3.provider.make_request("anvil_setBalance", [key.address, hex(ONE_ETH)])
    h.w3.provider.make_request("anvil_impersonateAccount", [key.address])
    with h.reverts("AwaitingClaim", id=cert):
        h.tx("openTab", cert, ZERO, sender=key.address)
    h.tx("claim", cert, h.holder, h.sign_claim(key.key.hex(), cert, h.holder), sender=h.holder)
    _open(h, cert)
    assert _tab(h, cert)["open"]


def test_opening_is_paused_but_settling_is_not(h):
    cert = h.issue(amount=1000)
    other = _open(h)
    h.tx("pause", sender=h.admin)
    with h.reverts("EnforcedPause"):
        h.tx("openTab", cert, ZERO, sender=h.holder)
    h.settle_tabs(h.coffee, h.sign_voucher(h.holder, other, 300))
    assert h.balance(other) == 700 and h.owed(h.coffee) == 300


def _issue_with_tab(h, amount=1000, *, sender=None, session_key=ZERO, value=None,
                    message="For the tab", **terms_kw):
    """issueWithTab from `sender` (default the holder, buying for itself); the receipt."""
    terms = h.terms(**terms_kw)
    if value is None:
        value = amount if terms[1] == ETH else 0
    return h.tx("issueWithTab", terms, amount, message, session_key,
                sender=sender or h.holder, value=value)


def _event_names(h, receipt) -> list[str]:
    """The names of the escrow's events in a receipt, in log order."""
    names = {h.w3.keccak(text=f"{e['name']}({','.join(i['type'] for i in e['inputs'])})"): e["name"]
             for e in h.gc.abi if e.get("type") == "event"}
    return [names.get(bytes(log["topics"][0]), "?") for log in receipt["logs"]
            if log["address"] == h.gc.address]


def _word(h, cert) -> int:
    """The certificate's storage word (GiftCertStorage: certs is the layout's first field)."""
    slot = keccak(encode(["uint256", "uint256"], [cert, CERTS_SLOT]))
    return int.from_bytes(h.w3.eth.get_storage_at(h.gc.address, slot), "big")


def test_issue_with_tab_mints_the_buyer_a_certificate_with_the_tab_open_in_its_first_word(h):
    receipt = _issue_with_tab(h, 1000)
    (cert,) = h.issued_ids(receipt)
    # issue's events, then the tab's: the indexer reads both as it reads issue and openTab.
    assert _event_names(h, receipt) == ["TransferSingle", "Issued", "TabOpened"]
    assert h.events("Issued", receipt)[0]["args"]["message"] == "For the tab"
    opened = h.events("TabOpened", receipt)[0]["args"]
    assert (opened["id"], opened["epoch"], opened["sessionKey"]) == (cert, 1, ZERO)
    tab = _tab(h, cert)
    assert tab["open"] and tab["epoch"] == 1 and tab["balance"] == 1000
    assert tab["signer"] == h.holder and tab["closeAt"] == 0
    assert h.cert(cert)["owner"] == h.holder and h.view("nonceOf", cert) == 1
    # One word: the owner, the balance, epoch 1 and the tab flag, as openTab would leave it.
    assert _word(h, cert) == int(h.holder, 16) | 1000 << 160 | 1 << 232 | FLAG_TAB_OPEN << 248
    two_step = _open(h, h.issue(to=h.holder, amount=1000))
    assert _word(h, two_step) == _word(h, cert)
    assert holdings(h, ETH) == liabilities(h, ETH, [cert, two_step], [])


def test_a_tab_opened_at_issue_settles_and_keeps_its_value_in_place(h):
    (cert,) = h.issued_ids(_issue_with_tab(h, 1000))
    first = h.sign_voucher(h.holder, cert, 100)
    latest = h.sign_voucher(h.holder, cert, 250)
    h.settle_tabs(h.coffee, latest)
    assert h.balance(cert) == 750 and h.owed(h.coffee) == 250 and _tab(h, cert)["epoch"] == 2
    assert h.refusals(h.settle_tabs(h.coffee, first)) == [(0, "WrongEpoch")]
    h.tx("setCashOutLimit", h.coffee, ETH, ONE_ETH, sender=h.coffee_account)
    for name, args in [("safeTransferFrom", (h.holder, h.friend, cert, 1, b"")),
                       ("safeBatchTransferFrom", (h.holder, h.friend, [cert], [1], b"")),
                       ("split", (cert, 1, h.friend)), ("redeem", (cert, 1, 7)),
                       ("cashOut", (cert,))]:
        with h.reverts("TabOpen", id=cert):
            h.tx(name, *args, sender=h.holder)
    h.tx("topUp", cert, 50, sender=h.buyer, value=50)  # top-up stays allowed (rule 2)
    assert h.balance(cert) == 800 and h.cert(cert)["owner"] == h.holder


def test_issue_with_tab_pays_in_a_token_as_issue_does(h):
    h.fund_usd(h.holder, 10 * USD)
    before = h.view("balanceOf", h.holder, contract=h.usd)
    receipt = _issue_with_tab(h, 5 * USD, currency=h.usd_id)
    (cert,) = h.issued_ids(receipt)
    assert h.view("balanceOf", h.holder, contract=h.usd) == before - 5 * USD
    assert holdings(h, h.usd_id) == liabilities(h, h.usd_id, [cert], []) == 5 * USD
    h.settle_tabs(h.coffee, h.sign_voucher(h.holder, cert, 2 * USD))
    assert h.owed(h.coffee, h.usd_id) == 2 * USD and h.balance(cert) == 3 * USD
    with h.reverts("UnexpectedEth"):
        _issue_with_tab(h, USD, currency=h.usd_id, value=1)
    h.tx("setCurrencyAllowed", h.usd_id, False, sender=h.admin)
    with h.reverts("CurrencyNotAllowed"):
        _issue_with_tab(h, USD, currency=h.usd_id)


def test_issue_with_tab_takes_exactly_the_amount_in_eth(h):
    for value in (999, 1001, 0):
        with h.reverts("WrongPayment", sent=value, expected=1000):
            _issue_with_tab(h, 1000, value=value)
    (cert,) = h.issued_ids(_issue_with_tab(h, 1000))
    assert h.eth_balance(h.gc.address) == 1000 == h.balance(cert)


def test_issue_with_tab_keeps_the_issue_rules_and_the_pause(h):
    with h.reverts("ZeroAmount"):
        _issue_with_tab(h, 0)
    with h.reverts("UnknownMerchant"):
        _issue_with_tab(h, 10, merchant=99)
    with h.reverts("ValidityTooShort"):
        _issue_with_tab(h, 10, validity=YEAR)
    with h.reverts("NotYetValid"):  # as openTab: no tab before the certificate opens
        _issue_with_tab(h, 10, valid_from=h.now() + DAY)
    terms = h.terms()
    h.tx("issueWithTab", terms, 10, "", ZERO, sender=h.holder, value=10)
    with h.reverts("CertificateExists"):
        h.tx("issueWithTab", terms, 10, "", ZERO, sender=h.holder, value=10)
    h.tx("setMerchantActive", h.coffee, False, sender=h.admin)
    with h.reverts("MerchantInactive"):
        _issue_with_tab(h, 10)
    h.tx("setMerchantActive", h.coffee, True, sender=h.admin)
    h.tx("pause", sender=h.admin)
    with h.reverts("EnforcedPause"):
        _issue_with_tab(h, 10)
    h.tx("unpause", sender=h.admin)
    assert h.issued_ids(_issue_with_tab(h, 10))


def test_a_session_key_given_at_issue_signs_the_vouchers(h):
    session = Account.create()
    receipt = _issue_with_tab(h, 1000, session_key=session.address)
    (cert,) = h.issued_ids(receipt)
    assert h.events("TabOpened", receipt)[0]["args"]["sessionKey"] == session.address
    assert _tab(h, cert)["signer"] == session.address
    by_owner = h.sign_voucher(h.holder, cert, 10)
    by_session = h.sign_voucher(h.holder, cert, 20, key=session.key.hex())
    assert h.refusals(h.settle_tabs(h.coffee, by_owner, by_session)) == [(0, "InvalidSignature")]
    assert h.balance(cert) == 980


def test_a_contract_wallet_buys_itself_a_tab_with_its_session_key_in_one_call(h):
    owner, session = Account.create(), Account.create()
    wallet = h.deploy_helper("ERC1271Wallet", owner.address)
    h.w3.provider.make_request("anvil_setBalance", [owner.address, hex(ONE_ETH)])
    h.w3.provider.make_request("anvil_impersonateAccount", [owner.address])
    call = h.gc.functions.issueWithTab(h.terms(), 1000, "", session.address)
    receipt = h.tx("execute", h.gc.address, 1000, call._encode_transaction_data(),
                   sender=owner.address, contract=wallet, value=1000)
    (cert,) = h.issued_ids(receipt)
    assert h.cert(cert)["owner"] == wallet.address and _tab(h, cert)["signer"] == session.address
    assert h.view("isBuyer", cert, wallet.address)  # a contract buyer, recorded as issue does
    h.settle_tabs(h.coffee, h.sign_voucher(wallet.address, cert, 30, key=session.key.hex()))
    assert h.balance(cert) == 970


def test_a_tab_opened_at_issue_is_only_ever_the_buyers_own(h):
    # There is no recipient: a giver who names its own session key gets the certificate itself
    # and cannot pass it on while the tab is open; closing deletes the key and moves the epoch.
    fn = next(e for e in h.gc.abi if e.get("name") == "issueWithTab")
    assert [i["name"] for i in fn["inputs"]] == ["terms", "amount", "message", "sessionKey"]
    giver_key = Account.create()
    (cert,) = h.issued_ids(_issue_with_tab(h, 1000, sender=h.buyer,
                                           session_key=giver_key.address))
    assert h.cert(cert)["owner"] == h.buyer and h.view("balanceOf", h.friend, cert) == 0
    with h.reverts("TabOpen", id=cert):
        h.tx("safeTransferFrom", h.buyer, h.friend, cert, 1, b"", sender=h.buyer)
    voucher = h.sign_voucher(h.buyer, cert, 100, key=giver_key.key.hex())
    h.tx("closeTab", cert, sender=h.coffee_account)
    h.tx("safeTransferFrom", h.buyer, h.friend, cert, 1, b"", sender=h.buyer)
    assert h.cert(cert)["owner"] == h.friend and not _tab(h, cert)["open"]
    assert _tab(h, cert)["signer"] == h.friend  # the giver's key signs nothing any more
    assert h.refusals(h.settle_tabs(h.coffee, voucher)) == [(0, "TabNotOpen")]
    assert h.balance(cert) == 1000


# ---------------------------------------------------------------- rule 2: nothing else out


def test_while_a_tab_is_open_no_other_way_takes_value(h):
    cert = _open(h)
    h.tx("setCashOutLimit", h.coffee, ETH, ONE_ETH, sender=h.coffee_account)
    other = h.issue(amount=50)
    attempts = [
        ("safeTransferFrom", (h.holder, h.friend, cert, 1, b""), h.holder),
        ("safeBatchTransferFrom", (h.holder, h.friend, [cert], [1], b""), h.holder),
        ("split", (cert, 1, h.friend), h.holder),
        ("merge", (cert, other), h.holder),
        ("cashOut", (cert,), h.holder),
        ("redeem", (cert, 1, 7), h.holder),
        ("void", (cert,), h.coffee_account),
        ("transferWithAuthorization", h.sign_action("transfer", h.holder, cert, to=h.friend),
         h.outsider),
        ("splitWithAuthorization",
         h.sign_action("split", h.holder, cert, amount=1, to=h.friend), h.outsider),
        ("cashOutWithAuthorization", h.sign_action("cash-out", h.holder, cert), h.outsider),
        ("redeemWithAuthorization", h.sign_redemption(h.holder, cert, 1, order_ref=8),
         h.coffee_account),
    ]
    for name, args, sender in attempts:
        with h.reverts("TabOpen", id=cert):
            h.tx(name, *args, sender=sender)
    assert h.balance(cert) == 1000 and h.cert(cert)["owner"] == h.holder


def test_top_up_and_merge_in_stay_allowed(h):
    cert = _open(h)
    h.tx("topUp", cert, 500, sender=h.buyer, value=500)
    # Expiring a day before the tab's certificate, so the merge is compatible whatever second
    # each issue lands in (merging into an earlier expiry is refused).
    extra = h.issue(amount=250, validity=5 * YEAR + 29 * DAY)
    h.tx("merge", extra, cert, sender=h.holder)
    assert h.balance(cert) == 1750


# ---------------------------------------------------------------- rules 3 and 4: vouchers


def test_the_merchant_settles_the_latest_voucher_and_every_older_one_dies(h):
    cert = _open(h)
    first = h.sign_voucher(h.holder, cert, 100)
    latest = h.sign_voucher(h.holder, cert, 350)
    receipt = h.settle_tabs(h.coffee, latest)
    assert h.events("TabSettled", receipt)[0]["args"]["amount"] == 350
    assert h.balance(cert) == 650 and h.owed(h.coffee) == 350
    assert _tab(h, cert)["epoch"] == 2
    receipt = h.settle_tabs(h.coffee, first, latest)
    assert h.refusals(receipt) == [(0, "WrongEpoch"), (1, "WrongEpoch")]
    assert h.balance(cert) == 650


def test_only_the_merchant_settles(h):
    cert = _open(h)
    voucher = h.sign_voucher(h.holder, cert, 100)
    for outsider in (h.holder, h.outsider, h.books_account):
        with h.reverts("NotMerchant"):
            h.settle_tabs(h.coffee, voucher, sender=outsider)
    receipt = h.settle_tabs(h.books, voucher)  # another merchant's batch
    assert h.refusals(receipt) == [(0, "WrongMerchant")]
    assert h.balance(cert) == 1000


def test_a_voucher_above_the_balance_or_badly_signed_is_refused_and_the_rest_settle(h):
    a, b, c = _open(h), _open(h), _open(h)
    receipt = h.settle_tabs(
        h.coffee,
        h.sign_voucher(h.holder, a, 1001),
        h.sign_voucher(h.friend, b, 10),  # not the holder's key
        h.sign_voucher(h.holder, c, 10, chain_id=1),
        h.sign_voucher(h.holder, b, 0),
        h.sign_voucher(h.holder, c, 999),
    )
    assert h.refusals(receipt) == [(0, "InsufficientBalance"), (1, "InvalidSignature"),
                                   (2, "InvalidSignature"), (3, "ZeroAmount")]
    assert (h.balance(a), h.balance(b), h.balance(c)) == (1000, 1000, 1)
    assert h.owed(h.coffee) == 999


def test_a_voucher_for_a_certificate_without_a_tab_is_refused(h):
    cert = h.issue(amount=1000)
    receipt = h.settle_tabs(h.coffee, h.sign_voucher(h.holder, cert, 10))
    assert h.refusals(receipt) == [(0, "TabNotOpen")]


def test_a_contract_wallet_signs_vouchers_with_its_session_key(h):
    owner, session = Account.create(), Account.create()
    wallet = h.deploy_helper("ERC1271Wallet", owner.address)
    cert = h.issue(to=wallet.address, amount=1000)
    h.w3.provider.make_request("anvil_setBalance", [owner.address, hex(ONE_ETH)])
    call = h.gc.functions.openTab(cert, session.address)._encode_transaction_data()
    h.w3.provider.make_request("anvil_impersonateAccount", [owner.address])
    h.tx("execute", h.gc.address, 0, call, sender=owner.address, contract=wallet)
    assert _tab(h, cert)["signer"] == session.address
    by_owner = h.sign_voucher(wallet.address, cert, 10, key=owner.key.hex())  # ERC-1271 is not
    by_session = h.sign_voucher(wallet.address, cert, 20, key=session.key.hex())
    receipt = h.settle_tabs(h.coffee, by_owner, by_session)
    assert h.refusals(receipt) == [(0, "InvalidSignature")]
    assert h.balance(cert) == 980


def test_token_and_eth_tabs_settle_in_one_batch(h):
    h.fund_usd(h.buyer, 10 * USD)
    usd = _open(h, h.issue(amount=5 * USD, currency=h.usd_id))
    eth = _open(h)
    h.settle_tabs(h.coffee, h.sign_voucher(h.holder, usd, 2 * USD),
                  h.sign_voucher(h.holder, eth, 400))
    assert h.owed(h.coffee, h.usd_id) == 2 * USD and h.owed(h.coffee) == 400


# ---------------------------------------------------------------- rule 5: leaving


def test_the_holder_leaves_after_the_delay_the_merchant_uses_to_settle(h):
    cert = _open(h)
    voucher = h.sign_voucher(h.holder, cert, 300)
    with h.reverts("TabCloseNotRequested"):
        h.tx("closeTab", cert, sender=h.holder)
    with h.reverts("NotHolder"):
        h.tx("requestTabClose", cert, sender=h.outsider)
    receipt = h.tx("requestTabClose", cert, sender=h.holder)
    close_at = h.events("TabCloseRequested", receipt)[0]["args"]["closeAt"]
    assert close_at == h.now() + CLOSE_DELAY and _tab(h, cert)["closeAt"] == close_at
    with h.reverts("TabCloseAlreadyRequested"):
        h.tx("requestTabClose", cert, sender=h.holder)
    with h.reverts("TabCloseDelay", closeAt=close_at):
        h.tx("closeTab", cert, sender=h.holder)
    h.warp(DAY)
    h.settle_tabs(h.coffee, voucher)  # the merchant collects within the delay
    h.warp(DAY)
    h.tx("closeTab", cert, sender=h.holder)
    assert not _tab(h, cert)["open"] and h.balance(cert) == 700
    h.tx("safeTransferFrom", h.holder, h.friend, cert, 1, b"", sender=h.holder)  # free again


def test_the_merchant_closes_at_once_by_sending_or_by_signing_a_release(h):
    a, b = _open(h), _open(h)
    stale = h.sign_voucher(h.holder, a, 10)
    with h.reverts("NotHolder"):
        h.tx("closeTab", a, sender=h.outsider)
    h.tx("closeTab", a, sender=h.coffee_account)
    assert not _tab(h, a)["open"]
    receipt = h.settle_tabs(h.coffee, stale)  # no voucher outlives its tab
    assert h.refusals(receipt) == [(0, "TabNotOpen")]
    from giftcert import eip712
    epoch = _tab(h, b)["epoch"]
    release = eip712.tab_release(h.w3.eth.chain_id, h.gc.address, certificate=b, epoch=epoch)
    forged = eip712.sign_typed_data(h.keys[h.holder], release)
    with h.reverts("InvalidSignature"):
        h.tx("closeTabWithRelease", b, forged, sender=h.holder)
    signed = eip712.sign_typed_data(h.keys[h.coffee_account], release)
    h.tx("closeTabWithRelease", b, signed, sender=h.holder)
    assert not _tab(h, b)["open"]


# ---------------------------------------------------------------- rule 6: expiry and grace


def test_settling_lasts_a_grace_period_after_expiry_and_the_refund_waits_for_it(h):
    h.tx("setMinValidity", 0, sender=h.admin)
    cert = _open(h, validity=30 * DAY)
    expiry = cert >> 128 & (2**40 - 1)
    voucher = h.sign_voucher(h.holder, cert, 250)
    h.warp(30 * DAY + 1)
    with h.reverts("TabSettling", settleUntil=expiry + GRACE):
        h.tx("refund", cert, h.buyer, sender=h.buyer)
    h.settle_tabs(h.coffee, voucher)
    late = h.sign_voucher(h.holder, cert, 100)
    h.warp(GRACE)
    assert h.refusals(h.settle_tabs(h.coffee, late)) == [(0, "TabSettleEnded")]
    before = h.eth_balance(h.buyer)
    h.tx("refund", cert, h.buyer, sender=h.outsider)
    assert h.eth_balance(h.buyer) == before + 750


def test_a_pause_cannot_run_the_close_delay_out_while_settling_is_blocked(h):
    """Settling is never paused, so a pause over the whole close delay still lets the merchant
    collect inside it."""
    cert = _open(h)
    voucher = h.sign_voucher(h.holder, cert, 400)
    h.tx("requestTabClose", cert, sender=h.holder)
    h.tx("pause", sender=h.admin)
    h.warp(CLOSE_DELAY - 60)
    h.settle_tabs(h.coffee, voucher)
    assert h.balance(cert) == 600


# ---------------------------------------------------------------- the last epochs


def _set_nonce(h, cert, nonce):
    """Writes the certificate word's nonce field directly (65,000 settles would take hours)."""
    from eth_utils import keccak
    inner = int.from_bytes(keccak(text="giftcert.storage.GiftCertificates"), "big") - 1
    base = int.from_bytes(keccak(inner.to_bytes(32, "big")), "big") & ~0xFF
    slot = keccak(cert.to_bytes(32, "big") + base.to_bytes(32, "big"))
    word = int(h.w3.eth.get_storage_at(h.gc.address, slot).hex(), 16)
    word = (word & ~(0xFFFF << 232)) | (nonce << 232)
    h.w3.provider.make_request("anvil_setStorageAt", [h.gc.address, "0x" + slot.hex(),
                                                      "0x" + word.to_bytes(32, "big").hex()])
    assert h.view("nonceOf", cert) == nonce


def test_a_tab_is_never_opened_without_an_epoch_it_can_settle_in(h):
    cert = h.issue(amount=1000)
    _set_nonce(h, cert, 0xFFFE)
    with h.reverts("NonceExhausted", id=cert):  # it would open at the last nonce
        h.tx("openTab", cert, ZERO, sender=h.holder)
    _set_nonce(h, cert, 0xFFFD)
    _open(h, cert)
    h.settle_tabs(h.coffee, h.sign_voucher(h.holder, cert, 100))  # epoch 0xFFFE -> 0xFFFF
    receipt = h.settle_tabs(h.coffee, h.sign_voucher(h.holder, cert, 100))
    assert h.refusals(receipt) == [(0, "NonceExhausted")]
    h.tx("closeTab", cert, sender=h.coffee_account)  # it still closes, at the last nonce
    assert not _tab(h, cert)["open"] and h.balance(cert) == 900


# ---------------------------------------------------------------- a holder without gas


def test_a_holder_without_gas_opens_asks_to_close_and_closes_by_signature(h):
    holder = Account.create()
    h.keys[holder.address] = holder.key.hex()
    cert = h.issue(to=holder.address, amount=1000)
    opening = h.sign_action("open-tab", holder.address, cert, sessionKey=ZERO)
    with h.reverts("InvalidSignature"):  # someone else's signature opens nothing
        h.tx("openTabWithAuthorization",
             *h.sign_action("open-tab", h.friend, cert, sessionKey=ZERO), sender=h.outsider)
    h.tx("openTabWithAuthorization", *opening, sender=h.outsider)
    assert _tab(h, cert)["open"] and _tab(h, cert)["epoch"] == 1
    with h.reverts("WrongNonce", expected=1, given=0):  # replayed: opening moved the nonce on
        h.tx("openTabWithAuthorization", *opening, sender=h.outsider)
    h.settle_tabs(h.coffee, h.sign_voucher(holder.address, cert, 120))
    closing = h.sign_action("close-tab", holder.address, cert)
    with h.reverts("TabCloseNotRequested"):
        h.tx("closeTabWithAuthorization", *closing, sender=h.outsider)
    asking = h.sign_action("request-tab-close", holder.address, cert)
    h.tx("requestTabCloseWithAuthorization", *asking, sender=h.outsider)
    with h.reverts("TabCloseAlreadyRequested"):
        h.tx("requestTabCloseWithAuthorization", *asking, sender=h.outsider)
    with h.reverts("TabCloseDelay"):
        h.tx("closeTabWithAuthorization", *closing, sender=h.outsider)
    h.warp(CLOSE_DELAY)
    closing = h.sign_action("close-tab", holder.address, cert)  # the first one has expired
    h.tx("closeTabWithAuthorization", *closing, sender=h.outsider)
    assert not _tab(h, cert)["open"] and h.balance(cert) == 880
    assert h.eth_balance(holder.address) == 0


def test_a_signed_tab_action_is_bound_to_its_purpose_and_epoch(h):
    cert = _open(h)
    h.tx("requestTabClose", cert, sender=h.holder)
    h.warp(CLOSE_DELAY)
    asking = h.sign_action("request-tab-close", h.holder, cert)
    with h.reverts("InvalidSignature"):  # a RequestTabClose signature does not close
        h.tx("closeTabWithAuthorization", *asking, sender=h.outsider)
    stale = h.sign_action("close-tab", h.holder, cert, nonce=0)
    with h.reverts("WrongNonce"):
        h.tx("closeTabWithAuthorization", *stale, sender=h.outsider)
    late = h.sign_action("close-tab", h.holder, cert, deadline=h.now() - 1)
    with h.reverts("AuthorizationExpired"):
        h.tx("closeTabWithAuthorization", *late, sender=h.outsider)
