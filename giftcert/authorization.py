"""A holder's signed payment authorisation (EIP-712 `Redemption`), its text form and who
signed it, with the contract's own signature rules.

The text form is what the pay page shows as QR code and the merchant pastes or scans:

    gc2:certificate:merchant:amount:orderRef:nonce:deadline:0xsignature

(`gc1:` was the v1 contract's format, without the nonce; it is refused with a message that says
to sign again). The JSON form is `{"typedData": …, "signature": "0x…"}` as `eth_signTypedData_v4`
takes and gives it. `decode_authorization` reads either, checking that it was made for this
chain and contract; every malformed input is an `InvalidInput` naming the field.

`Preflight` runs the contract's checks of signed redemptions off-chain, so a merchant's desk or
tool says why an item would be refused, in the contract's own errors, before anything is sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address
from web3.exceptions import ContractLogicError

from giftcert import eip712
from giftcert.errors import (
    AuthorizationExpired,
    ContractRevert,
    InsufficientBalance,
    InvalidInput,
    InvalidSignature,
    NonceExhausted,
    UnknownCertificate,
    WrongMerchant,
    WrongNonce,
    ZeroAmount,
)
from giftcert.ids import decode_id
from giftcert.inputs import MAX_UINT256, checksum, whole_number
from giftcert.money import from_units
from giftcert.rules import spend_refusal
from giftcert.transactions import node_errors

if TYPE_CHECKING:
    from giftcert.client import GiftCert
    from giftcert.models import Certificate

PREFIX = "gc2"
OLD_PREFIX = "gc1"  # the v1 contract's format (no nonce)
MAX_SIGNATURE_BYTES = 2048  # a contract wallet's (ERC-1271) signature may be long

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_N = SECP256K1_N // 2  # the contract refuses s above this (the high-s twin)

MAX_NONCE = 0xFFFF  # the contract's: a certificate at this nonce takes no more signatures
ERC1271_GAS = 250_000  # the gas the contract gives a contract wallet's isValidSignature
ERC1271_MAGIC = function_signature_to_4byte_selector("isValidSignature(bytes32,bytes)")


@dataclass(frozen=True)
class SignedRedemption:
    """A holder's EIP-712 authorisation for a merchant to redeem, and its signature."""

    certificate: int
    merchant: int
    amount: int
    order_ref: int
    nonce: int
    deadline: int
    signature: bytes
    typed_data: dict[str, Any] = field(compare=False)

    @property
    def auth(self) -> tuple[int, int, int, int, int, int]:
        """The contract's `Redemption` struct, as `redeemWithAuthorization` takes it."""
        return (self.certificate, self.merchant, self.amount, self.order_ref, self.nonce,
                self.deadline)

    def to_json(self) -> dict[str, Any]:
        return {"typedData": eip712.wallet_json(self.typed_data),
                "signature": "0x" + self.signature.hex()}

    def to_text(self) -> str:
        """The compact `gc2:` text (the QR code's content)."""
        return encode_authorization(self)

    def document(self, chain_id: int, contract: str) -> dict[str, Any]:
        """The EIP-712 Redemption with these values for that chain and contract (what the
        contract hashes, whatever domain the authorisation came with)."""
        return eip712.redemption(chain_id, to_checksum_address(contract),
                                 certificate=self.certificate, merchant=self.merchant,
                                 amount=self.amount, order_ref=self.order_ref, nonce=self.nonce,
                                 deadline=self.deadline)

    def signer(self) -> str | None:
        """The address whose ECDSA signature this is, by the contract's rules (None when the
        contract's ECDSA check refuses it: high s, a bad v, a malformed signature; a contract
        wallet holder may still accept it on chain through ERC-1271)."""
        return recover_signer(self.typed_data, self.signature)

    @classmethod
    def from_json(cls, data: Any) -> SignedRedemption:
        """From `{typedData, signature}` (no check of the domain: see decode_authorization)."""
        try:
            message = data["typedData"]["message"]
            return cls(
                certificate=int(message["certificate"]), merchant=int(message["merchant"]),
                amount=int(message["amount"]), order_ref=int(message["orderRef"]),
                nonce=int(message["nonce"]), deadline=int(message["deadline"]),
                signature=bytes.fromhex(data["signature"].removeprefix("0x")),
                typed_data=data["typedData"],
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInput(f"not a signed redemption (typedData, signature): {exc}",
                               "authorization") from None


@dataclass(frozen=True)
class SignedHolderAction:
    """A holder's EIP-712 authorisation of a transfer (re-gift), split, merge or cash-out, and
    its signature: anyone may submit it (the site's relayer pays the gas), and the contract
    checks that the certificate's owner signed exactly this message, at its current nonce,
    before the deadline, for this chain and contract.

    `message` holds the type's fields (eip712.TYPES[eip712.HOLDER_ACTIONS[kind]]) as integers
    and checksummed addresses; `from_json` validates them."""

    kind: str
    message: dict[str, Any]
    signature: bytes

    @property
    def primary_type(self) -> str:
        return eip712.HOLDER_ACTIONS[self.kind]

    @property
    def certificate(self) -> int:
        """The certificate the signature spends (its nonce): the source of a merge."""
        return int(self.message["from"] if self.kind == "merge" else self.message["certificate"])

    @property
    def deadline(self) -> int:
        return int(self.message["deadline"])

    @property
    def nonce(self) -> int:
        return int(self.message["nonce"])

    @property
    def struct(self) -> tuple[Any, ...]:
        """The contract's authorisation struct, fields in the type's order."""
        return tuple(self.message[f["name"]] for f in eip712.TYPES[self.primary_type])

    def document(self, chain_id: int, contract: str) -> dict[str, Any]:
        return eip712.holder_action(self.kind, chain_id, to_checksum_address(contract),
                                    **self.message)

    def signer(self, chain_id: int, contract: str) -> str | None:
        """The ECDSA signer by the contract's rules (None: not an ECDSA signature the
        contract accepts; a contract wallet may still accept it through ERC-1271)."""
        return recover_signer(self.document(chain_id, contract), self.signature)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind,
                "message": {k: str(v) if isinstance(v, int) else v
                            for k, v in self.message.items()},
                "signature": "0x" + self.signature.hex()}

    @classmethod
    def from_json(cls, data: Any, kind: str | None = None) -> SignedHolderAction:
        """From {kind, message, signature} (or {message, signature} with `kind` given); every
        field checked, an `InvalidInput` naming the one that is wrong."""
        if not isinstance(data, dict):
            raise InvalidInput("a signed action is {kind, message, signature}", "authorization")
        kind = kind or data.get("kind")
        if kind not in eip712.HOLDER_ACTIONS:
            raise InvalidInput(f"kind must be one of {', '.join(eip712.HOLDER_ACTIONS)}", "kind")
        raw = data.get("message")
        if not isinstance(raw, dict):
            raise InvalidInput("message must be an object with the signed fields", "message")
        fields = eip712.TYPES[eip712.HOLDER_ACTIONS[kind]]
        unknown = sorted(set(raw) - {f["name"] for f in fields})
        if unknown:
            raise InvalidInput(f"message has fields a {kind} does not sign: "
                               f"{', '.join(unknown)}", "message")
        message: dict[str, Any] = {}
        for f in fields:
            name = f["name"]
            if name not in raw:
                raise InvalidInput(f"message lacks {name}", name)
            if f["type"] == "address":
                message[name] = checksum(raw[name], name)
            else:
                message[name] = whole_number(raw[name], name, maximum=MAX_UINT256, field=name)
        return cls(kind, message, _signature(data.get("signature"), "signature"))


