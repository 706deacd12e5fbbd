"""The domain client: every contract operation as a Python method with exact amounts.

`GiftCert(w3, contract, sender, private_key=...)` signs locally with `private_key` (any network)
or, without one, sends from an unlocked node account (anvil's dev accounts). Amounts go in as
`Money`/`Decimal`/text and come out as `Money`; reverts raise the contract-named exceptions of
`giftcert.errors`. Each sending method is `self.calls.<same name>(...).send()`: `client.calls`
(`giftcert.calls`) builds the same operations as unsigned transactions for a browser wallet.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from eth_account import Account
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.logs import DISCARD
from web3.types import TxReceipt

from giftcert import eip712
from giftcert.authorization import SignedRedemption, recover_signer
from giftcert.calls import ERC20_ABI, MAX_UINT256, Calls, PreparedCall, chunks
from giftcert.errors import InvalidInput, NodeError, decode_revert
from giftcert.ids import decode_id, random_serial
from giftcert.inputs import checksum, whole_number
from giftcert.models import (
    ZERO_ADDRESS,
    Certificate,
    ClaimLink,
    Merchant,
    Payment,
    Refusal,
    Settlement,
    TabSettle,
    TransactionOutcome,
)
from giftcert.money import ETH, CurrencyInfo, Money, find_currency, from_units
from giftcert.multicall import ChainClock, Read, View, read_many
from giftcert.rows import read_csv_rows
from giftcert.rules import DAY, purchase_expiry
from giftcert.tabs import SignedVoucher, Tab, TabSettlement, tab_from_view
from giftcert.transactions import Views, call, node_errors

Progress = Callable[[int, int], None]
# chain_config reads this many currency ids beside the count on its first call (most
# deployments list a few), so a fresh process needs no second round trip for them.
GUESSED_CURRENCIES = 4
wallet_json = eip712.wallet_json

__all__ = [
    "DAY", "ERC20_ABI", "MAX_UINT256", "ZERO_ADDRESS", "Certificate", "ClaimLink", "GiftCert",
    "Merchant", "Payment", "Refusal", "Settlement", "SignedRedemption", "TransactionOutcome",
    "certificate_terms", "checksum", "read_csv_rows", "svg_of", "wallet_json",
]


class GiftCert:
    """A connection to one deployed GiftCertificates contract, acting as one account."""

    def __init__(self, w3: Web3, contract: Any, sender: str | None = None, *,
                 private_key: str | bytes | None = None, chain_id: int | None = None,
                 multicall: str | None = None, clock: ChainClock | None = None) -> None:
        self.w3 = w3
        self.contract = contract
        self._views = Views(contract)
        # Reads: `multicall` (a Multicall3 address) batches several views into one eth_call;
        # `clock` caches the latest block for its ttl (0 by default: every now() asks the node).
        self.multicall = multicall
        self.clock = clock or ChainClock()
        self._tokens: dict[str, tuple[str, int]] = {}  # token -> (symbol, decimals), immutable
        self.private_key = private_key
        if private_key is not None:
            sender = Account.from_key(private_key).address
        if sender is None:
            raise InvalidInput("give a sender address or a private key", "sender")
        self.sender = checksum(sender, "sender")
        if chain_id is None:
            with node_errors("reading the chain id"):
                chain_id = int(w3.eth.chain_id)
        self.chain_id = chain_id
        self._currencies: dict[int, CurrencyInfo] = {0: ETH}
        self.calls = Calls(self)

    # -- plumbing ---------------------------------------------------------------------

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def acting_as(self, sender: str | None = None,
                  private_key: str | bytes | None = None) -> GiftCert:
        """The same connection acting as another account (no node call: the chain id and the
        currency cache are shared). Without a key it only prepares unsigned transactions, or
        sends from a node-unlocked account."""
        other = copy.copy(self)
        if private_key is not None:
            sender = Account.from_key(private_key).address
        if sender is None:
            raise InvalidInput("give a sender address or a private key", "sender")
        other.sender = checksum(sender, "sender")
        other.private_key = private_key
        other.calls = Calls(other)
        return other

    def _send(self, name: str, *args: Any, value: int = 0, target: Any = None) -> TxReceipt:
        """Deprecated (tests only): sends any function of the contract or of `target`; use
        `self.calls.prepare(name, *args, contract=target).send()`."""
        call_: PreparedCall[TxReceipt] = self.calls.prepare(name, *args, value=value,
                                                            contract=target)
        return call_.send(approve=False)

    def view(self, name: str, *args: Any, block: Any = "latest") -> Any:
        """Calls the contract's view function `name` (checksummed addresses, named reverts)."""
        return self._views(name, *args, block=block)

    _view = view  # the name tests and older code use

    def events(self, name: str, receipt: TxReceipt) -> list[Any]:
        """The contract's events called `name` in a receipt, decoded (others are skipped)."""
        return list(getattr(self.contract.events, name)().process_receipt(receipt,
                                                                          errors=DISCARD))

    def now(self) -> int:
        """The latest block's timestamp: the clock the contract judges by (cached for
        `clock.ttl` seconds; every batched read refreshes it)."""
        return self.clock.latest(self.w3)[1]

    def block_number(self) -> int:
        if self.clock.ttl > 0:
            return self.clock.latest(self.w3)[0]
        with node_errors("reading the block number"):
            return int(self.w3.eth.block_number)

    def read_many(self, calls: Sequence[View | tuple[str, tuple[Any, ...]]], *,
                  block: int | str = "latest", clock: ChainClock | None = None) -> list[Read]:
        """Several views in one node call (Multicall3 when the client has one, else a JSON-RPC
        batch); a (name, args) pair is a view of this contract. Refreshes the clock; at an
        earlier `block` only `clock` is told (a past block is not the latest)."""
        views = [c if isinstance(c, View) else View(self._views, c[0], tuple(c[1]))
                 for c in calls]
        if clock is None and block == "latest":
            clock = self.clock
        return read_many(self.w3, views, multicall=self.multicall, clock=clock, block=block)

    def is_contract(self, address: str) -> bool:
        """Whether `address` holds code (a contract wallet, a token)."""
        with node_errors("reading code"):
            return len(self.w3.eth.get_code(checksum(address))) > 0

    # -- currencies -------------------------------------------------------------------

    def currency(self, ref: int | str) -> CurrencyInfo:
        """A currency by id, symbol ("ETH", "tUSD") or token address (`money.find_currency`)."""
        if isinstance(ref, int) and not isinstance(ref, bool) or (
                isinstance(ref, str) and ref.strip().isdigit()):
            return self._currency_by_id(int(ref))
        if isinstance(ref, str) and ref.strip().upper() == "ETH":
            return ETH
        return find_currency(self.currencies(), ref)

    def _currency_by_id(self, currency_id: int) -> CurrencyInfo:
        if currency_id in self._currencies:
            return self._currencies[currency_id]
        if not 0 <= currency_id <= 255:
            raise InvalidInput(f"unknown currency id {currency_id}", "currency")
        token, allowed = self.view("currency", currency_id)
        if token == ZERO_ADDRESS:
            raise InvalidInput(f"unknown currency id {currency_id}", "currency")
        symbol, decimals = self._token_info([token])[token]
        info = CurrencyInfo(currency_id, symbol, decimals, token, allowed)
        self._currencies[currency_id] = info
        return info

    def _token_info(self, tokens: Iterable[str]) -> dict[str, tuple[str, int]]:
        """(symbol, decimals) of ERC-20 tokens: read once per token, in one node call."""
        tokens = list(tokens)
        missing = sorted({t for t in tokens if t not in self._tokens})
        if missing:
            if self.multicall:
                calls = [View(Views(self.w3.eth.contract(address=checksum(t, "token"),
                                                         abi=ERC20_ABI)), name)
                         for t in missing for name in ("symbol", "decimals")]
                got = [r.value for r in self.read_many(calls)]
                for i, token in enumerate(missing):
                    self._tokens[token] = (str(got[2 * i]), int(got[2 * i + 1]))
            else:
                for token in missing:
                    erc20 = self.w3.eth.contract(address=checksum(token, "token"), abi=ERC20_ABI)
                    self._tokens[token] = (call(erc20.functions.symbol()),
                                           call(erc20.functions.decimals()))
        return {t: self._tokens[t] for t in tokens}

    def currencies(self) -> list[CurrencyInfo]:
        """Every listed currency, read afresh (ETH is id 0)."""
        return self.chain_config()[0]

    def chain_config(self) -> tuple[list[CurrencyInfo], int, bool]:
        """(every listed currency, minimum validity, paused), read afresh in as few node calls
        as the client can: with a Multicall3, one call when no new token was listed since the
        last time (the currencies known so far are read beside their count)."""
        if not self.multicall:
            count = self.view("currencyCount")
            self._currencies = {0: ETH}  # statuses may have changed
            listed = [self._currency_by_id(i) for i in range(count)]
            return listed, self.min_validity(), self.paused()
        known = max(max(self._currencies), GUESSED_CURRENCIES)  # ids past the count read 0
        head = self.read_many([("currencyCount", ()), ("minValidity", ()), ("paused", ())]
                              + [("currency", (i,)) for i in range(1, known + 1)])
        count, min_validity, paused = (r.value for r in head[:3])
        rows = {i: head[2 + i].value for i in range(1, min(known, count - 1) + 1)}
        if count - 1 > known:
            extra = self.read_many([("currency", (i,)) for i in range(known + 1, count)])
            rows.update({known + 1 + j: r.value for j, r in enumerate(extra)})
        tokens = self._token_info(token for token, _ in rows.values())
        self._currencies = {0: ETH}
        for i, (token, allowed) in sorted(rows.items()):
            self._currencies[i] = CurrencyInfo(i, *tokens[token], token, allowed)
        return ([self._currencies[i] for i in range(count)], int(min_validity),
                bool(paused))

    def forget_currency(self, currency_id: int) -> None:
        """Drops a cached currency (its allowed status changed)."""
        self._currencies.pop(currency_id, None)

    def allow_currency(self, token: str) -> CurrencyInfo:
        return self.calls.allow_currency(token).send()

    def set_currency_allowed(self, currency: int | str, allowed: bool) -> None:
        self.calls.set_currency_allowed(currency, allowed).send()

    def token(self, currency: int | str) -> Any:
        """The ERC-20 contract of a currency (not for ETH)."""
        info = self.currency(currency)
        if info.token is None:
            raise InvalidInput("ETH is not a token", "currency")
        return self.w3.eth.contract(address=checksum(info.token, "token"), abi=ERC20_ABI)

    def balance_of(self, account: str, currency: int | str = 0) -> Money:
        """What `account` holds in its wallet in `currency` (ETH or the token)."""
        info = self.currency(currency)
        owner = checksum(account, "account")
        if info.token is None:
            with node_errors("reading a balance"):
                return from_units(int(self.w3.eth.get_balance(owner)), info)
        return from_units(int(call(self.token(info.id).functions.balanceOf(owner))), info)

    # -- reading ----------------------------------------------------------------------

    def certificate(self, certificate_id: int) -> Certificate:
        """The certificate's current state (raises UnknownCertificate for a wrong id). With a
        Multicall3 the block's time comes in the same call (a page then needs no other)."""
        cid = whole_number(certificate_id, "certificate")
        if self.multicall:
            view = self.read_many([("certificate", (cid,))])[0].value
        else:
            view = self.view("certificate", cid)
        (cid, owner, balance, merchant, merchant_name, currency_id, _token, occasion,
         valid_from, expiry, awaiting, claim_deadline, nonce) = view
        info = self._currency_by_id(currency_id)
        return Certificate(cid, owner, from_units(balance, info), merchant, merchant_name, info,
                           occasion, valid_from, expiry, awaiting, claim_deadline, nonce, self)

    def tab(self, certificate_id: int) -> Tab:
        """The certificate's payment tab as the contract's `tab` view has it (open, epoch,
        balance, signer, close_at, settle_until): what a merchant checks, for free, before
        serving (`giftcert.tabs.check_voucher`). UnknownCertificate for a wrong id."""
        cid = whole_number(certificate_id, "certificate", minimum=1)
        view = (self.read_many([("tab", (cid,))])[0].value if self.multicall
                else self.view("tab", cid))
        return tab_from_view(cid, view, self._currency_by_id(decode_id(cid).currency))

    def merchant(self, merchant_id: int) -> Merchant:
        account, name, active = self.view("merchant", whole_number(
            merchant_id, "merchant", minimum=1, maximum=2**32 - 1))
        if account == ZERO_ADDRESS:
            raise InvalidInput(f"no merchant with id {merchant_id}", "merchant")
        return Merchant(merchant_id, account, name, active)

    def merchants(self) -> list[Merchant]:
        return [self.merchant(i) for i in range(1, self.view("merchantCount") + 1)]

    def merchant_ledgers(self, merchant_id: int, currencies: Sequence[CurrencyInfo], *,
                         block: int | str = "latest", clock: ChainClock | None = None
                         ) -> list[tuple[Money, Money]]:
        """(owed, cash-out limit) of a merchant in each of `currencies`, in one node call, at
        `block` (`clock` learns that block's number and time)."""
        reads = self.read_many([("merchantLedger", (merchant_id, c.id)) for c in currencies],
                               block=block, clock=clock)
        out = []
        for info, read in zip(currencies, reads, strict=True):
            owed, limit = read.value[:2]
            out.append((from_units(owed, info), from_units(limit, info)))
        return out

    def merchant_owed(self, merchant_id: int, currency: int | str = 0) -> Money:
        info = self.currency(currency)
        return from_units(self.view("merchantLedger", merchant_id, info.id)[0], info)

    def cash_out_limit(self, merchant_id: int, currency: int | str = 0) -> Money:
        """The largest balance a holder may take out in cash at this merchant (0: none)."""
        info = self.currency(currency)
        return from_units(self.view("merchantLedger", merchant_id, info.id)[1], info)

    def deferred_of(self, account: str, currency: int | str = 0) -> Money:
        """Payments to `account` that could not be pushed (collect with withdraw_deferred)."""
        info = self.currency(currency)
        return from_units(self.view("deferredOf", checksum(account, "account"), info.id), info)

    def token_uri(self, certificate_id: int) -> str:
        """The ERC-1155 metadata URI (a data: URI with JSON and the SVG art)."""
        return str(self.view("uri", certificate_id))

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
        return Views(self.w3.eth.contract(address=self.view("renderer"), abi=abi))

    def min_validity(self) -> int:
        return int(self.view("minValidity"))

    def paused(self) -> bool:
        return bool(self.view("paused"))

    # -- transactions sent by anyone ---------------------------------------------------

    def receipt(self, tx_hash: str | bytes) -> TxReceipt | None:
        """A transaction's receipt, None while it is not mined (or unknown to the node)."""
        with node_errors("reading a receipt"):
            try:
                return self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                return None

    def transaction_outcome(self, tx_hash: str | bytes) -> TransactionOutcome | None:
        """What a mined transaction (sent by anyone, e.g. a browser wallet) did: certificates
        issued or split off, payments, refused batch items with their reasons. None while it is
        pending."""
        receipt = self.receipt(tx_hash)
        if receipt is None:
            return None
        issued = [int(e["args"]["id"]) for e in self.events("Issued", receipt)]
        for e in self.events("IssuedBatch", receipt):  # ids firstId .. firstId + n - 1
            issued += [int(e["args"]["firstId"]) + i for i in range(len(e["args"]["amounts"]))]
        return TransactionOutcome(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            success=bool(receipt["status"]), block=int(receipt["blockNumber"]), issued=issued,
            split=[int(e["args"]["newId"]) for e in self.events("Split", receipt)],
            redeemed=[_payment(e) for e in self.events("Redeemed", receipt)],
            refused=self.refusals(receipt),
            tabs_settled=[_tab_settle(e) for e in self.events("TabSettled", receipt)])

    def payments(self, from_block: int, to_block: int | str = "latest") -> list[Payment]:
        """Every redemption (Redeemed event) mined in a block range, from the node's logs: for
        audits and tools (pages read the index)."""
        with node_errors("reading logs"):
            logs = self.contract.events.Redeemed().get_logs(from_block=from_block,
                                                            to_block=to_block)
        return [_payment(e) for e in logs]

    def refusals(self, receipt: TxReceipt) -> list[Refusal]:
        """The items a mined batch settlement refused, with their reasons (for a settlement
        sent by someone else, e.g. a browser wallet)."""
        return [Refusal(e["args"]["index"], e["args"]["certificate"],
                        decode_revert(self.contract.abi, e["args"]["reason"]))
                for e in self.events("RedemptionRefused", receipt)]

    # -- issuing ----------------------------------------------------------------------

    def terms(self, merchant: int, currency: int | str = 0, *, occasion: int = 0,
              valid_from: int = 0, expiry: int | None = None, expiry_days: int | None = None,
              serial: int | None = None, count: int = 1) -> tuple[int, int, int, int, int, int]:
        """Terms for issue calls: the expiry is `expiry_days` from now, or `expiry`, or the
        minimum validity (counted from the opening date) plus a day (`rules.purchase_expiry`);
        the serial is a random one with room for `count` ids unless given."""
        valid_from = whole_number(valid_from or 0, "validFrom", maximum=2**40 - 1)
        days = None if expiry_days is None else whole_number(expiry_days, "expiryDays",
                                                             minimum=1, maximum=36_500)
        expiry = purchase_expiry(now=self.now(), min_validity=self.min_validity(),
                                 valid_from=valid_from, expiry=expiry, expiry_days=days)
        serial = random_serial(count) if serial is None else int(serial)
        return (whole_number(merchant, "merchant", minimum=1, maximum=2**32 - 1),
                self.currency(currency).id, whole_number(occasion, "occasion", maximum=255),
                valid_from, whole_number(expiry, "expiry", maximum=2**40 - 1), serial)

    def issue(self, to: str, amount: Money | Any, merchant: int, currency: int | str = 0, *,
              message: str = "", **terms_kw: Any) -> Certificate:
        """Buys one certificate for `to`; returns it."""
        return self.calls.issue(to, amount, merchant, currency, message=message,
                                **terms_kw).send()

    def issue_batch(self, rows: Iterable[tuple[str, Any]], merchant: int,
                    currency: int | str = 0, *, message: str = "", chunk: int = 200,
                    progress: Progress | None = None, **terms_kw: Any) -> list[int]:
        """Issues one certificate per (recipient, amount) row, `chunk` per transaction. Every
        row is checked before the first transaction is sent."""
        info = self.currency(currency)
        given = list(rows)
        if not given:
            raise InvalidInput("no rows to issue", "rows")
        for i, (to, amount) in enumerate(given, start=1):  # all rows, before sending any
            checksum(to, f"recipient on row {i}")
            try:
                info.units(amount)
            except InvalidInput as exc:
                raise InvalidInput(f"row {i}: {exc}", "rows") from None
        ids: list[int] = []
        for part in chunks(given, chunk):
            ids += self.calls.issue_batch(part, merchant, info.id, message=message,
                                          **terms_kw).send()
            if progress:
                progress(len(ids), len(given))
        return ids

    def issue_claimable(self, amount: Money | Any, merchant: int, currency: int | str = 0, *,
                        claim_days: int = 30, message: str = "", **terms_kw: Any) -> ClaimLink:
        """Issues a certificate held by a fresh claim key; returns the certificate and key."""
        return self.calls.issue_claimable(amount, merchant, currency, claim_days=claim_days,
                                          message=message, **terms_kw).send()

    def top_up(self, certificate_id: int, amount: Money | Any) -> Certificate:
        return self.calls.top_up(certificate_id, amount).send()

    # -- claim links ------------------------------------------------------------------

    def claim(self, certificate_id: int, claim_key: str | bytes,
              recipient: str | None = None) -> Certificate:
        """Signs Claim(certificate, recipient) with the link's key and submits it."""
        return self.calls.claim(certificate_id, claim_key, recipient).send()

    def reclaim(self, certificate_id: int) -> Money:
        return self.calls.reclaim(certificate_id).send()

    # -- moving -----------------------------------------------------------------------

    def transfer(self, certificate_id: int, to: str) -> Certificate:
        return self.calls.transfer(certificate_id, to).send()

    def split(self, certificate_id: int, amount: Money | Any, to: str | None = None) -> Certificate:
        return self.calls.split(certificate_id, amount, to).send()

    def merge(self, from_id: int, into_id: int) -> Certificate:
        return self.calls.merge(from_id, into_id).send()

    # -- redeeming --------------------------------------------------------------------

    def redeem(self, certificate_id: int, amount: Money | Any, order_ref: int) -> Certificate:
        """The holder pays the certificate's merchant `amount` for order `order_ref`."""
        return self.calls.redeem(certificate_id, amount, order_ref).send()

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
        ref = whole_number(order_ref, "orderRef")
        document = eip712.redemption(self.chain_id, self.address, certificate=cert.id,
                                     merchant=cert.merchant, amount=units, order_ref=ref,
                                     nonce=nonce, deadline=deadline)
        return SignedRedemption(cert.id, cert.merchant, units, ref, nonce, deadline,
                                self._sign_typed(document), document)

    def _sign_typed(self, document: dict[str, Any]) -> bytes:
        if self.private_key is not None:
            return eip712.sign_typed_data(self.private_key, document)
        with node_errors("signing typed data"):
            reply = self.w3.provider.make_request("eth_signTypedData_v4",  # type: ignore[arg-type]
                                                  [self.sender, wallet_json(document)])
        if "error" in reply:
            raise NodeError(f"the node could not sign for {self.sender}: {reply['error']}")
        return bytes.fromhex(str(reply["result"]).removeprefix("0x"))

    def verify_redemption(self, signed: SignedRedemption) -> str | None:
        """The address that signed the authorisation for this chain and contract, recovered
        off-chain by the contract's ECDSA rules (None: the contract's ECDSA check refuses it)."""
        document = eip712.redemption(self.chain_id, self.address, certificate=signed.certificate,
                                     merchant=signed.merchant, amount=signed.amount,
                                     order_ref=signed.order_ref, nonce=signed.nonce,
                                     deadline=signed.deadline)
        return recover_signer(document, signed.signature)

    def redeem_with_authorization(self, signed: SignedRedemption) -> Certificate:
        """The merchant submits the holder's authorisation."""
        return self.calls.redeem_with_authorization(signed).send()

    def settle_batch(self, merchant_id: int, signed: Sequence[SignedRedemption], *,
                     all_or_nothing: bool = False) -> Settlement:
        """Settles many authorisations in one transaction. By default every valid one is
        settled and each refused one is reported with its reason; `all_or_nothing` reverts
        the whole batch on the first refusal instead."""
        return self.calls.settle_batch(merchant_id, signed, all_or_nothing=all_or_nothing).send()

    # -- payment tabs -----------------------------------------------------------------

    def open_tab(self, certificate_id: int, session_key: str | None = None) -> Tab:
        return self.calls.open_tab(certificate_id, session_key).send()

    def issue_with_tab(self, amount: Money | Any, merchant: int, currency: int | str = 0, *,
                       session_key: str | None = None, message: str = "",
                       **terms_kw: Any) -> Tab:
        """Buys the sender a certificate with a payment tab open at `merchant`; returns the tab
        (its `certificate` is the new id)."""
        return self.calls.issue_with_tab(amount, merchant, currency, session_key=session_key,
                                         message=message, **terms_kw).send()

    def request_tab_close(self, certificate_id: int) -> Tab:
        return self.calls.request_tab_close(certificate_id).send()

    def close_tab(self, certificate_id: int) -> Tab:
        return self.calls.close_tab(certificate_id).send()

    def close_tab_with_release(self, certificate_id: int, signature: bytes | str) -> Tab:
        return self.calls.close_tab_with_release(certificate_id, signature).send()

    def settle_tabs(self, merchant_id: int, vouchers: Sequence[SignedVoucher]) -> TabSettlement:
        """Collects the latest voucher of each tab in one transaction (see Calls.settle_tabs)."""
        return self.calls.settle_tabs(merchant_id, vouchers).send()

    # -- money out --------------------------------------------------------------------

    def refund(self, certificate_id: int, buyer: str | None = None) -> Money:
        """After expiry, returns the balance to the buyer (default: this account)."""
        return self.calls.refund(certificate_id, buyer).send()

    def void(self, certificate_id: int) -> Money:
        return self.calls.void(certificate_id).send()

    def cash_out(self, certificate_id: int) -> Money:
        return self.calls.cash_out(certificate_id).send()

    def withdraw(self, merchant_id: int, currency: int | str = 0) -> Money:
        """Pays a merchant's redeemed balance in `currency` to its account."""
        return self.calls.withdraw(merchant_id, currency).send()

    def withdraw_deferred(self, currency: int | str = 0) -> Money:
        return self.calls.withdraw_deferred(currency).send()

    def set_cash_out_limit(self, merchant_id: int, currency: int | str, limit: Money | Any) -> None:
        self.calls.set_cash_out_limit(merchant_id, currency, limit).send()

    # -- administration ---------------------------------------------------------------

    def register_merchant(self, account: str, name: str) -> Merchant:
        return self.calls.register_merchant(account, name).send()

    def set_merchant_active(self, merchant_id: int, active: bool) -> Merchant:
        return self.calls.set_merchant_active(merchant_id, active).send()

    def set_merchant_account(self, merchant_id: int, account: str) -> Merchant:
        return self.calls.set_merchant_account(merchant_id, account).send()

    def pause(self) -> None:
        self.calls.pause().send()

    def unpause(self) -> None:
        self.calls.unpause().send()

    def set_min_validity(self, seconds: int) -> None:
        self.calls.set_min_validity(seconds).send()


