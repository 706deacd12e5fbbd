"""Input validation for the API and pages: every bad input becomes `ApiError(status, msg, field)`,
answered as `{"error": msg, "field": field}` with a 4xx status; contract reverts found by
simulation become 422 with the contract's error name."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from eth_utils import is_address, to_checksum_address

from giftcert.errors import ContractRevert
from giftcert.money import CurrencyInfo

MAX_UINT256 = 2**256 - 1
_HEX_RE = re.compile(r"^0x[0-9a-fA-F]*$")
_AMOUNT_RE = re.compile(r"^\d{1,30}(\.\d{1,30})?$")
MAX_MESSAGE = 280


class ApiError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None,
                 code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.code = code
        self.details = details or {}

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message, "field": self.field}
        if self.code:
            body["code"] = self.code
        if self.details:
            body["details"] = {k: _jsonable(v) for k, v in self.details.items()}
        return body


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def bad(message: str, field: str | None, status: int = 400) -> ApiError:
    return ApiError(status, message, field)


def body_of(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise bad("the request body must be a JSON object", None)
    return data


def required(data: dict[str, Any], field: str) -> Any:
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise bad(f"{field} is required", field)
    return value


def address(value: Any, field: str) -> str:
    if not isinstance(value, str) or not is_address(value.strip()):
        raise bad(f"{field} must be an address (0x followed by 40 hex digits)", field)
    text = value.strip()
    if text != text.lower() and text[2:] != text[2:].upper():
        # mixed case is an EIP-55 checksum: it must be right
        if to_checksum_address(text) != text:
            raise bad(f"{field} has a wrong EIP-55 checksum (mistyped address?)", field)
    return to_checksum_address(text)


def integer(value: Any, field: str, *, minimum: int = 0, maximum: int = MAX_UINT256) -> int:
    if isinstance(value, bool):
        raise bad(f"{field} must be a whole number", field)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            number = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
        except ValueError:
            raise bad(f"{field} must be a whole number", field) from None
    else:
        raise bad(f"{field} must be a whole number", field)
    if not minimum <= number <= maximum:
        raise bad(f"{field} is out of range ({minimum}..{maximum})", field)
    return number


def certificate_id(value: Any, field: str = "certificate") -> int:
    return integer(value, field, minimum=1)


def merchant_id(value: Any, field: str = "merchant") -> int:
    return integer(value, field, minimum=1, maximum=2**32 - 1)


def date_timestamp(value: Any, field: str) -> int:
    """A YYYY-MM-DD date as the Unix time of its midnight UTC."""
    from datetime import UTC, datetime

    try:
        return int(datetime.strptime(str(value).strip(), "%Y-%m-%d").replace(
            tzinfo=UTC).timestamp())
    except ValueError:
        raise bad(f"{field} must be a date like 2030-01-31", field) from None


def boolean(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
        return False
    raise bad(f"{field} must be true or false", field)


def amount(value: Any, currency: CurrencyInfo, field: str = "amount", *,
           allow_zero: bool = False) -> int:
    """Smallest units of a decimal amount given as text (never a float)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise bad(f"{field} must be a decimal written as text, like \"12.50\"", field)
    text = str(value).strip() if value is not None else ""
    if not _AMOUNT_RE.match(text):
        raise bad(f"{field} must be a positive decimal like 12.50", field)
    try:
        return currency.units(Decimal(text), allow_zero=allow_zero)
    except (ValueError, TypeError) as exc:
        raise bad(f"{field}: {exc}", field) from None


def signature(value: Any, field: str = "signature") -> bytes:
    if not isinstance(value, str) or not _HEX_RE.match(value.strip()):
        raise bad(f"{field} must be 0x-prefixed hex", field)
    raw = bytes.fromhex(value.strip()[2:]) if len(value.strip()) % 2 == 0 else b""
    if len(raw) != 65:
        raise bad(f"{field} must be 65 bytes (r, s, v)", field)
    return raw


