"""GET /api/v1/...: what the chain and the index say (chain id, currencies, merchants and their
figures, certificates and their history, a holder's certificates page by page, a mined
transaction's outcome)."""

from __future__ import annotations

import json
import time
from typing import Any

from flask import g

from giftcert import eip712
from giftcert.client import Refusal
from giftcert.database import holder_description
from giftcert.ids import decode_id
from giftcert.models import TabSettle
from giftcert.money import CurrencyInfo, from_units
from webapp.api.blueprint import Reply, get
from webapp.api.lookups import live_certificate, merchant_arg
from webapp.api.models import (
    AccountPath,
    Certificate,
    CertificatePath,
    Config,
    Currencies,
    GiftRef,
    GiftRefPath,
    History,
    HolderCertificates,
    HolderPath,
    HolderQuery,
    Merchant,
    MerchantPath,
    MerchantRedemptions,
    Merchants,
    MerchantStats,
    Policy,
    RedemptionsQuery,
    Roles,
    Status,
    TransactionOutcome,
    TxHashPath,
)
from webapp.api.relay import relay_status
from webapp.errors import ApiError, revert_message
from webapp.present import (
    OCCASIONS,
    activity,
    chain_cert,
    currency_or_eth,
    gift_ref,
    indexed_cert,
    state,
)
from webapp.stats import merchant_stats, redemptions


def currency_json(c: CurrencyInfo) -> dict[str, Any]:
    return {"id": c.id, "symbol": c.symbol, "decimals": c.decimals, "token": c.token,
            "allowed": c.allowed}


@get("/status", Status)
def status() -> Reply:
    """Chain, database and indexer, each on its own

    Never a 5xx: what does not answer is said (`chain`, `database`: unreachable, with the
    reason), and the index's lag comes from its writer's heartbeat, without a node call. The
    chain's head is the block this process read last (cached for a second or two)."""
    st = state()
    head = chain_error = database_error = None
    try:
        head = st.client.block_number()
    except Exception as exc:  # noqa: BLE001 - any failure to answer means the same to a user
        chain_error = f"chain unreachable: {_first_line(exc)}"
    index = None
    try:
        index = st.index_status()
    except Exception as exc:  # noqa: BLE001 - reported, never a 500
        database_error = f"database unreachable: {_first_line(exc)}"
    block = index.block if index else None
    seen_head = max(h for h in (head, index.head if index else None, 0) if h is not None)
    lag = (max(0, seen_head - (block if block is not None else index.start_block - 1))
           if index and seen_head else None)
    return {"chainId": st.client.chain_id, "contract": st.client.address,
            "chain": "unreachable" if chain_error else "reachable", "chainHead": head,
            "chainError": chain_error,
            "database": "unreachable" if database_error else "reachable",
            "databaseError": database_error,
            "indexer": {"mode": st.mode, "block": block, "head": index.head if index else None,
                        "lagBlocks": lag,
                        "secondsSinceCheck": index.seconds_since_check() if index else None,
                        "writer": index.writer if index else None,
                        "error": st.last_sync_error},
            "indexedBlock": block, "indexerError": st.last_sync_error,
            "servedBy": holder_description(), "relay": relay_status()}


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


@get("/config", Config)
def config() -> Reply:
    """Chain id, contract, currencies, merchants, policy, occasions, EIP-712 types"""
    st = state()
    return {"chainId": st.client.chain_id, "contract": st.client.address,
            "currencies": [currency_json(c) for c in st.currencies()],
            "merchants": [m.to_json() for m in st.merchants()],
            "policy": st.policy(),
            "occasions": [{"id": i, "name": n} for i, n in enumerate(OCCASIONS)],
            "eip712": json.loads(eip712.typed_data_json())}


@get("/currencies", Currencies)
def currencies() -> Reply:
    """Allow-listed currencies"""
    return [currency_json(c) for c in state().currencies()]


@get("/policy", Policy)
def policy() -> Reply:
    """Minimum validity and pause state"""
    return state().policy()


@get("/merchants", Merchants)
def merchants() -> Reply:
    """Registered merchants"""
    return [m.to_json() for m in state().merchants()]


@get("/merchants/<merchant>", Merchant)
def merchant(path: MerchantPath) -> Reply:
    """One merchant"""
    return merchant_arg(path.merchant).to_json()


@get("/merchants/<merchant>/stats", MerchantStats)
def merchant_stats_route(path: MerchantPath) -> Reply:
    """Liability, redemptions by day, breakage and refunds"""
    m = merchant_arg(path.merchant)
    stats = merchant_stats(state(), m.id)
    for d in stats["redemptionsByDay"]:
        d["units"] = str(d["units"])
    return {**stats, "name": m.name}


