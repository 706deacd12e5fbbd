"""What holders and claim keys sign, and how the desk reads it: EIP-712 typed data for a
redemption or a claim, the compact payment authorisation (`gc2:...`, shown as QR code), and the
contract's checks of a signed redemption run off-chain, so the desk says why an item would be
refused before anything is sent. The text format, the signature rules (the contract's ECDSA:
low s, v 27 or 28; ERC-1271 for a contract wallet) and those checks (`Preflight`) are the SDK's
(giftcert.authorization)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

from pydantic import Field

from giftcert import authorization as sdk
from giftcert import eip712
from giftcert.authorization import SignedRedemption, encode_authorization
from giftcert.client import Certificate, wallet_json
from giftcert.errors import InvalidInput
from giftcert.money import from_units
from giftcert.rules import DAY, spend_refusal
from webapp.api.blueprint import PAYMENTS, Reply, post
from webapp.api.fields import Address, Amount, CertificateId, Uint, units
from webapp.api.lookups import live_certificate
from webapp.api.models import (
    Body,
    DecodeRequest,
    Money,
    Out,
    RedemptionOut,
    SignedAuthorization,
    SubmitAuthorizationRequest,
    TypedClaim,
    TypedClaimRequest,
    TypedRedemption,
    TypedRedemptionRequest,
)
from webapp.errors import ApiError, bad, refused
from webapp.present import gift_ref, state


def sdk_authorization(raw: str | SignedAuthorization) -> str | dict[str, Any]:
    """The request's authorisation as the SDK reads it (text, or {typedData, signature})."""
    if isinstance(raw, str):
        return raw
    typed = raw.typedData
    return {"typedData": {"primaryType": typed.primaryType or "Redemption",
                          "domain": typed.domain.model_dump(exclude_none=True),
                          "message": typed.message.model_dump()},
            "signature": "0x" + raw.signature.hex()}


def parse_authorization(raw: str | SignedAuthorization,
                        field: str = "authorization") -> SignedRedemption:
    """A payment authorisation from its compact text or its JSON {typedData, signature} (an
    object, or that object as text), for this chain and contract (giftcert.authorization)."""
    client = state().client
    try:
        return sdk.decode_authorization(sdk_authorization(raw), chain_id=client.chain_id,
                                    contract=client.address, field=field)
    except InvalidInput as exc:
        raise bad(exc.message, field) from None


def preflight(merchant_id: int) -> sdk.Preflight:
    """The contract's checks of signed redemptions for this merchant, off-chain (the SDK's)."""
    return sdk.Preflight(state().client, merchant_id)


def redemption_json(signed: SignedRedemption, checks: sdk.Preflight | None = None
                    ) -> dict[str, Any]:
    """What an authorisation pays and who signed it, and, when the certificate exists, how it
    stands against it now."""
    who = signed.signer()  # the contract's ECDSA rules: None for a high-s twin
    out: dict[str, Any] = {"certificate": str(signed.certificate),
                           "ref": gift_ref(signed.certificate), "merchant": signed.merchant,
                           "orderRef": str(signed.order_ref), "nonce": str(signed.nonce),
                           "deadline": signed.deadline, "signer": who,
                           "authorization": signed.to_text()}
    cert = (checks or preflight(signed.merchant)).certificate(signed.certificate)
    if cert is not None:
        out["amount"] = from_units(signed.amount, cert.currency).to_json()
        out["holder"] = cert.owner
        out["balance"] = cert.balance.to_json()
        out["signedByHolder"] = who == cert.owner
        out["currentNonce"] = str(cert.nonce)
    return out


def order_paid(merchant: int, order_ref: int) -> bool:
    """Whether the index holds a payment to `merchant` for this order reference (the chain
    keeps no record of order references: they are data of the Redeemed event)."""
    return state().indexer.order_paid(merchant, order_ref)


# -- claims ------------------------------------------------------------------------------------

def check_claimable(cert: Certificate) -> None:
    """The contract's `claim` rules, in the order a person needs them."""
    st = state()
    if not cert.awaiting_claim:
        raise refused("NotClaimable", status=409)
    now = st.client.now()
    if now >= cert.expiry:
        raise refused("Expired", status=410)
    if now > cert.claim_deadline:
        raise refused("ClaimWindowClosed", status=410)
    if st.policy()["paused"]:
        raise ApiError(422, "claims are stopped while the contract is paused: try again later",
                       "certificate", "EnforcedPause")


CLAIM_ERRORS = {409: {"description": "Already claimed"},
                410: {"description": "Expired, or the claim window has closed"}}


# -- routes ------------------------------------------------------------------------------------

