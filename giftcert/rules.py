"""The contract's rules that off-chain code needs to know in advance, written once: a
certificate's status and why it cannot be spent, which certificates can be merged, a purchase's
expiry, when a claim deadline ends.

They mirror the contract (`_spendRefusal`, `_compatible`, `_beginIssue`); the chain has the last
word, these let a page or the CLI say it first. A refusal is the contract's own error (a
`giftcert.errors.ContractRevert` subclass with the arguments the contract would give).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from giftcert.errors import (
    AwaitingClaim,
    ContractRevert,
    Expired,
    NotYetValid,
    UnknownCertificate,
)
from giftcert.ids import decode_id

if TYPE_CHECKING:
    from giftcert.models import Certificate

DAY = 86400


class Status(StrEnum):
    """What a holder can do with a certificate now (a str: compares and serialises as text)."""

    ACTIVE = "active"
    AWAITING_CLAIM = "awaiting-claim"
    NOT_YET_VALID = "not-yet-valid"
    EXPIRED = "expired"
    CLOSED = "closed"  # burned: spent in full, merged, refunded, voided, cashed out, reclaimed


def certificate_status(*, exists: bool, awaiting_claim: bool, valid_from: int, expiry: int,
                       now: int) -> Status:
    """A certificate's status at time `now` (the chain's clock, which the contract uses)."""
    if not exists:
        return Status.CLOSED
    if awaiting_claim:
        return Status.AWAITING_CLAIM
    if now >= expiry:
        return Status.EXPIRED
    if now < valid_from:
        return Status.NOT_YET_VALID
    return Status.ACTIVE


def indexed_status(row: Mapping[str, Any], now: int) -> Status:
    """The status of a certificate row of the index (keys burned, awaiting_claim, valid_from,
    expiry)."""
    return certificate_status(exists=not row.get("burned", False),
                              awaiting_claim=bool(row["awaiting_claim"]),
                              valid_from=int(row["valid_from"]), expiry=int(row["expiry"]),
                              now=now)


def spend_refusal(cert: Certificate, now: int) -> ContractRevert | None:
    """Why the contract would refuse to spend from `cert` at time `now` (`_spendRefusal`, in its
    order: unknown or closed, awaiting its claim, not open yet, expired), or None."""
    if not cert.exists:
        return UnknownCertificate({"id": cert.id})
    if cert.awaiting_claim:
        return AwaitingClaim({"id": cert.id})
    if now < cert.valid_from:
        return NotYetValid({"id": cert.id, "validFrom": cert.valid_from})
    if now >= cert.expiry:
        return Expired({"id": cert.id, "expiry": cert.expiry})
    return None


def purchase_expiry(*, now: int, min_validity: int, valid_from: int = 0,
                    expiry: int | None = None, expiry_days: int | None = None) -> int:
    """The expiry of certificates bought at `now`: `expiry_days` from now if given, else
    `expiry`, else the policy's minimum validity and a day, counted from the opening date
    (`valid_from`, 0: none) as the contract counts it (`_beginIssue`). Whether the contract
    takes it (InvalidValidFrom, ValidityTooShort, after the pause and the merchant) is the
    simulation's to say, in the contract's order."""
    if expiry_days:
        return now + expiry_days * DAY
    if expiry:
        return expiry
    return max(now, valid_from) + min_validity + DAY


def can_merge(from_id: int, into_id: int) -> bool:
    """Whether the contract's `merge(from, into)` accepts the pair by their terms: two
    different certificates with the same merchant, currency and buyer, `into` expiring no
    sooner than `from` (holder, balance and status are checked on chain as well)."""
    a, b = decode_id(int(from_id)), decode_id(int(into_id))
    return (int(from_id) != int(into_id) and a.merchant == b.merchant
            and a.currency == b.currency and a.buyer_tag == b.buyer_tag
            and b.expiry >= a.expiry)


def end_of_day(timestamp: int) -> int:
    """The last second of the UTC day of `timestamp`: a claim deadline as the contract keeps
    it (a day number), so a link can be claimed until that day ends."""
    return timestamp // DAY * DAY + DAY - 1
