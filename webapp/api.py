"""JSON API under /api/v1: reads (certificates, history, merchants, stats), unsigned
transactions for the wallet (`POST /tx/<operation>`, simulated first), EIP-712 typed data,
payment authorisations, SIWE sign-in. Described by /api/v1/openapi.json."""

from __future__ import annotations

import csv
import io
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from flask import Blueprint, jsonify, request
from web3.exceptions import TransactionNotFound
from web3.logs import DISCARD

from giftcert import eip712
from giftcert.client import DAY, Refusal, SignedRedemption, wallet_json
from giftcert.errors import ContractRevert
from giftcert.ids import decode_id, random_serial
from giftcert.money import CurrencyInfo, from_units
from giftcert.wallet import approval_needed, build_approve, build_tx
from webapp import siwe
from webapp import validate as v
from webapp.present import activity, chain_cert, indexed_cert, state
from webapp.sessions import TooManySignIns
from webapp.stats import merchant_stats, redemptions
from webapp.validate import ApiError

bp = Blueprint("api", __name__)

MAX_BATCH_ROWS = 200
MAX_SETTLE = 100
PAGE_SIZE = 50  # certificates per page of a holder's list (`next` fetches the rest)
MAX_PAGE_SIZE = 500
AUTH_PREFIX = "gc2"  # gc1: the v1 contract's format, without the nonce
OLD_AUTH_PREFIX = "gc1"


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None:
        raise v.bad("send a JSON object (Content-Type: application/json)", None)
    return v.body_of(data)


def currency_arg(value: Any, field: str = "currency") -> CurrencyInfo:
    """A currency named by id or symbol (empty: ETH); unknown is a 400 naming `field`."""
    st = state()
    if value is None or value == "":
        value = 0
    if isinstance(value, str) and not value.strip().isdigit():
        for info in st.currencies():
            if info.symbol.lower() == value.strip().lower():
                return info
        raise v.bad(f"{field}: unknown currency {value!r}", field)
    found = st.currency(v.integer(value, field, maximum=255))
    if found is None:
        raise v.bad(f"{field}: unknown currency", field)
    return found


def merchant_arg(value: Any, field: str = "merchant", active: bool = False):
    """A registered merchant by id (404 if none; 422 if `active` is asked and it is not)."""
    st = state()
    found = st.merchant(v.merchant_id(value, field))
    if found is None:
        raise ApiError(404, "no such merchant", field, "UnknownMerchant")
    if active and not found.active:
        raise ApiError(422, "the merchant is not active", field, "MerchantInactive")
    return found


def _certificate(value: Any, field: str = "certificate"):
    cert_id = v.certificate_id(value, field)
    cert = load_certificate(cert_id, field)
    if not cert.exists:
        raise ApiError(404, "no such certificate (or it was closed)", field, "UnknownCertificate")
    return cert


def load_certificate(cert_id: int, field: str = "certificate"):
    """The chain's view of a certificate; unknown or closed ids are a 404 naming `field`."""
    try:
        return state().client.certificate(cert_id)
    except ContractRevert as exc:
        if exc.error_name == "UnknownCertificate":
            raise ApiError(404, "no such certificate (or it was closed)", field,
                           "UnknownCertificate") from None
        raise


# ---------------------------------------------------------------- reads


@bp.get("/status")
def status():
    st = state()
    cursor = st.indexer.cursor()
    try:
        head = st.client.w3.eth.block_number
        chain = "reachable"
    except Exception:  # noqa: BLE001 - any failure to answer means the same to a user
        head, chain = None, "unreachable"
    return jsonify({"chainId": st.client.chain_id, "contract": st.client.address,
                    "chain": chain, "chainHead": head,
                    "indexedBlock": cursor[0] if cursor else None,
                    "indexerError": st.last_sync_error})


@bp.get("/config")
def config():
    st = state()
    return jsonify({
        "chainId": st.client.chain_id, "contract": st.client.address,
        "currencies": [_currency_json(c) for c in st.currencies()],
        "merchants": [m.to_json() for m in st.merchants()],
        "policy": st.policy(), "occasions": _occasions(),
        "eip712": json.loads(eip712.typed_data_json()),
    })


def _occasions() -> list[dict[str, Any]]:
    from webapp.present import OCCASIONS

    return [{"id": i, "name": n} for i, n in enumerate(OCCASIONS)]


def _currency_json(c: CurrencyInfo) -> dict[str, Any]:
    return {"id": c.id, "symbol": c.symbol, "decimals": c.decimals, "token": c.token,
            "allowed": c.allowed}


@bp.get("/currencies")
def currencies():
    return jsonify([_currency_json(c) for c in state().currencies()])


@bp.get("/policy")
def policy():
    return jsonify(state().policy())


@bp.get("/merchants")
def merchants():
    return jsonify([m.to_json() for m in state().merchants()])


