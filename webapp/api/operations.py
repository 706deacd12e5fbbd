"""POST /api/v1/tx/<operation>: one route per operation, each with its own request model, that
checks what a person needs to hear before the wallet opens (unknown certificate, not the
holder, a bad claim signature, ...) and returns the unsigned transaction built by
webapp/api/transactions.py (simulated first: a revert is a 422 naming the contract's error)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_type_hints

from eth_utils import to_checksum_address
from pydantic import BaseModel

from giftcert import eip712
from giftcert.authorization import recover_signer
from giftcert.client import GiftCert
from giftcert.ids import random_serial
from giftcert.money import CurrencyInfo, from_units
from giftcert.rows import check_rows
from giftcert.rules import DAY, end_of_day
from webapp.api import transactions as txs
from webapp.api.authorizations import (
    CLAIM_ERRORS,
    Preflight,
    check_claimable,
    parse_authorization,
    redemption_json,
)
from webapp.api.blueprint import TRANSACTIONS, Reply, post
from webapp.api.fields import units
from webapp.api.lookups import currency_arg, live_certificate, merchant_arg
from webapp.api.models import (
    AllowCurrencyRequest,
    Built,
    CashOutLimitRequest,
    CertificateRequest,
    ClaimRequest,
    CurrencyAllowedRequest,
    IssueBatchBuilt,
    IssueBatchRequest,
    IssueBuilt,
    IssueRequest,
    MerchantActiveRequest,
    MergeRequest,
    MinValidityRequest,
    Paying,
    Preview,
    PreviewRequest,
    RedeemAuthorizedBuilt,
    RedeemAuthorizedRequest,
    RedeemRequest,
    RefundRequest,
    RegisterMerchantRequest,
    Sender,
    SettleBatchRequest,
    SettleBuilt,
    SplitRequest,
    Terms,
    TopUpRequest,
    TransferRequest,
    WithdrawRequest,
)
from webapp.errors import ApiError, bad, revert_message
from webapp.present import state

MAX_BATCH_ROWS = 200
MAX_SETTLE = 100

# operation name -> (handler, request model): what the routes below declare, for tests and docs
OPERATIONS: dict[str, tuple[Callable[..., Any], type[BaseModel]]] = {}


def operation(name: str, out: type[BaseModel] = Built, **options: Any) -> Callable:
    """Declares POST /tx/<name>: the handler gets its validated `body` (with `body.sender`)
    and returns the built transaction's fields; `operation` is added."""
    def register(handler: Callable[..., dict[str, Any]]) -> Callable:
        def build(body: Any) -> dict[str, Any]:
            return {"operation": name, **handler(body)}
        build.__name__ = build.__qualname__ = handler.__name__
        build.__doc__ = handler.__doc__
        build.__annotations__ = handler.__annotations__
        build.__module__ = handler.__module__
        post(f"/tx/{name}", out, tags=[TRANSACTIONS], **options)(build)
        OPERATIONS[name] = (handler, get_type_hints(handler)["body"])
        return handler
    return register


def _client() -> GiftCert:
    return state().client


