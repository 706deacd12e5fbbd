"""Every error the SDK raises, in one hierarchy under `GiftCertError`.

- `InvalidInput` (also a `ValueError`): bad amounts, addresses, ids, CSV rows, authorisation
  text; `.field` names the input when one is known.
- `ContractRevert`: the contract refused. Each custom error of the contract ABI is a subclass
  declared below with the Solidity name (``InsufficientBalance``), its arguments by name in
  ``.args_by_name`` and what it means in ``.hint`` (the class docstring). `decode_revert(abi,
  data)` turns revert data into one. A test checks that the classes and the compiled ABI's
  errors match one to one, argument names included (`declared_errors()`).
- `NodeError`: the node refused a request for a reason of its own (`NodeUnreachable`: no
  answer at all); `TransactionFailed`: mined but reverted with no recoverable reason.
- `ConfigError`, `DeploymentError`, `ChainError`, `CompileError`, `DemoError` (in their modules)
  are `GiftCertError`s too, so a caller (the CLI) catches one base class.

No class is made at run time: an error the ABI decodes but that is not declared here (a test
helper contract's) is an `UndeclaredRevert` carrying the name as ``.error_name``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

import requests
from eth_abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils import function_signature_to_4byte_selector, to_checksum_address


class GiftCertError(Exception):
    """Base class of every error the giftcert SDK raises on purpose."""


class InvalidInput(GiftCertError, ValueError):
    """Input the SDK refuses before anything reaches the chain; the message says what to fix."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidAmountType(InvalidInput, TypeError):
    """An amount given as a float (inexact) or another type that is not an amount."""


class NodeError(GiftCertError):
    """The Ethereum node refused a request (e.g. insufficient funds, a nonce problem)."""


class NodeUnreachable(NodeError, requests.ConnectionError):
    """No answer from the Ethereum node (connection refused, timeout). Also a
    `requests.ConnectionError`, what web3 raised before the SDK wrapped it, so handlers written
    for that (the web app's 503) keep working."""


class TransactionFailed(GiftCertError):
    """A transaction was mined but reverted (no revert data could be recovered)."""


_DECLARED: dict[str, type[ContractRevert]] = {}


