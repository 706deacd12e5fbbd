"""Unsigned transactions for a browser wallet: the server builds, the wallet signs and sends.

`build_tx(client, "split", sender, id, units, to)` simulates the call from `sender` (so a revert
comes back as the contract's named error, before the wallet opens), estimates gas and returns
`{"to", "data", "value", "chainId", "from", "gas"}` with integers as 0x-hex, as EIP-1193
`eth_sendTransaction` takes them. Nothing here holds or uses a key.
"""

from __future__ import annotations

from typing import Any

from web3.exceptions import ContractLogicError, Web3RPCError

from giftcert.client import ERC20_ABI, MAX_UINT256, GiftCert
from giftcert.errors import ContractRevert, UnknownRevert
from giftcert.transactions import revert_from

GAS_MARGIN_PERCENT = 20  # wallets replace our estimate anyway; a margin avoids out-of-gas


def _encode(fn: Any) -> str:
    data = fn._encode_transaction_data()
    return data if isinstance(data, str) else "0x" + bytes(data).hex()


def _estimate(fn: Any, sender: str, value: int) -> int:
    try:
        gas = fn.estimate_gas({"from": sender, "value": value})
    except ContractLogicError as exc:
        raise revert_from(getattr(fn, "contract_abi", None) or fn.abi, exc) from None
    except (ValueError, Web3RPCError) as exc:  # e.g. insufficient funds: the node says why
        raise UnknownRevert({"message": str(exc)}) from None
    return gas * (100 + GAS_MARGIN_PERCENT) // 100


def tx_for(client: GiftCert, fn: Any, sender: str, value: int = 0) -> dict[str, Any]:
    """Simulates `fn` from `sender` and returns the unsigned transaction for the wallet."""
    gas = _estimate(fn, sender, value)
    gas_price = client.w3.eth.gas_price
    return {
        "from": sender,
        "to": fn.address,
        "data": _encode(fn),
        "value": hex(value),
        "chainId": hex(client.chain_id),
        "gas": hex(gas),
        "estimatedFee": str(gas * gas_price),  # wei, for showing before the wallet opens
    }


def build_tx(client: GiftCert, operation: str, sender: str, *args: Any,
             value: int = 0) -> dict[str, Any]:
    """The unsigned transaction calling contract function `operation(*args)` from `sender`."""
    fn = getattr(client.contract.functions, operation)(*args)
    return tx_for(client, fn, sender, value)


def approval_needed(client: GiftCert, currency: int, owner: str, units: int) -> bool:
    """Whether `owner` must approve the contract for `units` of an ERC-20 currency first."""
    info = client.currency(currency)
    if info.token is None:
        return False
    token = client.w3.eth.contract(address=info.token, abi=ERC20_ABI)
    return token.functions.allowance(owner, client.address).call() < units


def build_approve(client: GiftCert, currency: int, owner: str) -> dict[str, Any]:
    """The ERC-20 approve transaction that lets the contract take `owner`'s tokens."""
    info = client.currency(currency)
    token = client.w3.eth.contract(address=info.token, abi=ERC20_ABI)
    return tx_for(client, token.functions.approve(client.address, MAX_UINT256), owner)


def token_balance(client: GiftCert, currency: int, owner: str) -> int:
    info = client.currency(currency)
    if info.token is None:
        return client.w3.eth.get_balance(owner)
    token = client.w3.eth.contract(address=info.token, abi=ERC20_ABI)
    return token.functions.balanceOf(owner).call()


__all__ = ["ContractRevert", "approval_needed", "build_approve", "build_tx", "tx_for",
           "token_balance"]
