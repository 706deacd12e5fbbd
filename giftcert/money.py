"""Exact amounts with their currency: `Money(Decimal("12.50"), "tUSD")`, never floats.

On chain an amount is an integer count of the currency's smallest unit (ETH: 18 decimals, an
ERC-20: whatever its `decimals()` says). `to_units` refuses what cannot be represented exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

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
        if isinstance(self.amount, float):
            raise TypeError("Money amounts must be Decimal, not float (floats are inexact)")
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", parse_decimal(self.amount))

    def __str__(self) -> str:
        return f"{format_decimal(self.amount)} {self.currency}"

    def to_json(self) -> dict[str, str]:
        return {"amount": format_decimal(self.amount), "currency": self.currency}


def parse_decimal(value: Decimal | str | int) -> Decimal:
    """A Decimal from text or an int; floats and garbage raise ValueError/TypeError."""
    if isinstance(value, float):
        raise TypeError("amounts must be Decimal or text, not float (floats are inexact)")
    if isinstance(value, Decimal):
        result = value
    else:
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r} (write it like 12.50)") from None
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return result


def to_units(
    amount: Money | Decimal | str | int, currency: CurrencyInfo, *, allow_zero: bool = False
) -> int:
    """Smallest units of `amount` in `currency`; rejects negative, zero and over-precise values."""
    if isinstance(amount, Money):
        if amount.currency.lower() != currency.symbol.lower():
            raise ValueError(f"amount is in {amount.currency}, expected {currency.symbol}")
        value = amount.amount
    else:
        value = parse_decimal(amount)
    if value < 0:
        raise ValueError(f"amount must not be negative, got {format_decimal(value)}")
    if value == 0 and not allow_zero:
        raise ValueError("amount must be greater than zero")
    scaled = value.scaleb(currency.decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(
            f"{format_decimal(value)} {currency.symbol} has more than {currency.decimals} "
            f"decimal places ({currency.symbol} has {currency.decimals})"
        )
    units = int(scaled)
    if units > MAX_UNITS:
        raise ValueError(f"amount {format_decimal(value)} {currency.symbol} is too large")
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