@bp.get("/merchants/<merchant>")
def merchant(merchant: str):
    return jsonify(merchant_arg(merchant).to_json())


@bp.get("/merchants/<merchant>/stats")
def merchant_stats_route(merchant: str):
    m = merchant_arg(merchant)
    stats = merchant_stats(state(), m.id)
    for d in stats["redemptionsByDay"]:
        d["units"] = str(d["units"])
    return jsonify({**stats, "name": m.name})


@bp.get("/merchants/<merchant>/redemptions")
def merchant_redemptions(merchant: str):
    m = merchant_arg(merchant)
    limit = v.integer(request.args.get("limit", "100"), "limit", minimum=1, maximum=10_000)
    return jsonify(redemptions(state(), m.id, limit))


@bp.get("/certificates/<certificate>")
def certificate(certificate: str):
    return jsonify(chain_cert(_certificate(certificate)))


@bp.get("/certificates/<certificate>/history")
def history(certificate: str):
    st = state()
    cert_id = v.certificate_id(certificate)
    row = st.indexer.certificate(cert_id)
    if row is None:
        raise ApiError(404, "no such certificate in the index (yet)", "certificate",
                       "UnknownCertificate")
    info = st.currency(row["currency"])
    return jsonify([activity(st, e, info) for e in st.indexer.history(cert_id)])


@bp.get("/holders/<holder>/certificates")
def holder_certificates(holder: str):
    st = state()
    account = v.address(holder, "holder")
    closed = v.boolean(request.args.get("closed", "false"), "closed")
    limit = v.integer(request.args.get("limit", str(PAGE_SIZE)), "limit", minimum=1,
                      maximum=MAX_PAGE_SIZE)
    after = request.args.get("after")
    if after is not None:
        after = str(v.certificate_id(after, "after"))
    now = int(time.time())
    # One row more than asked says whether another page follows.
    rows = st.indexer.certificates_of(account, include_closed=closed, limit=limit + 1,
                                      after=after)
    page = rows[:limit]
    following = page[-1]["id"] if len(rows) > limit else None
    return jsonify({"holder": account, "next": following,
                    "certificates": [indexed_cert(st, r, now) for r in page]})


@bp.get("/transactions/<txHash>")
def transaction(txHash: str):  # noqa: N803 - the documented name
    """A mined transaction's outcome: status, the certificates it created or split off, the
    payments it made and, for a batch settlement, each refused item and why."""
    tx_hash = txHash
    if not isinstance(tx_hash, str) or len(tx_hash) != 66 or not v._HEX_RE.match(tx_hash):
        raise v.bad("txHash must be 0x followed by 64 hex digits", "txHash")
    st = state()
    try:
        receipt = st.client.w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        return jsonify({"txHash": tx_hash, "status": "pending"}), 202
    events = st.client.contract.events

    def logs(event: Any) -> list[Any]:
        return event().process_receipt(receipt, errors=DISCARD)

    issued = [str(e["args"]["id"]) for e in logs(events.Issued)]
    for e in logs(events.IssuedBatch):  # ids firstId .. firstId + n - 1
        issued += [str(e["args"]["firstId"] + i) for i in range(len(e["args"]["amounts"]))]
    split = [str(e["args"]["newId"]) for e in logs(events.Split)]
    redeemed = [{"certificate": str(e["args"]["id"]), "merchant": e["args"]["merchant"],
                 "orderRef": str(e["args"]["orderRef"]), "units": str(e["args"]["amount"])}
                for e in logs(events.Redeemed)]
    refused = [refusal_json(r) for r in st.client.refusals(receipt)]
    return jsonify({"txHash": tx_hash, "status": "success" if receipt["status"] else "reverted",
                    "block": receipt["blockNumber"], "issued": issued, "split": split,
                    "redeemed": redeemed, "refused": refused})


def refusal_json(refusal: Refusal) -> dict[str, Any]:
    """A refused batch item in words: its position (1-based, as the desk numbers lines), the
    contract's error and what it means."""
    return {**refusal.to_json(), "item": refusal.index + 1,
            "message": v.revert_message(refusal.reason.error_name)}


# ---------------------------------------------------------------- transactions


Operation = Callable[[dict[str, Any], str], dict[str, Any]]
OPERATIONS: dict[str, tuple[Operation, str]] = {}


def operation(name: str, summary: str):
    def register(fn: Operation) -> Operation:
        OPERATIONS[name] = (fn, summary)
        return fn
    return register


@bp.post("/tx/<name>")
def build(name: str):
    if name not in OPERATIONS:
        raise ApiError(404, f"unknown operation {name!r}", "operation")
    data = _body()
    sender = v.address(v.required(data, "from"), "from")
    result = OPERATIONS[name][0](data, sender)
    return jsonify({"operation": name, **result})


def _tx(name: str, sender: str, *args: Any, value: int = 0) -> dict[str, Any]:
    return {"tx": build_tx(state().client, name, sender, *args, value=value)}


