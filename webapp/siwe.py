"""Sign-In with Ethereum (EIP-4361) through the reference implementation, the `siwe` package.

The library writes the message, parses it with the EIP's ABNF grammar (every optional field:
Expiration Time, Not Before, Request ID, Resources, a scheme before the domain) and checks the
signature: an account's ECDSA signature, or a contract wallet's ERC-1271 `isValidSignature` over
the app's own node connection. ERC-6492 (a wallet not deployed yet) is not supported by the
library (4.4.0), so such a wallet signs in once it is deployed.

What this module adds is what the EIP leaves to the site: the message must be for this domain,
this site's URI and this chain; the times are checked with a clock skew for a wallet whose clock
runs ahead (never past the expiry); the nonce is one the server issued and is used once; every
refusal is an ApiError (a 4xx with a JSON reason), never a 500. The cookie holds only a random
session id (webapp/sessions.py).

The domain and URI are the site's configured public origin (GIFTCERT_PUBLIC_ORIGIN), never the
request's Host header: a phishing site that relays requests to this one would otherwise be
handed messages for its own domain, which wallets sign without a warning, and obtain a valid
session. The cookie's name is the site's (one per chain and contract unless
GIFTCERT_SESSION_COOKIE names it), so two sites on one host never read each other's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from eth_keys.exceptions import BadSignature
from eth_utils import to_checksum_address
from pydantic import ValidationError
from siwe import (
    DomainMismatch,
    ExpiredMessage,
    InvalidSignature,
    ISO8601Datetime,
    NonceMismatch,
    NotYetValidMessage,
    VerificationError,
)
from siwe import SiweMessage as Eip4361Message
from web3.exceptions import ProviderConnectionError, Web3Exception

from webapp.errors import ApiError
from webapp.sessions import NONCE_SECONDS

COOKIE = "giftcert_session"  # the start of every site's cookie name (see cookie_name)
STATEMENT = "Sign in to the giftcert merchant desk."
CLOCK_SKEW = timedelta(minutes=2)
# Without an Expiration Time the session lasts this long (the store caps it anyway).
DEFAULT_SESSION = timedelta(hours=1)
_TIME_LINE = re.compile(r"^(Issued At|Expiration Time|Not Before): (.*)$", re.MULTILINE)
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class SiweMessage:
    """A message the server wrote for a wallet to sign."""

    text: str
    nonce: str
    expiration_time: str


@dataclass(frozen=True)
class Verified:
    address: str
    expires_at: float


def cookie_name(chain_id: int, contract: str) -> str:
    """The sign-in cookie of the site for this chain and contract (when no setting names one)."""
    return f"{COOKIE}_{int(chain_id)}_{contract.lower().removeprefix('0x')[:10]}"


def domain_of(origin: str) -> str:
    """The EIP-4361 domain of an origin: its authority, host[:port]."""
    return urlsplit(origin).netloc.lower()


@dataclass(frozen=True)
class Site:
    """Who signs in where: the public origin, its domain, the chain and the cookie's name."""

    origin: str
    chain_id: int
    cookie: str

    @property
    def domain(self) -> str:
        return domain_of(self.origin)

    @property
    def secure(self) -> bool:
        """Whether the cookie is sent over https only (an https origin, also behind a proxy
        that speaks http to the server)."""
        return self.origin.startswith("https://")


def site() -> Site:
    """This app's sign-in site (set by the app factory)."""
    from flask import current_app

    return current_app.config["GIFTCERT_SITE"]


def session_id() -> str | None:
    """The sign-in session id the request's cookie carries (this site's cookie only)."""
    from flask import request

    return request.cookies.get(site().cookie)


def _iso(moment: datetime) -> str:
    return str(ISO8601Datetime.from_datetime(moment, timespec="seconds"))


def build_message(domain: str, address: str, uri: str, chain_id: int, nonce: str,
                  now: datetime | None = None) -> SiweMessage:
    """The EIP-4361 message for `address` to sign, written by the library (expires with the
    nonce, NONCE_SECONDS after `now`)."""
    now = now or datetime.now(UTC)
    expires = _iso(now + timedelta(seconds=NONCE_SECONDS))
    message = Eip4361Message(domain=domain, address=to_checksum_address(address), uri=uri,
                             version="1", chain_id=chain_id, nonce=nonce,
                             statement=STATEMENT, issued_at=_iso(now),
                             expiration_time=expires)
    return SiweMessage(message.prepare_message(), nonce, expires)


def _hex_bytes(value: str) -> bytes:
    """A signature given as 0x-hex (the API's models hand over bytes)."""
    try:
        return bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise ApiError(400, "signature must be 0x-prefixed hex", "signature") from None


def _refused(status: int, reason: str, field: str, code: str) -> ApiError:
    return ApiError(status, reason, field, code)


def _malformed(reason: str) -> ApiError:
    return ApiError(400, reason, "message", "MalformedMessage")


