"""Payment tabs (issue 17): the holder signs a running total per purchase off chain, the merchant
keeps only the latest voucher and settles it now and then, alone or many tabs in one batch.

- `Tab`: a tab's state as the contract's `tab` view gives it (`GiftCert.tab(id)`).
- `SignedVoucher`: the holder's EIP-712 `Voucher(certificate, epoch, cumulative)` and its
  signature; `to_json`/`from_json`, and the compact text of the till's QR code
  (`gt1:certificate:epoch:cumulative:0xsignature`); `decode_voucher` reads either, or the
  wallet's `{typedData, signature}`, for this chain and contract.
- `sign_voucher`: what the holder's wallet signs (tests, scripts and the CLI sign with a key);
  `voucher_typed_data`: the document a browser wallet signs instead.
- `check_voucher`: the merchant's free check before serving (issue rule 8), read from the
  chain in one view: the refusal is the contract's own error class (as `authorization.
  Preflight` gives them), or one of the merchant's own (`VoucherBelowPrevious`,
  `TabClosingSoon`); a voucher that passes comes back as a `VerifiedVoucher`, sealed so that
  nothing else makes one: the voucher store keeps only those.
- `TabKeeper`: settles every stored voucher (giftcert.vouchers.VoucherStore) whose tab is
  over a threshold, closing or near the end of its settle window, in one `settleTabs` batch,
  and forgets what settled or can never settle; a rerun finds nothing more to do.

The epoch is the certificate's nonce while a tab is open: each settle or close moves it on, so
every voucher of an earlier epoch is void, and a voucher's `cumulative` counts from the last
settle (everything bought in this epoch).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address
from web3.types import TxReceipt

from giftcert import eip712
from giftcert.authorization import (
    MAX_NONCE,
    _signature,
    json_object_text,
    recover_signer,
    signed_typed_fields,
)
from giftcert.errors import (
    ContractRevert,
    InsufficientBalance,
    InvalidInput,
    InvalidSignature,
    NonceExhausted,
    TabClosingSoon,
    TabNotOpen,
    TabSettleEnded,
    UnknownCertificate,
    VoucherBelowPrevious,
    WrongEpoch,
    WrongMerchant,
    ZeroAmount,
)
from giftcert.ids import decode_id
from giftcert.inputs import MAX_UINT256, whole_number
from giftcert.money import CurrencyInfo, Money, from_units
from giftcert.rules import DAY

if TYPE_CHECKING:
    from giftcert.client import GiftCert
    from giftcert.models import Refusal
    from giftcert.vouchers import VoucherStore

PREFIX = "gt1"
ZERO_ADDRESS = "0x" + "00" * 20
CLOSE_DELAY = 2 * DAY  # the contract's TabWord.CLOSE_DELAY: the merchant's time to settle
GRACE = 7 * DAY  # TabWord.GRACE: settling stays possible this long after expiry
MIN_SECONDS_LEFT = 3600  # check_voucher's default: an hour to settle before the tab ends
VOUCHER_SIGNATURE_BYTES = 65  # the contract takes a 65-byte ECDSA signature only


@dataclass(frozen=True)
class Tab:
    """A tab's state (the contract's `tab` view): whether it is open, its epoch (the nonce the
    next voucher must carry), the certificate's balance, who signs its vouchers (the owner or
    the session key given at opening), when a requested close takes effect (0: none asked)
    and until when its vouchers can be settled (the expiry plus the grace period)."""

    certificate: int
    open: bool
    epoch: int
    balance: Money
    signer: str
    close_at: int
    settle_until: int
    currency: CurrencyInfo = field(repr=False, compare=False)

    @property
    def merchant(self) -> int:
        return decode_id(self.certificate).merchant

    @property
    def close_requested(self) -> bool:
        return self.close_at != 0

    @property
    def balance_units(self) -> int:
        return self.currency.units(self.balance, allow_zero=True)

    def to_json(self) -> dict[str, Any]:
        return {"certificate": str(self.certificate), "open": self.open, "epoch": self.epoch,
                "balance": self.balance.to_json(), "signer": self.signer,
                "closeAt": self.close_at, "settleUntil": self.settle_until,
                "merchant": self.merchant}


def tab_from_view(certificate: int, view: Sequence[Any], currency: CurrencyInfo) -> Tab:
    """A `Tab` from the `tab` view's struct (open, epoch, balance, signer, closeAt,
    settleUntil)."""
    opened, epoch, balance, signer, close_at, settle_until = view
    return Tab(int(certificate), bool(opened), int(epoch), from_units(int(balance), currency),
               to_checksum_address(signer), int(close_at), int(settle_until), currency)


@dataclass(frozen=True)
class SignedVoucher:
    """A holder's signed running total of a tab: the merchant may collect `cumulative`
    smallest units from `certificate` once, while the tab is at `epoch`."""

    certificate: int
    epoch: int
    cumulative: int  # smallest units of the certificate's currency
    signature: bytes

    @property
    def merchant(self) -> int:
        """The merchant the certificate (so the tab) is for: its id says it."""
        return decode_id(self.certificate).merchant

    @property
    def currency_id(self) -> int:
        return decode_id(self.certificate).currency

    @property
    def struct(self) -> tuple[int, int, int]:
        """The contract's `Voucher` struct, as `settleTabs` takes it."""
        return (self.certificate, self.epoch, self.cumulative)

    def document(self, chain_id: int, contract: str) -> dict[str, Any]:
        """The EIP-712 Voucher with these values for that chain and contract."""
        return eip712.voucher(chain_id, to_checksum_address(contract),
                              certificate=self.certificate, epoch=self.epoch,
                              cumulative=self.cumulative)

    def signer(self, chain_id: int, contract: str) -> str | None:
        """Who signed it by the contract's rules for vouchers (a 65-byte ECDSA signature with
        low s); None when the contract would refuse the signature whoever made it."""
        if len(self.signature) != VOUCHER_SIGNATURE_BYTES:
            return None
        return recover_signer(self.document(chain_id, contract), self.signature)

    def total(self, currency: CurrencyInfo) -> Money:
        return from_units(self.cumulative, currency)

    def to_json(self) -> dict[str, str]:
        return {"certificate": str(self.certificate), "epoch": str(self.epoch),
                "cumulative": str(self.cumulative), "signature": "0x" + self.signature.hex()}

    def to_text(self) -> str:
        """The compact text the till's QR code carries:
        gt1:certificate:epoch:cumulative:0xsignature."""
        return ":".join([PREFIX, str(self.certificate), str(self.epoch), str(self.cumulative),
                         "0x" + self.signature.hex()])

    @classmethod
    def from_json(cls, data: Any) -> SignedVoucher:
        """From {certificate, epoch, cumulative, signature} (numbers as decimal or 0x text or
        integers); every field checked, an `InvalidInput` naming the one that is wrong."""
        if not isinstance(data, dict):
            raise InvalidInput("a voucher is {certificate, epoch, cumulative, signature}",
                               "voucher")
        for name in ("certificate", "epoch", "cumulative", "signature"):
            if name not in data:
                raise InvalidInput(f"the voucher lacks {name}", name)
        return _voucher(data["certificate"], data["epoch"], data["cumulative"],
                        data["signature"], None)


