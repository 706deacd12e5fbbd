"""Every contract operation as one prepared call: sent by the SDK or handed to a browser wallet.

A `PreparedCall` is the contract function, its arguments, the ETH value and how to read the
result from the receipt, for one sender. The same object is either sent (`send()`: simulated,
signed with the client's key or by the node's unlocked account, waited for, decoded) or turned
into the unsigned EIP-1193 transaction a wallet signs (`unsigned()`: simulated from the sender,
no key needed). `GiftCert.calls` builds them with the arguments of the `GiftCert` methods of the
same names, so a function name and its argument order are written once, here:

    client.acting_as(holder).calls.split(cert_id, Money(Decimal("5"), "tUSD"), friend).unsigned()
    # {"from", "to", "data", "value", "chainId", "gas", "estimatedFee"}
    cert = client.calls.split(cert_id, "5", friend).send()   # the new certificate

Operations that pay in an ERC-20 carry what they take (`pays`); `approval()` is the approve
call the sender needs first (None if the allowance suffices) and `send()` sends it when needed.
Amounts are `Money`, `Decimal` or text in the certificate's currency (never floats).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from eth_account import Account
from web3.types import TxReceipt

from giftcert import eip712
from giftcert.authorization import SignedHolderAction, SignedRedemption, _signature
from giftcert.errors import ContractRevert, InvalidInput
from giftcert.inputs import checksum, message_text, whole_number
from giftcert.models import ZERO_ADDRESS, Certificate, ClaimLink, Merchant, Settlement
from giftcert.money import ETH, CurrencyInfo, Money, from_units
from giftcert.rules import DAY
from giftcert.tabs import SignedVoucher, Tab, TabSettlement
from giftcert.transactions import call, estimate_gas, node_errors, send

if TYPE_CHECKING:
    from giftcert.client import GiftCert

T = TypeVar("T")
MAX_UINT256 = 2**256 - 1
# What a token says when the contract cannot take it yet (no allowance): a message, a panic of
# an old token, a failed transfer; anything else the contract says is its own refusal.
TOKEN_REFUSALS = frozenset({"Error", "Panic", "SafeERC20FailedOperation"})
CertificateRef = int | Certificate  # a Certificate already read saves reading it again

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


def receipt_itself(receipt: TxReceipt) -> TxReceipt:
    """The decoder of a call whose result is its receipt."""
    return receipt


def nothing(receipt: TxReceipt) -> None:
    """The decoder of a call with no result worth reading."""
    return None


@dataclass(frozen=True, kw_only=True)
class PreparedCall(Generic[T]):
    """One contract function call from one sender, ready to send or to hand to a wallet."""

    client: GiftCert  # who acts (its sender; its key, if any, signs in send())
    contract: Any  # the web3 contract object the function belongs to
    function: str
    args: tuple[Any, ...] = ()
    value: int = 0  # wei sent along
    decode: Callable[[TxReceipt], T]
    pays: tuple[CurrencyInfo, int] | None = None  # ERC-20 units the contract takes

    @property
    def sender(self) -> str:
        return self.client.sender

    def contract_function(self) -> Any:
        """web3's bound ContractFunction (for tools that want it)."""
        return getattr(self.contract.functions, self.function)(*self.args)

    @property
    def payment(self) -> Money | None:
        """What the sender pays in: the ETH value or the ERC-20 amount (None: nothing)."""
        if self.pays is not None:
            return from_units(self.pays[1], self.pays[0])
        return from_units(self.value, ETH) if self.value else None

    def data(self) -> str:
        """The calldata, 0x-hex."""
        with node_errors(f"encoding {self.function}"):
            return str(self.contract.encode_abi(self.function, args=list(self.args)))

    def simulate(self) -> Any:
        """Runs the call from the sender on the latest block without sending it: the function's
        return value, or the contract's named error."""
        return call(self.contract_function(), self.sender, value=self.value)

    def approval(self) -> PreparedCall[None] | None:
        """The ERC-20 approval the sender must send first (None: ETH, or allowance enough).
        The call is simulated before an approval is asked for: a refusal of the contract's own
        (a pause, an inactive merchant, the terms, a currency not allowed: whatever it checks
        before taking the tokens, in its order) is raised rather than an approval sent in
        vain."""
        if self.pays is None:
            return None
        info, units = self.pays
        calls = self.client.calls
        if not calls.approval_needed(info.id, units):
            return None
        try:
            self.simulate()
        except ContractRevert as exc:
            if exc.declared and exc.error_name not in TOKEN_REFUSALS:
                raise
        return calls.approve(info.id)

    def send(self, *, approve: bool = True, gas: int | None = None) -> T:
        """Simulates, signs (the client's key, or the node's unlocked account), sends, waits for
        the receipt and decodes it. An ERC-20 approval the call needs is sent first unless
        `approve=False`."""
        if approve:
            first = self.approval()
            if first is not None:
                first.send(approve=False)
        receipt = send(self.client.w3, self.contract_function(), self.sender, value=self.value,
                       private_key=self.client.private_key, gas=gas)
        return self.decode(receipt)

    def unsigned(self) -> dict[str, str]:
        """The transaction for a browser wallet (`eth_sendTransaction`), after simulating it from
        the sender: from, to, data, value, chainId and gas (estimate +20%) as 0x-hex, and
        estimatedFee in wei as decimal text. A revert raises the contract's named error. No key
        is used. For an ERC-20 payment, send `approval()` first (the simulation fails without
        the allowance)."""
        fn = self.contract_function()
        gas = estimate_gas(fn, self.sender, self.value)
        with node_errors("reading the gas price"):
            gas_price = int(self.client.w3.eth.gas_price)
        return {
            "from": self.sender,
            "to": str(self.contract.address),
            "data": self.data(),
            "value": hex(self.value),
            "chainId": hex(self.client.chain_id),
            "gas": hex(gas),
            "estimatedFee": str(gas * gas_price),  # wei, for showing before the wallet opens
        }