def recover_signer(typed_data: dict[str, Any], signature: bytes) -> str | None:
    """The ECDSA signer of an EIP-712 document as the contract recovers it: a 65-byte (r, s, v)
    signature with v 27 or 28 and low s, or a 64-byte EIP-2098 (r, vs) one with low s; None for
    anything the contract's ECDSA path refuses."""
    if len(signature) == 65:
        r, s, v = (int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"),
                   signature[64])
        if v not in (27, 28):
            return None
    elif len(signature) == 64:
        r, vs = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        s, v = vs & ((1 << 255) - 1), (vs >> 255) + 27
    else:
        return None
    if not 0 < s <= HALF_N or not 0 < r < SECP256K1_N:
        return None
    try:
        signable = encode_typed_data(full_message=typed_data)
        return str(Account.recover_message(signable, vrs=(v, r, s)))
    except Exception:  # noqa: BLE001 - eth_keys raises several types for a point off the curve
        return None


def encode_authorization(signed: SignedRedemption) -> str:
    """The compact text: gc2:certificate:merchant:amount:orderRef:nonce:deadline:signature."""
    return ":".join([PREFIX, str(signed.certificate), str(signed.merchant), str(signed.amount),
                     str(signed.order_ref), str(signed.nonce), str(signed.deadline),
                     "0x" + signed.signature.hex()])


