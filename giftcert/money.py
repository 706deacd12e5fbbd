"""Exact amounts with their currency: `Money(Decimal("12.50"), "tUSD")`, never floats.

On chain an amount is an integer count of the currency's smallest unit (ETH: 18 decimals, an
ERC-20: whatever its `decimals()` says). `to_units` refuses what cannot be represented exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from giftcert.errors import InvalidAmountType, InvalidInput

ETH_DECIMALS = 18
MAX_UNITS = 2**88 - 1  # a certificate balance is a uint88


@dataclass(frozen=True)
class CurrencyInfo:
    """An allow-listed currency: id 0 is ETH (token None), ERC-20s have ids 1..255."""

    id: int
    symbol: str
    decimals: int
    token: str | None = None
    allowed: bool = True

    def money(self, units: int) -> Money:
        return from_units(units, self)

    def units(self, amount: Money | Decimal | str | int, *, allow_zero: bool = False) -> int:
        return to_units(amount, self, allow_zero=allow_zero)


@dataclass(frozen=True)
class Money:
    """An exact decimal amount in a currency (by symbol)."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        given: object = self.amount  # callers may pass text or int; never a float
        if isinstance(given, float):
            raise InvalidAmountType("Money amounts must be Decimal, not float (floats are inexact)")
        if not isinstance(given, Decimal):
            object.__setattr__(self, "amount", parse_decimal(given))  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{format_decimal(self.amount)} {self.currency}"

    def to_json(self) -> dict[str, str]:
        return {"amount": format_decimal(self.amount), "currency": self.currency}


def parse_decimal(value: Decimal | str | int) -> Decimal:
    """A Decimal from text or an int; floats and garbage raise InvalidInput (a ValueError;
    InvalidAmountType, also a TypeError, for a float)."""
    if isinstance(value, float) or isinstance(value, bool):
        raise InvalidAmountType("amounts must be Decimal or text, not float (floats are "
                                "inexact)", "amount")
    if isinstance(value, Decimal):
        result = value
    else:
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise InvalidInput(f"not a number: {value!r} (write it like 12.50)", "amount") from None
    if not result.is_finite():
        raise InvalidInput(f"not a finite amount: {value!r}", "amount")
    return result


def to_units(
    amount: Money | Decimal | str | int, currency: CurrencyInfo, *, allow_zero: bool = False
) -> int:
    """Smallest units of `amount` in `currency`; rejects negative, zero and over-precise values."""
    if isinstance(amount, Money):
        if amount.currency.lower() != currency.symbol.lower():
            raise InvalidInput(f"amount is in {amount.currency}, expected {currency.symbol}",
                               "amount")
        value = amount.amount
    else:
        value = parse_decimal(amount)
    if value < 0:
        raise InvalidInput(f"amount must not be negative, got {format_decimal(value)}", "amount")
    if value == 0 and not allow_zero:
        raise InvalidInput("amount must be greater than zero", "amount")
    scaled = value.scaleb(currency.decimals)
    if scaled != scaled.to_integral_value():
        raise InvalidInput(
            f"{format_decimal(value)} {currency.symbol} has more than {currency.decimals} "
            f"decimal places ({currency.symbol} has {currency.decimals})", "amount"
        )
    units = int(scaled)
    if units > MAX_UNITS:
        raise InvalidInput(f"amount {format_decimal(value)} {currency.symbol} is too large",
                           "amount")
    return units


def from_units(units: int, currency: CurrencyInfo) -> Money:
    """The Money for `units` smallest units of `currency` (exact)."""
    return Money(Decimal(int(units)).scaleb(-currency.decimals), currency.symbol)


def format_decimal(value: Decimal) -> str:
    """Plain notation without exponent or trailing zeros beyond two places ("12.50", "0.001")."""
    text = format(value.normalize(), "f") if value != 0 else "0"
    if "." not in text:
        return text
    whole, frac = text.split(".")
    return f"{whole}.{frac.ljust(2, '0')}"


ETH = CurrencyInfo(id=0, symbol="ETH", decimals=ETH_DECIMALS, token=None)


class UnknownCurrency(InvalidInput):
    """No listed currency answers to that id, symbol or token address."""


def find_currency(currencies: Iterable[CurrencyInfo], ref: int | str | None) -> CurrencyInfo:
    """The currency `ref` names among `currencies` (ETH is always there): an id (int or
    decimal text), a symbol ("ETH", "tUSD"; any case) or a token address (any case). The one
    rule for every caller: SDK, CLI and web app."""
    if ref is None or (isinstance(ref, str) and not ref.strip()):
        raise UnknownCurrency("give a currency: ETH, a token symbol, id or token address",
                              "currency")
    listed = [ETH, *(c for c in currencies if c.id != ETH.id)]
    if isinstance(ref, bool):
        raise UnknownCurrency(f"unknown currency {ref!r}", "currency")
    if isinstance(ref, int) or ref.strip().isdigit():
        wanted = int(ref)
        for info in listed:
            if info.id == wanted:
                return info
        raise UnknownCurrency(f"unknown currency id {wanted}", "currency")
    text = ref.strip().lower()
    for info in listed:
        if info.symbol.lower() == text or (info.token or "").lower() == text:
            return info
    raise UnknownCurrency(f"unknown currency {ref!r}: use ETH or an allow-listed token symbol "
                          "or address", "currency")
