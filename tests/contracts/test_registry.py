"""Item 1 (merchant registry with roles) and item 2 (currency allow-list, exact amounts)."""

from harness import ETH, USD


def test_registrar_registers_merchant_and_event_names_it(h):
    receipt = h.tx("registerMerchant", h.outsider, "Night Market", sender=h.admin)
    event = h.events("MerchantRegistered", receipt)[0]["args"]
    assert (
        event["merchant"] == 3
        and event["account"] == h.outsider
        and event["name"] == "Night Market"
    )
    assert h.view("merchant", 3) == [h.outsider, "Night Market", True]
    assert h.view("merchantCount") == 3


def test_only_registrar_registers(h):
    with h.reverts("AccessControlUnauthorizedAccount", account=h.outsider):
        h.tx("registerMerchant", h.outsider, "Rogue", sender=h.outsider)


def test_granted_registrar_can_register_and_pauser_role_is_separate(h):
    registrar = h.view("REGISTRAR_ROLE")
    pauser = h.view("PAUSER_ROLE")
    h.tx("grantRole", registrar, h.friend, sender=h.admin)
    h.tx("registerMerchant", h.friend, "Friend's Bakery", sender=h.friend)
    with h.reverts("AccessControlUnauthorizedAccount", neededRole=pauser):
        h.tx("pause", sender=h.friend)


def test_inactive_merchant_cannot_redeem_or_be_issued(h):
    cert = h.issue(amount=1000)
    h.tx("setMerchantActive", h.coffee, False, sender=h.admin)
    with h.reverts("MerchantInactive", merchant=h.coffee):
        h.tx("redeem", cert, 10, 1, sender=h.holder)
    with h.reverts("MerchantInactive", merchant=h.coffee):
        h.issue(amount=1000)
    auth, sig = h.sign_redemption(h.holder, cert, 10, order_ref=2)
    with h.reverts("MerchantInactive", merchant=h.coffee):
        h.tx("redeemWithAuthorization", auth, sig, sender=h.coffee_account)
    with h.reverts("MerchantInactive", merchant=h.coffee):
        h.tx("settleBatch", h.coffee, [auth], [sig], False, sender=h.coffee_account)
    h.tx("setMerchantActive", h.coffee, True, sender=h.admin)
    h.tx("redeem", cert, 10, 1, sender=h.holder)
    assert h.balance(cert) == 990


def test_merchant_can_move_its_account_but_outsider_cannot(h):
    with h.reverts("NotMerchant"):
        h.tx("setMerchantAccount", h.coffee, h.outsider, sender=h.outsider)
    h.tx("setMerchantAccount", h.coffee, h.friend, sender=h.coffee_account)
    assert h.view("merchant", h.coffee)[0] == h.friend


def test_unknown_merchant_rejected(h):
    with h.reverts("UnknownMerchant", merchant=99):
        h.issue(merchant=99)


def test_erc20_issue_is_exact_to_the_unit(h):
    h.fund_usd(h.buyer, 100 * USD)
    cert = h.issue(amount=12_345_678, currency=h.usd_id)  # 12.345678 tUSD
    assert h.balance(cert) == 12_345_678
    assert h.view("balanceOf", h.gc.address, contract=h.usd) == 12_345_678
    assert h.view("balanceOf", h.buyer, contract=h.usd) == 100 * USD - 12_345_678


def test_currency_not_allow_listed_rejected_and_suspension_works(h):
    with h.reverts("CurrencyNotAllowed", currency=7):
        h.issue(currency=7, amount=5)
    h.fund_usd(h.buyer, 10 * USD)
    h.tx("setCurrencyAllowed", h.usd_id, False, sender=h.admin)
    with h.reverts("CurrencyNotAllowed", currency=h.usd_id):
        h.issue(currency=h.usd_id, amount=USD)
    assert h.view("currency", h.usd_id) == [h.usd.address, False]


def test_only_admin_allow_lists(h):
    with h.reverts("AccessControlUnauthorizedAccount"):
        h.tx("allowCurrency", h.usd.address, sender=h.outsider)


def test_a_token_is_listed_once(h):
    count = h.view("currencyCount")
    with h.reverts("CurrencyAlreadyListed", currency=h.usd_id, token=h.usd.address):
        h.tx("allowCurrency", h.usd.address, sender=h.admin)
    assert h.view("currencyCount") == count
    h.tx("setCurrencyAllowed", h.usd_id, False, sender=h.admin)
    with h.reverts("CurrencyAlreadyListed"):  # suspended is still listed: restore it instead
        h.tx("allowCurrency", h.usd.address, sender=h.admin)


def test_fee_on_transfer_token_rejected(h):
    fee = h.deploy_helper("FeeToken")
    h.tx("allowCurrency", fee.address, sender=h.admin)
    h.tx("mint", h.buyer, 10**20, sender=h.buyer, contract=fee)
    h.tx("approve", h.gc.address, 10**20, sender=h.buyer, contract=fee)
    with h.reverts("TokenAmountMismatch", received=990, expected=1000):
        h.issue(currency=2, amount=1000)


def test_eth_payment_must_match_amount(h):
    with h.reverts("WrongPayment", sent=5, expected=10):
        h.tx("issue", h.holder, h.terms(), 10, "", sender=h.buyer, value=5)
    h.fund_usd(h.buyer, USD)
    with h.reverts("UnexpectedEth"):
        h.tx("issue", h.holder, h.terms(currency=h.usd_id), 10, "", sender=h.buyer, value=10)
    assert ETH == 0
