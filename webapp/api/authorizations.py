"""What holders and claim keys sign, and how the desk reads it: EIP-712 typed data for a
redemption or a claim, the compact payment authorisation (`gc2:...`, shown as QR code), and the
contract's checks of a signed redemption run off-chain (`Preflight`), so the desk says why an
item would be refused before anything is sent. The text format and the signature rules (the
contract's ECDSA: low s, v 27 or 28) are the SDK's (giftcert.authorization)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from giftcert import authorization as sdk
from giftcert import eip712
from giftcert.authorization import SignedRedemption, encode_authorization
from giftcert.client import Certificate, wallet_json
from giftcert.errors import InvalidInput
from giftcert.ids import decode_id
from giftcert.money import from_units
from webapp.api.blueprint import PAYMENTS, Reply, post
from webapp.api.fields import units
from webapp.api.lookups import certificate_or_none, live_certificate
from webapp.api.models import (
    DecodeRequest,
    RedemptionOut,
    SignedAuthorization,
    SubmitAuthorizationRequest,
    TypedClaim,
    TypedClaimRequest,
    TypedRedemption,
    TypedRedemptionRequest,
)
from webapp.errors import REVERT_MESSAGES, ApiError, bad, revert_message
from webapp.present import state


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


def redemption_json(signed: SignedRedemption, preflight: Preflight | None = None
                    ) -> dict[str, Any]:
    """What an authorisation pays and who signed it, and, when the certificate exists, how it
    stands against it now."""
    who = signed.signer()  # the contract's ECDSA rules: None for a high-s twin
    out: dict[str, Any] = {"certificate": str(signed.certificate), "merchant": signed.merchant,
                           "orderRef": str(signed.order_ref), "nonce": str(signed.nonce),
                           "deadline": signed.deadline, "signer": who,
                           "authorization": signed.to_text()}
    cert = (preflight or Preflight(signed.merchant)).certificate(signed.certificate)
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
            self._certs[cert_id] = certificate_or_none(cert_id)
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
        balance = cert.currency.units(cert.balance, allow_zero=True)
        if signed.amount > balance:
            return "InsufficientBalance"
        if signed.nonce != cert.nonce:
            return "WrongNonce"
        if signed.signer() != cert.owner and not state().client.w3.eth.get_code(cert.owner):
            return "InvalidSignature"  # a contract holder's wallet answers on chain (ERC-1271)
        self._certs[cert_id] = replace(cert, nonce=cert.nonce + 1, balance=from_units(
            balance - signed.amount, cert.currency))
        return None


# -- claims ------------------------------------------------------------------------------------

def check_claimable(cert: Certificate) -> None:
    """The contract's `claim` rules, in the order a person needs them."""
    st = state()
    if not cert.awaiting_claim:
        raise ApiError(409, "this gift has already been claimed", "certificate", "NotClaimable")
    now = st.client.now()
    if now >= cert.expiry:
        raise ApiError(410, "this gift has expired", "certificate", "Expired")
    if now > cert.claim_deadline:
        raise ApiError(410, REVERT_MESSAGES["ClaimWindowClosed"], "certificate",
                       "ClaimWindowClosed")
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
    status = cert.status(now)
    if status == "awaiting-claim":
        raise ApiError(422, "claim the gift first", "certificate", "AwaitingClaim")
    if status == "expired":
        raise ApiError(422, "the certificate has expired", "certificate", "Expired")
    if status == "not-yet-valid":
        raise ApiError(422, "the certificate is not open yet", "certificate", "NotYetValid")
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
    preflight = Preflight(signed.merchant)
    out = redemption_json(signed, preflight)
    if "holder" not in out:
        raise ApiError(404, "no such certificate (or it was closed)", "authorization",
                       "UnknownCertificate")
    problem = preflight.refusal(signed)
    if problem == "InvalidSignature":
        raise ApiError(422, "the authorisation is not signed by the certificate's holder",
                       "authorization", "InvalidSignature", {"signer": out["signer"]})
    if problem is not None:
        raise ApiError(422, revert_message(problem), "authorization", problem,
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
        raise ApiError(404, "no such certificate", "typedData", "UnknownCertificate")
    if not out["signedByHolder"]:
        raise ApiError(422, "the signature is not the holder's", "signature",
                       "InvalidSignature")
    return out


__all__ = ["Preflight", "check_claimable", "encode_authorization", "order_paid",
           "parse_authorization", "redemption_json"]