def _signature(value: Any, what: str) -> bytes:
    text = value.strip() if isinstance(value, str) else None
    if not text or not text.startswith("0x") or len(text) % 2:
        raise InvalidInput(f"{what}: the signature must be 0x-prefixed hex", what)
    try:
        raw = bytes.fromhex(text[2:])
    except ValueError:
        raise InvalidInput(f"{what}: the signature must be 0x-prefixed hex", what) from None
    if not 0 < len(raw) <= MAX_SIGNATURE_BYTES:
        raise InvalidInput(f"{what}: the signature must be 1 to {MAX_SIGNATURE_BYTES} bytes",
                           what)
    return raw


def json_object_text(raw: Any, field: str) -> Any:
    """`raw` as JSON when it is text of a JSON object (`{...}`, as a wallet's answer may be
    pasted), else `raw` itself; text that starts like an object but is not JSON is refused."""
    if isinstance(raw, str) and raw.strip().startswith("{"):
        try:
            return json.loads(raw)
        except ValueError:
            raise InvalidInput(f"{field} is not valid JSON", field) from None
    return raw


def signed_typed_fields(raw: dict[str, Any], what: str, *, chain_id: int, contract: str,
                        primary_type: str, kind: str) -> list[Any]:
    """The message fields of `primary_type` (in the type's order) and the signature from a
    wallet's {typedData, signature}, refusing a document made for another chain, contract, domain
    or type: what every signed-document input (payments, tab vouchers) checks the same way.
    `kind` names the document in the refusal ("a payment authorisation")."""
    typed, signature = raw.get("typedData"), raw.get("signature")
    if not isinstance(typed, dict) or not isinstance(typed.get("message"), dict) \
            or signature is None:
        raise InvalidInput(f"{what} needs typedData.message (with its nonce) and signature", what)
    domain = typed.get("domain")
    if not isinstance(domain, dict):
        raise InvalidInput(f"{what}: typedData.domain must be an object", what)
    if typed.get("primaryType", primary_type) != primary_type:
        raise InvalidInput(f"{what} is not {kind} (primaryType {primary_type})", what)
    raw_chain = domain.get("chainId")
    signed_chain = (whole_number(raw_chain, f"{what} chainId", field=what)
                    if raw_chain is not None else None)
    verifying = domain.get("verifyingContract")
    if (signed_chain != chain_id or not isinstance(verifying, str)
            or verifying.lower() != contract.lower()
            or domain.get("name", eip712.DOMAIN_NAME) != eip712.DOMAIN_NAME
            or str(domain.get("version", eip712.DOMAIN_VERSION)) != eip712.DOMAIN_VERSION):
        raise InvalidInput(f"{what} was signed for another chain or contract", what)
    message = typed["message"]
    try:
        return [message[f["name"]] for f in eip712.TYPES[primary_type]] + [signature]
    except KeyError as exc:
        raise InvalidInput(f"{what}: typedData.message lacks {exc.args[0]}", what) from None


def decode_authorization(raw: Any, *, chain_id: int, contract: str,
                         field: str = "authorization") -> SignedRedemption:
    """A payment authorisation from its `gc2:` text or its JSON {typedData, signature} (as a
    dict or JSON text), for this chain and contract. Whether the holder signed it is a separate
    question (`SignedRedemption.signer()`, then the certificate's owner)."""
    raw = json_object_text(raw, field)
    if isinstance(raw, dict):
        parts = signed_typed_fields(raw, field, chain_id=chain_id, contract=contract,
                                    primary_type="Redemption", kind="a payment authorisation")
    elif isinstance(raw, str):
        pieces = raw.strip().split(":")
        if pieces[0] == OLD_PREFIX:
            raise InvalidInput(f"{field} was made for the previous version of the contract: "
                               "ask the customer to sign the payment again", field)
        if len(pieces) != 8 or pieces[0] != PREFIX:
            raise InvalidInput(f"{field} is not a payment authorisation ({PREFIX}:...)", field)
        parts = list(pieces[1:])
    else:
        raise InvalidInput(f"{field} must be the authorisation text", field)
    cert_id = whole_number(parts[0], f"{field} certificate", minimum=1, field=field)
    merchant = whole_number(parts[1], f"{field} merchant", minimum=1, maximum=2**32 - 1,
                            field=field)
    amount = whole_number(parts[2], f"{field} amount", minimum=1, field=field)
    order_ref = whole_number(parts[3], f"{field} orderRef", field=field)
    nonce = whole_number(parts[4], f"{field} nonce", field=field)
    deadline = whole_number(parts[5], f"{field} deadline", maximum=MAX_UINT256, field=field)
    signature = _signature(parts[6], field)
    unsigned = SignedRedemption(cert_id, merchant, amount, order_ref, nonce, deadline, signature,
                                {})
    return replace(unsigned, typed_data=unsigned.document(chain_id, contract))