def _voucher(certificate: Any, epoch: Any, cumulative: Any, signature: Any,
             field_name: str | None) -> SignedVoucher:
    """A SignedVoucher from raw parts; an InvalidInput names `field_name` or the part."""
    def name(part: str) -> str:
        return field_name or part

    cert_id = whole_number(certificate, "voucher certificate", minimum=1,
                           field=name("certificate"))
    epoch_value = whole_number(epoch, "voucher epoch", maximum=MAX_NONCE, field=name("epoch"))
    total = whole_number(cumulative, "voucher cumulative", maximum=MAX_UINT256,
                         field=name("cumulative"))
    raw = _signature(signature, name("signature"))
    return SignedVoucher(cert_id, epoch_value, total, raw)


def decode_voucher(raw: Any, *, chain_id: int, contract: str,
                   field: str = "voucher") -> SignedVoucher:
    """A voucher from its `gt1:` text, its JSON {certificate, epoch, cumulative, signature}, or
    a wallet's {typedData, signature} (as a dict or JSON text). A typed-data voucher must have
    been made for this chain and contract; whether the tab's signer signed it is
    `check_voucher`'s question (the text form names no chain: a voucher signed for another
    one recovers to another address and is refused there)."""
    raw = json_object_text(raw, field)
    if isinstance(raw, dict):
        if "typedData" in raw:
            return _from_typed_data(raw, field, chain_id, contract)
        try:
            return SignedVoucher.from_json(raw)
        except InvalidInput as exc:
            raise InvalidInput(f"{field}: {exc.message}", exc.field or field) from None
    if not isinstance(raw, str):
        raise InvalidInput(f"{field} must be the voucher text ({PREFIX}:...)", field)
    pieces = raw.strip().split(":")
    if len(pieces) != 5 or pieces[0] != PREFIX:
        raise InvalidInput(f"{field} is not a tab voucher ({PREFIX}:certificate:epoch:"
                           "cumulative:signature)", field)
    certificate, epoch, cumulative, signature = pieces[1:]
    return _voucher(certificate, epoch, cumulative, signature, field)