def _terms(data: dict[str, Any], info: CurrencyInfo,
           count: int = 1) -> tuple[tuple[int, ...], int]:
    """The contract's Terms for `count` certificates (a fresh random serial with room for
    them all) and the expiry. The minimum validity counts from the opening date, as the
    contract counts it."""
    st = state()
    m = merchant_arg(v.required(data, "merchant"), active=True)
    occasion = v.integer(data.get("occasion", 0), "occasion", maximum=255)
    now = st.client.now()
    valid_from = v.integer(data.get("validFrom") or 0, "validFrom", maximum=2**40 - 1)
    if data.get("validFromDate"):
        valid_from = v.date_timestamp(data["validFromDate"], "validFrom")
    start = max(now, valid_from)
    min_validity = st.policy()["minValidity"]
    default_expiry = start + min_validity + DAY
    expiry = v.integer(data.get("expiry") or default_expiry, "expiry", maximum=2**40 - 1)
    if data.get("expiryDays"):
        expiry = now + v.integer(data["expiryDays"], "expiry", minimum=1, maximum=36500) * DAY
    if valid_from and valid_from >= expiry:
        raise ApiError(422, "the opens-on date must be before the expiry", "validFrom",
                       "InvalidValidFrom")
    if expiry < start + min_validity:
        since = "it opens" if valid_from > now else "now"
        raise ApiError(422, f"expiry must be at least {min_validity // DAY} days "
                       f"({min_validity} s) after {since}", "expiry", "ValidityTooShort")
    if not info.allowed:
        raise ApiError(422, "the currency is not allowed", "currency", "CurrencyNotAllowed")
    return (m.id, info.id, occasion, valid_from, expiry, random_serial(count)), expiry


def _paying(info: CurrencyInfo, sender: str, units: int, build: Callable[[int], dict]):
    """ETH: value on the tx. ERC-20: an approve first if the allowance is short."""
    st = state()
    if info.token is not None and approval_needed(st.client, info.id, sender, units):
        return {"needsApproval": True, "approve": build_approve(st.client, info.id, sender),
                "tx": None}
    return {"needsApproval": False, **build(units if info.token is None else 0)}


@operation("issue", "Buy a certificate for an address, or for a claim key (claim link)")
def op_issue(data: dict[str, Any], sender: str) -> dict[str, Any]:
    info = currency_arg(data.get("currency"))
    units = v.amount(v.required(data, "amount"), info)
    terms, expiry = _terms(data, info)
    message = v.text(data.get("message"), "message")
    total = from_units(units, info).to_json()
    if data.get("claimKey"):
        key = v.address(data["claimKey"], "claimKey")
        now = state().client.now()
        days = v.integer(data.get("claimDays", 30), "claimDays", minimum=1, maximum=3650)
        deadline = min(now + days * DAY, expiry)
        result = _paying(info, sender, units, lambda value: _tx(
            "issueClaimable", sender, key, terms, units, deadline, message, value=value))
        # The contract keeps the day: the link can be claimed until that UTC day ends.
        return {**result, "total": total, "claimDeadline": end_of_day(deadline)}
    to = v.address(v.required(data, "to"), "to")
    result = _paying(info, sender, units, lambda value: _tx(
        "issue", sender, to, terms, units, message, value=value))
    return {**result, "total": total}


def parse_rows(raw: Any, info: CurrencyInfo) -> tuple[list[dict[str, Any]], list[tuple]]:
    """CSV text (address,amount[,message]) or a list of {to, amount}: rows with errors."""
    if isinstance(raw, str):
        lines = [r for r in csv.reader(io.StringIO(raw)) if r and any(c.strip() for c in r)]
        if lines and lines[0][0].strip().lower() in ("address", "recipient", "to"):
            lines = lines[1:]
        items = [{"to": r[0].strip(), "amount": r[1].strip() if len(r) > 1 else "",
                  "message": r[2].strip() if len(r) > 2 else ""} for r in lines]
    elif isinstance(raw, list):
        items = raw
    else:
        raise v.bad("rows must be CSV text or a list of {to, amount}", "rows")
    if not items:
        raise v.bad("no rows", "rows")
    if len(items) > MAX_BATCH_ROWS:
        raise v.bad(f"at most {MAX_BATCH_ROWS} rows per batch", "rows")
    out, good = [], []
    for i, item in enumerate(items, start=1):
        row: dict[str, Any] = {"row": i, "errors": []}
        if not isinstance(item, dict):
            row["errors"].append({"field": "row", "error": "not an object"})
            out.append(row)
            continue
        row["to"], row["amount"] = item.get("to"), item.get("amount")
        row["message"] = item.get("message") or ""
        parsed: dict[str, Any] = {}
        for field, check in (("to", lambda x: v.address(x, "to")),
                             ("amount", lambda x: v.amount(x, info)),
                             ("message", lambda x: v.text(x, "message"))):
            try:
                parsed[field] = check(item.get(field))
            except ApiError as exc:
                row["errors"].append({"field": field, "error": exc.message})
        if not row["errors"]:
            good.append((parsed["to"], parsed["amount"]))
        out.append(row)
    return out, good