def _paying(info: CurrencyInfo, sender: str, amount: int,
            build: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    """ETH: the amount is the transaction's value. An ERC-20: an approve first when the
    allowance is short (`tx` is then null: build again once the approve is mined)."""
    total = from_units(amount, info).to_json()
    _can_pay(info, sender, amount)
    if info.token is not None and txs.needs_approval(_client(), sender, info.id, amount):
        return {"needsApproval": True, "approve": txs.approve(_client(), sender, info.id),
                "tx": None, "total": total}
    return {"needsApproval": False, "tx": build(amount if info.token is None else 0),
            "total": total}


def _grouped(units_: int, info: CurrencyInfo) -> str:
    """An amount with thousands separators, as a person reads it: "99,999,999 tUSD"."""
    return f"{from_units(units_, info).amount:,} {info.symbol}"


def _can_pay(info: CurrencyInfo, sender: str, amount: int) -> None:
    """The wallet holds what the payment needs (said in numbers before anything is simulated:
    the node's own words for a short balance are no help to a person)."""
    held = _client().balance_of(sender, info.id)
    units_held = info.units(held, allow_zero=True)
    if units_held < amount:
        raise ApiError(422, f"You have {_grouped(units_held, info)}; this needs "
                       f"{_grouped(amount, info)}.", "from", "InsufficientFunds",
                       {"have": str(units_held), "need": str(amount)})


def _terms(body: Terms, info: CurrencyInfo, count: int = 1) -> tuple[txs.Terms, int]:
    """The contract's Terms for `count` certificates (a fresh random serial with room for
    them all) and the expiry. The minimum validity counts from the opening date, as the
    contract counts it."""
    st = state()
    m = merchant_arg(body.merchant, active=True)
    now = st.client.now()
    valid_from = body.validFromDate or body.validFrom or 0
    start = max(now, valid_from)
    min_validity = st.policy()["minValidity"]
    expiry = body.expiry or start + min_validity + DAY
    if body.expiryDays:
        expiry = now + body.expiryDays * DAY
    if valid_from and valid_from >= expiry:
        raise ApiError(422, "the opens-on date must be before the expiry", "validFrom",
                       "InvalidValidFrom")
    if expiry < start + min_validity:
        since = "it opens" if valid_from > now else "now"
        raise ApiError(422, f"expiry must be at least {min_validity // DAY} days "
                       f"({min_validity} s) after {since}", "expiry", "ValidityTooShort")
    if not info.allowed:
        raise ApiError(422, "the currency is not allowed", "currency", "CurrencyNotAllowed")
    return (m.id, info.id, body.occasion or 0, valid_from, expiry, random_serial(count)), expiry


# -- buying ------------------------------------------------------------------------------------

@operation("issue", IssueBuilt)
def issue(body: IssueRequest) -> dict[str, Any]:
    """Buy a certificate for an address, or for a claim key (claim link)

    With `claimKey` the gift waits for that key's signature (the link holds the key after
    `#`); otherwise `to` receives it."""
    client, sender = _client(), body.sender
    info = currency_arg(body.currency)
    amount = units(body.amount, info)
    terms, expiry = _terms(body, info)
    message, key, to = body.message or "", body.claimKey, body.to
    if key:
        deadline = min(client.now() + (body.claimDays or 30) * DAY, expiry)
        result = _paying(info, sender, amount, lambda value: txs.issue_claim_link(
            client, sender, key, terms, amount, deadline, message, value))
        # The contract keeps the day: the link can be claimed until that UTC day ends.
        return {**result, "claimDeadline": end_of_day(deadline), "validFrom": terms[3],
                "expiry": expiry}
    if not to:
        raise bad("to is required", "to")
    return {**_paying(info, sender, amount, lambda value: txs.issue(
        client, sender, to, terms, amount, message, value)), "validFrom": terms[3],
        "expiry": expiry}


def parse_rows(raw: str | list[Any], info: CurrencyInfo
               ) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
    """CSV text (address,amount[,message]) or a list of {to, amount, message}, checked by
    the SDK (giftcert.rows): every row with its errors, and the good ones as (recipient,
    units)."""
    rows = check_rows(raw if isinstance(raw, str) else [r.model_dump() for r in raw], info)
    if not rows:
        raise bad("no rows", "rows")
    if len(rows) > MAX_BATCH_ROWS:
        raise bad(f"at most {MAX_BATCH_ROWS} rows per batch", "rows")
    good = [(r.recipient, r.units) for r in rows if r.recipient and r.units is not None]
    return [r.to_json() for r in rows], good


@post("/give/preview", Preview, tags=[TRANSACTIONS])
def preview_batch(body: PreviewRequest) -> Reply:
    """Check CSV rows (address,amount,message) before a bulk give

    Each row with its problems, and the total of the good ones."""
    info = currency_arg(body.currency)
    rows, good = parse_rows(body.rows, info)
    total = sum(u for _, u in good)
    return {"rows": rows, "valid": len(good), "invalid": len(rows) - len(good),
            "total": from_units(total, info).to_json()}


@operation("issue-batch", IssueBatchBuilt)
def issue_batch(body: IssueBatchRequest) -> dict[str, Any]:
    """Buy one certificate per row (CSV of address,amount), same terms"""
    client, sender = _client(), body.sender
    info = currency_arg(body.currency)
    rows, good = parse_rows(body.rows, info)
    if len(good) != len(rows):
        raise ApiError(400, "some rows are invalid: fix them first", "rows",
                       details={"rows": rows})
    terms, expiry = _terms(body, info, count=len(good))
    total = sum(u for _, u in good)
    result = _paying(info, sender, total, lambda value: txs.issue_batch(
        client, sender, [a for a, _ in good], [u for _, u in good], terms, body.message or "",
        value))
    return {**result, "count": len(good), "validFrom": terms[3], "expiry": expiry}


@operation("top-up", Paying)
def top_up(body: TopUpRequest) -> dict[str, Any]:
    """Add value to a certificate"""
    client, sender = _client(), body.sender
    cert = live_certificate(body.certificate)
    amount = units(body.amount, cert.currency)
    return _paying(cert.currency, sender, amount,
                   lambda value: txs.top_up(client, sender, cert.id, amount, value))


# -- holding -----------------------------------------------------------------------------------

@operation("transfer")
def transfer(body: TransferRequest) -> dict[str, Any]:
    """Re-gift a whole certificate"""
    cert = live_certificate(body.certificate)
    if cert.owner != body.sender:
        raise ApiError(422, "this account does not hold the certificate", "from", "NotHolder")
    return {"tx": txs.transfer(_client(), body.sender, cert.id, body.to)}


@operation("split")
def split(body: SplitRequest) -> dict[str, Any]:
    """Re-gift part of a certificate's balance as a new certificate"""
    cert = live_certificate(body.certificate)
    amount = units(body.amount, cert.currency)
    return {"tx": txs.split(_client(), body.sender, cert.id, amount, body.to)}


@operation("merge")
def merge(body: MergeRequest) -> dict[str, Any]:
    """Move a certificate's whole balance into another of yours"""
    return {"tx": txs.merge(_client(), body.sender, body.certificate, body.into)}


@operation("claim", responses=CLAIM_ERRORS)
def claim(body: ClaimRequest) -> dict[str, Any]:
    """Submit a claim-link signature (anyone may send it)"""
    st = state()
    cert = live_certificate(body.certificate)
    check_claimable(cert)
    doc = eip712.claim(st.client.chain_id, st.client.address, certificate=cert.id,
                       recipient=body.recipient)
    if recover_signer(doc, body.signature) != cert.owner:
        raise ApiError(422, "the signature is not from this gift's claim key (wrong link?)",
                       "signature", "InvalidSignature")
    return {"tx": txs.claim(st.client, body.sender, cert.id, body.recipient, body.signature)}


@operation("reclaim")
def reclaim(body: CertificateRequest) -> dict[str, Any]:
    """The buyer takes back an unclaimed claim-link gift after its deadline"""
    cert = live_certificate(body.certificate)
    return {"tx": txs.reclaim(_client(), body.sender, cert.id)}


@operation("refund")
def refund(body: RefundRequest) -> dict[str, Any]:
    """After expiry: the remaining balance back to the buyer"""
    cert = live_certificate(body.certificate)
    buyer = body.buyer or body.sender
    if not cert.is_buyer(buyer):
        raise ApiError(422, "that address is not the certificate's buyer", "buyer", "NotBuyer")
    return {"tx": txs.refund(_client(), body.sender, cert.id, buyer)}


@operation("cash-out")
def cash_out(body: CertificateRequest) -> dict[str, Any]:
    """The holder takes out a small balance where the merchant allows it"""
    cert = live_certificate(body.certificate)
    return {"tx": txs.cash_out(_client(), body.sender, cert.id)}


# -- paying ------------------------------------------------------------------------------------

@operation("redeem")
def redeem(body: RedeemRequest) -> dict[str, Any]:
    """The holder pays the merchant directly (holder pays gas)"""
    cert = live_certificate(body.certificate)
    amount = units(body.amount, cert.currency)
    return {"tx": txs.redeem(_client(), body.sender, cert.id, amount, body.orderRef)}


@operation("redeem-authorized", RedeemAuthorizedBuilt)
def redeem_authorized(body: RedeemAuthorizedRequest) -> dict[str, Any]:
    """The merchant submits a holder's signed authorisation

    A replayed or replaced one is 422 WrongNonce."""
    signed = parse_authorization(body.authorization)
    tx = txs.redeem_with_authorization(_client(), body.sender, signed.auth, signed.signature)
    return {"tx": tx, "redemption": redemption_json(signed)}


@operation("settle-batch", SettleBuilt)
def settle_batch(body: SettleBatchRequest) -> dict[str, Any]:
    """The merchant settles many authorisations in one transaction; each refused one is named

    Every valid authorisation is settled and each refused one is reported: the contract's
    `allOrNothing` is always false here and cannot be set. When no item can be settled the
    answer is 422 (code RedemptionRefused, or the single item's error) with
    `details.refused`, and nothing is built. After mining, GET /transactions/{txHash} lists
    the refused items (`refused`)."""
    m = merchant_arg(body.merchant)
    raw = body.authorizations
    if isinstance(raw, str):
        raw = [line.strip() for line in raw.splitlines() if line.strip()]
    if not raw:
        raise bad("authorizations must be a non-empty list", "authorizations")
    if len(raw) > MAX_SETTLE:
        raise bad(f"at most {MAX_SETTLE} authorisations per batch", "authorizations")
    signed = [parse_authorization(a, f"authorizations[{i}]") for i, a in enumerate(raw)]
    for i, s in enumerate(signed):
        if s.merchant != m.id:
            raise bad(f"authorisation {i + 1} is for merchant {s.merchant}",
                      f"authorizations[{i}]")
    preflight = Preflight(m.id)
    reasons = [(i, s, reason) for i, s in enumerate(signed)
               if (reason := preflight.refusal(s)) is not None]
    refused = [{"item": i + 1, "certificate": str(s.certificate), "reason": reason,
                "message": revert_message(reason)} for i, s, reason in reasons]
    if len(refused) == len(signed):
        # The transaction would go through and pay nothing: say why instead of sending it.
        only = reasons[0][2] if len(reasons) == 1 else "RedemptionRefused"
        raise ApiError(422, "nothing in this batch can be settled: " + "; ".join(
            f"{r['item']}: {r['message']}" for r in refused), "authorizations", only,
            {"refused": refused})
    tx = txs.settle_batch(_client(), body.sender, m.id, [s.auth for s in signed],
                          [s.signature for s in signed])
    # What the merchant receives, per currency: the items expected to be paid.
    refused_at = {i for i, _, _ in reasons}
    paid: dict[str, Any] = {}
    for i, s in enumerate(signed):
        cert = preflight.certificate(s.certificate)
        if i not in refused_at and cert is not None:
            paid[cert.currency.symbol] = paid.get(cert.currency.symbol, 0) + s.amount
            paid.setdefault("_" + cert.currency.symbol, cert.currency)
    total = [from_units(paid[k], paid["_" + k]).to_json() for k in paid if not k.startswith("_")]
    return {"tx": tx, "count": len(signed), "willSettle": len(signed) - len(refused),
            "refused": refused, "total": total}


# -- merchants ---------------------------------------------------------------------------------

@operation("void")
def void(body: CertificateRequest) -> dict[str, Any]:
    """The merchant voids a certificate: the balance goes back to the holder"""
    cert = live_certificate(body.certificate)
    return {"tx": txs.void(_client(), body.sender, cert.id)}


@operation("withdraw")
def withdraw(body: WithdrawRequest) -> dict[str, Any]:
    """The merchant withdraws its redeemed balance"""
    m = merchant_arg(body.merchant)
    info = currency_arg(body.currency)
    return {"tx": txs.withdraw(_client(), body.sender, m.id, info.id)}


@operation("set-cash-out-limit")
def set_cash_out_limit(body: CashOutLimitRequest) -> dict[str, Any]:
    """The merchant lets holders take out balances up to a limit (0: no cash-out)"""
    m = merchant_arg(body.merchant)
    info = currency_arg(body.currency)
    limit = units(body.limit, info, "limit", allow_zero=True)
    return {"tx": txs.set_cash_out_limit(_client(), body.sender, m.id, info.id, limit)}


# -- administration ----------------------------------------------------------------------------

@operation("register-merchant")
def register_merchant(body: RegisterMerchantRequest) -> dict[str, Any]:
    """Admin: register a merchant"""
    return {"tx": txs.register_merchant(_client(), body.sender, body.account,
                                        body.name.strip())}


@operation("set-merchant-active")
def set_merchant_active(body: MerchantActiveRequest) -> dict[str, Any]:
    """Admin: activate or deactivate a merchant"""
    m = merchant_arg(body.merchant)
    return {"tx": txs.set_merchant_active(_client(), body.sender, m.id, body.active)}


@operation("allow-currency")
def allow_currency(body: AllowCurrencyRequest) -> dict[str, Any]:
    """Admin: allow-list an ERC-20 token"""
    if not _client().w3.eth.get_code(to_checksum_address(body.token)):
        raise ApiError(422, "no contract at that token address", "token")
    return {"tx": txs.allow_currency(_client(), body.sender, body.token)}


@operation("set-currency-allowed")
def set_currency_allowed(body: CurrencyAllowedRequest) -> dict[str, Any]:
    """Admin: suspend or restore deposits in a currency"""
    info = currency_arg(body.currency)
    return {"tx": txs.set_currency_allowed(_client(), body.sender, info.id, body.allowed)}


@operation("set-min-validity")
def set_min_validity(body: MinValidityRequest) -> dict[str, Any]:
    """Admin: minimum time from issue to expiry (seconds)"""
    return {"tx": txs.set_min_validity(_client(), body.sender, body.seconds)}


@operation("pause")
def pause(body: Sender) -> dict[str, Any]:
    """Pauser: stop issue, claims, transfers of value and redemptions"""
    return {"tx": txs.pause(_client(), body.sender)}


@operation("unpause")
def unpause(body: Sender) -> dict[str, Any]:
    """Pauser: lift a pause"""
    return {"tx": txs.unpause(_client(), body.sender)}
