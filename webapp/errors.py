"""What the site answers when it refuses: `ApiError(status, message, field, code, details)`,
sent as `{"error": message, "field": field}` (plus `code` and `details` when known) with a 4xx
status. Input that breaks a request model (webapp/api/models.py) becomes one through
`from_validation`; a contract revert found by simulation through `from_revert` (422, the
contract's error name as `code`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from giftcert.errors import ContractRevert, declared_errors, hint_of
from giftcert.refused import Refused


class ApiError(Refused):
    """A refusal of the site (giftcert.refused.Refused's shape), answered as JSON."""

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
    "TabOpen": "certificate", "TabNotOpen": "certificate", "TabCloseNotRequested": "certificate",
    "TabCloseAlreadyRequested": "certificate", "TabCloseDelay": "certificate",
    "TabSettling": "certificate", "TabSettleEnded": "voucher", "WrongEpoch": "voucher",
    "VoucherBelowPrevious": "voucher", "TabClosingSoon": "voucher",
}

def _in_words(hint: str) -> str:
    """An error's hint as the site says it, inside a sentence: lower-case start, no full stop."""
    return hint[:1].lower() + hint[1:].removesuffix(".")


# Where the site says something else than the SDK's hint: the step to take on the site itself.
SITE_WORDS = {
    "CertificateExists": "a certificate with these terms and serial number exists already: "
                         "review again to get a new serial number",
    "SerialOverflow": "the serial numbers of this batch would run past the last one: "
                      "review again to get a new starting number",
    # Payment tabs (issue 17), as the holder and the merchant read them on the site.
    "TabOpen": "a tab is open on this gift: until the tab is closed, it pays only on the tab "
               "(close the tab first to pass it on or spend it another way)",
    "TabNotOpen": "this gift has no tab open (it was never opened, or it was closed)",
    "TabCloseAlreadyRequested": "the customer has asked to close this tab: do not serve on it "
                                "any more, and settle what it holds before it closes",
    "TabCloseDelay": "the tab cannot be closed yet: the shop has two days from the request to "
                     "collect what was signed",
    "TabCloseNotRequested": "ask to close the tab first: it can be closed two days later, or "
                            "at once if the shop releases it",
    "TabSettleEnded": "this tab can no longer be collected: its gift expired more than a week "
                      "ago",
    "TabSettling": "the shop can still collect this tab for a week after the gift's expiry: "
                   "what is left goes back after that",
    "WrongEpoch": "this voucher is from before the tab was last settled or closed: it no longer "
                  "counts; ask the customer to sign the purchase again",
    "VoucherBelowPrevious": "this is an old voucher: a newer one with a larger tab total is "
                            "already kept; ask the customer to sign the new total",
    "TabClosingSoon": "this tab closes (or its gift expires) too soon to serve on it: settle "
                      "what it holds now",
}
# A token's own errors (an ERC-20's, not the contract's), which a purchase may meet.
TOKEN_WORDS = {
    "ERC20InsufficientBalance": "the account does not have enough tokens",
    "ERC20InsufficientAllowance": "the contract may not take that many tokens yet: "
                                  "approve first",
}

# Every error of the contract in plain words: the SDK's hints (giftcert.errors, one class per
# error), so the site, the SDK and the CLI say the same. Batch settlement refusals use these too.
REVERT_MESSAGES = {name: _in_words(hint_of(cls)) for name, cls in declared_errors().items()}
REVERT_MESSAGES |= SITE_WORDS | TOKEN_WORDS


def revert_message(name: str) -> str:
    """A contract error's name in plain words."""
    return REVERT_MESSAGES.get(name, f"the contract refuses: {name}")


def refused(name: str, field: str | None = None, details: dict[str, Any] | None = None, *,
            status: int = 422) -> ApiError:
    """The refusal the contract would give (its error `name`), said before anything is sent:
    the error's plain words, about `field` (default: the input the error is about)."""
    return ApiError(status, revert_message(name), field or REVERT_FIELDS.get(name), name, details)


def from_revert(exc: ContractRevert) -> ApiError:
    name, args = exc.error_name, exc.args_by_name
    if name == "UnknownRevert":
        message = str(args.get("message") or "the transaction would fail")
        if "insufficient funds" in message.lower():
            return ApiError(422, "the account does not have enough ETH for this", "from",
                            "InsufficientFunds")
        return ApiError(422, f"the transaction would fail: {message[:200]}", None, name)
    error = refused(name, details=args)
    if name == "Error" and args.get("message"):
        error.message = f"the contract refuses: {str(args['message'])[:200]}"
    elif name == "ValidityTooShort" and args.get("minimumExpiry"):
        earliest = datetime.fromtimestamp(int(args["minimumExpiry"]), UTC)
        error.message += f": the earliest expiry is {earliest:%Y-%m-%d %H:%M} UTC"
    return error
