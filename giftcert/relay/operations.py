"""The operations the relay sponsors, as one table: name -> how a request becomes a `Plan` (the
certificate it spends, who signed, who receives, the prepared call from the relayer).

Every check here runs before anything is simulated or sent, and says what is wrong in words a
person can act on (`RelayRefused`): a signature for another chain or contract, from someone who
is not the holder (or not the gift's claim key), past its deadline, at a nonce already used.
The simulation that follows (giftcert.relay.service) is the contract's own word on the rest.

- `claim`: the claim-link key's signature over (certificate, recipient) (`calls.claim`), which
  the contract lets anyone submit.
- `transfer`, `split`, `merge`, `cash-out`, and a tab's `open-tab`, `request-tab-close`,
  `close-tab`: the holder's EIP-712 authorisation (`giftcert.authorization.SignedHolderAction`,
  `calls.holder_action`); whether a tab's state allows it now (a tab already open, a close
  not asked for or its delay not over) is the simulation's word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from giftcert import eip712
from giftcert.authorization import recover_signer
from giftcert.calls import PreparedCall
from giftcert.client import GiftCert
from giftcert.errors import InvalidInput, UnknownCertificate, hint_of
from giftcert.inputs import checksum
from giftcert.models import Certificate
from giftcert.relay.store import RelayRefused

try:  # the signed holder actions (issue 16, part 1)
    from giftcert.authorization import SignedHolderAction
except ImportError:  # pragma: no cover - an SDK without them: the relay sponsors claims only
    SignedHolderAction = None  # type: ignore[assignment,misc]

HOLDER_ACTIONS: tuple[str, ...] = tuple(getattr(eip712, "HOLDER_ACTIONS", {}))
ALL_OPERATIONS: tuple[str, ...] = ("claim", *HOLDER_ACTIONS)


@dataclass(frozen=True)
class Plan:
    """A request checked against the chain, ready to simulate from the relayer."""

    operation: str
    certificate: int
    signer: str  # the holder (or the claim key) whose signature this is
    recipient: str | None  # who receives: the claim's recipient, a transfer's or split's `to`
    signature: bytes
    call: PreparedCall[Any]
    payload: dict[str, Any]  # the request as accepted, JSON


def refused_by(error: type[Any], status: int, field_: str | None, message: str | None = None,
               **details: Any) -> RelayRefused:
    """A refusal in the contract error's own words (its SDK hint), said before sending."""
    return RelayRefused(status, message or hint_of(error), field_, error.__name__, details)


def check_domain(client: GiftCert, domain: dict[str, Any] | None) -> None:
    """A signature made for another chain or contract is refused by name (without a domain
    given, it is found out anyway: it recovers to someone who is not the signer)."""
    if not domain:
        return
    chain = domain.get("chainId")
    if chain is not None and int(chain) != client.chain_id:
        raise RelayRefused(422, f"this was signed for chain {chain}; this site is on chain "
                                f"{client.chain_id}: switch the wallet's network and sign "
                                f"again", "domain", "WrongChain")
    contract = domain.get("verifyingContract")
    if contract is not None and str(contract).lower() != client.address.lower():
        raise RelayRefused(422, f"this was signed for the contract {contract}, not this site's "
                                f"({client.address}): sign again here", "domain",
                           "WrongContract")


def read_certificate(client: GiftCert, cert_id: int) -> Certificate:
    cert = client.certificate(cert_id)
    if not cert.exists:
        raise refused_by(UnknownCertificate, 404, "certificate", id=str(cert_id))
    return cert


# -- claim -------------------------------------------------------------------------------------

def plan_claim(relayer: GiftCert, request: dict[str, Any]) -> Plan:
    """request: {certificate, recipient, signature (bytes), domain?}."""
    from giftcert.errors import ClaimWindowClosed, Expired, InvalidSignature, NotClaimable

    check_domain(relayer, request.get("domain"))
    cert = read_certificate(relayer, int(request["certificate"]))
    recipient = checksum(request["recipient"], "recipient")
    signature = bytes(request["signature"])
    if not cert.awaiting_claim:
        raise refused_by(NotClaimable, 409, "certificate")
    now = relayer.now()
    if now >= cert.expiry:
        raise refused_by(Expired, 410, "certificate")
    if now > cert.claim_deadline:
        raise refused_by(ClaimWindowClosed, 410, "certificate")
    document = eip712.claim(relayer.chain_id, relayer.address, certificate=cert.id,
                            recipient=recipient)
    if recover_signer(document, signature) != cert.owner:
        raise refused_by(InvalidSignature, 422, "signature",
                         "the signature is not from this gift's claim key (a wrong link, or "
                         "signed for another recipient, chain or site)")
    return Plan("claim", cert.id, cert.owner, recipient, signature,
                relayer.calls.claim(cert, recipient=recipient, signature=signature),
                {"certificate": str(cert.id), "recipient": recipient,
                 "signature": "0x" + signature.hex()})


# -- signed holder actions --------------------------------------------------------------------

def plan_holder_action(kind: str) -> Callable[[GiftCert, dict[str, Any]], Plan]:
    def plan(relayer: GiftCert, request: dict[str, Any]) -> Plan:
        """request: {message: {...}, signature (bytes), domain?}."""
        return _plan_holder_action(relayer, kind, request)
    plan.__name__ = f"plan_{kind.replace('-', '_')}"
    return plan


def _plan_holder_action(relayer: GiftCert, kind: str, request: dict[str, Any]) -> Plan:
    from giftcert.errors import AuthorizationExpired, InvalidSignature, WrongNonce

    check_domain(relayer, request.get("domain"))
    signature = bytes(request["signature"])
    try:
        signed = SignedHolderAction.from_json(
            {"kind": kind, "message": request["message"], "signature": "0x" + signature.hex()})
    except InvalidInput as exc:
        raise RelayRefused(400, exc.message, exc.field) from None
    cert = read_certificate(relayer, signed.certificate)
    if signed.deadline <= relayer.now():
        raise refused_by(AuthorizationExpired, 422, "deadline",
                         "this authorisation's deadline has passed: sign again")
    if signed.nonce != cert.nonce:
        raise refused_by(WrongNonce, 409, "nonce", expected=str(cert.nonce),
                         given=str(signed.nonce))
    signer = signed.signer(relayer.chain_id, relayer.address)
    if signer is not None and signer != cert.owner:
        raise refused_by(InvalidSignature, 422, "signature",
                         "the signature is not from this certificate's holder (or it was made "
                         "for another chain or site)")
    recipient = signed.message.get("to")
    return Plan(kind, cert.id, cert.owner, recipient, signature,
                relayer.calls.holder_action(signed), signed.to_json())


Planner = Callable[[GiftCert, dict[str, Any]], Plan]
PLANNERS: dict[str, Planner] = {"claim": plan_claim}
if SignedHolderAction is not None:
    PLANNERS |= {kind: plan_holder_action(kind) for kind in HOLDER_ACTIONS}