@post("/typed-data/redemption", TypedRedemption, tags=[PAYMENTS])
def typed_redemption(body: TypedRedemptionRequest) -> Reply:
    """EIP-712 Redemption for the holder to sign

    What the holder signs (eth_signTypedData_v4) to let the merchant redeem; the certificate's
    current nonce makes it replace any unused earlier one."""
    st = state()
    cert = live_certificate(body.certificate)
    amount = units(body.amount, cert.currency)
    chosen = body.orderRef
    ref = chosen if chosen is not None else secrets.randbits(63) + 1
    now = st.client.now()
    deadline = body.deadline or now + (body.validFor or 3600)
    if deadline <= now:
        raise ApiError(422, "the deadline has passed", "deadline", "AuthorizationExpired")
    problem = spend_refusal(cert, now)
    if problem is not None:
        raise refused(problem.error_name, "certificate")
    if amount > cert.currency.units(cert.balance, allow_zero=True):
        raise ApiError(422, f"the balance is only {cert.balance}", "amount",
                       "InsufficientBalance")
    doc = eip712.redemption(st.client.chain_id, st.client.address, certificate=cert.id,
                            merchant=cert.merchant, amount=amount, order_ref=ref,
                            nonce=cert.nonce, deadline=deadline)
    # Order references are the merchant's: one order may be paid in parts, so a paid one is
    # said, not refused (a fresh random reference cannot have been paid: no index query).
    paid = chosen is not None and order_paid(cert.merchant, ref)
    return {"typedData": wallet_json(doc), "holder": cert.owner, "merchant": cert.merchant,
            "merchantName": cert.merchant_name,
            "amount": from_units(amount, cert.currency).to_json(), "orderRef": str(ref),
            "nonce": str(cert.nonce), "deadline": deadline, "orderPaid": paid}


@post("/typed-data/claim", TypedClaim, tags=[PAYMENTS], responses=CLAIM_ERRORS)
def typed_claim(body: TypedClaimRequest) -> Reply:
    """EIP-712 Claim for the link's key to sign

    What the claim key signs (in the browser, from the link's #key) for a recipient."""
    st = state()
    cert = live_certificate(body.certificate)
    check_claimable(cert)
    doc = eip712.claim(st.client.chain_id, st.client.address, certificate=cert.id,
                       recipient=body.recipient)
    return {"typedData": wallet_json(doc), "claimKey": cert.owner}


@post("/authorizations/decode", RedemptionOut, tags=[PAYMENTS])
def decode_authorization(body: DecodeRequest) -> Reply:
    """Read and check a pasted authorisation

    What it pays, who signed it, whether it would go through (the contract's checks, said in
    plain words: otherwise 422 with the contract's error as `code`: WrongNonce (already used
    or replaced), AuthorizationExpired, InvalidSignature, InsufficientBalance, Expired, ...),
    and whether the index already holds a payment for its order reference."""
    signed = parse_authorization(body.authorization)
    checks = preflight(signed.merchant)
    out = redemption_json(signed, checks)
    if "holder" not in out:
        raise refused("UnknownCertificate", "authorization", status=404)
    problem = checks.refusal(signed)
    if problem is not None and problem.error_name == "InvalidSignature":
        raise ApiError(422, "the authorisation is not signed by the certificate's holder",
                       "authorization", "InvalidSignature", {"signer": out["signer"]})
    if problem is not None:
        raise refused(problem.error_name, "authorization",
                      {k: out[k] for k in ("nonce", "currentNonce", "deadline")})
    out["orderPaid"] = order_paid(signed.merchant, signed.order_ref)
    return out


@post("/authorizations", RedemptionOut, status=201, tags=[PAYMENTS])
def submit_authorization(body: SubmitAuthorizationRequest) -> Reply:
    """Hand in a signed Redemption; returns the compact authorisation

    The holder's page hands in its signature: the server checks it as the contract would
    (a high-s twin is refused) and returns the compact authorisation for the QR code."""
    signed = parse_authorization(body, "typedData")
    out = redemption_json(signed)
    if "holder" not in out:
        raise refused("UnknownCertificate", "typedData", status=404)
    if not out["signedByHolder"]:
        raise ApiError(422, "the signature is not the holder's", "signature",
                       "InvalidSignature")
    return out


# -- signed holder actions (issue 16: "no gas needed") ----------------------------------------

HolderKind = Literal["transfer", "split", "merge", "cash-out", "open-tab", "request-tab-close",
                     "close-tab"]
TAB_KINDS = ("open-tab", "request-tab-close", "close-tab")
NO_SESSION_KEY = "0x" + "00" * 20


