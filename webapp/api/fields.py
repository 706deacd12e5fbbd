"""The types of the API's fields, each written once: how it is parsed from JSON (or a query
string, or a form field, where numbers arrive as text), the words it refuses with, and its
JSON Schema in /api/v1/openapi.json. The request models (models.py) are made of these.

A refusal is a `PydanticCustomError` of type "giftcert" whose message follows the field's
name ("to must be an address ..."); `webapp.errors.from_validation` turns it into the API's
400 `{"error", "field"}`. Pages use the same types through `parse(Type, value, field)`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, TypeVar, Union

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from giftcert.errors import InvalidInput
from giftcert.inputs import MAX_MESSAGE, MAX_UINT256, checksum, message_text, whole_number
from giftcert.money import CurrencyInfo
from webapp.errors import ApiError, bad, from_validation

_HEX_RE = re.compile(r"^0x[0-9a-fA-F]*$")
_AMOUNT_RE = re.compile(r"^\d{1,30}(\.\d{1,30})?$")
_INT_PATTERN = r"^\s*(0[xX][0-9a-fA-F]{1,64}|[0-9]{1,78})\s*$"
AMOUNT_PATTERN = r"^\s*\d{1,30}(\.\d{1,30})?\s*$"
ADDRESS_PATTERN = r"^\s*0x[0-9a-fA-F]{40}\s*$"

T = TypeVar("T")


def refuse(message: str, field: str | None = None) -> PydanticCustomError:
    """A refusal in words (after the field's name); `field` names another input to fix."""
    return PydanticCustomError("giftcert", message.replace("{", "(").replace("}", ")"),
                               {"field": field} if field else None)


def _blank_is_none(value: Any) -> Any:
    """An optional field left empty (a form's blank input) is a field not given."""
    return None if isinstance(value, str) and not value.strip() else value


def _present(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise refuse("is required")
    return value


# -- addresses ------------------------------------------------------------------------------


def _sdk(check: Any) -> Any:
    """The SDK's check of typed values (giftcert.inputs), its refusal said after the field's
    name (the SDK's own message starts with the name it was given: none here)."""
    def run(value: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return check(value, "", *args, **kwargs)
        except InvalidInput as exc:
            raise refuse(exc.message.strip()) from None
    return run


_address = _sdk(checksum)


Address = Annotated[str, BeforeValidator(_address), BeforeValidator(_present), WithJsonSchema(
    {"type": "string", "pattern": ADDRESS_PATTERN,
     "description": "An account: 0x and 40 hex digits (mixed case must be a valid EIP-55 "
                    "checksum)"})]


# -- whole numbers ---------------------------------------------------------------------------


def _integer(minimum: int, maximum: int):
    whole = _sdk(whole_number)

    def check(value: Any) -> int:
        return whole(value, minimum=minimum, maximum=maximum)
    return check


def Uint(minimum: int = 0, maximum: int = MAX_UINT256, description: str = "",  # noqa: N802
         field: str | None = None) -> Any:
    """A whole number in [minimum, maximum], as a JSON number or as text (decimal or 0x hex,
    as forms and query strings send it); `field` names the input a refusal is about."""
    check = _integer(minimum, maximum)
    if field is not None:
        inner = check

        def check(value: Any) -> int:
            try:
                return inner(value)
            except PydanticCustomError as exc:
                raise refuse(exc.message(), field) from None
    schema: dict[str, Any] = {"anyOf": [
        {"type": "integer", "minimum": minimum, "maximum": maximum},
        {"type": "string", "pattern": _INT_PATTERN}]}
    if description:
        schema["description"] = description
    return Annotated[int, BeforeValidator(check), BeforeValidator(_present),
                     WithJsonSchema(schema)]


CertificateId = Uint(1, description="A certificate id (uint256; decimal text or 0x hex)")
MerchantId = Uint(1, 2**32 - 1, description="A merchant's id")
Timestamp = Uint(0, 2**40 - 1, description="Unix time, seconds")


# -- true / false ----------------------------------------------------------------------------


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
        return False
    raise refuse("must be true or false")


Boolean = Annotated[bool, BeforeValidator(_boolean), BeforeValidator(_present), WithJsonSchema(
    {"anyOf": [{"type": "boolean"},
               {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no", "on",
                                           "off"]}]})]


# -- amounts ---------------------------------------------------------------------------------


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool | float) or value is None:
        raise refuse('must be a decimal written as text, like "12.50"')
    text = str(value).strip() if value is not None else ""
    if not _AMOUNT_RE.match(text):
        raise refuse("must be a positive decimal like 12.50")
    return Decimal(text)


Amount = Annotated[Decimal, BeforeValidator(_amount), BeforeValidator(_present), WithJsonSchema(
    {"type": "string", "pattern": AMOUNT_PATTERN,
     "description": "A decimal written as text (never a float), like \"12.50\", in the "
                    "currency's units; at most as many decimals as the currency has"})]


def units(amount: Decimal, currency: CurrencyInfo, field: str = "amount", *,
          allow_zero: bool = False) -> int:
    """An amount in the currency's smallest units; too many decimals, zero or too large is
    a 400 naming `field`."""
    try:
        return currency.units(amount, allow_zero=allow_zero)
    except (ValueError, TypeError) as exc:
        raise bad(f"{field}: {exc}", field) from None


# -- signatures, text, dates -----------------------------------------------------------------


def _signature(value: Any) -> bytes:
    if not isinstance(value, str) or not _HEX_RE.match(value.strip()):
        raise refuse("must be 0x-prefixed hex")
    raw = bytes.fromhex(value.strip()[2:]) if len(value.strip()) % 2 == 0 else b""
    if len(raw) != 65:
        raise refuse("must be 65 bytes (r, s, v)")
    return raw


Signature = Annotated[bytes, BeforeValidator(_signature), BeforeValidator(_present),
                      WithJsonSchema({"type": "string", "pattern": r"^0x[0-9a-fA-F]{130}$",
                                      "description": "65 bytes r, s, v as 0x hex"})]


def HexBytes(max_bytes: int, description: str = "") -> Any:  # noqa: N802
    """Bytes of any length up to `max_bytes`, as 0x hex (a contract wallet's signature)."""
    def check(value: Any) -> bytes:
        if not isinstance(value, str) or not _HEX_RE.match(value.strip()) \
                or len(value.strip()) % 2:
            raise refuse("must be 0x-prefixed hex (whole bytes)")
        raw = bytes.fromhex(value.strip()[2:])
        if len(raw) > max_bytes:
            raise refuse(f"is longer than {max_bytes} bytes")
        return raw
    return Annotated[bytes, BeforeValidator(check), BeforeValidator(_present), WithJsonSchema(
        {"type": "string", "pattern": r"^0x([0-9a-fA-F]{2})*$", "maxLength": 2 + 2 * max_bytes,
         **({"description": description} if description else {})})]


def Text(max_length: int = MAX_MESSAGE, description: str = "",  # noqa: N802
         required: bool = False) -> Any:
    """Text of at most `max_length` characters, without control characters (but newlines
    and tabs); `required`: blank is refused as missing."""
    text = _sdk(message_text)

    def check(value: Any) -> str:
        if value is None:
            raise refuse("must be text")
        return text(value, max_length=max_length)
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length}
    if required:
        schema["pattern"] = r"\S"
    if description:
        schema["description"] = description
    if required:
        return Annotated[str, BeforeValidator(check), BeforeValidator(_present),
                         WithJsonSchema(schema)]
    return Annotated[str, BeforeValidator(check), WithJsonSchema(schema)]