@bp.post("/give/preview")
def preview_batch():
    data = _body()
    info = currency_arg(data.get("currency"))
    rows, good = parse_rows(data.get("rows"), info)
    total = sum(u for _, u in good)
    return jsonify({"rows": rows, "valid": len(good), "invalid": len(rows) - len(good),
                    "total": from_units(total, info).to_json()})


@operation("issue-batch", "Buy one certificate per row (CSV of address,amount), same terms")
def op_issue_batch(data: dict[str, Any], sender: str) -> dict[str, Any]:
    info = currency_arg(data.get("currency"))
    rows, good = parse_rows(data.get("rows"), info)
    if len(good) != len(rows):
        raise ApiError(400, "some rows are invalid: fix them first", "rows",
                       details={"rows": rows})
    terms, _ = _terms(data, info, count=len(good))
    message = v.text(data.get("message"), "message")
    total = sum(u for _, u in good)
    result = _paying(info, sender, total, lambda value: _tx(
        "issueBatch", sender, [a for a, _ in good], [u for _, u in good], terms, message,
        value=value))
    return {**result, "total": from_units(total, info).to_json(), "count": len(good)}


@operation("top-up", "Add value to a certificate")
def op_top_up(data: dict[str, Any], sender: str) -> dict[str, Any]:
    cert = _certificate(v.required(data, "certificate"))
    units = v.amount(v.required(data, "amount"), cert.currency)
    result = _paying(cert.currency, sender, units,
                     lambda value: _tx("topUp", sender, cert.id, units, value=value))
    return {**result, "total": from_units(units, cert.currency).to_json()}


@operation("transfer", "Re-gift a whole certificate")
def op_transfer(data: dict[str, Any], sender: str) -> dict[str, Any]:
    to = v.address(v.required(data, "to"), "to")
    cert = _certificate(v.required(data, "certificate"))
    if cert.owner != sender:
        raise ApiError(422, "this account does not hold the certificate", "from", "NotHolder")
    return _tx("safeTransferFrom", sender, sender, to, cert.id, 1, b"")


@operation("split", "Re-gift part of a certificate's balance as a new certificate")
def op_split(data: dict[str, Any], sender: str) -> dict[str, Any]:
    cert = _certificate(v.required(data, "certificate"))
    units = v.amount(v.required(data, "amount"), cert.currency)
    to = v.address(v.required(data, "to"), "to")
    return _tx("split", sender, cert.id, units, to)


@operation("merge", "Move a certificate's whole balance into another of yours")
def op_merge(data: dict[str, Any], sender: str) -> dict[str, Any]:
    src = v.certificate_id(v.required(data, "certificate"))
    into = v.certificate_id(v.required(data, "into"), "into")
    return _tx("merge", sender, src, into)


@operation("claim", "Submit a claim-link signature (anyone may send it)")
def op_claim(data: dict[str, Any], sender: str) -> dict[str, Any]:
    recipient = v.address(v.required(data, "recipient"), "recipient")
    signature = v.signature(v.required(data, "signature"))
    cert = _certificate(v.required(data, "certificate"))
    _check_claimable(cert)
    doc = eip712.claim(state().client.chain_id, state().client.address,
                       certificate=cert.id, recipient=recipient)
    signer = Account.recover_message(encode_typed_data(full_message=doc), signature=signature)
    if signer != cert.owner:
        raise ApiError(422, "the signature is not from this gift's claim key (wrong link?)",
                       "signature", "InvalidSignature")
    return _tx("claim", sender, cert.id, recipient, signature)


def end_of_day(timestamp: int) -> int:
    """The last second of the UTC day of `timestamp`: a claim deadline as the contract keeps
    it (a day number)."""
    return timestamp // DAY * DAY + DAY - 1


def _check_claimable(cert) -> None:
    """The contract's `claim` rules, in the order a person needs them."""
    st = state()
    if not cert.awaiting_claim:
        raise ApiError(409, "this gift has already been claimed", "certificate", "NotClaimable")
    now = st.client.now()
    if now >= cert.expiry:
        raise ApiError(410, "this gift has expired", "certificate", "Expired")
    if now > cert.claim_deadline:
        raise ApiError(410, v.REVERT_MESSAGES["ClaimWindowClosed"], "certificate",
                       "ClaimWindowClosed")
    if st.policy()["paused"]:
        raise ApiError(422, "claims are stopped while the contract is paused: try again later",
                       "certificate", "EnforcedPause")


