"""Checks of the values people type, shared by the SDK, the CLI and the web app: each bad value
is an `InvalidInput` (a ValueError) whose message says what to fix and names the field."""

from __future__ import annotations

from typing import Any

from eth_typing import ChecksumAddress
from eth_utils import is_address, to_checksum_address

from giftcert.errors import InvalidInput

MAX_UINT256 = 2**256 - 1
MAX_MESSAGE = 280  # characters of a gift message


def checksum(address: Any, what: str = "address") -> ChecksumAddress:
    """A checksummed address. Refuses anything but 0x and 40 hex digits, and a mixed-case
    address whose EIP-55 checksum is wrong (a mistyped address)."""
    text = address.strip() if isinstance(address, str) else address
    if not isinstance(text, str) or not is_address(text):
        raise InvalidInput(f"{what} {address!r} is not a valid 0x address (40 hex digits)", what)
    digits = text[2:]
    if digits != digits.lower() and digits != digits.upper() and to_checksum_address(text) != text:
        raise InvalidInput(f"{what} {address!r} has a wrong EIP-55 checksum (mistyped address?)",
                           what)
    return to_checksum_address(text)


def whole_number(value: Any, what: str, *, minimum: int = 0, maximum: int = MAX_UINT256,
                 field: str | None = None) -> int:
    """An integer from an int or decimal/0x text, within [minimum, maximum]; an InvalidInput
    names `field` (default: `what`)."""
    field = field or what
    if isinstance(value, bool):
        raise InvalidInput(f"{what} must be a whole number", field)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            number = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
        except ValueError:
            raise InvalidInput(f"{what} must be a whole number, not {value!r}", field) from None
    else:
        raise InvalidInput(f"{what} must be a whole number", field)
    if not minimum <= number <= maximum:
        raise InvalidInput(f"{what} is out of range ({minimum}..{maximum})", field)
    return number


def message_text(value: Any, what: str = "message", *, max_length: int = MAX_MESSAGE) -> str:
    """A gift message: text, at most `max_length` characters, no control characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text", what)
    if len(value) > max_length:
        raise InvalidInput(f"{what} is too long (at most {max_length} characters)", what)
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise InvalidInput(f"{what} contains control characters", what)
    return value