def text(value: Any, field: str, *, max_length: int = MAX_MESSAGE, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise bad(f"{field} must be text", field)
    if len(value) > max_length:
        raise bad(f"{field} is too long (at most {max_length} characters)", field)
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise bad(f"{field} contains control characters", field)
    return value


# Which input a contract error is about, for `field` in the JSON error.
REVERT_FIELDS = {
    "UnknownCertificate": "certificate", "CertificateExists": "certificate",
    "NotHolder": "from", "NotBuyer": "from", "NotMerchant": "from",
    "UnknownMerchant": "merchant", "MerchantInactive": "merchant", "WrongMerchant": "merchant",
    "CurrencyNotAllowed": "currency", "CurrencyAlreadyListed": "token",
    "TooManyCurrencies": "token", "ZeroAmount": "amount", "AmountTooLarge": "amount",
    "WrongPayment": "amount", "UnexpectedEth": "currency", "TokenAmountMismatch": "currency",
    "ValidityTooShort": "expiry", "InvalidValidFrom": "validFrom",
    "NotYetValid": "certificate", "Expired": "certificate", "NotExpired": "certificate",
    "InsufficientBalance": "amount", "WrongNonce": "authorization",
    "NonceExhausted": "certificate", "AuthorizationExpired": "deadline",
    "InvalidSignature": "signature", "AwaitingClaim": "certificate",
    "NotClaimable": "certificate", "ClaimWindowOpen": "certificate",
    "ClaimWindowClosed": "certificate", "InvalidClaimDeadline": "claimDeadline",
    "BuyerTagTaken": "from", "IncompatibleCertificates": "into",
    "CashOutNotAllowed": "certificate", "NothingToWithdraw": "currency",
    "EmptyBatch": "authorizations", "LengthMismatch": "authorizations",
    "AccessControlUnauthorizedAccount": "from", "InvalidAccount": "account",
    "ERC1155InvalidReceiver": "to", "ERC20InsufficientBalance": "from",
    "ERC20InsufficientAllowance": "from",
}

# Every custom error of the contract (contracts/interfaces/IGiftCertificates.sol) in plain
# words, plus the library errors a person can meet. Batch settlement refusals use these too.
REVERT_MESSAGES = {
    "EnforcedPause": "the contract is paused: try again later",
    "ExpectedPause": "the contract is not paused",
    "UnknownCertificate": "no such certificate (or it was closed)",
    "CertificateExists": "a certificate with these terms and serial number exists already: "
                         "review again to get a new serial number",
    "SerialOverflow": "the serial numbers of this batch would run past the last one: "
                      "review again to get a new starting number",
    "NotHolder": "this account does not hold the certificate",
    "NotBuyer": "only the buyer of the certificate can do this",
    "NotMerchant": "only the merchant's own account can do this",
    "UnknownMerchant": "no such merchant",
    "MerchantInactive": "the merchant is not active",
    "WrongMerchant": "the certificate is for another merchant",
    "CurrencyNotAllowed": "the currency is not allowed",
    "TooManyCurrencies": "no more currencies can be listed",
    "CurrencyAlreadyListed": "this token is already listed: allow it again instead",
    "ZeroAmount": "the amount must be greater than zero",
    "AmountTooLarge": "the amount is too large",
    "WrongPayment": "the ETH sent does not match the amount",
    "UnexpectedEth": "this currency is a token: no ETH should be sent with it",
    "TokenAmountMismatch": "the token delivered a different amount than asked "
                           "(tokens that take a fee on transfer cannot be used)",
    "ValidityTooShort": "the expiry is earlier than the policy's minimum validity "
                        "(counted from the opening date)",
    "InvalidValidFrom": "the opens-on date must be before the expiry",
    "NotYetValid": "the certificate is not open yet",
    "Expired": "the certificate has expired",
    "NotExpired": "the certificate has not expired yet",
    "InsufficientBalance": "the certificate's balance is too small",
    "WrongNonce": "this authorisation was already used or replaced: since it was signed, the "
                  "holder has paid with it, signed a newer one or passed the certificate on. "
                  "Ask the customer to sign again",
    "NonceExhausted": "this certificate has reached its limit of signed payments and "
                      "transfers: its holder can still pay from the wallet directly",
    "AuthorizationExpired": "the authorisation has expired: ask the customer to sign again",
    "InvalidSignature": "the signature is not valid for this authorisation",
    "AwaitingClaim": "the certificate is waiting to be claimed",
    "NotClaimable": "this gift has already been claimed (or is not a claim-link gift)",
    "ClaimWindowOpen": "the claim window is still open",
    "ClaimWindowClosed": "the claim window has closed: the gift can no longer be claimed "
                         "(the giver may take it back)",
    "InvalidClaimDeadline": "the claim deadline must be in the future and before expiry",
    "BuyerTagTaken": "another contract already buys under this account's tag: buy from "
                     "another account",
    "IncompatibleCertificates": "these certificates cannot be merged",
    "CashOutNotAllowed": "the merchant does not allow cashing out this balance",
    "NothingToWithdraw": "nothing to withdraw",
    "LengthMismatch": "every authorisation needs its own signature",
    "EmptyBatch": "there is nothing to settle",
    "TransferFailed": "the payment could not be sent",
    "InvalidAccount": "that is not an account that can be used here",
    "AlreadyInitialized": "the contract is already set up",
    "AccessControlUnauthorizedAccount": "this account lacks the role for this action",
    "ERC1155InvalidReceiver": "that address cannot receive certificates",
    "ERC20InsufficientBalance": "the account does not have enough tokens",
    "ERC20InsufficientAllowance": "the contract may not take that many tokens yet: "
                                  "approve first",
}


def revert_message(name: str) -> str:
    """A contract error's name in plain words."""
    return REVERT_MESSAGES.get(name, f"the contract refuses: {name}")


def from_revert(exc: ContractRevert) -> ApiError:
    name = exc.error_name
    if name == "UnknownRevert":
        message = str(exc.args_by_name.get("message") or "the transaction would fail")
        if "insufficient funds" in message.lower():
            return ApiError(422, "the account does not have enough ETH for this", "from",
                            "InsufficientFunds")
        return ApiError(422, f"the transaction would fail: {message[:200]}", None, name)
    return ApiError(422, revert_message(name), REVERT_FIELDS.get(name), name, exc.args_by_name)