def _from_typed_data(raw: dict[str, Any], what: str, chain_id: int,
                     contract: str) -> SignedVoucher:
    certificate, epoch, cumulative, signature = signed_typed_fields(
        raw, what, chain_id=chain_id, contract=contract, primary_type="Voucher",
        kind="a tab voucher")
    return _voucher(certificate, epoch, cumulative, signature, what)


def voucher_typed_data(client: GiftCert, certificate: int, total: Money | Decimal | str, *,
                       epoch: int | None = None) -> dict[str, Any]:
    """The EIP-712 document a browser wallet signs (`eth_signTypedData_v4`, integers as
    decimal text) for a running total of `total` at the tab's current epoch unless given;
    `decode_voucher({"typedData": it, "signature": the wallet's answer})` makes the voucher."""
    cert_id, epoch, units = _voucher_terms(client, certificate, total, epoch)
    return eip712.wallet_json(eip712.voucher(client.chain_id, client.address,
                                             certificate=cert_id, epoch=epoch,
                                             cumulative=units))


def _voucher_terms(client: GiftCert, certificate: int, total: Money | Decimal | str,
                   epoch: int | None) -> tuple[int, int, int]:
    """(certificate, epoch, units) of a voucher for `total`, the epoch read when not given."""
    cert_id = whole_number(certificate, "certificate", minimum=1)
    info = client.currency(decode_id(cert_id).currency)
    units = info.units(total)
    if epoch is None:
        tab = client.tab(cert_id)
        if not tab.open:
            raise TabNotOpen({"id": cert_id})
        epoch = tab.epoch
    return cert_id, whole_number(epoch, "epoch", maximum=MAX_NONCE), units


def sign_voucher(client: GiftCert, certificate: int, total: Money | Decimal | str, *,
                 epoch: int | None = None, key: str | bytes | None = None) -> SignedVoucher:
    """The holder's voucher for a running total of `total` (in the certificate's currency:
    everything bought on the tab in this epoch), at the tab's current epoch unless given:
    what the holder's wallet signs. Signed with `key`, else the client's key (or its node
    account)."""
    cert_id, epoch, units = _voucher_terms(client, certificate, total, epoch)
    document = eip712.voucher(client.chain_id, client.address, certificate=cert_id,
                              epoch=epoch, cumulative=units)
    signature = (eip712.sign_typed_data(key, document) if key is not None
                 else client._sign_typed(document))
    return SignedVoucher(cert_id, epoch, units, signature)


