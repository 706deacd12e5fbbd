"""What the site answers when it refuses: `ApiError(status, message, field, code, details)`,
sent as `{"error": message, "field": field}` (plus `code` and `details` when known) with a 4xx
status. Input that breaks a request model (webapp/api/models.py) becomes one through
`from_validation`; a contract revert found by simulation through `from_revert` (422, the
contract's error name as `code`)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from giftcert.errors import ContractRevert


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


# -- a request model refused the input ----------------------------------------------------

NOT_AN_OBJECT = "send a JSON object (Content-Type: application/json)"
# pydantic's own error types (the field types of webapp/api/fields.py raise their own words)
_WORDS = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this request (see /api/v1/openapi.json)",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "list_type": "must be a list",
    "literal_error": "is not one of the documented values",
    "string_too_long": "is too long",
}


_BRANCHES = ("text", "object", "list")  # webapp.api.fields.OneOf's tags


def _field(loc: tuple[Any, ...]) -> tuple[str | None, str]:
    """`("authorizations", "list", 0, "object", "signature")` -> (`authorizations[0]`,
    `signature`): the input a person typed (a nested object is one input on the site) and
    where inside it (union branches left out)."""
    if not loc:
        return None, ""
    name, rest = str(loc[0]), [p for p in loc[1:] if p not in _BRANCHES and "[" not in str(p)]
    if rest and isinstance(rest[0], int):
        name += f"[{rest.pop(0)}]"
    return name, ".".join(str(p) for p in rest)


def from_validation(exc: ValidationError) -> ApiError:
    """The first thing wrong with the input, in the API's error shape (400 naming the field).
    A field the request does not declare is said first: whatever else is wrong, the request
    was written for another version of the API (or has a typo)."""
    errors = exc.errors(include_url=False)
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    kind, loc, ctx = error["type"], tuple(error["loc"]), error.get("ctx") or {}
    if kind in ("model_type", "model_attributes_type", "dict_type", "json_invalid",
                "json_type") and not loc:
        return bad(NOT_AN_OBJECT, None)
    field, inside = _field(loc)
    if kind == "giftcert":
        message = error["msg"]
    else:
        message = _WORDS.get(kind, error["msg"][:1].lower() + error["msg"][1:])
    if inside:
        message = f"{inside} {message}"
    shown = f"{field}: {message}" if field and inside else f"{field} {message}" if field \
        else message
    # A field type may name the input a person fixes (expiryDays -> the expiry field).
    return bad(shown, ctx.get("field") or field)


# -- the contract would refuse -------------------------------------------------------------

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