@operation("reclaim", "The buyer takes back an unclaimed claim-link gift after its deadline")
def op_reclaim(data: dict[str, Any], sender: str) -> dict[str, Any]:
    cert = _certificate(v.required(data, "certificate"))
    return _tx("reclaim", sender, cert.id)


@operation("redeem", "The holder pays the merchant directly (holder pays gas)")
def op_redeem(data: dict[str, Any], sender: str) -> dict[str, Any]:
    cert = _certificate(v.required(data, "certificate"))
    units = v.amount(v.required(data, "amount"), cert.currency)
    ref = v.integer(v.required(data, "orderRef"), "orderRef")
    return _tx("redeem", sender, cert.id, units, ref)


@operation("redeem-authorized", "The merchant submits a holder's signed authorisation")
def op_redeem_authorized(data: dict[str, Any], sender: str) -> dict[str, Any]:
    signed = parse_authorization(v.required(data, "authorization"))
    result = _tx("redeemWithAuthorization", sender, signed.auth, signed.signature)
    return {**result, "redemption": _redemption_json(signed)}


@operation("settle-batch", "The merchant settles many authorisations in one transaction: "
                           "every valid one is paid, each refused one is reported")
def op_settle_batch(data: dict[str, Any], sender: str) -> dict[str, Any]:
    m = merchant_arg(v.required(data, "merchant"))
    raw = v.required(data, "authorizations")
    if isinstance(raw, str):
        raw = [line.strip() for line in raw.splitlines() if line.strip()]
    if not isinstance(raw, list) or not raw:
        raise v.bad("authorizations must be a non-empty list", "authorizations")
    if len(raw) > MAX_SETTLE:
        raise v.bad(f"at most {MAX_SETTLE} authorisations per batch", "authorizations")
    signed = [parse_authorization(a, f"authorizations[{i}]") for i, a in enumerate(raw)]
    for i, s in enumerate(signed):
        if s.merchant != m.id:
            raise v.bad(f"authorisation {i + 1} is for merchant {s.merchant}",
                        f"authorizations[{i}]")
    preflight = Preflight(m.id)
    refused = [{"item": i + 1, "certificate": str(s.certificate), "reason": reason,
                "message": v.revert_message(reason)}
               for i, s in enumerate(signed) if (reason := preflight.refusal(s)) is not None]
    if len(refused) == len(signed):
        # The transaction would go through and pay nothing: say why instead of sending it.
        only = refused[0]["reason"] if len(refused) == 1 else "RedemptionRefused"
        raise ApiError(422, "nothing in this batch can be settled: " + "; ".join(
            f"{r['item']}: {r['message']}" for r in refused), "authorizations", only,
            {"refused": refused})
    # Never all-or-nothing: the valid items are settled and each refused one is reported
    # (RedemptionRefused in the receipt; GET /transactions/{txHash} reads it).
    result = _tx("settleBatch", sender, m.id, [s.auth for s in signed],
                 [s.signature for s in signed], False)
    return {**result, "count": len(signed), "willSettle": len(signed) - len(refused),
            "refused": refused}


@operation("refund", "After expiry: the remaining balance back to the buyer")
def op_refund(data: dict[str, Any], sender: str) -> dict[str, Any]:
    cert = _certificate(v.required(data, "certificate"))
    buyer = v.address(data.get("buyer") or sender, "buyer")
    if not cert.is_buyer(buyer):
        raise ApiError(422, "that address is not the certificate's buyer", "buyer", "NotBuyer")
    return _tx("refund", sender, cert.id, buyer)


@operation("void", "The merchant voids a certificate: the balance goes back to the holder")
def op_void(data: dict[str, Any], sender: str) -> dict[str, Any]:
    cert = _certificate(v.required(data, "certificate"))
    return _tx("void", sender, cert.id)


@operation("cash-out", "The holder takes out a small balance where the merchant allows it")
def op_cash_out(data: dict[str, Any], sender: str) -> dict[str, Any]:
    cert = _certificate(v.required(data, "certificate"))
    return _tx("cashOut", sender, cert.id)


@operation("withdraw", "The merchant withdraws its redeemed balance")
def op_withdraw(data: dict[str, Any], sender: str) -> dict[str, Any]:
    m = merchant_arg(v.required(data, "merchant"))
    info = currency_arg(data.get("currency"))
    return _tx("withdrawMerchant", sender, m.id, info.id)


@operation("set-cash-out-limit",
           "The merchant lets holders take out balances up to a limit (0: no cash-out)")
def op_set_cash_out_limit(data: dict[str, Any], sender: str) -> dict[str, Any]:
    m = merchant_arg(v.required(data, "merchant"))
    info = currency_arg(data.get("currency"))
    units = v.amount(v.required(data, "limit"), info, "limit", allow_zero=True)
    return _tx("setCashOutLimit", sender, m.id, info.id, units)


