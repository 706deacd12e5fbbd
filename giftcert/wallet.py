"""Deprecated: unsigned transactions by contract function name. Use `giftcert.calls` instead:

    client.acting_as(sender).calls.split(cert_id, amount, to).unsigned()
    client.acting_as(sender).calls.approve(currency).unsigned()
    client.acting_as(sender).calls.approval_needed(currency, units)
    client.balance_of(owner, currency)

These functions stay until the web app has switched (they now go through the same
`PreparedCall.unsigned()`); nothing here holds or uses a key.
"""

from __future__ import annotations

from typing import Any

from giftcert.calls import PreparedCall
from giftcert.client import GiftCert
from giftcert.errors import ContractRevert
from giftcert.inputs import checksum
from giftcert.transactions import GAS_MARGIN_PERCENT, call


def tx_for(client: GiftCert, fn: Any, sender: str, value: int = 0) -> dict[str, Any]:
    """Deprecated: `PreparedCall.unsigned()`. Simulates web3 function `fn` from `sender` and
    returns the unsigned transaction for the wallet."""
    contract = client.w3.eth.contract(address=fn.address, abi=fn.contract_abi)
    prepared: PreparedCall[Any] = client.acting_as(sender).calls.prepare(
        fn.fn_name, *fn.args, value=value, contract=contract)
    return prepared.unsigned()


def build_tx(client: GiftCert, operation: str, sender: str, *args: Any,
             value: int = 0) -> dict[str, Any]:
    """Deprecated: `client.acting_as(sender).calls.<operation>(...).unsigned()`. The unsigned
    transaction calling contract function `operation(*args)` from `sender`."""
    prepared: PreparedCall[Any] = client.acting_as(sender).calls.prepare(operation, *args,
                                                                         value=value)
    return prepared.unsigned()


def approval_needed(client: GiftCert, currency: int, owner: str, units: int) -> bool:
    """Deprecated: `client.acting_as(owner).calls.approval_needed(currency, units)`."""
    return client.acting_as(owner).calls.approval_needed(currency, units)


def build_approve(client: GiftCert, currency: int, owner: str) -> dict[str, Any]:
    """Deprecated: `client.acting_as(owner).calls.approve(currency).unsigned()`."""
    return client.acting_as(owner).calls.approve(currency).unsigned()


def token_balance(client: GiftCert, currency: int, owner: str) -> int:
    """Deprecated: `client.balance_of(owner, currency)` (Money). Smallest units."""
    info = client.currency(currency)
    if info.token is None:
        return int(client.w3.eth.get_balance(checksum(owner, "owner")))
    return int(call(client.token(info.id).functions.balanceOf(owner)))


__all__ = ["GAS_MARGIN_PERCENT", "ContractRevert", "approval_needed", "build_approve",
           "build_tx", "token_balance", "tx_for"]
