"""/api/v1/relay: the sponsor relay (issue 16, docs/relay.md). The site submits, from its
relayer key, what a user signed but cannot pay the gas for: a claim link's claim, and the
holder's signed transfer, split, merge and cash-out, and the holder's signed tab actions (open a
tab, ask to close it, close it after the delay). It holds no user key.

- `GET /relay`: whether it is on, the relayer, the operations it pays for, the pages'
  preference and the day's limits
- `POST /relay/claim`, `POST /relay/<operation>`: 202 with the request (its id, status and, once
  broadcast, its transaction hash); the same signature again: 200 with the same request. A
  request the contract would refuse is refused now (4xx, in words, the contract's error as
  `code`) and nothing is sent; over a daily limit: 429 with Retry-After.
- `GET /relay/requests/<requestId>`: queued, sent, mined or failed (with the reason).

Each process makes its relay at its first request (after a fork, its own), and with
GIFTCERT_RELAY_KEEPER=thread (the default) starts a keeper thread that idles on one small
query per second while nothing is unfinished.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NoReturn

from flask import abort, current_app, jsonify, request
from flask_openapi3 import Tag
from pydantic import Field, create_model

from giftcert.authorization import MAX_SIGNATURE_BYTES
from giftcert.config import Settings
from giftcert.money import ETH, format_decimal, from_units
from giftcert.relay import LimitReached, RelayRefused, open_relay
from giftcert.relay.operations import ALL_OPERATIONS
from giftcert.relay.service import Relay
from webapp.api.blueprint import Reply, bp, get, post
from webapp.api.fields import Address, CertificateId, HexBytes, Rule, Signature, Uint, refuse
from webapp.api.models import Body, DomainIn, Out
from webapp.errors import ApiError
from webapp.present import state

log = logging.getLogger("giftcert.web")

# -- models -----------------------------------------------------------------------------------

Whole = Annotated[int, Uint()]
Deadline = Annotated[int, Uint(description="Unix time after which the signature is void")]
Nonce = Annotated[int, Uint(description="The certificate's nonce when signed (its `nonce`)")]
HolderSignature = Annotated[bytes, HexBytes(max_bytes=MAX_SIGNATURE_BYTES, description=(
    "The holder's EIP-712 signature: 65 bytes (r, s, v) from an account, any length from a "
    "contract wallet (ERC-1271)"))]
DomainField = Field(None, description="The EIP-712 domain it was signed for (optional: a "
                                      "wrong chain or contract is then named as such)")


class RelayClaimRequest(Body):
    certificate: CertificateId
    recipient: Address
    signature: Signature = Field(description="The claim key's EIP-712 Claim signature")
    domain: DomainIn | None = DomainField


class TransferMessage(Body):
    certificate: CertificateId
    to: Address
    nonce: Nonce
    deadline: Deadline


class SplitMessage(Body):
    certificate: CertificateId
    amount: Annotated[int, Uint(1, description="Smallest units of the certificate's currency")]
    to: Address
    nonce: Nonce
    deadline: Deadline


class MergeMessage(Body):
    source: CertificateId = Field(alias="from", description="The certificate merged away")
    into: CertificateId
    nonce: Nonce = Field(description="The nonce of `from` when signed")
    deadline: Deadline


class CashOutMessage(Body):
    certificate: CertificateId
    nonce: Nonce
    deadline: Deadline


class OpenTabMessage(Body):
    certificate: CertificateId
    sessionKey: Address = Field(description=(  # noqa: N815 - the signed field's name
        "The key that signs the tab's vouchers (0x0...0: the holder itself)"))
    nonce: Nonce
    deadline: Deadline


class TabMessage(Body):
    certificate: CertificateId = Field(description="The certificate whose tab it is")
    nonce: Nonce
    deadline: Deadline


def _action_request(name: str, message: type[Body]) -> type[Body]:
    """The body of POST /relay/<kind>: the signed message, its signature, and optionally the
    domain it was signed for. One model per kind (each message has its own fields and its own
    name in the OpenAPI document), all made here so the three shared fields are written once."""
    return create_model(name, __base__=Body, message=(message, ...),
                        signature=(HolderSignature, ...), domain=(DomainIn | None, DomainField))


RelayTransferRequest = _action_request("RelayTransferRequest", TransferMessage)
RelaySplitRequest = _action_request("RelaySplitRequest", SplitMessage)
RelayMergeRequest = _action_request("RelayMergeRequest", MergeMessage)
RelayCashOutRequest = _action_request("RelayCashOutRequest", CashOutMessage)
RelayOpenTabRequest = _action_request("RelayOpenTabRequest", OpenTabMessage)
RelayRequestTabCloseRequest = _action_request("RelayRequestTabCloseRequest", TabMessage)
RelayCloseTabRequest = _action_request("RelayCloseTabRequest", TabMessage)


_REQUEST_ID = re.compile(r"^r[0-9a-f]{32}$")


@dataclass(frozen=True)
class RequestIdRule(Rule):
    def parse(self, value: Any) -> str:
        if not isinstance(value, str) or not _REQUEST_ID.match(value):
            raise refuse("must be a relay request id: r and 32 hex digits")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": _REQUEST_ID.pattern}


class RelayRequestPath(Body):
    requestId: Annotated[str, RequestIdRule()]  # noqa: N815 - the documented name


class RelayLimits(Out):
    perAddressDay: int = Field(description="Requests naming one address (signer or "  # noqa: N815
                                           "recipient) per UTC day")
    perIpDay: int = Field(description="Requests from one client IP per UTC day")  # noqa: N815
    gasBudgetDay: int = Field(description="Gas the relayer may spend per UTC day")  # noqa: N815
    stuckSeconds: float = Field(  # noqa: N815
        description="A transaction not mined by then is re-sent with higher fees")


class RelayInfo(Out):
    enabled: bool
    relayer: str | None = Field(description="The account that pays the gas")
    operations: list[str] = Field(description="What the site pays the gas for")
    prefer: Literal["when-needed", "always"] = Field(
        description="when-needed: pages offer it when the wallet cannot pay the fee; always: "
                    "pages use it whenever the operation is sponsored")
    limits: RelayLimits


class RelayRequest(Out):
    requestId: str  # noqa: N815
    status: Literal["queued", "sent", "mined", "failed"] = Field(
        description="queued (accepted), sent (broadcast), mined, failed (see reason)")
    txHash: str | None = Field(description="Its transaction (null while queued)")  # noqa: N815
    reason: str | None = Field(description="Why it failed, in plain words")
    code: str | None = Field(None, description="The contract's error name, when it is one")
    operation: str
    certificate: str
    recipient: str | None = None
    newCertificate: str | None = Field(  # noqa: N815
        None, description="split: the certificate it made (once mined)")
    nonce: int = Field(description="The relayer's nonce it was given")
    blockNumber: int | None = None  # noqa: N815
    gasUsed: int | None = None  # noqa: N815


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


SUBMIT_RESPONSES: dict[int, Any] = {
    200: {"description": "This signature was submitted before: the same request",
          "content": {"application/json": {"schema": {
              "$ref": "#/components/schemas/RelayRequest"}}}},
    403: _error("The site does not sponsor this operation (or runs no relay)"),
    409: _error("Already claimed, a nonce already used, or another request for this "
                "certificate on its way"),
    410: _error("Expired, or the claim window has closed"),
    429: {**_error("A daily limit is reached: Retry-After says when to try again"),
          "headers": {"Retry-After": {"schema": {"type": "integer"},
                                      "description": "Seconds until the next UTC day"}}},
    503: _error("The node does not answer, or the sponsor is out of funds"),
}
RELAY_TAGS = [Tag(name="relay")]

# -- the process's relay ----------------------------------------------------------------------


@dataclass
class _Held:
    relay: Relay | None
    pid: int
    state_id: int


_lock = threading.Lock()


def relay_of_process() -> Relay | None:
    """This process's relay over the app state's client (made again after a fork)."""
    app = current_app
    st = state()
    held: _Held | None = app.extensions.get("giftcert_relay")
    if held is not None and held.pid == os.getpid() and held.state_id == id(st):
        return held.relay
    with _lock:
        held = app.extensions.get("giftcert_relay")
        if held is None or held.pid != os.getpid() or held.state_id != id(st):
            settings: Settings = app.config["GIFTCERT_SETTINGS"]
            held = _Held(open_relay(settings, st.client), os.getpid(), id(st))
            app.extensions["giftcert_relay"] = held
    return held.relay


@bp.before_app_request
def _keeper() -> None:
    """GIFTCERT_RELAY_KEEPER=thread: each process keeps its queue moving (several keepers
    at once are safe: docs/relay.md)."""
    settings: Settings = current_app.config["GIFTCERT_SETTINGS"]
    if settings.relay.keeper != "thread" or not settings.relayer_key:
        return
    try:
        relay = relay_of_process()
    except Exception:  # noqa: BLE001 - the request itself says what is down
        return
    if relay is not None and not relay.keeping:
        relay.keep()


def _relay() -> Relay:
    relay = relay_of_process()
    if relay is None:
        raise ApiError(403, "this site sponsors no transactions (no relayer key is set): pay "
                            "the gas from the wallet", "operation", "RelayDisabled")
    return relay


# -- routes -----------------------------------------------------------------------------------


@get("/relay", RelayInfo, tags=RELAY_TAGS)
def relay_info() -> Reply:
    """The sponsor relay: on or off, who pays, for what, and the day's limits"""
    settings: Settings = current_app.config["GIFTCERT_SETTINGS"]
    relay = relay_of_process()
    limits = settings.relay
    return {"enabled": relay is not None, "relayer": relay.relayer if relay else None,
            "operations": list(relay.operations) if relay else [], "prefer": limits.prefer,
            "limits": {"perAddressDay": limits.per_address_day, "perIpDay": limits.per_ip_day,
                       "gasBudgetDay": limits.gas_budget_day,
                       "stuckSeconds": limits.stuck_seconds}}


