"""What holders and claim keys sign, and how the desk reads it: EIP-712 typed data for a
redemption or a claim, the compact payment authorisation (`gc2:...`, shown as QR code), and the
contract's checks of a signed redemption run off-chain (`Preflight`), so the desk says why an
item would be refused before anything is sent."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from typing import Any

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_keys.exceptions import BadSignature
from eth_keys.exceptions import ValidationError as KeyValidationError
from pydantic import ValidationError

from giftcert import eip712
from giftcert.client import DAY, Certificate, SignedRedemption, wallet_json
from giftcert.ids import decode_id
from giftcert.money import from_units
from webapp.api.blueprint import PAYMENTS, post
from webapp.api.fields import CertificateId, MerchantId, Signature, Uint, parse, units
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
from webapp.errors import REVERT_MESSAGES, ApiError, bad, from_validation, revert_message
from webapp.present import state

AUTH_PREFIX = "gc2"  # gc1: the v1 contract's format, without the nonce
OLD_AUTH_PREFIX = "gc1"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_N = SECP256K1_N // 2  # CertificateLedger._recover65 refuses s above this
_UNITS, _UINT = Uint(1), Uint()  # an amount in smallest units; any uint256


# -- signatures, as the contract reads them ---------------------------------------------------

def recover(typed_data: dict[str, Any], signature: bytes) -> str | None:
    """The signer of an EIP-712 document exactly as the contract's `_recover65` finds it:
    None for the high-s twin of a signature (OpenZeppelin's rule), a v other than 27 or 28,
    or r, s the precompile cannot recover from."""
    if len(signature) != 65:
        return None
    r, s, v = (int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"),
               signature[64])
    if s > HALF_N or v not in (27, 28) or not 0 < r < SECP256K1_N or s == 0:
        return None
    digest = _hash_eip191_message(encode_typed_data(full_message=typed_data))
    try:
        return Account._recover_hash(digest, vrs=(v, r, s))
    except (BadSignature, KeyValidationError, ValueError):
        return None


def signer(signed: SignedRedemption) -> str | None:
    return recover(signed.typed_data, signed.signature)


# -- the compact authorisation -------------------------------------------------------------

def encode_authorization(signed: SignedRedemption) -> str:
    """The compact string shown as QR code:
    gc2:certificate:merchant:amount:orderRef:nonce:deadline:signature."""
    return ":".join([AUTH_PREFIX, str(signed.certificate), str(signed.merchant),
                     str(signed.amount), str(signed.order_ref), str(signed.nonce),
                     str(signed.deadline), "0x" + signed.signature.hex()])


def parse_authorization(raw: str | SignedAuthorization,
                        field: str = "authorization") -> SignedRedemption:
    """A payment authorisation from its compact text or its JSON {typedData, signature} (an
    object, or that object as text)."""
    st = state()
    if isinstance(raw, str) and raw.strip().startswith("{"):
        try:
            raw = SignedAuthorization.model_validate(json.loads(raw))
        except ValidationError as exc:
            why = from_validation(exc).message
            raise bad(f"{field} needs typedData.message (with its nonce) and signature "
                      f"({why})", field) from None
        except ValueError:
            raise bad(f"{field} is not valid JSON", field) from None
    if isinstance(raw, SignedAuthorization):
        domain, message = raw.typedData.domain, raw.typedData.message
        if (domain.chainId != st.client.chain_id
                or domain.verifyingContract.lower() != st.client.address.lower()):
            raise bad(f"{field} was signed for another chain or contract", field)
        parts = [message.certificate, message.merchant, message.amount, message.orderRef,
                 message.nonce, message.deadline]
        signature = raw.signature
    else:
        text = raw.strip().split(":")
        if text[0] == OLD_AUTH_PREFIX:
            raise bad(f"{field} was made for the previous version of the contract: ask "
                      "the customer to sign the payment again", field)
        if len(text) != 8 or text[0] != AUTH_PREFIX:
            raise bad(f"{field} is not a payment authorisation ({AUTH_PREFIX}:...)", field)
        kinds = (CertificateId, MerchantId, _UNITS, _UINT, _UINT, _UINT)
        parts = [parse(kind, t, field) for kind, t in zip(kinds, text[1:7], strict=True)]
        signature = parse(Signature, text[7], field)
    cert_id, merchant, amount, ref, nonce, deadline = parts
    doc = eip712.redemption(st.client.chain_id, st.client.address, certificate=cert_id,
                            merchant=merchant, amount=amount, order_ref=ref, nonce=nonce,
                            deadline=deadline)
    return SignedRedemption(cert_id, merchant, amount, ref, nonce, deadline, signature, doc)


def redemption_json(signed: SignedRedemption, preflight: Preflight | None = None
                    ) -> dict[str, Any]:
    """What an authorisation pays and who signed it, and, when the certificate exists, how it
    stands against it now."""
    who = signer(signed)
    out: dict[str, Any] = {"certificate": str(signed.certificate), "merchant": signed.merchant,
                           "orderRef": str(signed.order_ref), "nonce": str(signed.nonce),
                           "deadline": signed.deadline, "signer": who,
                           "authorization": encode_authorization(signed)}
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
        if signer(signed) != cert.owner and not state().client.w3.eth.get_code(cert.owner):
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
def typed_redemption(body: TypedRedemptionRequest):
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
def typed_claim(body: TypedClaimRequest):
    """EIP-712 Claim for the link's key to sign

    What the claim key signs (in the browser, from the link's #key) for a recipient."""
    st = state()
    cert = live_certificate(body.certificate)
    check_claimable(cert)
    doc = eip712.claim(st.client.chain_id, st.client.address, certificate=cert.id,
                       recipient=body.recipient)
    return {"typedData": wallet_json(doc), "claimKey": cert.owner}


@post("/authorizations/decode", RedemptionOut, tags=[PAYMENTS])
def decode_authorization(body: DecodeRequest):
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
def submit_authorization(body: SubmitAuthorizationRequest):
    """Hand in a signed Redemption; returns the compact authorisation

    The holder's page hands in its signature: the server checks it as the contract would
    (a high-s twin is refused) and returns the compact authorisation for the QR code."""
    signed = parse_authorization(SignedAuthorization.model_construct(
        typedData=body.typedData, signature=body.signature), "typedData")
    out = redemption_json(signed)
    if "holder" not in out:
        raise ApiError(404, "no such certificate", "typedData", "UnknownCertificate")
    if not out["signedByHolder"]:
        raise ApiError(422, "the signature is not the holder's", "signature",
                       "InvalidSignature")
    return out


__all__ = ["DAY", "Preflight", "check_claimable", "encode_authorization", "order_paid",
           "parse_authorization", "recover", "redemption_json"]