def sign_tab_release(client: GiftCert, certificate: int, *, epoch: int | None = None,
                     key: str | bytes | None = None) -> bytes:
    """The merchant's TabRelease signature letting the holder close the tab at once
    (`close_tab_with_release`), at the tab's current epoch unless given."""
    cert_id = whole_number(certificate, "certificate", minimum=1)
    if epoch is None:
        epoch = client.tab(cert_id).epoch
    document = eip712.tab_release(client.chain_id, client.address, certificate=cert_id,
                                  epoch=whole_number(epoch, "epoch", maximum=MAX_NONCE))
    return (eip712.sign_typed_data(key, document) if key is not None
            else client._sign_typed(document))


# -- the contract's refusals, off chain ------------------------------------------------------


def settle_refusal(tab: Tab, voucher: SignedVoucher, now: int,
                   merchant_id: int | None = None) -> ContractRevert | None:
    """Why `settleTabs` would refuse this voucher now, before its signature (the contract's
    `_voucherRefusal`, in its order), or None. `merchant_id` is the settling merchant
    (default: the certificate's)."""
    cert_id = voucher.certificate
    merchant = tab.merchant if merchant_id is None else merchant_id
    if decode_id(cert_id).merchant != merchant:
        return WrongMerchant({"id": cert_id, "merchant": merchant})
    if not tab.open:
        return TabNotOpen({"id": cert_id})
    if voucher.epoch != tab.epoch:
        return WrongEpoch({"id": cert_id, "expected": tab.epoch, "given": voucher.epoch})
    if tab.epoch >= MAX_NONCE:
        return NonceExhausted({"id": cert_id})
    if voucher.cumulative == 0:
        return ZeroAmount()
    balance = tab.balance_units
    if voucher.cumulative > balance:
        return InsufficientBalance({"id": cert_id, "balance": balance,
                                    "needed": voucher.cumulative})
    if now >= tab.settle_until:
        return TabSettleEnded({"id": cert_id, "settleUntil": tab.settle_until})
    return None


def signature_refusal(client: GiftCert, tab: Tab,
                      voucher: SignedVoucher) -> ContractRevert | None:
    """InvalidSignature unless the tab's signer (owner or session key) signed the voucher for
    this chain and contract by the contract's ECDSA rules."""
    if voucher.signer(client.chain_id, client.address) != tab.signer:
        return InvalidSignature()
    return None


_SEAL_KEY = secrets.token_bytes(32)  # this process's: only check_voucher seals with it


