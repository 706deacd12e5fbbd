"""What a validated reference names, found in the app's cached chain data: a currency, a
merchant, a certificate. Unknown is a 4xx naming the field (the API and the pages share these).
"""

from __future__ import annotations

from typing import Any

from giftcert.client import Certificate, Merchant
from giftcert.errors import ContractRevert, InvalidInput
from giftcert.money import CurrencyInfo, find_currency
from webapp.errors import ApiError, bad
from webapp.present import state


def currency_arg(value: int | str | None, field: str = "currency") -> CurrencyInfo:
    """A currency by id, symbol or token address (giftcert.money.find_currency; empty: ETH);
    unknown is a 400 naming `field`."""
    try:
        return find_currency(state().currencies(), 0 if value in (None, "") else value)
    except InvalidInput as exc:
        raise bad(f"{field}: {exc.message}", field) from None


def merchant_arg(merchant_id: int, field: str = "merchant", active: bool = False) -> Merchant:
    """A registered merchant (404 if none; 422 if `active` is asked and it is not)."""
    found = state().merchant(merchant_id)
    if found is None:
        raise ApiError(404, "no such merchant", field, "UnknownMerchant")
    if active and not found.active:
        raise ApiError(422, "the merchant is not active", field, "MerchantInactive")
    return found


def load_certificate(cert_id: int, field: str = "certificate") -> Certificate:
    """The chain's view of a certificate; an unknown id is a 404 naming `field`."""
    try:
        return state().client.certificate(cert_id)
    except ContractRevert as exc:
        if exc.error_name == "UnknownCertificate":
            raise ApiError(404, "no such certificate (or it was closed)", field,
                           "UnknownCertificate") from None
        raise


def live_certificate(cert_id: int, field: str = "certificate") -> Certificate:
    """A certificate that exists now (a closed one is a 404 too)."""
    cert = load_certificate(cert_id, field)
    if not cert.exists:
        raise ApiError(404, "no such certificate (or it was closed)", field, "UnknownCertificate")
    return cert


def certificate_or_none(cert_id: int) -> Any:
    """The certificate, or None when the chain knows no live one."""
    try:
        found = state().client.certificate(cert_id)
    except ContractRevert:
        return None
    return found if found.exists else None