@get("/relay/requests/<requestId>", RelayRequest, tags=RELAY_TAGS)
def relay_request(path: RelayRequestPath) -> Reply:
    """A relayed request's progress: queued, sent, mined or failed (with the reason)"""
    record = _relay().store.get(path.requestId)
    if record is None:
        raise ApiError(404, "no relay request has this id", "requestId", "UnknownRequest")
    return record.to_json()


def _submit(operation: str, payload: dict[str, Any]) -> Reply:
    try:
        record, created = _relay().submit(operation, payload, request.remote_addr or "")
    except LimitReached as exc:
        _too_many(exc)
    except RelayRefused as exc:
        raise ApiError(exc.status, exc.message, exc.field, exc.code, exc.details) from None
    return record.to_json(), 202 if created else 200


def _too_many(exc: LimitReached) -> NoReturn:
    body = ApiError(429, exc.message, exc.field, exc.code, exc.details).to_json()
    response = jsonify(body)
    response.status_code = 429
    response.headers["Retry-After"] = str(exc.retry_after)
    abort(response)


def _domain(domain: DomainIn | None) -> dict[str, Any] | None:
    if domain is None:
        return None
    return {"chainId": domain.chainId, "verifyingContract": domain.verifyingContract}


@post("/relay/claim", RelayRequest, status=202, responses=SUBMIT_RESPONSES, tags=RELAY_TAGS)
def relay_claim(body: RelayClaimRequest) -> Reply:
    """Claim a claim-link gift without gas: the site submits the key's signature

    The recipient's wallet needs no ETH: the site's relayer sends `claim(certificate,
    recipient, signature)` after simulating it. The signature is the claim key's (from the
    link's #key, made in the browser) over the Claim typed data of /typed-data/claim."""
    return _submit("claim", {"certificate": body.certificate, "recipient": body.recipient,
                             "signature": body.signature, "domain": _domain(body.domain)})


