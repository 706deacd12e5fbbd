"""The rules of the API's fields, each written once: how a value is parsed from JSON (or from a
query string or a form field, where numbers arrive as text), the words it is refused with, and
its JSON Schema in /api/v1/openapi.json. A model declares a field as `Annotated[type, rule]`:

    limit: Annotated[int, Uint(1, 500)] = 50
    claimKey: Annotated[str | None, AddressRule()] = None   # optional: absent, null or blank

A refusal is a `PydanticCustomError` of type "giftcert" whose message follows the field's name
("to is not a valid 0x address ..."); `webapp.errors.from_validation` makes it the API's 400
`{"error", "field"}`. The checks themselves are the SDK's (giftcert.inputs) where it has them.
Pages use the same types through `parse(Type, value, field)`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as attribute
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, get_args

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, TypeAdapter, ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from giftcert.errors import InvalidInput
from giftcert.inputs import MAX_MESSAGE, MAX_UINT256, checksum, message_text, whole_number
from giftcert.money import CurrencyInfo
from webapp.errors import ApiError, bad, from_validation

_HEX_RE = re.compile(r"^0x[0-9a-fA-F]*$")
_AMOUNT_RE = re.compile(r"^\d{1,30}(\.\d{1,30})?$")
INT_PATTERN = r"^\s*(0[xX][0-9a-fA-F]{1,64}|[0-9]{1,78})\s*$"
AMOUNT_PATTERN = r"^\s*\d{1,30}(\.\d{1,30})?\s*$"
ADDRESS_PATTERN = r"^\s*0x[0-9a-fA-F]{40}\s*$"


def refuse(message: str, field: str | None = None) -> PydanticCustomError:
    """A refusal in words (after the field's name); `field` names another input to fix."""
    return PydanticCustomError("giftcert", message.replace("{", "(").replace("}", ")"),
                               {"field": field} if field else None)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _blank_is_none(value: Any) -> Any:
    return None if _blank(value) else value


def _sdk(check: Callable[..., Any], value: Any, **kwargs: Any) -> Any:
    """The SDK's check (giftcert.inputs), its refusal said after the field's name (the SDK's
    message starts with the name it is given: none here)."""
    try:
        return check(value, "", **kwargs)
    except InvalidInput as exc:
        raise refuse(exc.message.strip()) from None


@dataclass(frozen=True)
class Rule:
    """A field's rule as pydantic metadata. Required (`Annotated[T, rule]`): absent, null or
    blank is "is required". Optional (`Annotated[T | None, rule]`): those are None."""

    description: str = attribute(default="", kw_only=True)

    def parse(self, value: Any) -> Any:  # pragma: no cover - every rule has its own
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def _required(self, value: Any) -> Any:
        if _blank(value):
            raise refuse("is required")
        return self.parse(value)

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> CoreSchema:
        if type(None) in get_args(source):
            return core_schema.no_info_before_validator_function(
                _blank_is_none, core_schema.nullable_schema(
                    core_schema.no_info_plain_validator_function(self.parse)))
        return core_schema.no_info_plain_validator_function(self._required)

    def __get_pydantic_json_schema__(self, schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        mine = self.schema()
        if self.description:
            mine["description"] = self.description
        return mine if schema["type"] == "function-plain" else {"anyOf": [mine,
                                                                          {"type": "null"}]}


@dataclass(frozen=True)
class Uint(Rule):
    """A whole number in [minimum, maximum], as a JSON number or as text (decimal or 0x hex);
    `field` names the input a refusal is about (expiryDays -> expiry)."""

    minimum: int = 0
    maximum: int = MAX_UINT256
    field: str | None = None  # the input a refusal names

    def parse(self, value: Any) -> int:
        try:
            number: int = _sdk(whole_number, value, minimum=self.minimum, maximum=self.maximum)
        except PydanticCustomError as exc:
            raise refuse(exc.message(), self.field) from None
        return number

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "integer", "minimum": self.minimum, "maximum": self.maximum},
                          {"type": "string", "pattern": INT_PATTERN}]}


@dataclass(frozen=True)
class AddressRule(Rule):
    """An account: checksummed; a mixed-case address with a wrong EIP-55 checksum is refused."""

    description: str = attribute(kw_only=True, default=(
        "An account: 0x and 40 hex digits (mixed case must be a valid EIP-55 checksum)"))

    def parse(self, value: Any) -> str:
        address: str = _sdk(checksum, value)
        return address

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "eth-address", "pattern": ADDRESS_PATTERN}


@dataclass(frozen=True)
class AmountRule(Rule):
    """A decimal written as text (never a float); its currency decides the decimals (`units`)."""

    description: str = attribute(kw_only=True, default=(
        "A decimal written as text (never a float), like \"12.50\", in the currency's units; "
        "at most as many decimals as the currency has"))

    def parse(self, value: Any) -> Decimal:
        if isinstance(value, bool | float):
            raise refuse('must be a decimal written as text, like "12.50"')
        text = str(value).strip()
        if not _AMOUNT_RE.match(text):
            raise refuse("must be a positive decimal like 12.50")
        return Decimal(text)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "decimal-amount", "pattern": AMOUNT_PATTERN}


BOOLEANS = {"true": True, "1": True, "yes": True, "on": True,
            "false": False, "0": False, "no": False, "off": False}


@dataclass(frozen=True)
class BooleanRule(Rule):
    """true or false, or their words as a form sends them."""

    def parse(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in BOOLEANS:
            return BOOLEANS[value.lower()]
        raise refuse("must be true or false")

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "boolean"}, {"type": "string", "enum": list(BOOLEANS)}]}


