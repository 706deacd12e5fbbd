"""What the SDK returns: snapshots of certificates and merchants, claim links, settlements and
transaction outcomes (all importable from `giftcert.client` as well)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from web3.types import TxReceipt

from giftcert.authorization import SignedRedemption
from giftcert.errors import ContractRevert
from giftcert.ids import is_buyer
from giftcert.money import CurrencyInfo, Money
from giftcert.rules import Status, can_merge, certificate_status

if TYPE_CHECKING:
    from giftcert.client import GiftCert

ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class Merchant:
    id: int
    account: str
    name: str
    active: bool

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "account": self.account, "name": self.name, "active": self.active}


@dataclass(frozen=True)
class Certificate:
    """A snapshot of one certificate as the chain reported it."""

    id: int
    owner: str
    balance: Money
    merchant: int
    merchant_name: str
    currency: CurrencyInfo
    occasion: int
    valid_from: int
    expiry: int
    awaiting_claim: bool
    claim_deadline: int
    nonce: int = 0  # the nonce the holder's next signed authorisation carries
    client: GiftCert | None = field(default=None, repr=False, compare=False)

    @property
    def exists(self) -> bool:
        return self.owner != ZERO_ADDRESS

    def status(self, now: int | None = None) -> Status:
        """Active, awaiting-claim, not-yet-valid, expired or closed at `now` (default: this
        machine's clock; pass the chain's, `GiftCert.now()`, to judge as the contract does)."""
        return certificate_status(exists=self.exists, awaiting_claim=self.awaiting_claim,
                                  valid_from=self.valid_from, expiry=self.expiry,
                                  now=int(time.time()) if now is None else now)

    def can_merge_into(self, other: Certificate | int) -> bool:
        """Whether `merge(self, other)` passes the contract's compatibility rule (same
        merchant, currency and buyer; `other` expires no sooner; not the same certificate)."""
        return can_merge(self.id, other.id if isinstance(other, Certificate) else int(other))

    def is_buyer(self, address: str) -> bool:
        return is_buyer(self.id, address)

    def refresh(self) -> Certificate:
        assert self.client is not None
        return self.client.certificate(self.id)

    def to_json(self, now: int | None = None) -> dict[str, Any]:
        return {
            "id": str(self.id), "owner": self.owner, "balance": self.balance.to_json(),
            "merchant": self.merchant, "merchantName": self.merchant_name,
            "currency": self.currency.symbol, "occasion": self.occasion,
            "validFrom": self.valid_from, "expiry": self.expiry,
            "awaitingClaim": self.awaiting_claim, "claimDeadline": self.claim_deadline,
            "nonce": self.nonce, "status": str(self.status(now)),
        }


@dataclass(frozen=True)
class ClaimLink:
    certificate: Certificate
    key: str | None  # the claim key's private key (hex), None when only its address was given

    @property
    def path(self) -> str:
        """The link's path; the key travels after `#`, which browsers never send."""
        base = f"/claim/{self.certificate.id}"
        return f"{base}#{self.key}" if self.key else base


@dataclass(frozen=True)
class Refusal:
    """An authorisation a batch settlement refused: its position, certificate and reason."""

    index: int
    certificate: int
    reason: ContractRevert

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "certificate": str(self.certificate),
                "reason": self.reason.error_name,
                "details": {k: str(v) for k, v in self.reason.args_by_name.items()}}


@dataclass(frozen=True)
class Settlement:
    """The outcome of a batch settlement: what was settled and what was refused, and why."""

    receipt: TxReceipt
    settled: list[SignedRedemption]
    refused: list[Refusal]


@dataclass(frozen=True)
class Payment:
    """One redemption a transaction made (a `Redeemed` event)."""

    certificate: int
    merchant: int
    order_ref: int
    units: int

    def to_json(self) -> dict[str, Any]:
        return {"certificate": str(self.certificate), "merchant": self.merchant,
                "orderRef": str(self.order_ref), "units": str(self.units)}


@dataclass(frozen=True)
class TabSettle:
    """One tab a transaction collected (a `TabSettled` event): `units` of the certificate's
    currency to its merchant, the voucher of `epoch` (every voucher of that epoch is void
    since)."""

    certificate: int
    merchant: int
    epoch: int
    units: int

    def to_json(self) -> dict[str, Any]:
        return {"certificate": str(self.certificate), "merchant": self.merchant,
                "epoch": str(self.epoch), "units": str(self.units)}


@dataclass(frozen=True)
class TransactionOutcome:
    """What a mined transaction did to certificates: status, the certificates it created (issue,
    batch issue) or split off, the payments it made, the tabs it collected and, for a batch
    settlement, each refused item with its reason."""

    tx_hash: str
    success: bool
    block: int
    issued: list[int]
    split: list[int]
    redeemed: list[Payment]
    refused: list[Refusal]
    tabs_settled: list[TabSettle] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "success" if self.success else "reverted"

    def to_json(self) -> dict[str, Any]:
        return {"txHash": self.tx_hash, "status": self.status, "block": self.block,
                "issued": [str(i) for i in self.issued], "split": [str(i) for i in self.split],
                "redeemed": [p.to_json() for p in self.redeemed],
                "tabsSettled": [t.to_json() for t in self.tabs_settled],
                "refused": [r.to_json() for r in self.refused]}