@operation("register-merchant", "Admin: register a merchant")
def op_register_merchant(data: dict[str, Any], sender: str) -> dict[str, Any]:
    account = v.address(v.required(data, "account"), "account")
    name = v.text(v.required(data, "name"), "name", max_length=64).strip()
    if not name:
        raise v.bad("name is required", "name")
    return _tx("registerMerchant", sender, account, name)


@operation("set-merchant-active", "Admin: activate or deactivate a merchant")
def op_set_merchant_active(data: dict[str, Any], sender: str) -> dict[str, Any]:
    m = merchant_arg(v.required(data, "merchant"))
    active = v.boolean(v.required(data, "active"), "active")
    return _tx("setMerchantActive", sender, m.id, active)


@operation("allow-currency", "Admin: allow-list an ERC-20 token")
def op_allow_currency(data: dict[str, Any], sender: str) -> dict[str, Any]:
    token = v.address(v.required(data, "token"), "token")
    if not state().client.w3.eth.get_code(token):
        raise ApiError(422, "no contract at that token address", "token")
    return _tx("allowCurrency", sender, token)


@operation("set-currency-allowed", "Admin: suspend or restore deposits in a currency")
def op_set_currency_allowed(data: dict[str, Any], sender: str) -> dict[str, Any]:
    info = currency_arg(v.required(data, "currency"))
    allowed = v.boolean(v.required(data, "allowed"), "allowed")
    return _tx("setCurrencyAllowed", sender, info.id, allowed)


@operation("set-min-validity", "Admin: minimum time from issue to expiry (seconds)")
def op_set_min_validity(data: dict[str, Any], sender: str) -> dict[str, Any]:
    seconds = v.integer(v.required(data, "seconds"), "seconds", maximum=2**40 - 1)
    return _tx("setMinValidity", sender, seconds)


@operation("pause", "Pauser: stop issue, claims, transfers of value and redemptions")
def op_pause(data: dict[str, Any], sender: str) -> dict[str, Any]:
    return _tx("pause", sender)


@operation("unpause", "Pauser: lift a pause")
def op_unpause(data: dict[str, Any], sender: str) -> dict[str, Any]:
    return _tx("unpause", sender)


# ---------------------------------------------------------------- typed data, authorisations


@bp.post("/typed-data/redemption")
def typed_redemption():
    """What the holder signs (eth_signTypedData_v4) to let the merchant redeem."""
    data = _body()
    st = state()
    cert = _certificate(v.required(data, "certificate"))
    units = v.amount(v.required(data, "amount"), cert.currency)
    chosen = data.get("orderRef")
    ref = v.integer(chosen or secrets.randbits(63) + 1, "orderRef")
    now = st.client.now()
    valid_for = v.integer(data.get("validFor", 3600), "validFor", minimum=60,
                          maximum=30 * DAY)
    deadline = v.integer(data.get("deadline") or now + valid_for, "deadline")
    if deadline <= now:
        raise ApiError(422, "the deadline has passed", "deadline", "AuthorizationExpired")
    status = cert.status(now)
    if status == "awaiting-claim":
        raise ApiError(422, "claim the gift first", "certificate", "AwaitingClaim")
    if status == "expired":
        raise ApiError(422, "the certificate has expired", "certificate", "Expired")
    if status == "not-yet-valid":
        raise ApiError(422, "the certificate is not open yet", "certificate", "NotYetValid")
    if units > cert.currency.units(cert.balance, allow_zero=True):
        raise ApiError(422, f"the balance is only {cert.balance}", "amount",
                       "InsufficientBalance")
    # The certificate's current nonce: this authorisation replaces any unused earlier one.
    doc = eip712.redemption(st.client.chain_id, st.client.address, certificate=cert.id,
                            merchant=cert.merchant, amount=units, order_ref=ref,
                            nonce=cert.nonce, deadline=deadline)
    # Order references are the merchant's: one order may be paid in parts, so a paid one is
    # said, not refused (a fresh random reference cannot have been paid: no index query).
    paid = bool(chosen) and order_paid(cert.merchant, ref)
    return jsonify({"typedData": wallet_json(doc), "holder": cert.owner,
                    "merchant": cert.merchant, "merchantName": cert.merchant_name,
                    "amount": from_units(units, cert.currency).to_json(),
                    "orderRef": str(ref), "nonce": str(cert.nonce), "deadline": deadline,
                    "orderPaid": paid})


def order_paid(merchant: int, order_ref: int) -> bool:
    """Whether the index holds a payment to `merchant` for this order reference (the chain
    keeps no record of order references: they are data of the Redeemed event)."""
    return state().indexer.order_paid(merchant, order_ref)


@bp.post("/typed-data/claim")
def typed_claim():
    """What the claim key signs (in the browser, from the link's #key) for a recipient."""
    data = _body()
    st = state()
    recipient = v.address(v.required(data, "recipient"), "recipient")
    cert = _certificate(v.required(data, "certificate"))
    _check_claimable(cert)
    doc = eip712.claim(st.client.chain_id, st.client.address, certificate=cert.id,
                       recipient=recipient)
    return jsonify({"typedData": wallet_json(doc), "claimKey": cert.owner})


