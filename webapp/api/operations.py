"""POST /api/v1/tx/<operation>: one route per operation, each with its own request model, that
checks what a person needs to hear before the wallet opens (unknown certificate, not the
holder, a bad claim signature, ...) and returns the unsigned transaction the SDK's prepared call
builds (`client.acting_as(sender).calls.<operation>(...).unsigned()`, simulated first: a revert
is a 422 naming the contract's error). No contract function is named here: the SDK
(giftcert.calls) is the one place that does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_type_hints

from pydantic import BaseModel

from giftcert import eip712
from giftcert.authorization import recover_signer
from giftcert.calls import Calls, PreparedCall, PurchaseCall
from giftcert.client import GiftCert
from giftcert.errors import InvalidInput
from giftcert.money import CurrencyInfo, format_decimal, from_units
from giftcert.rows import check_rows
from giftcert.rules import end_of_day
from webapp.api.authorizations import (
    CLAIM_ERRORS,
    check_claimable,
    parse_authorization,
    preflight,
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
    IssueWithTabBuilt,
    IssueWithTabRequest,
    MerchantActiveRequest,
    MergeRequest,
    MinValidityRequest,
    OpenTabRequest,
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
    SettleTabsBuilt,
    SettleTabsRequest,
    SplitRequest,
    Terms,
    TopUpRequest,
    TransferRequest,
    WithdrawRequest,
)
from webapp.errors import ApiError, bad, refused, revert_message
from webapp.present import gift_ref, state

MAX_BATCH_ROWS = 200
MAX_SETTLE = 100

# operation name -> (handler, request model): what the routes below declare, for tests and docs
OPERATIONS: dict[str, tuple[Callable[..., Any], type[BaseModel]]] = {}


def operation(name: str, out: type[BaseModel] = Built, **options: Any) -> Callable:
    """Declares POST /tx/<name>: the handler gets its validated `body` (with `body.sender`)
    and returns the built transaction's fields; `operation` is added. Input the SDK refuses
    (giftcert.errors.InvalidInput) is a 400 naming the field."""
    def register(handler: Callable[..., dict[str, Any]]) -> Callable:
        def build(body: Any) -> dict[str, Any]:
            try:
                return {"operation": name, **handler(body)}
            except InvalidInput as exc:
                raise bad(exc.message, exc.field) from None
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


def _calls(body: Sender) -> Calls:
    """The SDK's prepared calls from the request's sender (each build simulates from there)."""
    return _client().acting_as(body.sender).calls


def _tx(call: PreparedCall[Any]) -> dict[str, Any]:
    """The unsigned transaction for the wallet."""
    return {"tx": call.unsigned()}


def _paying(call: PreparedCall[Any], info: CurrencyInfo, field: str = "amount"
            ) -> dict[str, Any]:
    """ETH: the amount is the transaction's value. An ERC-20: an approve first when the
    allowance is short (`tx` is then null: build again once the approve is mined). A short
    balance is said about `field`, the input that sets what is paid."""
    paid = call.payment
    amount = info.units(paid) if paid is not None else 0
    _can_pay(info, call.sender, amount, field)
    total = from_units(amount, info).to_json()
    first = call.approval()
    if first is not None:
        return {"needsApproval": True, "approve": first.unsigned(), "tx": None, "total": total}
    return {"needsApproval": False, **_tx(call), "total": total}


def _grouped(units_: int, info: CurrencyInfo) -> str:
    """An amount with thousands separators, as a person reads it: "99,999,999 tUSD"."""
    whole, _, frac = format_decimal(from_units(units_, info).amount).partition(".")
    return f"{int(whole):,}{'.' + frac if frac else ''} {info.symbol}"


def _can_pay(info: CurrencyInfo, sender: str, amount: int, field: str) -> None:
    """The wallet holds what the payment needs (said in numbers before anything is simulated:
    the node's own words for a short balance are no help to a person)."""
    held = _client().balance_of(sender, info.id)
    units_held = info.units(held, allow_zero=True)
    if units_held < amount:
        raise ApiError(422, f"You have {_grouped(units_held, info)}; this needs "
                       f"{_grouped(amount, info)}.", field, "InsufficientFunds",
                       {"have": str(units_held), "need": str(amount)})


def _terms(body: Terms) -> dict[str, Any]:
    """The purchase's terms as the SDK's issue calls take them (the SDK picks the serial and
    computes and checks the expiry as the contract will: giftcert.rules.purchase_expiry). The
    merchant must be active; an opens-on day wins over a time."""
    merchant_arg(body.merchant, active=True)
    return {"occasion": body.occasion or 0,
            "valid_from": body.validFromDate or body.validFrom or 0,
            "expiry": body.expiry, "expiry_days": body.expiryDays}


def _purchase(call: PurchaseCall[Any], info: CurrencyInfo, field: str = "amount"
              ) -> dict[str, Any]:
    """A purchase's answer: the payment, and the terms' opening date and expiry (by the
    chain's clock) for the review."""
    return {**_paying(call, info, field), "validFrom": call.valid_from,
            "expiry": call.expiry}


def _certificate_operation(name: str, call: str, summary: str) -> None:
    """Declares an operation whose only input is one live certificate: POST /tx/<name>
    builds the SDK's `calls.<call>(certificate)`."""
    def handler(body: CertificateRequest) -> dict[str, Any]:
        return _tx(getattr(_calls(body), call)(live_certificate(body.certificate)))
    handler.__name__ = handler.__qualname__ = call
    handler.__doc__ = summary
    operation(name)(handler)


# -- buying ------------------------------------------------------------------------------------

@operation("issue", IssueBuilt)
def issue(body: IssueRequest) -> dict[str, Any]:
    """Buy a certificate for an address, or for a claim key (claim link)

    With `claimKey` the gift waits for that key's signature (the link holds the key after
    `#`); otherwise `to` receives it."""
    info = currency_arg(body.currency)
    terms, message = _terms(body), body.message or ""
    if body.claimKey:
        link = _calls(body).issue_claimable(body.amount, body.merchant, info.id,
                                            claim_days=body.claimDays or 30, message=message,
                                            claim_key=body.claimKey, **terms)
        # The contract keeps the day: the link can be claimed until that UTC day ends.
        return {**_purchase(link, info), "claimDeadline": end_of_day(link.claim_deadline)}
    if not body.to:
        raise bad("to is required", "to")
    return _purchase(_calls(body).issue(body.to, body.amount, body.merchant, info.id,
                                        message=message, **terms), info)


@operation("issue-with-tab", IssueWithTabBuilt)
def issue_with_tab(body: IssueWithTabRequest) -> dict[str, Any]:
    """Buy a certificate for yourself with a payment tab already open at its merchant

    One transaction instead of `issue` then `open-tab`: the certificate is minted to `from`
    (there is no recipient) with the tab open, so each purchase at the till is a signed
    running total with no network fee. A tab opens at once: no opening date later than now.
    Paid as `issue` (an ERC-20 may need an approve first)."""
    info = currency_arg(body.currency)
    terms = _terms(body)
    if terms["valid_from"] > _client().now():
        raise bad("a tab opens at once: a certificate with a tab cannot open on a later date",
                  "validFrom")
    call = _calls(body).issue_with_tab(body.amount, body.merchant, info.id,
                                       session_key=body.sessionKey, message=body.message or "",
                                       **terms)
    return {**_purchase(call, info), "holder": body.sender}


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
    info = currency_arg(body.currency)
    rows, good = parse_rows(body.rows, info)
    if len(good) != len(rows):
        raise ApiError(400, "some rows are invalid: fix them first", "rows",
                       details={"rows": rows})
    batch = _calls(body).issue_batch([(to, from_units(u, info)) for to, u in good],
                                     body.merchant, info.id, message=body.message or "",
                                     **_terms(body))
    return {**_purchase(batch, info, "rows"), "count": len(good)}


@operation("top-up", Paying)
def top_up(body: TopUpRequest) -> dict[str, Any]:
    """Add value to a certificate"""
    cert = live_certificate(body.certificate)
    return _paying(_calls(body).top_up(cert, body.amount), cert.currency)


# -- holding -----------------------------------------------------------------------------------

@operation("transfer")
def transfer(body: TransferRequest) -> dict[str, Any]:
    """Re-gift a whole certificate"""
    cert = live_certificate(body.certificate)
    if cert.owner != body.sender:
        raise refused("NotHolder")
    return _tx(_calls(body).transfer(cert, body.to))


@operation("split")
def split(body: SplitRequest) -> dict[str, Any]:
    """Re-gift part of a certificate's balance as a new certificate"""
    return _tx(_calls(body).split(live_certificate(body.certificate), body.amount, body.to))


@operation("merge")
def merge(body: MergeRequest) -> dict[str, Any]:
    """Move a certificate's whole balance into another of yours"""
    return _tx(_calls(body).merge(body.certificate, body.into))


@operation("claim", responses=CLAIM_ERRORS)
def claim(body: ClaimRequest) -> dict[str, Any]:
    """Submit a claim-link signature (anyone may send it)"""
    client = _client()
    cert = live_certificate(body.certificate)
    check_claimable(cert)
    doc = eip712.claim(client.chain_id, client.address, certificate=cert.id,
                       recipient=body.recipient)
    if recover_signer(doc, body.signature) != cert.owner:
        raise ApiError(422, "the signature is not from this gift's claim key (wrong link?)",
                       "signature", "InvalidSignature")
    return _tx(_calls(body).claim(cert, recipient=body.recipient, signature=body.signature))


@operation("refund")
def refund(body: RefundRequest) -> dict[str, Any]:
    """After expiry: the remaining balance back to the buyer"""
    cert = live_certificate(body.certificate)
    buyer = body.buyer or body.sender
    if not cert.is_buyer(buyer):
        raise ApiError(422, "that address is not the certificate's buyer", "buyer", "NotBuyer")
    return _tx(_calls(body).refund(cert, buyer))


_certificate_operation("reclaim", "reclaim", "The buyer takes back an unclaimed claim-link "
                       "gift after its deadline")
_certificate_operation("cash-out", "cash_out", "The holder takes out a small balance where the "
                       "merchant allows it")


# -- paying ------------------------------------------------------------------------------------

@operation("redeem")
def redeem(body: RedeemRequest) -> dict[str, Any]:
    """The holder pays the merchant directly (holder pays gas)"""
    return _tx(_calls(body).redeem(live_certificate(body.certificate), body.amount,
                                   body.orderRef))


@operation("redeem-authorized", RedeemAuthorizedBuilt)
def redeem_authorized(body: RedeemAuthorizedRequest) -> dict[str, Any]:
    """The merchant submits a holder's signed authorisation

    A replayed or replaced one is 422 WrongNonce."""
    signed = parse_authorization(body.authorization)
    return {**_tx(_calls(body).redeem_with_authorization(signed)),
            "redemption": redemption_json(signed)}


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
    checks = preflight(m.id)
    problems = [checks.refusal(s) for s in signed]  # in batch order, as the contract checks
    skipped = [{"item": i + 1, "certificate": str(s.certificate),
                "ref": gift_ref(s.certificate), "reason": p.error_name,
                "message": revert_message(p.error_name)}
               for i, (s, p) in enumerate(zip(signed, problems, strict=True)) if p is not None]
    if len(skipped) == len(signed):
        # The transaction would go through and pay nothing: say why instead of sending it.
        first = next(p for p in problems if p is not None)
        only = first.error_name if len(skipped) == 1 else "RedemptionRefused"
        raise ApiError(422, "nothing in this batch can be settled: " + "; ".join(
            f"{r['item']}: {r['message']}" for r in skipped), "authorizations", only,
            {"refused": skipped})
    # What the merchant receives, per currency: the items expected to be paid.
    paid: dict[int, tuple[CurrencyInfo, int]] = {}
    for s, problem in zip(signed, problems, strict=True):
        cert = checks.certificate(s.certificate)
        if problem is None and cert is not None:
            info, so_far = paid.get(cert.currency.id, (cert.currency, 0))
            paid[info.id] = (info, so_far + s.amount)
    return {**_tx(_calls(body).settle_batch(m.id, signed)), "count": len(signed),
            "willSettle": len(signed) - len(skipped), "refused": skipped,
            "total": [from_units(u, info).to_json() for info, u in paid.values()]}


# -- payment tabs (issue 17) -------------------------------------------------------------------

@operation("open-tab")
def open_tab(body: OpenTabRequest) -> dict[str, Any]:
    """The holder opens a payment tab at the certificate's merchant

    The balance stays the holder's; only the merchant can collect what the holder signs (a
    running total per purchase, no network fee each time); closing takes two days unless the
    merchant releases the tab."""
    cert = live_certificate(body.certificate)
    if cert.owner != body.sender:
        raise refused("NotHolder", "from")
    return _tx(_calls(body).open_tab(cert, session_key=body.sessionKey))


_certificate_operation("request-tab-close", "request_tab_close", "The holder asks to close a "
                       "tab: the merchant has two days to collect what was signed")
_certificate_operation("close-tab", "close_tab", "Close a tab: the merchant at once, the holder "
                       "once the two days after the request have passed")


@operation("settle-tabs", SettleTabsBuilt)
def settle_tabs(body: SettleTabsRequest) -> dict[str, Any]:
    """The merchant collects the latest kept voucher of its open tabs in one transaction

    Every voucher the merchant keeps for an open tab (or those of `certificates`) is checked
    first; each that would be refused is named with its reason (`refused`) and left out, the
    others are collected. When none can be, the answer is 422 with `details.refused` and
    nothing is built."""
    from giftcert.tabs import settle_refusal, signature_refusal
    from webapp.api import tabs

    m = merchant_arg(body.merchant)
    kept = tabs.live_tabs(m.id)
    if body.certificates is not None:
        wanted = set(body.certificates)
        kept = [(v, t) for v, t in kept if v.certificate in wanted]
    if not kept:
        raise ApiError(422, "there is no kept tab code to settle: keep the customers' codes "
                       "first", "certificates", "EmptyBatch")
    kept = kept[:MAX_SETTLE]
    now = _client().now()
    skipped: list[dict[str, Any]] = []
    good: list[dict[str, Any]] = []
    collect = []
    paid: dict[int, tuple[CurrencyInfo, int]] = {}
    for i, (voucher, tab) in enumerate(kept):
        cert_id = voucher.certificate
        problem = (settle_refusal(tab, voucher, now, m.id)
                   or signature_refusal(_client(), tab, voucher))
        if problem is not None:
            skipped.append({"item": i + 1, "certificate": str(cert_id), "ref": gift_ref(cert_id),
                            "reason": problem.error_name,
                            "message": revert_message(problem.error_name)})
            continue
        info, so_far = paid.get(tab.currency.id, (tab.currency, 0))
        paid[info.id] = (info, so_far + voucher.cumulative)
        collect.append(voucher)
        good.append({"certificate": str(cert_id), "ref": gift_ref(cert_id),
                     "amount": voucher.total(info).to_json()})
    if not good:
        raise ApiError(422, "nothing can be settled: " + "; ".join(
            f"gift {r['ref']}: {r['message']}" for r in skipped), "certificates",
            "RedemptionRefused", {"refused": skipped})
    # Only what would be collected is sent (a refused voucher would cost gas for nothing).
    return {**_tx(_calls(body).settle_tabs(m.id, collect)), "count": len(kept),
            "willSettle": len(good), "refused": skipped, "tabs": good,
            "total": [from_units(u, info).to_json() for info, u in paid.values()]}


# -- merchants ---------------------------------------------------------------------------------

_certificate_operation("void", "void", "The merchant voids a certificate: the balance goes back "
                       "to the holder")


@operation("withdraw")
def withdraw(body: WithdrawRequest) -> dict[str, Any]:
    """The merchant withdraws its redeemed balance"""
    m = merchant_arg(body.merchant)
    return _tx(_calls(body).withdraw(m.id, currency_arg(body.currency).id))


@operation("set-cash-out-limit")
def set_cash_out_limit(body: CashOutLimitRequest) -> dict[str, Any]:
    """The merchant lets holders take out balances up to a limit (0: no cash-out)"""
    m = merchant_arg(body.merchant)
    info = currency_arg(body.currency)
    limit = from_units(units(body.limit, info, "limit", allow_zero=True), info)
    return _tx(_calls(body).set_cash_out_limit(m.id, info.id, limit))


# -- administration ----------------------------------------------------------------------------

@operation("register-merchant")
def register_merchant(body: RegisterMerchantRequest) -> dict[str, Any]:
    """Admin: register a merchant"""
    return _tx(_calls(body).register_merchant(body.account, body.name))


@operation("set-merchant-active")
def set_merchant_active(body: MerchantActiveRequest) -> dict[str, Any]:
    """Admin: activate or deactivate a merchant"""
    return _tx(_calls(body).set_merchant_active(merchant_arg(body.merchant).id, body.active))


@operation("allow-currency")
def allow_currency(body: AllowCurrencyRequest) -> dict[str, Any]:
    """Admin: allow-list an ERC-20 token"""
    if not _client().is_contract(body.token):
        raise ApiError(422, "no contract at that token address", "token")
    return _tx(_calls(body).allow_currency(body.token))


@operation("set-currency-allowed")
def set_currency_allowed(body: CurrencyAllowedRequest) -> dict[str, Any]:
    """Admin: suspend or restore deposits in a currency"""
    info = currency_arg(body.currency)
    return _tx(_calls(body).set_currency_allowed(info.id, body.allowed))


@operation("set-min-validity")
def set_min_validity(body: MinValidityRequest) -> dict[str, Any]:
    """Admin: minimum time from issue to expiry (seconds)"""
    return _tx(_calls(body).set_min_validity(body.seconds))


@operation("pause")
def pause(body: Sender) -> dict[str, Any]:
    """Pauser: stop issue, claims, transfers of value and redemptions"""
    return _tx(_calls(body).pause())


@operation("unpause")
def unpause(body: Sender) -> dict[str, Any]:
    """Pauser: lift a pause"""
    return _tx(_calls(body).unpause())