class ContractRevert(GiftCertError):
    """The contract refused the call."""

    #: The Solidity error's name (the class name unless set); an instance may carry another.
    error_name: str = "ContractRevert"
    #: The Solidity error's argument names, in order.
    params: ClassVar[tuple[str, ...]] = ()
    #: Whether the class stands for an error of the contract ABI (see declared_errors()).
    declared: ClassVar[bool] = False

    def __init_subclass__(cls, *, declared: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.error_name = cls.__dict__.get("error_name", cls.__name__)
        cls.declared = declared
        if declared:
            _DECLARED[cls.error_name] = cls

    def __init__(self, args_by_name: dict[str, Any] | None = None, raw: bytes = b"", *,
                 name: str | None = None) -> None:
        if name is not None:
            self.error_name = name
        self.args_by_name: dict[str, Any] = args_by_name or {}
        self.raw = raw
        shown = ", ".join(f"{k}={v}" for k, v in self.args_by_name.items())
        super().__init__(f"{self.error_name}({shown})")

    @property
    def hint(self) -> str:
        """What the error means, in plain words (`hint_of` its class)."""
        return hint_of(type(self)) or self.error_name


class UnknownRevert(ContractRevert, declared=False):
    """The call would fail, and the node gave no revert data the ABI explains."""


class UndeclaredRevert(ContractRevert, declared=False):
    """A custom error the ABI decodes but the SDK does not declare (e.g. a test contract's)."""


class VoucherBelowPrevious(ContractRevert, declared=False):
    """This voucher's running total is below the one already kept for this tab: it is an old
    voucher (the customer's wallet must sign the new running total, never a smaller one). A
    refusal of the merchant's own check before serving (`giftcert.tabs.check_voucher`), not
    of the contract."""

    params = ("id", "previous", "given")


class TabClosingSoon(ContractRevert, declared=False):
    """Too little time is left to settle this tab before it closes or its settle window ends
    (at `until`): settle what it holds and do not serve on it any longer. A refusal of the
    merchant's own check before serving (`giftcert.tabs.check_voucher`), not of the
    contract."""

    params = ("id", "until")


# -- Solidity's built-in errors ----------------------------------------------------------------

BUILTIN_ERRORS = ("Error", "Panic")


class RevertMessage(ContractRevert):
    """The call reverted with a message."""

    error_name = "Error"
    params = ("message",)


class Panic(ContractRevert):
    """The contract hit an internal check (a Solidity panic code): report it as a bug."""

    params = ("code",)


# -- the contract's custom errors (contracts/interfaces, OpenZeppelin's) ------------------------


class AccessControlBadConfirmation(ContractRevert):
    """A role can only be renounced by the account that holds it."""


class AccessControlUnauthorizedAccount(ContractRevert):
    """This account lacks the role for this action."""

    params = ("account", "neededRole")


class AlreadyInitialized(ContractRevert):
    """The contract is already set up."""


class AmountTooLarge(ContractRevert):
    """The amount is too large."""

    params = ("amount",)


class AuthorizationExpired(ContractRevert):
    """The authorisation has expired: ask the customer to sign again."""

    params = ("deadline",)


class AwaitingClaim(ContractRevert):
    """The certificate is waiting to be claimed."""

    params = ("id",)


class BuyerTagTaken(ContractRevert):
    """Another contract already buys under this account's tag: buy from another account."""

    params = ("tag", "registered")


class CashOutNotAllowed(ContractRevert):
    """The merchant does not allow cashing out this balance."""

    params = ("id", "balance", "limit")


class CertificateExists(ContractRevert):
    """A certificate with these terms and serial exists already: try again with a new serial."""

    params = ("id",)


class ClaimWindowClosed(ContractRevert):
    """The claim window has closed: the gift can no longer be claimed (the giver may take it
    back)."""

    params = ("id", "deadline")


class ClaimWindowOpen(ContractRevert):
    """The claim window is still open: the giver can take the gift back after its deadline."""

    params = ("id", "deadline")


class CurrencyAlreadyListed(ContractRevert):
    """This token is already listed: allow it again instead."""

    params = ("currency", "token")


class CurrencyNotAllowed(ContractRevert):
    """The currency is not allowed."""

    params = ("currency",)


class ERC1155InsufficientBalance(ContractRevert):
    """The sender does not hold that certificate."""

    params = ("sender", "balance", "needed", "tokenId")


class ERC1155InvalidApprover(ContractRevert):
    """That account cannot approve operators."""

    params = ("approver",)


class ERC1155InvalidArrayLength(ContractRevert):
    """The lists of ids and amounts differ in length."""

    params = ("idsLength", "valuesLength")


class ERC1155InvalidOperator(ContractRevert):
    """That address cannot be an operator."""

    params = ("operator",)


class ERC1155InvalidReceiver(ContractRevert):
    """That address cannot receive certificates."""

    params = ("receiver",)


class ERC1155InvalidSender(ContractRevert):
    """That address cannot send certificates."""

    params = ("sender",)


class ERC1155MissingApprovalForAll(ContractRevert):
    """This account may not move the owner's certificates."""

    params = ("operator", "owner")


class EmptyBatch(ContractRevert):
    """There is nothing in the batch."""


class EnforcedPause(ContractRevert):
    """The contract is paused: try again later."""


class ExpectedPause(ContractRevert):
    """The contract is not paused."""


class Expired(ContractRevert):
    """The certificate has expired."""

    params = ("id", "expiry")


class IncompatibleCertificates(ContractRevert):
    """These certificates cannot be merged (same merchant, currency and buyer, and the target
    must not expire sooner)."""

    params = ("fromId", "intoId")


class InsufficientBalance(ContractRevert):
    """The certificate's balance is too small."""

    params = ("id", "balance", "needed")


class InvalidAccount(ContractRevert):
    """That is not an account that can be used here."""


class InvalidClaimDeadline(ContractRevert):
    """The claim deadline must be in the future and before expiry."""

    params = ("deadline",)


class InvalidSignature(ContractRevert):
    """The signature is not valid for this authorisation."""


class InvalidValidFrom(ContractRevert):
    """The opens-on date must be before the expiry."""

    params = ("validFrom", "expiry")


class LengthMismatch(ContractRevert):
    """The batch's lists differ in length: every authorisation needs its own signature, every
    recipient an amount."""


class MerchantInactive(ContractRevert):
    """The merchant is not active."""

    params = ("merchant",)


class NonceExhausted(ContractRevert):
    """This certificate has reached its limit of signed payments and transfers: its holder can
    still pay from the wallet directly."""

    params = ("id",)


class NotBuyer(ContractRevert):
    """Only the buyer of the certificate can do this."""

    params = ("id", "caller")


class NotClaimable(ContractRevert):
    """This gift has already been claimed (or is not a claim-link gift)."""

    params = ("id",)


class NotExpired(ContractRevert):
    """The certificate has not expired yet."""

    params = ("id", "expiry")


class NotHolder(ContractRevert):
    """This account does not hold the certificate."""

    params = ("id", "caller")


class NotMerchant(ContractRevert):
    """Only the merchant's own account can do this."""

    params = ("merchant", "caller")


class NotYetValid(ContractRevert):
    """The certificate is not open yet."""

    params = ("id", "validFrom")


class NothingToWithdraw(ContractRevert):
    """Nothing to withdraw."""


class ReentrancyGuardReentrantCall(ContractRevert):
    """A call came back into the contract while it was busy (refused by design)."""


class SafeERC20FailedOperation(ContractRevert):
    """The token refused the transfer."""

    params = ("token",)


class SerialOverflow(ContractRevert):
    """The serial numbers of this batch would run past the last one: pick a new serial."""

    params = ("serial", "count")


class TabCloseAlreadyRequested(ContractRevert):
    """The holder has already asked to close this tab: it closes at closeAt (the merchant should
    settle the latest voucher before then, and not serve on it any longer)."""

    params = ("id", "closeAt")


class TabCloseDelay(ContractRevert):
    """The tab cannot be closed yet: the merchant has until closeAt to settle the latest
    voucher (the merchant can close it at once, or sign a release)."""

    params = ("id", "closeAt")


class TabCloseNotRequested(ContractRevert):
    """Ask to close the tab first (request-close): it can be closed once the close delay has
    passed, or at once with the merchant's release."""

    params = ("id",)


class TabNotOpen(ContractRevert):
    """This certificate has no open payment tab (it was never opened, or it was closed)."""

    params = ("id",)


class TabOpen(ContractRevert):
    """A payment tab is open on this certificate: its value leaves only by the merchant's
    settle until the tab is closed (request a close, or ask the merchant for a release)."""

    params = ("id",)


class TabSettleEnded(ContractRevert):
    """The tab's settle window has ended (settleUntil: the expiry plus the grace period): its
    vouchers can no longer be collected."""

    params = ("id", "settleUntil")


class TabSettling(ContractRevert):
    """The merchant can still settle this tab (until settleUntil, the expiry plus the grace
    period): a refund waits for it."""

    params = ("id", "settleUntil")


class TokenAmountMismatch(ContractRevert):
    """The token delivered a different amount than asked (tokens that take a fee on transfer
    cannot be used)."""

    params = ("received", "expected")


class TooManyCurrencies(ContractRevert):
    """No more currencies can be listed."""


class TransferFailed(ContractRevert):
    """The payment could not be sent."""


class UnexpectedEth(ContractRevert):
    """This currency is a token: no ETH should be sent with it."""


class UnknownCertificate(ContractRevert):
    """No such certificate (or it was closed: spent in full, merged or refunded)."""

    params = ("id",)


class UnknownMerchant(ContractRevert):
    """No such merchant."""

    params = ("merchant",)


class ValidityTooShort(ContractRevert):
    """The expiry is earlier than the policy's minimum validity (counted from the opening
    date)."""

    params = ("expiry", "minimumExpiry")


class WrongEpoch(ContractRevert):
    """This voucher belongs to an earlier epoch of the tab: since it was signed, the tab was
    settled or closed, so it is void. Ask the customer to sign the running total again."""

    params = ("id", "expected", "given")


class WrongMerchant(ContractRevert):
    """The certificate is for another merchant."""

    params = ("id", "merchant")


class WrongNonce(ContractRevert):
    """This authorisation was already used or replaced: since it was signed, the holder has
    paid with it, signed a newer one or passed the certificate on. Ask the customer to sign
    again."""

    params = ("id", "expected", "given")


class WrongPayment(ContractRevert):
    """The ETH sent does not match the amount."""

    params = ("sent", "expected")


class ZeroAmount(ContractRevert):
    """The amount must be greater than zero."""


# -- lookup and decoding -----------------------------------------------------------------------


def hint_of(cls: type[ContractRevert]) -> str:
    """An error class's meaning in plain words: its docstring's first paragraph, on one line
    (the SDK's message, the CLI's and the web app's)."""
    paragraph = (cls.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(paragraph.split())


def declared_errors() -> dict[str, type[ContractRevert]]:
    """Every declared error class by Solidity name (Error and Panic included)."""
    return dict(_DECLARED)


def revert_class(name: str) -> type[ContractRevert]:
    """The declared exception class for the contract error `name` (KeyError if none)."""
    try:
        return _DECLARED[name]
    except KeyError:
        raise KeyError(f"{name!r} is not an error of the GiftCertificates contract") from None


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


_BUILTIN_ABI = [
    {"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]},
    {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
]

_Params = tuple[tuple[str, str], ...]
_ErrorEntries = tuple[tuple[str, _Params], ...]


@lru_cache(maxsize=32)
def _selectors(entries: _ErrorEntries) -> dict[bytes, tuple[str, _Params]]:
    table = {}
    for name, params in entries:
        signature = f"{name}({','.join(t for _, t in params)})"
        table[function_signature_to_4byte_selector(signature)] = (name, params)
    return table


def _error_table(abi: list[dict[str, Any]]) -> dict[bytes, tuple[str, _Params]]:
    entries = tuple(
        (str(e["name"]), tuple((p.get("name", ""), _abi_type(p)) for p in e.get("inputs", [])))
        for e in [*abi, *_BUILTIN_ABI]
        if e.get("type") == "error"
    )
    return _selectors(entries)


def _normalise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
    return value


def decode_revert(abi: list[dict[str, Any]], data: bytes | str | None) -> ContractRevert:
    """Decodes revert `data` against the errors in `abi` (and Error/Panic)."""
    if isinstance(data, str):
        try:
            data = bytes.fromhex(data.removeprefix("0x"))
        except ValueError:
            return UnknownRevert({"data": data})
    data = data or b""
    entry = _error_table(abi).get(data[:4])
    if entry is None:
        return UnknownRevert({"data": "0x" + data.hex()}, data)
    name, params = entry
    try:
        values = decode([t for _, t in params], data[4:]) if params else ()
    except DecodingError:
        return UnknownRevert({"data": "0x" + data.hex()}, data)
    args = {
        pname or f"arg{i}": _normalise(v)
        for i, ((pname, _), v) in enumerate(zip(params, values, strict=True))
    }
    cls = _DECLARED.get(name)
    if cls is None:
        return UndeclaredRevert(args, data, name=name)
    return cls(args, data)