def _holder_route(operation: str, model: type[Body], summary: str) -> None:
    def submit(body: Any) -> Reply:
        message = body.message.model_dump(by_alias=True)
        return _submit(operation, {"message": message, "signature": body.signature,
                                   "domain": _domain(body.domain)})
    submit.__name__ = submit.__qualname__ = f"relay_{operation.replace('-', '_')}"
    submit.__doc__ = (f"{summary}\n\nThe holder signs the EIP-712 {operation} authorisation "
                      "(the certificate's current nonce, a deadline) in the wallet; the site's "
                      "relayer submits it after simulating it. The wallet needs no ETH.")
    submit.__annotations__ = {"body": model, "return": Reply}
    post(f"/relay/{operation}", RelayRequest, status=202, responses=SUBMIT_RESPONSES,
         tags=RELAY_TAGS)(submit)


HOLDER_MODELS: dict[str, tuple[type[Body], str]] = {
    "transfer": (RelayTransferRequest, "Re-gift a certificate without gas"),
    "split": (RelaySplitRequest, "Re-gift part of a balance without gas"),
    "merge": (RelayMergeRequest, "Merge one certificate into another without gas"),
    "cash-out": (RelayCashOutRequest, "Cash out a small balance without gas"),
    "open-tab": (RelayOpenTabRequest, "Open a payment tab without gas"),
    "request-tab-close": (RelayRequestTabCloseRequest,
                          "Ask to close a payment tab without gas (the merchant's two days "
                          "to collect start)"),
    "close-tab": (RelayCloseTabRequest,
                  "Close a payment tab without gas, once the two days after asking are over"),
}
for _name, (_model, _summary) in HOLDER_MODELS.items():
    if _name in ALL_OPERATIONS:
        _holder_route(_name, _model, _summary)


# -- /api/v1/status ---------------------------------------------------------------------------

def eth_text(wei: int) -> str:
    return f"{format_decimal(from_units(wei, ETH).amount)} ETH"


def relay_status() -> dict[str, Any] | None:
    """The relay's part of /api/v1/status: never an error (what does not answer is null)."""
    settings: Settings = current_app.config["GIFTCERT_SETTINGS"]
    try:
        relay = relay_of_process()
    except Exception:  # noqa: BLE001 - status reports, never fails
        relay = None
    if relay is None:
        return {"enabled": False, "relayer": None, "balance": None, "spentToday": None,
                "budget": settings.relay.gas_budget_day, "keeper": False}
    balance = spent = None
    try:
        balance = eth_text(relay.balance())
    except Exception:  # noqa: BLE001 - the chain does not answer: said as null
        pass
    try:
        day = relay.store.spent(time.time())
        spent = {"gas": day.gas, "eth": eth_text(day.wei)}
    except Exception:  # noqa: BLE001 - the database does not answer: said as null
        pass
    return {"enabled": True, "relayer": relay.relayer, "balance": balance, "spentToday": spent,
            "budget": settings.relay.gas_budget_day, "keeper": relay.keeping}