def typed_digest(document: dict[str, Any]) -> bytes:
    """The EIP-712 digest of a document: what an ECDSA key or an ERC-1271 wallet signs."""
    signable = encode_typed_data(full_message=document)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


class Preflight:
    """The contract's checks of signed redemptions for one merchant (`_applySigned`: the terms,
    then the signature), off-chain and in batch order: an item that would settle lowers its
    certificate's balance and moves its nonce for the items after it. `refusal()` is the error
    the contract would give, with its arguments; the receipt has the last word. The sender's
    own standing (a pause, the merchant's account) is for the transaction's simulation."""

    def __init__(self, client: GiftCert, merchant_id: int) -> None:
        self.client = client
        self.merchant_id = merchant_id
        self._now: int | None = None
        self._certs: dict[int, Certificate | None] = {}  # id -> as the items so far leave it

    @property
    def now(self) -> int:
        """The chain's clock, read once for the whole batch."""
        if self._now is None:
            self._now = self.client.now()
        return self._now

    def certificate(self, cert_id: int) -> Certificate | None:
        """The certificate as the chain has it, then as the items so far leave it (None:
        unknown or closed)."""
        if cert_id not in self._certs:
            try:
                found: Certificate | None = self.client.certificate(cert_id)
            except (ContractRevert, InvalidInput):
                found = None
            self._certs[cert_id] = found if found is not None and found.exists else None
        return self._certs[cert_id]

    def refusal(self, signed: SignedRedemption) -> ContractRevert | None:
        """The error the contract would raise for this item (None: it would be settled, and
        the certificate is then taken as the item leaves it)."""
        cert_id = signed.certificate
        if signed.merchant != self.merchant_id or decode_id(cert_id).merchant != signed.merchant:
            return WrongMerchant({"id": cert_id, "merchant": signed.merchant})
        if self.now > signed.deadline:
            return AuthorizationExpired({"deadline": signed.deadline})
        cert = self.certificate(cert_id)
        if cert is None:
            return UnknownCertificate({"id": cert_id})
        refused = spend_refusal(cert, self.now)
        if refused is not None:
            return refused
        balance = cert.currency.units(cert.balance, allow_zero=True)
        if signed.amount == 0:
            return ZeroAmount()
        if signed.amount > balance:
            return InsufficientBalance({"id": cert_id, "balance": balance,
                                        "needed": signed.amount})
        if signed.nonce != cert.nonce:
            return WrongNonce({"id": cert_id, "expected": cert.nonce, "given": signed.nonce})
        if cert.nonce >= MAX_NONCE:
            return NonceExhausted({"id": cert_id})
        if not self.signed_by(cert.owner, signed):
            return InvalidSignature()
        self._certs[cert_id] = replace(cert, nonce=cert.nonce + 1, balance=from_units(
            balance - signed.amount, cert.currency))
        return None

    def signed_by(self, holder: str, signed: SignedRedemption) -> bool:
        """Whether the contract takes the signature as `holder`'s: by its ECDSA rules (65 or 64
        bytes, low s) or, for a contract wallet, by the wallet's ERC-1271 answer (asked with
        the contract's gas cap)."""
        document = signed.document(self.client.chain_id, self.client.address)
        if recover_signer(document, signed.signature) == holder:
            return True
        if not self.client.is_contract(holder):
            return False
        query = ERC1271_MAGIC + abi_encode(["bytes32", "bytes"],
                                           [typed_digest(document), signed.signature])
        # the call's own cost (21,000 and its calldata) on top of what the wallet may use
        gas = 21_000 + 16 * len(query) + ERC1271_GAS
        try:
            with node_errors("asking a contract wallet (ERC-1271)"):
                answer = bytes(self.client.w3.eth.call(
                    {"to": to_checksum_address(holder), "data": query, "gas": gas}))
        except ContractLogicError:
            return False
        return len(answer) >= 32 and answer[:4] == ERC1271_MAGIC