def _why_unparsable(text: str, error: Exception) -> str:
    """Words for a message the grammar or the library's model refused."""
    head = "not a Sign-In with Ethereum (EIP-4361) message"
    if "\r" in text:
        return f"{head}: its lines must end with \\n, not \\r\\n"
    for name, value in _TIME_LINE.findall(text):
        if _RFC3339.match(value):
            continue
        try:
            naive = datetime.fromisoformat(value).tzinfo is None
        except ValueError:
            naive = False
        if naive:
            return (f"{head}: {name} has no time zone; write it as an RFC 3339 time with Z "
                    f"or an offset, e.g. 2024-05-01T12:00:00Z")
        return f"{head}: {name} is not an RFC 3339 time (e.g. 2024-05-01T12:00:00Z)"
    if isinstance(error, ValidationError) and error.errors():
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "message"
        return f"{head}: {where}: {first.get('msg', '').removeprefix('Value error, ')}"
    return head


def parse(text: str) -> Eip4361Message:
    """The library's reading of `text`, which must be exactly what it would write for those
    fields (the library checks the signature over the message it re-creates)."""
    try:
        message = Eip4361Message.from_message(text)
    except ValueError as error:  # the ABNF grammar, or the model's field checks
        raise _malformed(_why_unparsable(text, error)) from None
    if message.prepare_message() != text:
        raise _malformed("the message is not written the way EIP-4361 writes it (an empty "
                         "optional field, or chain id 0?)")
    return message


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))  # the library has checked it parses
    if moment.tzinfo is None:  # the grammar requires an offset; never compare naive times
        raise _malformed(f"{value} has no time zone")
    return moment


def _origin(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    return parts.scheme.lower(), parts.netloc.lower()


def _current_provider() -> Any:
    """The app's node connection, when called inside a request of the giftcert app."""
    from flask import current_app, has_app_context

    if has_app_context() and "giftcert" in current_app.extensions:
        return current_app.extensions["giftcert"].client.w3.provider
    return None


def verify(text: str, signature: bytes | str, *, domain: str, chain_id: int,
           use_nonce: Callable[[str], bool], now: datetime | None = None,
           uri: str | None = None, provider: Any = None) -> Verified:
    """Checks a signed sign-in message; returns who signed it, or raises ApiError.

    `domain` is the site's host[:port]; `uri` its origin (e.g. "https://shop.example"); without
    it the message's URI must at least be on `domain` over http(s). `provider` is the web3
    provider for ERC-1271 checks (by default the app's node connection). The nonce is used
    before the signature is checked, so each issued nonce costs at most one contract call."""
    now = now or datetime.now(UTC)
    message = parse(text)
    if message.domain != domain:
        raise _refused(401, f"the message is for {message.domain}, not {domain}", "message",
                       "WrongDomain")
    scheme, netloc = _origin(message.uri)
    if uri is not None:
        allowed = {_origin(uri)}
    else:
        allowed = {("http", domain.lower()), ("https", domain.lower())}
    if (scheme, netloc) not in allowed or (message.scheme and message.scheme.lower() != scheme):
        raise _refused(401, f"the message's URI {message.uri} is not this site", "message",
                       "WrongUri")
    if message.chain_id != chain_id:
        raise _refused(401, f"the message is for chain {message.chain_id}, not {chain_id}",
                       "message", "WrongChain")
    issued, expires = _moment(message.issued_at), _moment(message.expiration_time)
    not_before = _moment(message.not_before)
    if issued is None:  # EIP-4361 requires Issued At (the parser does too): keep the type honest
        raise _malformed("the message has no Issued At")
    if issued > now + CLOCK_SKEW:
        raise _refused(401, "the message is issued in the future", "message", "NotYetValid")
    if not_before is not None and not_before > now + CLOCK_SKEW:
        raise _refused(401, f"the message is not valid before {message.not_before}", "message",
                       "NotYetValid")
    if expires is not None and expires <= now:
        raise _refused(401, "the sign-in message has expired: sign in again", "message",
                       "Expired")
    if not use_nonce(message.nonce):
        raise _refused(401, "unknown, used or expired nonce: sign in again", "nonce",
                       "InvalidNonce")
    # The library checks the times again at one instant, with no skew: take one inside the
    # window accepted above (a Not Before within the skew counts as reached).
    instant = now
    if not_before is not None and instant <= not_before:
        instant = not_before + timedelta(microseconds=1)
    raw = signature if isinstance(signature, bytes) else _hex_bytes(signature)
    try:
        message.verify("0x" + raw.hex(), domain=domain, nonce=message.nonce,
                       timestamp=instant, provider=provider or _current_provider())
    except (InvalidSignature, BadSignature):  # the library lets eth_keys' BadSignature out
        raise _refused(401, "the signature is not from the address in the message (nor "
                       "accepted by it as a contract wallet, ERC-1271)", "signature",
                       "InvalidSignature") from None
    except (ExpiredMessage, NotYetValidMessage):
        raise _refused(401, "the message's Not Before is not before its Expiration Time",
                       "message", "Expired") from None
    except (DomainMismatch, NonceMismatch, VerificationError) as error:  # checked above
        raise _refused(401, f"the sign-in was refused ({type(error).__name__})", "message",
                       "InvalidSignature") from None
    except ProviderConnectionError:
        raise
    except (Web3Exception, ValueError):  # a contract wallet answering something unexpected
        raise _refused(401, "the contract wallet did not accept the signature (ERC-1271)",
                       "signature", "InvalidSignature") from None
    ends = expires or now + DEFAULT_SESSION
    return Verified(message.address, ends.timestamp())
