"""Every transaction the site builds for a browser wallet, one thin function per operation:
`(client, sender, *arguments) -> unsigned transaction` (simulated from `sender` first; a revert
raises the contract's named error). Nothing else in webapp/ names a contract function.

Each is one call to `giftcert.wallet.build_tx` today; with the SDK's prepared calls each body
becomes `client.acting_as(sender).calls.<operation>(...).unsigned()`, one line each (the
argument lists already follow the contract's, which the prepared calls take as well)."""

from __future__ import annotations

from typing import Any

from giftcert.client import GiftCert
from giftcert.wallet import approval_needed, build_approve, build_tx

Tx = dict[str, Any]
# merchant, currency, occasion, validFrom, expiry, serial
Terms = tuple[int, int, int, int, int, int]


# -- buying ------------------------------------------------------------------------------------

def issue(client: GiftCert, sender: str, to: str, terms: Terms, units: int, message: str,
          value: int) -> Tx:
    return build_tx(client, "issue", sender, to, terms, units, message, value=value)


def issue_claim_link(client: GiftCert, sender: str, claim_key: str, terms: Terms, units: int,
                     deadline: int, message: str, value: int) -> Tx:
    return build_tx(client, "issueClaimable", sender, claim_key, terms, units, deadline,
                    message, value=value)


def issue_batch(client: GiftCert, sender: str, recipients: list[str], amounts: list[int],
                terms: Terms, message: str, value: int) -> Tx:
    return build_tx(client, "issueBatch", sender, recipients, amounts, terms, message,
                    value=value)


def top_up(client: GiftCert, sender: str, certificate: int, units: int, value: int) -> Tx:
    return build_tx(client, "topUp", sender, certificate, units, value=value)


def needs_approval(client: GiftCert, sender: str, currency: int, units: int) -> bool:
    """Whether an ERC-20 payment of `units` needs an approve first."""
    return approval_needed(client, currency, sender, units)


def approve(client: GiftCert, sender: str, currency: int) -> Tx:
    """The ERC-20 approve that lets the contract take the sender's tokens."""
    return build_approve(client, currency, sender)


# -- holding -----------------------------------------------------------------------------------

def transfer(client: GiftCert, sender: str, certificate: int, to: str) -> Tx:
    return build_tx(client, "safeTransferFrom", sender, sender, to, certificate, 1, b"")


def split(client: GiftCert, sender: str, certificate: int, units: int, to: str) -> Tx:
    return build_tx(client, "split", sender, certificate, units, to)


def merge(client: GiftCert, sender: str, certificate: int, into: int) -> Tx:
    return build_tx(client, "merge", sender, certificate, into)


def claim(client: GiftCert, sender: str, certificate: int, recipient: str,
          signature: bytes) -> Tx:
    return build_tx(client, "claim", sender, certificate, recipient, signature)


def reclaim(client: GiftCert, sender: str, certificate: int) -> Tx:
    return build_tx(client, "reclaim", sender, certificate)


def cash_out(client: GiftCert, sender: str, certificate: int) -> Tx:
    return build_tx(client, "cashOut", sender, certificate)


def refund(client: GiftCert, sender: str, certificate: int, buyer: str) -> Tx:
    return build_tx(client, "refund", sender, certificate, buyer)


# -- paying ------------------------------------------------------------------------------------

def redeem(client: GiftCert, sender: str, certificate: int, units: int, order_ref: int) -> Tx:
    return build_tx(client, "redeem", sender, certificate, units, order_ref)


def redeem_with_authorization(client: GiftCert, sender: str, auth: tuple[int, ...],
                              signature: bytes) -> Tx:
    return build_tx(client, "redeemWithAuthorization", sender, auth, signature)


def settle_batch(client: GiftCert, sender: str, merchant: int, auths: list[tuple[int, ...]],
                 signatures: list[bytes]) -> Tx:
    """Never all-or-nothing: every valid item is settled, each refused one is reported."""
    return build_tx(client, "settleBatch", sender, merchant, auths, signatures, False)


# -- merchants ---------------------------------------------------------------------------------

def void(client: GiftCert, sender: str, certificate: int) -> Tx:
    return build_tx(client, "void", sender, certificate)


def withdraw(client: GiftCert, sender: str, merchant: int, currency: int) -> Tx:
    return build_tx(client, "withdrawMerchant", sender, merchant, currency)


def set_cash_out_limit(client: GiftCert, sender: str, merchant: int, currency: int,
                       units: int) -> Tx:
    return build_tx(client, "setCashOutLimit", sender, merchant, currency, units)


# -- administration ----------------------------------------------------------------------------

def register_merchant(client: GiftCert, sender: str, account: str, name: str) -> Tx:
    return build_tx(client, "registerMerchant", sender, account, name)


def set_merchant_active(client: GiftCert, sender: str, merchant: int, active: bool) -> Tx:
    return build_tx(client, "setMerchantActive", sender, merchant, active)


def allow_currency(client: GiftCert, sender: str, token: str) -> Tx:
    return build_tx(client, "allowCurrency", sender, token)


def set_currency_allowed(client: GiftCert, sender: str, currency: int, allowed: bool) -> Tx:
    return build_tx(client, "setCurrencyAllowed", sender, currency, allowed)


def set_min_validity(client: GiftCert, sender: str, seconds: int) -> Tx:
    return build_tx(client, "setMinValidity", sender, seconds)


def pause(client: GiftCert, sender: str) -> Tx:
    return build_tx(client, "pause", sender)


def unpause(client: GiftCert, sender: str) -> Tx:
    return build_tx(client, "unpause", sender)
