"""The domain client: every contract operation as a Python method with exact amounts.

`GiftCert(w3, contract, sender, private_key=...)` signs locally with `private_key` (any network)
or, without one, sends from an unlocked node account (anvil's dev accounts). Amounts go in as
`Money`/`Decimal`/text and come out as `Money`; reverts raise the contract-named exceptions of
`giftcert.errors` (via `giftcert.transactions`).
"""

from __future__ import annotations

import base64
import csv
import json
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_address, to_checksum_address
from web3 import Web3
from web3.logs import DISCARD
from web3.types import TxReceipt

from giftcert import eip712
from giftcert.errors import ContractRevert, decode_revert
from giftcert.ids import decode_id, is_buyer, random_serial
from giftcert.money import ETH, CurrencyInfo, Money, from_units
from giftcert.transactions import Views, call, send

ZERO_ADDRESS = "0x" + "00" * 20
DAY = 86400
MAX_UINT256 = 2**256 - 1
Progress = Callable[[int, int], None]

ERC20_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": name, "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": out}]}
    for name, out in (("symbol", "string"), ("decimals", "uint8"))
] + [
    {"type": "function", "name": "allowance", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"}],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "approve", "stateMutability": "nonpayable",
     "inputs": [{"name": "spender", "type": "address"}, {"name": "amount", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"type": "function", "name": "balanceOf", "stateMutability": "view",
     "inputs": [{"name": "account", "type": "address"}],
     "outputs": [{"name": "", "type": "uint256"}]},
]


def checksum(address: str, what: str = "address") -> str:
    """A checksummed address, or ValueError saying what is wrong."""
    if not isinstance(address, str) or not is_address(address):
        raise ValueError(f"{what} {address!r} is not a valid 0x address (40 hex digits)")
    return to_checksum_address(address)


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

    def status(self, now: int | None = None) -> str:
        now = int(time.time()) if now is None else now
        if not self.exists:
            return "closed"
        if self.awaiting_claim:
            return "awaiting-claim"
        if now >= self.expiry:
            return "expired"
        if now < self.valid_from:
            return "not-yet-valid"
        return "active"

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
            "nonce": self.nonce, "status": self.status(now),
        }


@dataclass(frozen=True)
class ClaimLink:
    certificate: Certificate
    key: str  # the claim key's private key (hex); it travels in the link fragment

    @property
    def path(self) -> str:
        return f"/claim/{self.certificate.id}#{self.key}"


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
        return (self.certificate, self.merchant, self.amount, self.order_ref, self.nonce,
                self.deadline)

    def to_json(self) -> dict[str, Any]:
        return {"typedData": wallet_json(self.typed_data),
                "signature": "0x" + self.signature.hex()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignedRedemption:
        try:
            message = data["typedData"]["message"]
            return cls(
                certificate=int(message["certificate"]), merchant=int(message["merchant"]),
                amount=int(message["amount"]), order_ref=int(message["orderRef"]),
                nonce=int(message["nonce"]), deadline=int(message["deadline"]),
                signature=bytes.fromhex(data["signature"].removeprefix("0x")),
                typed_data=data["typedData"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a signed redemption (typedData, signature): {exc}") from None


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


class GiftCert:
    """A connection to one deployed GiftCertificates contract, acting as one account."""

    def __init__(self, w3: Web3, contract: Any, sender: str | None = None, *,
                 private_key: str | bytes | None = None) -> None:
        self.w3 = w3
        self.contract = contract
        self._views = Views(contract)
        self.private_key = private_key
        if private_key is not None:
            sender = Account.from_key(private_key).address
        if sender is None:
            raise ValueError("give a sender address or a private key")
        self.sender = checksum(sender, "sender")
        self.chain_id = w3.eth.chain_id
        self._currencies: dict[int, CurrencyInfo] = {0: ETH}

    # -- plumbing ---------------------------------------------------------------------

    @property
    def address(self) -> str:
        return self.contract.address

    def acting_as(self, sender: str | None = None,
                  private_key: str | bytes | None = None) -> GiftCert:
        """The same connection acting as another account."""
        return GiftCert(self.w3, self.contract, sender, private_key=private_key)

    def _fn(self, name: str, *args: Any) -> Any:
        return getattr(self.contract.functions, name)(*args)

    def _send(self, name: str, *args: Any, value: int = 0, target: Any = None) -> TxReceipt:
        fn = getattr((target or self.contract).functions, name)(*args)
        return send(self.w3, fn, self.sender, value=value, private_key=self.private_key)

    def _view(self, name: str, *args: Any) -> Any:
        return self._views(name, *args)

    def _events(self, name: str, receipt: TxReceipt) -> list[Any]:
        return getattr(self.contract.events, name)().process_receipt(receipt, errors=DISCARD)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    # -- currencies -------------------------------------------------------------------

    def currency(self, ref: int | str) -> CurrencyInfo:
        """A currency by id, symbol ("ETH", "tUSD") or token address."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            return self._currency_by_id(int(ref))
        if ref.upper() == "ETH":
            return ETH
        for info in self.currencies():
            if info.symbol.lower() == ref.lower() or (info.token or "").lower() == ref.lower():
                return info
        raise ValueError(f"unknown currency {ref!r}: use ETH or an allow-listed token symbol")

    def _currency_by_id(self, currency_id: int) -> CurrencyInfo:
        if currency_id in self._currencies:
            return self._currencies[currency_id]
        token, allowed = self._view("currency", currency_id)
        if token == ZERO_ADDRESS:
            raise ValueError(f"unknown currency id {currency_id}")
        erc20 = self.w3.eth.contract(address=token, abi=ERC20_ABI)
        info = CurrencyInfo(currency_id, call(erc20.functions.symbol()),
                            call(erc20.functions.decimals()), token, allowed)
        self._currencies[currency_id] = info
        return info

    def currencies(self) -> list[CurrencyInfo]:
        count = self._view("currencyCount")
        self._currencies = {0: ETH}  # statuses may have changed
        return [self._currency_by_id(i) for i in range(count)]

    def allow_currency(self, token: str) -> CurrencyInfo:
        receipt = self._send("allowCurrency", checksum(token, "token"))
        return self._currency_by_id(self._events("CurrencyAllowed", receipt)[0]["args"]["currency"])

    def set_currency_allowed(self, currency: int | str, allowed: bool) -> None:
        self._send("setCurrencyAllowed", self.currency(currency).id, allowed)
        self._currencies.pop(self.currency(currency).id, None)

    def token(self, currency: int | str) -> Any:
        info = self.currency(currency)
        if info.token is None:
            raise ValueError("ETH is not a token")
        return self.w3.eth.contract(address=info.token, abi=ERC20_ABI)

    def _approve(self, info: CurrencyInfo, units: int) -> None:
        token = self.w3.eth.contract(address=info.token, abi=ERC20_ABI)
        if call(token.functions.allowance(self.sender, self.address)) < units:
            self._send("approve", self.address, MAX_UINT256, target=token)

    # -- reading ----------------------------------------------------------------------

    def certificate(self, certificate_id: int) -> Certificate:
        """The certificate's current state (raises UnknownCertificate for a wrong id)."""
        view = self._view("certificate", int(certificate_id))
        (cid, owner, balance, merchant, merchant_name, currency_id, _token, occasion,
         valid_from, expiry, awaiting, claim_deadline, nonce) = view
        info = self._currency_by_id(currency_id)
        return Certificate(cid, owner, from_units(balance, info), merchant, merchant_name, info,
                           occasion, valid_from, expiry, awaiting, claim_deadline, nonce, self)

    def merchant(self, merchant_id: int) -> Merchant:
        account, name, active = self._view("merchant", merchant_id)
        if account == ZERO_ADDRESS:
            raise ValueError(f"no merchant with id {merchant_id}")
        return Merchant(merchant_id, account, name, active)

    def merchants(self) -> list[Merchant]:
        return [self.merchant(i) for i in range(1, self._view("merchantCount") + 1)]

    def merchant_owed(self, merchant_id: int, currency: int | str = 0) -> Money:
        info = self.currency(currency)
        return from_units(self._view("merchantLedger", merchant_id, info.id)[0], info)

    def cash_out_limit(self, merchant_id: int, currency: int | str = 0) -> Money:
        """The largest balance a holder may take out in cash at this merchant (0: none)."""
        info = self.currency(currency)
        return from_units(self._view("merchantLedger", merchant_id, info.id)[1], info)

    def token_uri(self, certificate_id: int) -> str:
        """The ERC-1155 metadata URI (a data: URI with JSON and the SVG art)."""
        return self._view("uri", certificate_id)

    def art(self, certificate_id: int) -> bytes:
        """The certificate's SVG, as wallets show it."""
        return svg_of(self.token_uri(certificate_id))

    def preview_art(self, merchant: Merchant | int, currency: int | str, amount: Money | Any,
                    occasion: int, expiry: int) -> bytes:
        """The SVG a certificate with these terms would get, drawn by the deployed renderer
        (nothing is sent): what the give page shows before the wallet opens. A `Merchant`
        already read saves reading it again."""
        info = self.currency(currency)
        if not isinstance(merchant, Merchant):
            merchant = self.merchant(merchant)
        view = (0, ZERO_ADDRESS, info.units(amount, allow_zero=True), merchant.id,
                merchant.name, info.id, info.token or ZERO_ADDRESS, occasion, 0, expiry, False, 0,
                0)
        return svg_of(self._renderer()("render", view))

    def _renderer(self) -> Views:
        # The renderer takes the struct `certificate` returns: its ABI comes from ours.
        struct = next(f for f in self.contract.abi if f.get("name") == "certificate")
        abi = [{"type": "function", "name": "render", "stateMutability": "view",
                "inputs": [{**struct["outputs"][0], "name": "cert"}],
                "outputs": [{"type": "string", "name": ""}]}]
        return Views(self.w3.eth.contract(address=self._view("renderer"), abi=abi))

    def min_validity(self) -> int:
        return self._view("minValidity")

    def paused(self) -> bool:
        return self._view("paused")

    # -- issuing ----------------------------------------------------------------------

    def terms(self, merchant: int, currency: int | str = 0, *, occasion: int = 0,
              valid_from: int = 0, expiry: int | None = None, serial: int | None = None,
              count: int = 1) -> tuple[int, int, int, int, int, int]:
        """Terms for issue calls: expiry defaults to the minimum validity (counted from the
        opening date) plus a day; the serial to a random one with room for `count` ids."""
        if expiry is None:
            expiry = max(self.now(), valid_from) + self.min_validity() + DAY
        serial = random_serial(count) if serial is None else int(serial)
        return (int(merchant), self.currency(currency).id, occasion, valid_from, expiry, serial)

    def _payment(self, info: CurrencyInfo, units: int) -> int:
        if info.token is None:
            return units
        self._approve(info, units)
        return 0

    def issue(self, to: str, amount: Money | Any, merchant: int, currency: int | str = 0, *,
              message: str = "", **terms_kw: Any) -> Certificate:
        """Buys one certificate for `to`; returns it."""
        info = self.currency(currency)
        units = info.units(amount)
        terms = self.terms(merchant, info.id, **terms_kw)
        value = self._payment(info, units)
        receipt = self._send("issue", checksum(to, "recipient"), terms, units, message, value=value)
        return self.certificate(self._events("Issued", receipt)[0]["args"]["id"])

    def issue_batch(self, rows: Iterable[tuple[str, Any]], merchant: int,
                    currency: int | str = 0, *, message: str = "", chunk: int = 200,
                    progress: Progress | None = None, **terms_kw: Any) -> list[int]:
        """Issues one certificate per (recipient, amount) row, `chunk` per transaction."""
        info = self.currency(currency)
        parsed = [(checksum(to, f"recipient on row {i + 1}"), _row_units(info, amount, i))
                  for i, (to, amount) in enumerate(rows)]
        if not parsed:
            raise ValueError("no rows to issue")
        ids: list[int] = []
        for start in range(0, len(parsed), chunk):
            part = parsed[start:start + chunk]
            terms = self.terms(merchant, info.id, count=len(part), **terms_kw)
            units = [u for _, u in part]
            value = self._payment(info, sum(units))
            receipt = self._send("issueBatch", [to for to, _ in part], units, terms, message,
                                 value=value)
            first = self._events("IssuedBatch", receipt)[0]["args"]["firstId"]
            ids += [first + i for i in range(len(part))]
            if progress:
                progress(len(ids), len(parsed))
        return ids

    def issue_claimable(self, amount: Money | Any, merchant: int, currency: int | str = 0, *,
                        claim_days: int = 30, message: str = "", **terms_kw: Any) -> ClaimLink:
        """Issues a certificate held by a fresh claim key; returns the certificate and key."""
        info = self.currency(currency)
        units = info.units(amount)
        terms = self.terms(merchant, info.id, **terms_kw)
        deadline = min(self.now() + claim_days * DAY, terms[4])
        key = Account.create(secrets.token_hex(32))
        value = self._payment(info, units)
        receipt = self._send("issueClaimable", key.address, terms, units, deadline, message,
                             value=value)
        cert_id = self._events("Issued", receipt)[0]["args"]["id"]
        return ClaimLink(self.certificate(cert_id), "0x" + key.key.hex().removeprefix("0x"))

    def top_up(self, certificate_id: int, amount: Money | Any) -> Certificate:
        info = self.certificate(certificate_id).currency
        units = info.units(amount)
        self._send("topUp", certificate_id, units, value=self._payment(info, units))
        return self.certificate(certificate_id)

    # -- claim links ------------------------------------------------------------------

    def claim(self, certificate_id: int, claim_key: str | bytes,
              recipient: str | None = None) -> Certificate:
        """Signs Claim(certificate, recipient) with the link's key and submits it."""
        recipient = checksum(recipient or self.sender, "recipient")
        document = eip712.claim(self.chain_id, self.address, certificate=int(certificate_id),
                                recipient=recipient)
        signature = eip712.sign_typed_data(claim_key, document)
        self._send("claim", int(certificate_id), recipient, signature)
        return self.certificate(certificate_id)

    def reclaim(self, certificate_id: int) -> Money:
        info = self.certificate(certificate_id).currency
        receipt = self._send("reclaim", certificate_id)
        return from_units(self._events("Reclaimed", receipt)[0]["args"]["amount"], info)

    # -- moving -----------------------------------------------------------------------

    def transfer(self, certificate_id: int, to: str) -> Certificate:
        to = checksum(to, "recipient")
        self._send("safeTransferFrom", self.sender, to, certificate_id, 1, b"")
        return self.certificate(certificate_id)

    def split(self, certificate_id: int, amount: Money | Any, to: str | None = None) -> Certificate:
        info = self.certificate(certificate_id).currency
        receipt = self._send("split", certificate_id, info.units(amount),
                             checksum(to or self.sender, "recipient"))
        return self.certificate(self._events("Split", receipt)[0]["args"]["newId"])

    def merge(self, from_id: int, into_id: int) -> Certificate:
        self._send("merge", from_id, into_id)
        return self.certificate(into_id)

    # -- redeeming --------------------------------------------------------------------

    def redeem(self, certificate_id: int, amount: Money | Any, order_ref: int) -> Certificate:
        """The holder pays the certificate's merchant `amount` for order `order_ref`."""
        info = self.certificate(certificate_id).currency
        self._send("redeem", certificate_id, info.units(amount), _order_ref(order_ref))
        return self.certificate(certificate_id)

    def sign_redemption(self, certificate_id: int, amount: Money | Any, order_ref: int, *,
                        deadline: int | None = None, valid_for: int = 3600,
                        nonce: int | None = None) -> SignedRedemption:
        """The holder's authorisation for the merchant (signed by this client's account). It
        carries the certificate's current nonce unless told otherwise: one authorisation per
        certificate is usable at a time, and any later one of the holder's replaces it."""
        cert = self.certificate(certificate_id)
        units = cert.currency.units(amount)
        deadline = deadline or self.now() + valid_for
        nonce = cert.nonce if nonce is None else int(nonce)
        document = eip712.redemption(self.chain_id, self.address, certificate=cert.id,
                                     merchant=cert.merchant, amount=units,
                                     order_ref=_order_ref(order_ref), nonce=nonce,
                                     deadline=deadline)
        return SignedRedemption(cert.id, cert.merchant, units, int(order_ref), nonce, deadline,
                                self._sign_typed(document), document)

    def _sign_typed(self, document: dict[str, Any]) -> bytes:
        if self.private_key is not None:
            return eip712.sign_typed_data(self.private_key, document)
        reply = self.w3.provider.make_request("eth_signTypedData_v4",
                                              [self.sender, wallet_json(document)])
        if "error" in reply:
            raise ValueError(f"the node could not sign for {self.sender}: {reply['error']}")
        return bytes.fromhex(reply["result"].removeprefix("0x"))

    def verify_redemption(self, signed: SignedRedemption) -> str:
        """The address that signed the authorisation, recovered off-chain."""
        document = eip712.redemption(self.chain_id, self.address, certificate=signed.certificate,
                                     merchant=signed.merchant, amount=signed.amount,
                                     order_ref=signed.order_ref, nonce=signed.nonce,
                                     deadline=signed.deadline)
        return Account.recover_message(encode_typed_data(full_message=document),
                                       signature=signed.signature)

    def redeem_with_authorization(self, signed: SignedRedemption) -> Certificate:
        """The merchant submits the holder's authorisation."""
        self._send("redeemWithAuthorization", signed.auth, signed.signature)
        return self.certificate(signed.certificate)

    def settle_batch(self, merchant_id: int, signed: Sequence[SignedRedemption], *,
                     all_or_nothing: bool = False) -> Settlement:
        """Settles many authorisations in one transaction. By default every valid one is
        settled and each refused one is reported with its reason; `all_or_nothing` reverts
        the whole batch on the first refusal instead."""
        if not signed:
            raise ValueError("nothing to settle")
        receipt = self._send("settleBatch", merchant_id, [s.auth for s in signed],
                             [s.signature for s in signed], all_or_nothing)
        refused = self.refusals(receipt)
        skipped = {r.index for r in refused}
        settled = [s for i, s in enumerate(signed) if i not in skipped]
        return Settlement(receipt, settled, refused)

    def refusals(self, receipt: TxReceipt) -> list[Refusal]:
        """The items a mined batch settlement refused, with their reasons (for a settlement
        sent by someone else, e.g. a browser wallet)."""
        return [Refusal(e["args"]["index"], e["args"]["certificate"],
                        decode_revert(self.contract.abi, e["args"]["reason"]))
                for e in self._events("RedemptionRefused", receipt)]

    # -- money out --------------------------------------------------------------------

    def refund(self, certificate_id: int, buyer: str | None = None) -> Money:
        """After expiry, returns the balance to the buyer (default: this account)."""
        info = self.certificate(certificate_id).currency
        receipt = self._send("refund", certificate_id, checksum(buyer or self.sender, "buyer"))
        return from_units(self._events("Refunded", receipt)[0]["args"]["amount"], info)

    def void(self, certificate_id: int) -> Money:
        info = self.certificate(certificate_id).currency
        receipt = self._send("void", certificate_id)
        return from_units(self._events("Voided", receipt)[0]["args"]["amount"], info)

    def cash_out(self, certificate_id: int) -> Money:
        info = self.certificate(certificate_id).currency
        receipt = self._send("cashOut", certificate_id)
        return from_units(self._events("CashedOut", receipt)[0]["args"]["amount"], info)

    def withdraw(self, merchant_id: int, currency: int | str = 0) -> Money:
        """Pays a merchant's redeemed balance in `currency` to its account."""
        info = self.currency(currency)
        receipt = self._send("withdrawMerchant", merchant_id, info.id)
        return from_units(self._events("MerchantWithdrawal", receipt)[0]["args"]["amount"], info)

    def withdraw_deferred(self, currency: int | str = 0) -> Money:
        info = self.currency(currency)
        receipt = self._send("withdrawDeferred", info.id)
        return from_units(self._events("DeferredWithdrawn", receipt)[0]["args"]["amount"], info)

    def set_cash_out_limit(self, merchant_id: int, currency: int | str, limit: Money | Any) -> None:
        info = self.currency(currency)
        self._send("setCashOutLimit", merchant_id, info.id, info.units(limit, allow_zero=True))

    # -- administration ---------------------------------------------------------------

    def register_merchant(self, account: str, name: str) -> Merchant:
        if not name.strip():
            raise ValueError("merchant name must not be empty")
        receipt = self._send("registerMerchant", checksum(account, "merchant account"), name)
        return self.merchant(self._events("MerchantRegistered", receipt)[0]["args"]["merchant"])

    def set_merchant_active(self, merchant_id: int, active: bool) -> Merchant:
        self._send("setMerchantActive", merchant_id, active)
        return self.merchant(merchant_id)

    def set_merchant_account(self, merchant_id: int, account: str) -> Merchant:
        self._send("setMerchantAccount", merchant_id, checksum(account, "merchant account"))
        return self.merchant(merchant_id)

    def pause(self) -> None:
        self._send("pause")

    def unpause(self) -> None:
        self._send("unpause")

    def set_min_validity(self, seconds: int) -> None:
        if seconds < 0:
            raise ValueError("minimum validity must not be negative")
        self._send("setMinValidity", int(seconds))


def wallet_json(document: dict[str, Any]) -> dict[str, Any]:
    """Typed data as wallets take it: integers as decimal strings (JSON numbers lose precision)."""
    message = {k: str(v) if isinstance(v, int) else v for k, v in document["message"].items()}
    return {**document, "message": message}


def svg_of(token_uri: str) -> bytes:
    """The SVG inside a metadata data: URI (JSON with an `image` data: URI)."""
    try:
        meta = json.loads(base64.b64decode(token_uri.split(",", 1)[1]))
        return base64.b64decode(meta["image"].split(",", 1)[1])
    except (ValueError, KeyError, IndexError):
        raise ValueError("the metadata carries no SVG image") from None


def _order_ref(order_ref: int) -> int:
    value = int(order_ref)
    if value < 0:
        raise ValueError("order reference must not be negative")
    return value


def _row_units(info: CurrencyInfo, amount: Any, index: int) -> int:
    try:
        return info.units(amount)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"row {index + 1}: {exc}") from None


def read_csv_rows(path: Path | str) -> list[tuple[str, str]]:
    """(recipient, amount) rows from a CSV with `recipient,amount` columns (header optional)."""
    with open(path, newline="") as handle:
        rows = [r for r in csv.reader(handle) if r and any(c.strip() for c in r)]
    if rows and rows[0][0].strip().lower() in ("recipient", "to", "address"):
        rows = rows[1:]
    out = []
    for i, row in enumerate(rows):
        if len(row) < 2:
            raise ValueError(f"CSV row {i + 1}: need recipient,amount")
        out.append((row[0].strip(), row[1].strip()))
    return out


def certificate_terms(certificate_id: int) -> dict[str, int]:
    """The terms packed into an id, without a chain call."""
    terms = decode_id(certificate_id)
    return {"merchant": terms.merchant, "currency": terms.currency, "occasion": terms.occasion,
            "validFrom": terms.valid_from, "expiry": terms.expiry, "serial": terms.serial}