def encode_authorization(signed: SignedRedemption) -> str:
    """The compact string shown as QR code:
    gc2:certificate:merchant:amount:orderRef:nonce:deadline:signature."""
    return ":".join([AUTH_PREFIX, str(signed.certificate), str(signed.merchant),
                     str(signed.amount), str(signed.order_ref), str(signed.nonce),
                     str(signed.deadline), "0x" + signed.signature.hex()])


def parse_authorization(raw: Any, field: str = "authorization") -> SignedRedemption:
    """A payment authorisation from its compact string or its JSON {typedData, signature}."""
    st = state()
    if isinstance(raw, str) and raw.strip().startswith("{"):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise v.bad(f"{field} is not valid JSON", field) from None
    if isinstance(raw, dict):
        try:
            message, domain = raw["typedData"]["message"], raw["typedData"]["domain"]
            parts = [message["certificate"], message["merchant"], message["amount"],
                     message["orderRef"], message["nonce"], message["deadline"],
                     raw["signature"]]
        except (KeyError, TypeError):
            raise v.bad(f"{field} needs typedData.message (with its nonce) and signature",
                        field) from None
        if (int(str(domain.get("chainId", -1)), 0) != st.client.chain_id
                or str(domain.get("verifyingContract", "")).lower()
                != st.client.address.lower()):
            raise v.bad(f"{field} was signed for another chain or contract", field)
    elif isinstance(raw, str):
        parts = raw.strip().split(":")
        if parts[0] == OLD_AUTH_PREFIX:
            raise v.bad(f"{field} was made for the previous version of the contract: ask "
                        "the customer to sign the payment again", field)
        if len(parts) != 8 or parts[0] != AUTH_PREFIX:
            raise v.bad(f"{field} is not a payment authorisation ({AUTH_PREFIX}:...)", field)
        parts = parts[1:]
    else:
        raise v.bad(f"{field} must be the authorisation text", field)
    cert_id = v.certificate_id(parts[0], field)
    merchant = v.merchant_id(parts[1], field)
    amount = v.integer(parts[2], field, minimum=1)
    ref = v.integer(parts[3], field)
    nonce = v.integer(parts[4], field)
    deadline = v.integer(parts[5], field)
    sig = v.signature(parts[6], field)
    doc = eip712.redemption(st.client.chain_id, st.client.address, certificate=cert_id,
                            merchant=merchant, amount=amount, order_ref=ref, nonce=nonce,
                            deadline=deadline)
    return SignedRedemption(cert_id, merchant, amount, ref, nonce, deadline, sig, doc)


def _signer(signed: SignedRedemption) -> str:
    return Account.recover_message(encode_typed_data(full_message=signed.typed_data),
                                   signature=signed.signature)


def _redemption_json(signed: SignedRedemption, preflight: Preflight | None = None
                     ) -> dict[str, Any]:
    signer = _signer(signed)
    out: dict[str, Any] = {"certificate": str(signed.certificate), "merchant": signed.merchant,
                           "orderRef": str(signed.order_ref), "nonce": str(signed.nonce),
                           "deadline": signed.deadline, "signer": signer,
                           "authorization": encode_authorization(signed)}
    cert = (preflight or Preflight(signed.merchant)).certificate(signed.certificate)
    if cert is not None:
        out["amount"] = from_units(signed.amount, cert.currency).to_json()
        out["holder"] = cert.owner
        out["balance"] = cert.balance.to_json()
        out["signedByHolder"] = signer == cert.owner
        out["currentNonce"] = str(cert.nonce)
    return out


class Preflight:
    """The contract's checks of signed redemptions (SignedRedemptions._termsRefusal and the
    signature), off-chain and in batch order: a settled item lowers its certificate's balance
    and moves its nonce for the items after it. It says why an item would be refused, in the
    contract's own error names, before anything is sent; the receipt has the last word."""

    def __init__(self, merchant_id: int) -> None:
        self.merchant_id = merchant_id
        self._now: int | None = None
        self._certs: dict[int, Any] = {}  # certificate id -> its state as the batch left it

    @property
    def now(self) -> int:
        if self._now is None:
            self._now = state().client.now()
        return self._now

    def certificate(self, cert_id: int) -> Any:
        """The certificate as the chain has it, then as the items so far leave it (None:
        unknown or closed)."""
        if cert_id not in self._certs:
            try:
                found = state().client.certificate(cert_id)
            except ContractRevert:
                found = None
            self._certs[cert_id] = found if found is not None and found.exists else None
        return self._certs[cert_id]

    def refusal(self, signed: SignedRedemption) -> str | None:
        """The error the contract would raise for this item (None: it would be settled)."""
        cert_id = signed.certificate
        if signed.merchant != self.merchant_id or decode_id(cert_id).merchant != signed.merchant:
            return "WrongMerchant"
        if self.now > signed.deadline:
            return "AuthorizationExpired"
        cert = self.certificate(cert_id)
        if cert is None:
            return "UnknownCertificate"
        if cert.awaiting_claim:
            return "AwaitingClaim"
        if self.now < cert.valid_from:
            return "NotYetValid"
        if self.now >= cert.expiry:
            return "Expired"
        units = cert.currency.units(cert.balance, allow_zero=True)
        if signed.amount > units:
            return "InsufficientBalance"
        if signed.nonce != cert.nonce:
            return "WrongNonce"
        if _signer(signed) != cert.owner and not state().client.w3.eth.get_code(cert.owner):
            return "InvalidSignature"  # a contract holder's wallet answers on chain (ERC-1271)
        self._certs[cert_id] = replace(cert, nonce=cert.nonce + 1,
                                       balance=from_units(units - signed.amount, cert.currency))
        return None