@get("/merchants/<merchant>/redemptions", MerchantRedemptions)
def merchant_redemptions(path: MerchantPath, query: RedemptionsQuery) -> Reply:
    """Recent redemptions (limit)"""
    m = merchant_arg(path.merchant)
    return redemptions(state(), m.id, query.limit)


@get("/certificates/<certificate>", Certificate)
def certificate(path: CertificatePath) -> Reply:
    """A certificate as the chain reports it"""
    return chain_cert(live_certificate(path.certificate))


@get("/gifts/<ref>", GiftRef)
def gift_ref_route(path: GiftRefPath) -> Reply:
    """The certificate a short gift reference names

    People read, type and share the short reference (7K2M-Q9XD) the site shows instead of a
    77-digit id; this gives the id back (404 when the index knows no such gift)."""
    from webapp.present import looks_like_ref, refs

    found = refs(state()).find(state(), path.ref) if looks_like_ref(path.ref) else None
    if found is None:
        raise ApiError(404, f"no gift has the reference {path.ref}", "ref", "UnknownCertificate")
    return {"ref": gift_ref(found), "id": str(found)}


_ROLE_IDS: dict[str, Any] = {}


@get("/accounts/<address>/roles", Roles)
def account_roles(path: AccountPath) -> Reply:
    """The contract roles an account holds: admin, registrar, pauser"""
    client = state().client
    if not _ROLE_IDS:
        names = ("DEFAULT_ADMIN_ROLE", "REGISTRAR_ROLE", "PAUSER_ROLE")
        _ROLE_IDS.update(zip(("admin", "registrar", "pauser"),
                             (r.value for r in client.read_many([(n, ()) for n in names])),
                             strict=True))
    held = client.read_many([("hasRole", (role, path.address)) for role in _ROLE_IDS.values()])
    return {"address": path.address, **{k: bool(r.value) for k, r in zip(_ROLE_IDS, held,
                                                                           strict=True)}}


@get("/certificates/<certificate>/history", History)
def history(path: CertificatePath) -> Reply:
    """A certificate's events from the indexer"""
    st = state()
    row = st.indexer.certificate(path.certificate)
    if row is None:
        raise ApiError(404, "no such certificate in the index (yet)", "certificate",
                       "UnknownCertificate")
    info = currency_or_eth(st, row["currency"])
    return [activity(st, e, info) for e in st.indexer.history(path.certificate)]


@get("/holders/<holder>/certificates", HolderCertificates)
def holder_certificates(path: HolderPath, query: HolderQuery) -> Reply:
    """Certificates held by an address (indexer), a page at a time"""
    st = state()
    after = str(query.after) if query.after is not None else None
    now = int(time.time())
    # One row more than asked says whether another page follows.
    rows = st.indexer.certificates_of(path.holder, include_closed=query.closed,
                                      limit=query.limit + 1, after=after)
    page = rows[:query.limit]
    following = page[-1]["id"] if len(rows) > query.limit else None
    # The answer is kept until the index moves or a status in it would change with the time
    # (a certificate opening or expiring): the response cache of webapp/__init__.py.
    changes = [t for r in page for t in (r["valid_from"], r["expiry"]) if t > now]
    g.giftcert_cache_until = min(changes) if changes else None
    return {"holder": path.holder, "next": following,
            "certificates": [indexed_cert(st, r, now) for r in page]}


PENDING = {202: {"description": "Not mined yet: {txHash, status: pending}", "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/TransactionOutcome"}}}}}


@get("/transactions/<txHash>", TransactionOutcome, responses=PENDING)
def transaction(path: TxHashPath) -> Reply:
    """A mined transaction's status and the certificates it made

    Its status, the certificates it created or split off, the payments it made, the tabs it
    collected and, for a batch settlement (of authorisations or of tabs), each refused item
    and why (202 with status pending while it is not mined). A read only: the merchants' kept
    vouchers of the tabs it collected go when the index records the settle."""
    st = state()
    outcome = st.client.transaction_outcome(path.txHash)  # the SDK reads the events
    if outcome is None:
        return {"txHash": path.txHash, "status": "pending"}, 202
    return {**outcome.to_json(), "refused": [refusal_json(r) for r in outcome.refused],
            "tabsSettled": [tab_settle_json(st, t) for t in outcome.tabs_settled]}


def tab_settle_json(st: Any, settle: TabSettle) -> dict[str, Any]:
    """A tab collected, with its amount in the certificate's currency."""
    info = currency_or_eth(st, decode_id(settle.certificate).currency)
    return {**settle.to_json(), "ref": gift_ref(settle.certificate),
            "amount": from_units(settle.units, info).to_json()}


def refusal_json(refusal: Refusal) -> dict[str, Any]:
    """A refused batch item in words: its position (1-based, as the desk numbers lines), the
    contract's error and what it means."""
    return {**refusal.to_json(), "item": refusal.index + 1, "ref": gift_ref(refusal.certificate),
            "message": revert_message(refusal.reason.error_name)}
