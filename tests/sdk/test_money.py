from decimal import Decimal

import pytest

from giftcert.money import ETH, CurrencyInfo, Money, format_decimal, from_units, to_units

USD = CurrencyInfo(1, "tUSD", 6, "0x" + "11" * 20)


def test_round_trip_exact():
    assert to_units("12.50", USD) == 12_500_000
    assert to_units(Money(Decimal("12.50"), "tUSD"), USD) == 12_500_000
    assert from_units(12_500_000, USD) == Money(Decimal("12.5"), "tUSD")
    assert str(from_units(12_500_000, USD)) == "12.50 tUSD"
    assert to_units("0.01", ETH) == 10**16
    assert str(from_units(1, ETH)) == "0.000000000000000001 ETH"


@pytest.mark.parametrize("bad, message", [
    ("-1", "negative"), ("0", "greater than zero"), ("1.0000001", "more than 6 decimal"),
    ("abc", "not a number"), ("NaN", "not a finite"), ("1e40", "too large"),
])
def test_rejects_bad_amounts(bad, message):
    with pytest.raises(ValueError, match=message):
        to_units(bad, USD)


def test_rejects_floats_and_wrong_currency():
    with pytest.raises(TypeError):
        to_units(1.5, USD)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(1.5, "ETH")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected tUSD"):
        to_units(Money(Decimal(1), "ETH"), USD)
    assert to_units("0", USD, allow_zero=True) == 0


def test_format_decimal():
    assert format_decimal(Decimal("3")) == "3"
    assert format_decimal(Decimal("3.10")) == "3.10"
    assert format_decimal(Decimal("0.001")) == "0.001"