# The contract's Terms: merchant, currency, occasion, validFrom, expiry, serial
Terms = tuple[int, int, int, int, int, int]


@dataclass(frozen=True, kw_only=True)
class PurchaseCall(PreparedCall[T]):
    """An issue call (one certificate, a batch, a claim link), with the terms its certificates
    get, known before anything is sent."""

    terms: Terms

    @property
    def valid_from(self) -> int:
        """The opening date (0: at once)."""
        return self.terms[3]

    @property
    def expiry(self) -> int:
        return self.terms[4]


@dataclass(frozen=True, kw_only=True)
class ClaimLinkCall(PurchaseCall[ClaimLink]):
    """`issueClaimable`, with the claim key known before anything is sent."""

    claim_address: str
    key: str | None = None  # the claim key's private key, when this side made or holds it
    claim_deadline: int = 0  # the deadline asked for (the contract keeps its UTC day)


def chunks(rows: Sequence[T], size: int) -> list[Sequence[T]]:
    """`rows` in consecutive pieces of at most `size` (one batch transaction each)."""
    if size < 1:
        raise InvalidInput("a chunk holds at least one row", "chunk")
    return [rows[i:i + size] for i in range(0, len(rows), size)]


class Calls:
    """The prepared calls of one client (`GiftCert.calls`): one method per operation, named and
    called like the `GiftCert` method that sends it."""

    def __init__(self, client: GiftCert) -> None:
        self.client = client

    # -- plumbing ---------------------------------------------------------------------

    def prepare(self, function: str, *args: Any, value: int = 0,
                decode: Callable[[TxReceipt], T] = receipt_itself,  # type: ignore[assignment]
                pays: tuple[CurrencyInfo, int] | None = None,
                contract: Any = None) -> PreparedCall[T]:
        """A call of any function of the contract (or of `contract`)."""
        return PreparedCall(client=self.client, contract=contract or self.client.contract,
                            function=function, args=tuple(args), value=value, decode=decode,
                            pays=pays)

    def _payment(self, info: CurrencyInfo, units: int) -> dict[str, Any]:
        """How a call pays `units`: ETH as the value; an ERC-20 is pulled by the contract (it
        needs an allowance: see PreparedCall.approval)."""
        if info.token is None:
            return {"value": units}
        return {"pays": (info, units)}

    def _purchase(self, function: str, info: CurrencyInfo, units: int, terms: Terms,
                  *args: Any, decode: Callable[[TxReceipt], Any],
                  kind: type[PurchaseCall[Any]] = PurchaseCall, **fields: Any) -> Any:
        """An issue call of `kind` paying `units` in `info` for certificates with `terms`."""
        return kind(client=self.client, contract=self.client.contract, function=function,
                    args=tuple(args), decode=decode, terms=terms,
                    **self._payment(info, units), **fields)

    def _cert(self, certificate: CertificateRef) -> Certificate:
        if isinstance(certificate, Certificate):
            return certificate
        return self.client.certificate(whole_number(certificate, "certificate", minimum=1))

    def _id(self, certificate: CertificateRef) -> int:
        if isinstance(certificate, Certificate):
            return certificate.id
        return whole_number(certificate, "certificate", minimum=1)

    def _event_arg(self, name: str, arg: str) -> Callable[[TxReceipt], Any]:
        def read(receipt: TxReceipt) -> Any:
            return self.client.events(name, receipt)[0]["args"][arg]
        return read

    def _amount_of(self, name: str, info: CurrencyInfo) -> Callable[[TxReceipt], Money]:
        read = self._event_arg(name, "amount")
        return lambda receipt: from_units(read(receipt), info)

    def _refreshed(self, cert_id: int) -> Callable[[TxReceipt], Certificate]:
        return lambda receipt: self.client.certificate(cert_id)

    # -- ERC-20 allowance -------------------------------------------------------------

    def approval_needed(self, currency: int | str, units: int | Money) -> bool:
        """Whether the sender must approve the contract before paying `units` (smallest units,
        or Money) of an ERC-20 currency (never for ETH)."""
        info = self.client.currency(currency)
        if info.token is None:
            return False
        needed = info.units(units, allow_zero=True) if isinstance(units, Money) else int(units)
        token = self.client.token(info.id)
        return int(call(token.functions.allowance(self.sender, self.client.address))) < needed

    def approve(self, currency: int | str) -> PreparedCall[None]:
        """The ERC-20 approval letting the contract take the sender's tokens (no limit: the
        contract takes only what each operation names)."""
        token = self.client.token(currency)
        return self.prepare("approve", self.client.address, MAX_UINT256, decode=nothing,
                            contract=token)

    @property
    def sender(self) -> str:
        return self.client.sender

    # -- issuing ----------------------------------------------------------------------

    def issue(self, to: str, amount: Money | Any, merchant: int, currency: int | str = 0, *,
              message: str = "", **terms_kw: Any) -> PurchaseCall[Certificate]:
        """Buy one certificate for `to`; decodes to the new certificate. `terms_kw` are
        `GiftCert.terms`' (occasion, valid_from, expiry or expiry_days, serial)."""
        info = self.client.currency(currency)
        units = info.units(amount)
        terms = self.client.terms(merchant, info.id, **terms_kw)
        read_id = self._event_arg("Issued", "id")
        return self._purchase("issue", info, units, terms, checksum(to, "recipient"), terms,
                              units, message_text(message),
                              decode=lambda r: self.client.certificate(read_id(r)))

    def issue_batch(self, rows: Iterable[tuple[str, Any]], merchant: int,
                    currency: int | str = 0, *, message: str = "",
                    **terms_kw: Any) -> PurchaseCall[list[int]]:
        """One `issueBatch` transaction for exactly these (recipient, amount) rows (terms get a
        serial with room for all of them); decodes to the new ids in row order. `GiftCert.
        issue_batch` splits long lists into chunks (`chunks`), one such call each."""
        info = self.client.currency(currency)
        parsed = [(checksum(to, f"recipient on row {i}"), _row_units(info, amount, i))
                  for i, (to, amount) in enumerate(rows, start=1)]
        if not parsed:
            raise InvalidInput("no rows to issue", "rows")
        terms = self.client.terms(merchant, info.id, count=len(parsed), **terms_kw)
        units = [u for _, u in parsed]
        read_first = self._event_arg("IssuedBatch", "firstId")

        def ids(receipt: TxReceipt) -> list[int]:
            first = int(read_first(receipt))
            return [first + i for i in range(len(parsed))]

        return self._purchase("issueBatch", info, sum(units), terms, [to for to, _ in parsed],
                              units, terms, message_text(message), decode=ids)

    def issue_claimable(self, amount: Money | Any, merchant: int, currency: int | str = 0, *,
                        claim_days: int = 30, message: str = "", claim_key: str | None = None,
                        **terms_kw: Any) -> ClaimLinkCall:
        """Buy a certificate held by a claim key: a fresh one (default), a private key given
        (`claim_key`, 0x + 64 hex) or only the key's address (`claim_key`, 0x + 40 hex: the
        browser made the key and keeps it). Decodes to the ClaimLink (key None when only the
        address was given). The claim deadline is `claim_days` from now, at most the expiry."""
        info = self.client.currency(currency)
        units = info.units(amount)
        terms = self.client.terms(merchant, info.id, **terms_kw)
        days = whole_number(claim_days, "claimDays", minimum=1, maximum=36500)
        deadline = min(self.client.now() + days * DAY, terms[4])
        key, address = _claim_key(claim_key)
        read_id = self._event_arg("Issued", "id")

        def link(receipt: TxReceipt) -> ClaimLink:
            return ClaimLink(self.client.certificate(read_id(receipt)), key)

        made: ClaimLinkCall = self._purchase(
            "issueClaimable", info, units, terms, address, terms, units, deadline,
            message_text(message), decode=link, kind=ClaimLinkCall, claim_address=address,
            key=key, claim_deadline=deadline)
        return made

    def top_up(self, certificate_id: CertificateRef,
               amount: Money | Any) -> PreparedCall[Certificate]:
        """Add value to a certificate; decodes to it, refreshed."""
        cert = self._cert(certificate_id)
        units = cert.currency.units(amount)
        return self.prepare("topUp", cert.id, units, decode=self._refreshed(cert.id),
                            **self._payment(cert.currency, units))

    # -- claim links ------------------------------------------------------------------

    def claim(self, certificate_id: CertificateRef, claim_key: str | bytes | None = None,
              recipient: str | None = None, *,
              signature: bytes | str | None = None) -> PreparedCall[Certificate]:
        """Deliver a claim-link gift to `recipient` (default: the sender): the link's key signs
        Claim(certificate, recipient) here (`claim_key`), or the signature comes made (e.g. by
        the browser, from the link's #key). Anyone may send it."""
        cert_id = self._id(certificate_id)
        to = checksum(recipient or self.sender, "recipient")
        if signature is None:
            if claim_key is None:
                raise InvalidInput("give the claim link's key or its signature", "signature")
            document = eip712.claim(self.client.chain_id, self.client.address,
                                    certificate=cert_id, recipient=to)
            signature = eip712.sign_typed_data(claim_key, document)
        elif isinstance(signature, str):
            try:
                signature = bytes.fromhex(signature.removeprefix("0x"))
            except ValueError:
                raise InvalidInput("signature must be 0x-prefixed hex", "signature") from None
        return self.prepare("claim", cert_id, to, bytes(signature),
                            decode=self._refreshed(cert_id))

    def reclaim(self, certificate_id: CertificateRef) -> PreparedCall[Money]:
        """The buyer takes back an unclaimed claim-link gift after its deadline."""
        cert = self._cert(certificate_id)
        return self.prepare("reclaim", cert.id, decode=self._amount_of("Reclaimed",
                                                                       cert.currency))

    # -- moving -----------------------------------------------------------------------

    def transfer(self, certificate_id: CertificateRef, to: str) -> PreparedCall[Certificate]:
        """Re-gift the whole certificate (ERC-1155 safeTransferFrom from the sender)."""
        cert_id = self._id(certificate_id)
        return self.prepare("safeTransferFrom", self.sender, checksum(to, "recipient"), cert_id,
                            1, b"", decode=self._refreshed(cert_id))

    def split(self, certificate_id: CertificateRef, amount: Money | Any,
              to: str | None = None) -> PreparedCall[Certificate]:
        """Move part of the balance into a new certificate for `to` (default: the sender);
        decodes to the new certificate."""
        cert = self._cert(certificate_id)
        read_id = self._event_arg("Split", "newId")
        return self.prepare("split", cert.id, cert.currency.units(amount),
                            checksum(to or self.sender, "recipient"),
                            decode=lambda r: self.client.certificate(read_id(r)))

    def merge(self, from_id: CertificateRef, into_id: CertificateRef) -> PreparedCall[Certificate]:
        """Move the whole balance of `from_id` into `into_id` (see Certificate.can_merge_into)."""
        into = self._id(into_id)
        return self.prepare("merge", self._id(from_id), into, decode=self._refreshed(into))

    # -- signed holder actions (anyone submits them: the holder needs no gas) ----------

    def sign_holder_action(self, kind: str, certificate_id: CertificateRef, key: str | bytes, *,
                           deadline: int, **arguments: Any) -> SignedHolderAction:
        """The holder's signature (made here with `key`) of a transfer (`to`), split (`amount`,
        `to`), merge (`into`), cash-out or tab action (`session_key` to open one) of
        `certificate_id` at its current nonce: what a
        wallet signs in the browser, for tests, scripts and the CLI."""
        cert = self._cert(certificate_id)
        message: dict[str, Any] = {"nonce": cert.nonce, "deadline": deadline}
        if kind == "merge":
            message |= {"from": cert.id, "into": self._id(arguments.pop("into"))}
        else:
            message["certificate"] = cert.id
        if "to" in arguments:
            message["to"] = checksum(arguments.pop("to"), "recipient")
        if "amount" in arguments:
            message["amount"] = cert.currency.units(arguments.pop("amount"))
        if kind == "open-tab":
            key_address = arguments.pop("session_key", None)
            message["sessionKey"] = (checksum(key_address, "session key") if key_address
                                     else "0x" + "00" * 20)
        if arguments:
            raise InvalidInput(f"a {kind} takes no {', '.join(arguments)}", next(iter(arguments)))
        document = eip712.holder_action(kind, self.client.chain_id, self.client.address,
                                        **message)
        return SignedHolderAction(kind, document["message"],
                                  eip712.sign_typed_data(key, document))

    def holder_action(self, signed: SignedHolderAction) -> PreparedCall[Any]:
        """Submit a holder's signed action from the sender (a relayer, or anyone); decodes to
        what the holder-sent twin decodes to: the certificate moved or merged into, the new
        certificate of a split, the amount cashed out."""
        function = f"{_camel(signed.kind)}WithAuthorization"
        if signed.kind == "split":
            read_id = self._event_arg("Split", "newId")
            return self.prepare(function, signed.struct, signed.signature,
                                decode=lambda r: self.client.certificate(read_id(r)))
        if signed.kind == "cash-out":
            cert = self._cert(signed.certificate)
            return self.prepare(function, signed.struct, signed.signature,
                                decode=self._amount_of("CashedOut", cert.currency))
        target = signed.message["into"] if signed.kind == "merge" else signed.certificate
        return self.prepare(function, signed.struct, signed.signature,
                            decode=self._refreshed(int(target)))

    # -- redeeming --------------------------------------------------------------------

    def redeem(self, certificate_id: CertificateRef, amount: Money | Any,
               order_ref: int) -> PreparedCall[Certificate]:
        """The holder pays the certificate's merchant `amount` for order `order_ref`."""
        cert = self._cert(certificate_id)
        return self.prepare("redeem", cert.id, cert.currency.units(amount),
                            whole_number(order_ref, "orderRef"),
                            decode=self._refreshed(cert.id))

    def redeem_with_authorization(self, signed: SignedRedemption) -> PreparedCall[Certificate]:
        """The merchant submits the holder's signed authorisation."""
        return self.prepare("redeemWithAuthorization", signed.auth, signed.signature,
                            decode=self._refreshed(signed.certificate))

    def settle_batch(self, merchant_id: int, signed: Sequence[SignedRedemption], *,
                     all_or_nothing: bool = False) -> PreparedCall[Settlement]:
        """Settle many authorisations in one transaction: every valid one is settled and each
        refused one reported (`all_or_nothing`: the first refusal reverts the batch).
        `simulate()` answers how many would settle."""
        if not signed:
            raise InvalidInput("nothing to settle", "authorizations")
        items = list(signed)

        def settlement(receipt: TxReceipt) -> Settlement:
            refused = self.client.refusals(receipt)
            skipped = {r.index for r in refused}
            return Settlement(receipt, [s for i, s in enumerate(items) if i not in skipped],
                              refused)

        return self.prepare("settleBatch", whole_number(merchant_id, "merchant", minimum=1),
                            [s.auth for s in items], [s.signature for s in items],
                            bool(all_or_nothing), decode=settlement)

    # -- payment tabs -----------------------------------------------------------------

    def open_tab(self, certificate_id: CertificateRef,
                 session_key: str | None = None) -> PreparedCall[Tab]:
        """The holder opens a payment tab at the certificate's merchant; `session_key` (an
        address) signs the vouchers instead of the owner's key (for a contract wallet, whose
        ERC-1271 signature could be revoked before the merchant settles). Every signature the
        holder made before is void from here on. Decodes to the tab."""
        cert_id = self._id(certificate_id)
        key = ZERO_ADDRESS if session_key is None else checksum(session_key, "sessionKey")
        return self.prepare("openTab", cert_id, key, decode=self._tab(cert_id))

    def issue_with_tab(self, amount: Money | Any, merchant: int, currency: int | str = 0, *,
                       session_key: str | None = None, message: str = "",
                       **terms_kw: Any) -> PurchaseCall[Tab]:
        """Buy a certificate for the sender with a payment tab already open at `merchant`
        (`issueWithTab`: `issue` to yourself and `open_tab` in one transaction and one storage
        word, epoch 1). Paid and checked as `issue`; `session_key` as for `open_tab`. There is
        no recipient: a tab opened at issue is always the buyer's own. Decodes to the tab
        (`Tab.certificate` is the new certificate's id)."""
        info = self.client.currency(currency)
        units = info.units(amount)
        terms = self.client.terms(merchant, info.id, **terms_kw)
        key = ZERO_ADDRESS if session_key is None else checksum(session_key, "sessionKey")
        read_id = self._event_arg("Issued", "id")
        return self._purchase("issueWithTab", info, units, terms, terms, units,
                              message_text(message), key,
                              decode=lambda r: self.client.tab(read_id(r)))

    def request_tab_close(self, certificate_id: CertificateRef) -> PreparedCall[Tab]:
        """The holder asks to close the tab: the merchant has the close delay (two days) to
        settle the latest voucher, then `close_tab` closes it. Decodes to the tab."""
        cert_id = self._id(certificate_id)
        return self.prepare("requestTabClose", cert_id, decode=self._tab(cert_id))

    def close_tab(self, certificate_id: CertificateRef) -> PreparedCall[Tab]:
        """Closes the tab: the merchant at once, the holder after the close delay. Decodes to
        the tab (closed; the epoch moved on, so no voucher of it can be settled)."""
        cert_id = self._id(certificate_id)
        return self.prepare("closeTab", cert_id, decode=self._tab(cert_id))

    def close_tab_with_release(self, certificate_id: CertificateRef,
                               signature: bytes | str) -> PreparedCall[Tab]:
        """The holder closes the tab at once with the merchant's TabRelease signature
        (`giftcert.tabs.sign_tab_release`)."""
        cert_id = self._id(certificate_id)
        if isinstance(signature, str):
            signature = _signature(signature, "signature")
        return self.prepare("closeTabWithRelease", cert_id, bytes(signature),
                            decode=self._tab(cert_id))

    def settle_tabs(self, merchant_id: int,
                    vouchers: Sequence[SignedVoucher]) -> PreparedCall[TabSettlement]:
        """The merchant collects the latest voucher of each tab in one transaction: every
        valid one is settled (its certificate debited, its tab's epoch moved on) and each
        refused one reported with the contract's reason. `simulate()` answers how many would
        be collected."""
        items = list(vouchers)
        if not items:
            raise InvalidInput("no vouchers to settle", "vouchers")
        if len({v.certificate for v in items}) != len(items):
            raise InvalidInput("one voucher per tab: the latest one (a settle voids the rest)",
                               "vouchers")

        def settlement(receipt: TxReceipt) -> TabSettlement:
            return TabSettlement.from_receipt(self.client, receipt, items)

        return self.prepare("settleTabs", whole_number(merchant_id, "merchant", minimum=1,
                                                       maximum=2**32 - 1),
                            [v.struct for v in items], [v.signature for v in items],
                            decode=settlement)

    def _tab(self, cert_id: int) -> Callable[[TxReceipt], Tab]:
        return lambda receipt: self.client.tab(cert_id)

    # -- money out --------------------------------------------------------------------

    def refund(self, certificate_id: CertificateRef,
               buyer: str | None = None) -> PreparedCall[Money]:
        """After expiry: the balance back to the buyer (default: the sender)."""
        cert = self._cert(certificate_id)
        return self.prepare("refund", cert.id, checksum(buyer or self.sender, "buyer"),
                            decode=self._amount_of("Refunded", cert.currency))

    def void(self, certificate_id: CertificateRef) -> PreparedCall[Money]:
        """The merchant voids a certificate: the balance goes back to its holder."""
        cert = self._cert(certificate_id)
        return self.prepare("void", cert.id, decode=self._amount_of("Voided", cert.currency))

    def cash_out(self, certificate_id: CertificateRef) -> PreparedCall[Money]:
        """The holder takes out a small balance where the merchant allows it."""
        cert = self._cert(certificate_id)
        return self.prepare("cashOut", cert.id,
                            decode=self._amount_of("CashedOut", cert.currency))

    def withdraw(self, merchant_id: int, currency: int | str = 0) -> PreparedCall[Money]:
        """Pay a merchant's redeemed balance in `currency` to its account."""
        info = self.client.currency(currency)
        return self.prepare("withdrawMerchant", whole_number(merchant_id, "merchant", minimum=1),
                            info.id, decode=self._amount_of("MerchantWithdrawal", info))

    def withdraw_deferred(self, currency: int | str = 0) -> PreparedCall[Money]:
        """Collect payments that could not be pushed to the sender (pull fallback)."""
        info = self.client.currency(currency)
        return self.prepare("withdrawDeferred", info.id,
                            decode=self._amount_of("DeferredWithdrawn", info))

    def set_cash_out_limit(self, merchant_id: int, currency: int | str,
                           limit: Money | Any) -> PreparedCall[None]:
        """The largest balance holders may cash out at this merchant (0: none)."""
        info = self.client.currency(currency)
        return self.prepare("setCashOutLimit", whole_number(merchant_id, "merchant", minimum=1),
                            info.id, info.units(limit, allow_zero=True), decode=nothing)

    # -- administration ---------------------------------------------------------------

    def register_merchant(self, account: str, name: str) -> PreparedCall[Merchant]:
        """Registrar: a new merchant paid to `account`; decodes to it."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("merchant name must not be empty", "name")
        read_id = self._event_arg("MerchantRegistered", "merchant")
        return self.prepare("registerMerchant", checksum(account, "merchant account"),
                            name.strip(), decode=lambda r: self.client.merchant(read_id(r)))

    def set_merchant_active(self, merchant_id: int, active: bool) -> PreparedCall[Merchant]:
        merchant = whole_number(merchant_id, "merchant", minimum=1)
        return self.prepare("setMerchantActive", merchant, bool(active),
                            decode=lambda r: self.client.merchant(merchant))

    def set_merchant_account(self, merchant_id: int, account: str) -> PreparedCall[Merchant]:
        """The merchant's own account moves its payouts to another account."""
        merchant = whole_number(merchant_id, "merchant", minimum=1)
        return self.prepare("setMerchantAccount", merchant, checksum(account, "merchant account"),
                            decode=lambda r: self.client.merchant(merchant))

    def allow_currency(self, token: str) -> PreparedCall[CurrencyInfo]:
        """Admin: allow-list an ERC-20 token; decodes to its currency."""
        read_id = self._event_arg("CurrencyAllowed", "currency")
        return self.prepare("allowCurrency", checksum(token, "token"),
                            decode=lambda r: self.client.currency(int(read_id(r))))

    def set_currency_allowed(self, currency: int | str, allowed: bool) -> PreparedCall[None]:
        """Admin: suspend or restore deposits in a currency."""
        info = self.client.currency(currency)

        def forget(receipt: TxReceipt) -> None:
            self.client.forget_currency(info.id)

        return self.prepare("setCurrencyAllowed", info.id, bool(allowed), decode=forget)

    def pause(self) -> PreparedCall[None]:
        return self.prepare("pause", decode=nothing)

    def unpause(self) -> PreparedCall[None]:
        return self.prepare("unpause", decode=nothing)

    def set_min_validity(self, seconds: int) -> PreparedCall[None]:
        """Admin: the minimum time from the opening date to expiry."""
        value = whole_number(seconds, "seconds", maximum=2**40 - 1)
        return self.prepare("setMinValidity", value, decode=nothing)


def _row_units(info: CurrencyInfo, amount: Any, row: int) -> int:
    try:
        return info.units(amount)
    except InvalidInput as exc:
        raise InvalidInput(f"row {row}: {exc}", "rows") from None


def _camel(kind: str) -> str:
    """"cash-out" -> "cashOut": a holder action's name in the contract's function names."""
    head, *rest = kind.split("-")
    return head + "".join(part.title() for part in rest)


def _claim_key(claim_key: str | None) -> tuple[str | None, str]:
    """(private key or None, address) of a claim key given as a key, an address or nothing."""
    if claim_key is None:
        account = Account.create(secrets.token_hex(32))
        return "0x" + bytes(account.key).hex(), str(account.address)
    text = claim_key.strip() if isinstance(claim_key, str) else ""
    if len(text.removeprefix("0x")) == 64:
        try:
            account = Account.from_key(text)
        except (ValueError, TypeError):
            raise InvalidInput("claimKey is not a private key", "claimKey") from None
        return "0x" + bytes(account.key).hex(), str(account.address)
    return None, checksum(text, "claimKey")