def _payment(event: Any) -> Payment:
    """A decoded Redeemed event (its certificate id names the merchant)."""
    cert_id = int(event["args"]["id"])
    return Payment(cert_id, decode_id(cert_id).merchant, int(event["args"]["orderRef"]),
                   int(event["args"]["amount"]))


def _tab_settle(event: Any) -> TabSettle:
    """A decoded TabSettled event (its certificate id names the merchant)."""
    cert_id = int(event["args"]["id"])
    return TabSettle(cert_id, decode_id(cert_id).merchant, int(event["args"]["epoch"]),
                     int(event["args"]["amount"]))


def svg_of(token_uri: str) -> bytes:
    """The SVG inside a metadata data: URI (JSON with an `image` data: URI)."""
    try:
        meta = json.loads(base64.b64decode(token_uri.split(",", 1)[1]))
        return base64.b64decode(meta["image"].split(",", 1)[1])
    except (ValueError, KeyError, IndexError, TypeError):
        raise InvalidInput("the metadata carries no SVG image", "uri") from None


def certificate_terms(certificate_id: int) -> dict[str, int]:
    """The terms packed into an id, without a chain call."""
    terms = decode_id(certificate_id)
    return {"merchant": terms.merchant, "currency": terms.currency, "occasion": terms.occasion,
            "validFrom": terms.valid_from, "expiry": terms.expiry, "serial": terms.serial}