@dataclass(frozen=True)
class Text(Rule):
    """Text of at most `max_length` characters without control characters (but newlines and
    tabs), as the SDK takes a gift message."""

    max_length: int = MAX_MESSAGE

    def parse(self, value: Any) -> str:
        if value is None:
            raise refuse("must be text")
        text: str = _sdk(message_text, value, max_length=self.max_length)
        return text

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.max_length}


@dataclass(frozen=True)
class HexBytes(Rule):
    """Bytes as 0x hex: exactly `size` bytes, or any length up to `max_bytes`."""

    size: int | None = None
    max_bytes: int | None = None

    def parse(self, value: Any) -> bytes:
        text = value.strip() if isinstance(value, str) else None
        if text is None or not _HEX_RE.match(text) or len(text) % 2:
            raise refuse("must be 0x-prefixed hex (whole bytes)")
        raw = bytes.fromhex(text[2:])
        if self.size is not None and len(raw) != self.size:
            raise refuse(f"must be {self.size} bytes" + (" (r, s, v)" if self.size == 65
                                                         else ""))
        if self.max_bytes is not None and len(raw) > self.max_bytes:
            raise refuse(f"is longer than {self.max_bytes} bytes")
        return raw

    def schema(self) -> dict[str, Any]:
        if self.size is not None:
            return {"type": "string", "pattern": f"^0x[0-9a-fA-F]{{{2 * self.size}}}$"}
        return {"type": "string", "pattern": r"^0x([0-9a-fA-F]{2})*$",
                "maxLength": 2 + 2 * (self.max_bytes or 0)}


@dataclass(frozen=True)
class DateRule(Rule):
    """A calendar day, YYYY-MM-DD, as the Unix time of its midnight UTC."""

    field: str | None = None  # the input a refusal names

    def parse(self, value: Any) -> int:
        try:
            return int(datetime.strptime(str(value).strip(), "%Y-%m-%d").replace(
                tzinfo=UTC).timestamp())
        except ValueError:
            raise refuse("must be a date like 2030-01-31", self.field) from None

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date", "pattern": r"^\s*\d{4}-\d{2}-\d{2}\s*$"}


@dataclass(frozen=True)
class CurrencyRule(Rule):
    """A currency reference: its id, its symbol or its token address (looked up by
    lookups.currency_arg: the SDK's find_currency)."""

    description: str = attribute(kw_only=True, default=(
        "The currency: its id, its symbol (ETH, tUSD) or its token address; empty or absent: "
        "ETH"))

    def parse(self, value: Any) -> int | str:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 255:
            return value
        if isinstance(value, str) and len(value) <= 64:
            return value.strip()
        raise refuse("must be a currency id, symbol or token address")

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 255},
                          {"type": "string", "maxLength": 64}]}


@dataclass(frozen=True)
class TxHashRule(Rule):
    def parse(self, value: Any) -> str:
        if not isinstance(value, str) or len(value) != 66 or not _HEX_RE.match(value):
            raise refuse("must be 0x followed by 64 hex digits")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"^0x[0-9a-fA-F]{64}$"}


def json_type(*tags: str) -> Callable[[Any], str]:
    """A union's discriminator by the input's JSON type ("text", "object", "list"; anything
    else: the first), so a refusal speaks of the branch the input meant."""
    def tag(value: Any) -> str:
        found = ("text" if isinstance(value, str) else "object" if isinstance(value, dict)
                 else "list" if isinstance(value, list) else "")
        return found if found in tags else tags[0]
    return tag


Address = Annotated[str, AddressRule()]
Amount = Annotated[Decimal, AmountRule()]
Boolean = Annotated[bool, BooleanRule()]
CERTIFICATE = Uint(1, description="A certificate id (uint256; decimal text or 0x hex)")
TIMESTAMP = Uint(0, 2**40 - 1, description="Unix time, seconds")
CertificateId = Annotated[int, CERTIFICATE]
MerchantId = Annotated[int, Uint(1, 2**32 - 1, description="A merchant's id")]
Timestamp = Annotated[int, TIMESTAMP]
Signature = Annotated[bytes, HexBytes(size=65, description="65 bytes r, s, v as 0x hex")]
TxHash = Annotated[str, TxHashRule()]


def units(amount: Decimal, currency: CurrencyInfo, field: str = "amount", *,
          allow_zero: bool = False) -> int:
    """An amount in the currency's smallest units; too many decimals, zero or too large is
    a 400 naming `field`."""
    try:
        return currency.units(amount, allow_zero=allow_zero)
    except (ValueError, TypeError) as exc:
        raise bad(f"{field}: {exc}", field) from None


# -- outside a request model (pages) ---------------------------------------------------------


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def parse(kind: Any, value: Any, field: str) -> Any:
    """`value` as the field type `kind` (a page's path or query argument, one part of the
    compact authorisation); refused: a 400 ApiError naming `field`."""
    try:
        return _adapter(kind).validate_python(value)
    except ValidationError as exc:
        error = from_validation(exc)
        if error.field is None:
            error = ApiError(error.status, f"{field} {error.message}", field)
        raise error from None


__all__ = ["CERTIFICATE", "TIMESTAMP", "Address", "AddressRule", "Amount", "AmountRule",
           "Boolean", "BooleanRule", "CertificateId", "CurrencyRule", "DateRule", "HexBytes",
           "MerchantId", "Signature", "Text", "Timestamp", "TxHash", "TxHashRule", "Uint",
           "json_type", "parse", "refuse", "units"]