def _seal(voucher: SignedVoucher, tab: Tab, chain_id: int, contract: str, merchant_id: int,
          checked_at: int) -> bytes:
    terms = (voucher.certificate, voucher.epoch, voucher.cumulative, voucher.signature.hex(),
             tab.certificate, tab.epoch, tab.balance_units, tab.signer, chain_id,
             contract.lower(), merchant_id, checked_at)
    return hmac.new(_SEAL_KEY, repr(terms).encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class VerifiedVoucher:
    """A voucher `check_voucher` passed (`VoucherCheck.verified`): signed by the tab's signer
    for this chain and contract, of the tab's epoch and within its balance as the chain had
    them at `checked_at`, for `merchant_id`. Only check_voucher makes one: the seal covers
    every field, so building one by hand or `dataclasses.replace` on one raises TypeError.
    What the voucher store (giftcert.vouchers) keeps, and nothing else."""

    voucher: SignedVoucher
    tab: Tab
    chain_id: int
    contract: str
    merchant_id: int
    checked_at: int
    seal: bytes = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.genuine():
            raise TypeError("a VerifiedVoucher comes from check_voucher only")

    def genuine(self) -> bool:
        """Made by check_voucher in this process, with these very fields."""
        return isinstance(self.seal, bytes) and hmac.compare_digest(self.seal, _seal(
            self.voucher, self.tab, self.chain_id, self.contract, self.merchant_id,
            self.checked_at))


@dataclass(frozen=True)
class VoucherCheck:
    """The merchant's check of a voucher before serving: the tab as the chain has it now, the
    refusal (None: serve), and what the voucher adds to the running total kept before it
    (`increase`: the price of this purchase). `verified`: the voucher as the store keeps it
    (None when refused)."""

    voucher: SignedVoucher
    tab: Tab | None  # None: no such certificate
    refusal: ContractRevert | None
    previous: int  # units of this epoch already kept (0: the first voucher of the epoch)
    now: int
    verified: VerifiedVoucher | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.refusal is None

    @property
    def increase_units(self) -> int:
        return self.voucher.cumulative - self.previous

    @property
    def increase(self) -> Money | None:
        """What this voucher adds to the running total (None without the tab)."""
        if self.tab is None:
            return None
        return from_units(max(self.increase_units, 0), self.tab.currency)

    @property
    def total(self) -> Money | None:
        if self.tab is None:
            return None
        return self.voucher.total(self.tab.currency)

    def raise_for_refusal(self) -> VoucherCheck:
        if self.refusal is not None:
            raise self.refusal
        return self

    def to_json(self) -> dict[str, Any]:
        refusal = self.refusal
        return {
            "ok": self.ok, "voucher": self.voucher.to_json(),
            "tab": self.tab.to_json() if self.tab else None,
            "total": self.total.to_json() if self.total else None,
            "increase": self.increase.to_json() if self.increase else None,
            "reason": refusal.error_name if refusal else None,
            "hint": refusal.hint if refusal else None,
            "details": {k: str(v) for k, v in refusal.args_by_name.items()} if refusal else {},
        }


def _previous_units(voucher: SignedVoucher, previous: Any, currency: CurrencyInfo) -> int:
    """The running total kept before `voucher`, in units (0: none, or of another epoch)."""
    if previous is None:
        return 0
    if isinstance(previous, SignedVoucher):  # counts only in the same tab and epoch
        same_tab = previous.certificate == voucher.certificate
        return previous.cumulative if same_tab and previous.epoch == voucher.epoch else 0
    if isinstance(previous, Money):
        return currency.units(previous, allow_zero=True)
    return whole_number(previous, "previous total", maximum=MAX_UINT256)


def check_voucher(client: GiftCert, voucher: SignedVoucher, *,
                  previous_total: SignedVoucher | Money | int | None = None,
                  min_seconds_left: int = MIN_SECONDS_LEFT,
                  merchant_id: int | None = None) -> VoucherCheck:
    """The merchant's check before serving on a tab (issue rule 8), from one free view: the
    certificate is the merchant's (`merchant_id`, default the certificate's), the tab is open,
    the voucher is of the current epoch, its running total is not below the one kept before
    (`previous_total`: the previous voucher, or its total as Money or smallest units; a voucher
    of an earlier epoch counts as 0) and not above the balance, the tab signer signed it, and
    at least `min_seconds_left` remain before a requested close takes effect and before the
    settle window ends. The refusal is the contract's error (as the settle would give it) or
    the merchant's own (`VoucherBelowPrevious`, `TabClosingSoon`)."""
    cert_id = voucher.certificate
    try:
        tab = client.tab(cert_id)
    except UnknownCertificate as exc:
        return VoucherCheck(voucher, None, exc, 0, client.now())
    now = client.now()
    previous = _previous_units(voucher, previous_total, tab.currency)

    def result(refusal: ContractRevert | None) -> VoucherCheck:
        if refusal is not None:
            return VoucherCheck(voucher, tab, refusal, previous, now)
        merchant = tab.merchant if merchant_id is None else merchant_id
        seal = _seal(voucher, tab, client.chain_id, client.address, merchant, now)
        return VoucherCheck(voucher, tab, None, previous, now, VerifiedVoucher(
            voucher, tab, client.chain_id, client.address, merchant, now, seal))

    refusal = settle_refusal(tab, voucher, now, merchant_id)
    if refusal is not None:
        return result(refusal)
    if voucher.cumulative < previous:
        return result(VoucherBelowPrevious({"id": cert_id, "previous": previous,
                                            "given": voucher.cumulative}))
    for until in (tab.close_at, tab.settle_until):
        if until and until - now < min_seconds_left:
            return result(TabClosingSoon({"id": cert_id, "until": until}))
    return result(signature_refusal(client, tab, voucher))


# -- settling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TabSettlement:
    """The outcome of a `settleTabs` batch: the vouchers collected and those refused (with the
    contract's reason, `Refusal.index` their position in the batch)."""

    receipt: TxReceipt
    settled: list[SignedVoucher]
    refused: list[Refusal]

    @classmethod
    def from_receipt(cls, client: GiftCert, receipt: TxReceipt,
                     vouchers: Sequence[SignedVoucher]) -> TabSettlement:
        """The outcome of a mined `settleTabs` of `vouchers` (in the order sent), e.g. one a
        browser wallet sent: the refused ones from its RedemptionRefused events, the rest
        settled."""
        refused = client.refusals(receipt)
        skipped = {r.index for r in refused}
        return cls(receipt, [v for i, v in enumerate(vouchers) if i not in skipped], refused)

    @property
    def tx_hash(self) -> str:
        return "0x" + bytes(self.receipt["transactionHash"]).hex()

    def collected_units(self) -> dict[int, int]:
        """Units collected per currency id."""
        out: dict[int, int] = {}
        for v in self.settled:
            out[v.currency_id] = out.get(v.currency_id, 0) + v.cumulative
        return out

    def to_json(self) -> dict[str, Any]:
        return {"tx": self.tx_hash, "settled": [v.to_json() for v in self.settled],
                "refused": [r.to_json() for r in self.refused],
                "collected": {str(k): str(v) for k, v in self.collected_units().items()}}


# -- the keeper -------------------------------------------------------------------------------

# Refusals after which a stored voucher can never settle: it is forgotten.
VOID_REASONS = frozenset({"WrongEpoch", "TabNotOpen", "TabSettleEnded", "InvalidSignature",
                          "UnknownCertificate", "WrongMerchant", "NonceExhausted",
                          "ZeroAmount"})


@dataclass(frozen=True)
class DueVoucher:
    """A stored voucher the keeper settles now, and why ("threshold", "closing": the holder
    asked to close, "settle-window": the end of its settle window is near)."""

    voucher: SignedVoucher
    tab: Tab
    reason: str


@dataclass
class KeeperReport:
    """What one keeper run did: the batches sent, the vouchers settled, refused (kept unless
    they can never settle), forgotten (void: settled elsewhere, closed, past the window, not
    signed by the tab's signer) and left waiting (not due yet, or not covered by the
    balance)."""

    settled: list[SignedVoucher] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    forgotten: list[tuple[SignedVoucher, str]] = field(default_factory=list)
    waiting: list[SignedVoucher] = field(default_factory=list)
    held: list[tuple[SignedVoucher, ContractRevert]] = field(default_factory=list)
    transactions: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"settled": [v.to_json() for v in self.settled],
                "refused": [r.to_json() for r in self.refused],
                "forgotten": [{**v.to_json(), "reason": why} for v, why in self.forgotten],
                "waiting": [v.to_json() for v in self.waiting],
                "held": [{**v.to_json(), "reason": r.error_name} for v, r in self.held],
                "transactions": list(self.transactions)}