TAGS = ("text", "object", "list")  # the branches of OneOf (left out of field paths)


def OneOf(**kinds: Any) -> Any:  # noqa: N802
    """One of `text=`, `object=`, `list=` kinds, chosen by the JSON type of the input (so a
    refusal speaks of the branch the input meant)."""
    def kind_of(value: Any) -> str | None:
        found = ("text" if isinstance(value, str) else "object" if isinstance(value, dict)
                 else "list" if isinstance(value, list) else None)
        return found if found in kinds else next(iter(kinds))
    members = tuple(Annotated[kind, Tag(tag)] for tag, kind in kinds.items())
    return Annotated[Union[members], Discriminator(kind_of)]  # noqa: UP007


def _date(field: str):
    def check(value: Any) -> int:
        """A YYYY-MM-DD date as the Unix time of its midnight UTC."""
        try:
            return int(datetime.strptime(str(value).strip(), "%Y-%m-%d").replace(
                tzinfo=UTC).timestamp())
        except ValueError:
            raise refuse("must be a date like 2030-01-31", field) from None
    return check


def Date(field: str) -> Any:  # noqa: N802
    """A calendar day, YYYY-MM-DD, as the Unix time of its midnight UTC."""
    return Annotated[int, BeforeValidator(_date(field)), WithJsonSchema(
        {"type": "string", "format": "date", "pattern": r"^\s*\d{4}-\d{2}-\d{2}\s*$"})]


def Optional(kind: Any) -> Any:  # noqa: N802
    """`kind`, or not given: absent, null or blank text (a form's empty input)."""
    return Annotated[kind | None, BeforeValidator(_blank_is_none)]


def TxHash() -> Any:  # noqa: N802
    return Annotated[str, AfterValidator(_tx_hash), WithJsonSchema(
        {"type": "string", "pattern": r"^0x[0-9a-fA-F]{64}$"})]


def _tx_hash(value: str) -> str:
    if len(value) != 66 or not _HEX_RE.match(value):
        raise refuse("must be 0x followed by 64 hex digits")
    return value


# -- outside a request model (pages) ---------------------------------------------------------


@cache
def _adapter(kind: Any) -> TypeAdapter:
    return TypeAdapter(kind)


def parse(kind: Any, value: Any, field: str) -> Any:
    """`value` as the field type `kind` (a page's path or query argument); refused: a 400
    ApiError naming `field`."""
    try:
        return _adapter(kind).validate_python(value)
    except ValidationError as exc:
        error = from_validation(exc)
        if error.field is None:
            error = ApiError(error.status, f"{field} {error.message}", field)
        raise error from None


__all__ = ["Address", "Amount", "Boolean", "CertificateId", "Date", "Field", "HexBytes",
           "MerchantId", "OneOf", "Optional", "Signature", "Text", "Timestamp", "TxHash", "Uint",
           "parse", "refuse", "units"]