class TypedHolderActionRequest(Body):
    kind: HolderKind = Field(description="What the holder authorises")
    certificate: CertificateId = Field(description="The certificate it spends (a merge: the "
                                                   "one merged away)")
    sender: Address | None = Field(None, alias="from", description=(
        "The connected account: when given, it must be the holder"))
    to: Address | None = Field(None, description="transfer, split: who receives")
    amount: Amount | None = Field(None, description="split: how much they receive (a decimal "
                                                    "in the certificate's currency)")
    into: CertificateId | None = Field(None, description="merge: the certificate that "
                                                         "receives the balance")
    sessionKey: Address | None = Field(None, description=(  # noqa: N815
        "open-tab: the key that signs the tab's vouchers (a contract wallet's; omitted: the "
        "holder signs them)"))
    validFor: Annotated[int | None, Uint(60, DAY)] = Field(  # noqa: N815
        None, description="Seconds the signature stays valid (default 3600)")


class TypedHolderAction(Out):
    kind: str
    typedData: dict[str, Any] = Field(description=(  # noqa: N815
        "EIP-712 Transfer, Split, Merge, CashOut, OpenTab, RequestTabClose or CloseTab for "
        "eth_signTypedData_v4"))
    message: dict[str, Any] = Field(description="The signed message as POST "
                                                "/relay/{kind} takes it (with the signature)")
    relay: str = Field(description="Where to post it: /api/v1/relay/{kind}")
    holder: str
    certificate: str
    ref: str = Field(description="The certificate's short reference for people")
    amount: Money = Field(description="What moves: a split's amount, else the whole balance "
                                      "(a tab action: the balance the tab is on)")
    to: str | None = None
    into: str | None = None
    intoRef: str | None = None  # noqa: N815
    sessionKey: str | None = Field(None, description=(  # noqa: N815
        "open-tab: the key that signs the vouchers (0x0...0: the holder)"))
    merchantName: str | None = Field(None, description=(  # noqa: N815
        "A tab action: the merchant whose tab it is"))
    nonce: str = Field(description="The certificate's current nonce (signing it once more, or "
                                   "any action on the certificate, replaces this signature)")
    deadline: int = Field(description="Unix time, by the chain's clock, after which the "
                                      "signature is void")


def _holder_message(body: TypedHolderActionRequest, cert: Certificate) -> dict[str, Any]:
    """The action's fields besides nonce and deadline (a missing one is a 400 naming it)."""
    def need(name: str) -> Any:
        value = getattr(body, name)
        if value is None:
            raise bad(f"a {body.kind} needs {name}", name)
        return value

    if body.kind == "transfer":
        return {"certificate": cert.id, "to": need("to")}
    if body.kind == "split":
        amount = units(need("amount"), cert.currency)
        if amount >= cert.currency.units(cert.balance, allow_zero=True):
            raise ApiError(422, f"this gift holds {cert.balance}: give less than that, or give "
                                "all of it", "amount", "InsufficientBalance")
        return {"certificate": cert.id, "amount": amount, "to": need("to")}
    if body.kind == "merge":
        into = live_certificate(need("into"), "into")
        return {"from": cert.id, "into": into.id}
    if body.kind == "open-tab":
        return {"certificate": cert.id, "sessionKey": body.sessionKey or NO_SESSION_KEY}
    return {"certificate": cert.id}


@post("/typed-data/holder-action", TypedHolderAction, tags=[PAYMENTS])
def typed_holder_action(body: TypedHolderActionRequest) -> Reply:
    """EIP-712 holder action (re-gift, split, merge, cash-out, a tab's open / ask to close /
    close) for the holder to sign

    What the holder signs (eth_signTypedData_v4) so that the site's relayer can send the
    action without the holder paying gas ("no gas needed"): the message with the
    certificate's current nonce and a deadline, and where to post it with the signature
    (POST /relay/{kind}). Whether the contract takes it now (a tab to close, its two days
    over) is the relay's check when it is posted."""
    st = state()
    cert = live_certificate(body.certificate)
    if body.sender is not None and body.sender != cert.owner:
        raise refused("NotHolder", "from")
    fields = _holder_message(body, cert)
    now = st.client.now()
    deadline = now + (body.validFor or 3600)
    message = {**fields, "nonce": cert.nonce, "deadline": deadline}
    doc = eip712.holder_action(body.kind, st.client.chain_id, st.client.address, **message)
    moved = (from_units(fields["amount"], cert.currency) if body.kind == "split"
             else cert.balance)
    into = fields.get("into")
    return {"kind": body.kind, "typedData": wallet_json(doc),
            "message": {k: str(v) if isinstance(v, int) else v for k, v in message.items()},
            "relay": f"/api/v1/relay/{body.kind}", "holder": cert.owner,
            "certificate": str(cert.id), "ref": gift_ref(cert.id), "amount": moved.to_json(),
            "to": fields.get("to"), "into": None if into is None else str(into),
            "intoRef": None if into is None else gift_ref(into),
            "sessionKey": fields.get("sessionKey"),
            "merchantName": cert.merchant_name if body.kind in TAB_KINDS else None,
            "nonce": str(cert.nonce),
            "deadline": deadline}


__all__ = ["check_claimable", "encode_authorization", "order_paid", "parse_authorization",
           "preflight", "redemption_json"]