@bp.post("/authorizations/decode")
def decode_authorization():
    """Reads a pasted authorisation: what it pays, who signed it, whether it would go through
    (the contract's checks, said in plain words; a stale nonce is "already used or replaced"),
    and whether the index already holds a payment for its order reference."""
    data = _body()
    signed = parse_authorization(v.required(data, "authorization"))
    preflight = Preflight(signed.merchant)
    out = _redemption_json(signed, preflight)
    if "holder" not in out:
        raise ApiError(404, "no such certificate (or it was closed)", "authorization",
                       "UnknownCertificate")
    problem = preflight.refusal(signed)
    if problem == "InvalidSignature":
        raise ApiError(422, "the authorisation is not signed by the certificate's holder",
                       "authorization", "InvalidSignature", {"signer": out["signer"]})
    if problem is not None:
        raise ApiError(422, v.revert_message(problem), "authorization", problem,
                       {k: out[k] for k in ("nonce", "currentNonce", "deadline")})
    out["orderPaid"] = order_paid(signed.merchant, signed.order_ref)
    return jsonify(out)


@bp.post("/authorizations")
def submit_authorization():
    """The holder's page hands in its signature: the server checks it and returns the
    compact authorisation (for the QR code) and a link the merchant can open."""
    data = _body()
    typed = v.required(data, "typedData")
    signed = parse_authorization({"typedData": typed, "signature": v.required(
        data, "signature")}, "typedData")
    out = _redemption_json(signed)
    if "holder" not in out:
        raise ApiError(404, "no such certificate", "typedData", "UnknownCertificate")
    if not out["signedByHolder"]:
        raise ApiError(422, "the signature is not the holder's", "signature",
                       "InvalidSignature")
    return jsonify(out), 201


# ---------------------------------------------------------------- SIWE


@bp.get("/siwe/nonce")
def siwe_nonce():
    account = v.address(v.required(dict(request.args), "address"), "address")
    st = state()
    try:
        nonce = st.siwe.new_nonce()
    except TooManySignIns:
        raise ApiError(429, "too many sign-ins are in progress: try again in a few minutes",
                       None, "TooManySignIns") from None
    message = siwe.build_message(request.host, account, request.host_url.rstrip("/"),
                                 st.client.chain_id, nonce)
    return jsonify({"message": message.text, "nonce": message.nonce,
                    "expirationTime": message.expiration_time})


@bp.post("/siwe/verify")
def siwe_verify():
    data = _body()
    text = v.text(v.required(data, "message"), "message", max_length=2000)
    sig = v.signature(v.required(data, "signature"))
    st = state()
    parsed = siwe.verify(text, sig, domain=request.host, chain_id=st.client.chain_id,
                         use_nonce=st.siwe.use_nonce)
    sid = st.siwe.open_session(parsed.address)
    merchants = [m.to_json() for m in st.merchants_of(parsed.address)]
    response = jsonify({"address": parsed.address, "merchants": merchants})
    response.set_cookie(siwe.COOKIE, sid, httponly=True, samesite="Lax",
                        secure=request.is_secure)
    return response


@bp.post("/siwe/logout")
def siwe_logout():
    state().siwe.close_session(request.cookies.get(siwe.COOKIE))
    response = jsonify({"signedOut": True})
    response.delete_cookie(siwe.COOKIE)
    return response


@bp.get("/siwe/me")
def siwe_me():
    session = state().siwe.session(request.cookies.get(siwe.COOKIE))
    if session is None:
        raise ApiError(401, "not signed in", None)
    return jsonify({"address": session.address, "expires": int(session.expires),
                    "merchants": [m.to_json() for m in state().merchants_of(session.address)]})


@bp.get("/openapi.json")
def openapi():
    from webapp.openapi import document

    return jsonify(document(OPERATIONS))