class TabKeeper:
    """Settles a merchant's stored vouchers when they are due, in as few `settleTabs` batches
    as `batch` allows: a tab whose unsettled total reached its currency's threshold
    (`thresholds`: currency id or symbol -> amount; a currency not named settles by time
    only), whose holder asked to close it (the close delay runs), or whose settle window ends
    within `margin` seconds. The client acts as the merchant's account. Settled vouchers and
    those that can never settle are removed from the store, so a rerun sends nothing new; a
    voucher the balance does not cover waits (a top-up can cover it again)."""

    def __init__(self, client: GiftCert, store: VoucherStore, merchant_id: int, *,
                 thresholds: Mapping[int | str, Money | Decimal | str] | None = None,
                 margin: int = DAY, batch: int = 100) -> None:
        self.client = client
        self.store = store
        self.merchant_id = whole_number(merchant_id, "merchant", minimum=1, maximum=2**32 - 1)
        self.margin = whole_number(margin, "margin")
        self.batch = whole_number(batch, "batch", minimum=1, maximum=10_000)
        self.thresholds: dict[int, int] = {}
        for ref, amount in (thresholds or {}).items():
            info = client.currency(ref)
            self.thresholds[info.id] = info.units(amount, allow_zero=True)

    def tabs(self, vouchers: Sequence[SignedVoucher]) -> list[Tab | None]:
        """The tab of each voucher, in one node call (None: the certificate is gone)."""
        reads = self.client.read_many([("tab", (v.certificate,)) for v in vouchers])
        out: list[Tab | None] = []
        for v, read in zip(vouchers, reads, strict=True):
            if read.error is not None:
                if isinstance(read.error, UnknownCertificate):
                    out.append(None)
                    continue
                raise read.error
            out.append(tab_from_view(v.certificate, read.result,
                                     self.client.currency(v.currency_id)))
        return out

    def due_reason(self, voucher: SignedVoucher, tab: Tab, now: int) -> str | None:
        threshold = self.thresholds.get(voucher.currency_id)
        if tab.close_requested:
            return "closing"
        if tab.settle_until - now <= self.margin:
            return "settle-window"
        if threshold is not None and voucher.cumulative >= threshold:
            return "threshold"
        return None

    def plan(self, report: KeeperReport | None = None) -> list[DueVoucher]:
        """The stored vouchers due now; void ones are forgotten (into `report`)."""
        report = report if report is not None else KeeperReport()
        stored = [s.voucher for s in self.store.open_tabs(self.merchant_id)]
        if not stored:
            return []
        tabs = self.tabs(stored)
        now = self.client.now()
        due: list[DueVoucher] = []
        for voucher, tab in zip(stored, tabs, strict=True):
            if tab is None:
                self._forget(report, voucher, "UnknownCertificate")
                continue
            if tab.open and voucher.epoch > tab.epoch:  # ahead of the node we asked: wait
                if signature_refusal(self.client, tab, voucher) is not None:
                    self._forget(report, voucher, "InvalidSignature")
                else:
                    report.waiting.append(voucher)
                continue
            refusal = (settle_refusal(tab, voucher, now, self.merchant_id)
                       or signature_refusal(self.client, tab, voucher))
            if refusal is not None:
                if refusal.error_name in VOID_REASONS:
                    self._forget(report, voucher, refusal.error_name)
                else:  # e.g. more than the balance: a top-up can cover it
                    report.held.append((voucher, refusal))
                continue
            reason = self.due_reason(voucher, tab, now)
            if reason is None:
                report.waiting.append(voucher)
            else:
                due.append(DueVoucher(voucher, tab, reason))
        return due

    def _forget(self, report: KeeperReport, voucher: SignedVoucher, why: str) -> None:
        if self.store.remove(voucher):
            report.forgotten.append((voucher, why))

    def run(self) -> KeeperReport:
        """One pass: plan, settle what is due, tidy the store."""
        report = KeeperReport()
        due = self.plan(report)
        for start in range(0, len(due), self.batch):
            part = [d.voucher for d in due[start:start + self.batch]]
            outcome = self.client.calls.settle_tabs(self.merchant_id, part).send()
            report.transactions.append(outcome.tx_hash)
            for voucher in outcome.settled:
                self.store.remove(voucher)
                report.settled.append(voucher)
            for refusal in outcome.refused:
                report.refused.append(refusal)
                if refusal.reason.error_name in VOID_REASONS:
                    self._forget(report, part[refusal.index], refusal.reason.error_name)
        return report

    def follow(self, poll: float = 60.0, *, runs: int | None = None,
               say: Callable[[str], None] | None = None) -> None:
        """Runs every `poll` seconds (`runs` times; forever when None)."""
        done = 0
        while runs is None or done < runs:
            report = self.run()
            if say is not None and (report.settled or report.refused or report.forgotten):
                say(f"settled {len(report.settled)}, refused {len(report.refused)}, "
                    f"forgot {len(report.forgotten)}")
            done += 1
            if runs is None or done < runs:
                time.sleep(poll)
