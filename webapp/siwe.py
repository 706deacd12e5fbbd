"""Sign-In with Ethereum (EIP-4361): the server writes the message with a one-time nonce, the
wallet signs it (personal_sign), the server checks domain, chain, nonce, expiry and signer and
opens a server-side session (cookie holds only a random id)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address

from webapp.sessions import NONCE_SECONDS
from webapp.validate import ApiError

COOKIE = "giftcert_session"
STATEMENT = "Sign in to the giftcert merchant desk."
CLOCK_SKEW = timedelta(minutes=2)

_PATTERN = re.compile(
    r"^(?P<domain>[^\s]+) wants you to sign in with your Ethereum account:\n"
    r"(?P<address>0x[0-9a-fA-F]{40})\n\n"
    r"(?:(?P<statement>[^\n]+)\n\n)?"
    r"URI: (?P<uri>[^\n]+)\n"
    r"Version: (?P<version>[^\n]+)\n"
    r"Chain ID: (?P<chain>\d+)\n"
    r"Nonce: (?P<nonce>[0-9A-Za-z]{8,})\n"
    r"Issued At: (?P<issued>[^\n]+)"
    r"(?:\nExpiration Time: (?P<expires>[^\n]+))?$"
)


@dataclass(frozen=True)
class SiweMessage:
    text: str
    nonce: str
    expiration_time: str


@dataclass(frozen=True)
class Verified:
    address: str
    expires_at: float


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_message(domain: str, address: str, uri: str, chain_id: int, nonce: str,
                  now: datetime | None = None) -> SiweMessage:
    now = now or datetime.now(UTC)
    expires = _iso(now + timedelta(seconds=NONCE_SECONDS))
    text = (f"{domain} wants you to sign in with your Ethereum account:\n{address}\n\n"
            f"{STATEMENT}\n\nURI: {uri}\nVersion: 1\nChain ID: {chain_id}\nNonce: {nonce}\n"
            f"Issued At: {_iso(now)}\nExpiration Time: {expires}")
    return SiweMessage(text, nonce, expires)


def _time(value: str, field: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"{field} is not an ISO 8601 time", "message") from None


def verify(text: str, signature: bytes, *, domain: str, chain_id: int,
           use_nonce: Callable[[str], bool], now: datetime | None = None) -> Verified:
    now = now or datetime.now(UTC)
    match = _PATTERN.match(text.replace("\r\n", "\n").strip())
    if match is None:
        raise ApiError(400, "not a Sign-In with Ethereum (EIP-4361) message", "message")
    if match["domain"] != domain:
        raise ApiError(401, f"the message is for {match['domain']}, not {domain}", "message",
                       "WrongDomain")
    if match["version"] != "1":
        raise ApiError(400, "unsupported SIWE version", "message")
    if int(match["chain"]) != chain_id:
        raise ApiError(401, f"the message is for chain {match['chain']}", "message",
                       "WrongChain")
    if _time(match["issued"], "Issued At") > now + CLOCK_SKEW:
        raise ApiError(401, "the message is issued in the future", "message", "NotYetValid")
    expires = _time(match["expires"], "Expiration Time") if match["expires"] else None
    if expires is not None and expires <= now:
        raise ApiError(401, "the sign-in message has expired: sign in again", "message",
                       "Expired")
    try:
        signer = Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception:  # noqa: BLE001 - malformed r/s/v
        raise ApiError(400, "the signature cannot be recovered", "signature") from None
    if signer != to_checksum_address(match["address"]):
        raise ApiError(401, "the signature is not from the address in the message",
                       "signature", "InvalidSignature")
    if not use_nonce(match["nonce"]):
        raise ApiError(401, "unknown, used or expired nonce: sign in again", "nonce",
                       "InvalidNonce")
    return Verified(signer, expires.timestamp() if expires else now.timestamp() + 3600)
