"""Sending contract transactions with decoded reverts: the one place the SDK talks to web3.

`send` works with an unlocked node account (anvil's dev accounts) or a local private key (any
network); either way a revert comes back as the contract's own error (see `giftcert.errors`).
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError
from web3.types import TxReceipt

from giftcert.errors import ContractRevert, UnknownRevert, decode_revert

RECEIPT_TIMEOUT = 120.0


class TransactionFailed(Exception):
    """A transaction was mined but reverted (no revert data could be recovered)."""


def _abi_of(fn: Any) -> list[dict[str, Any]]:
    return getattr(fn, "contract_abi", None) or fn.abi


def revert_from(abi: list[dict[str, Any]], exc: ContractLogicError) -> ContractRevert:
    """Turns web3's revert exception into the contract's named error."""
    data = exc.data
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return decode_revert(abi, data)
    return UnknownRevert({"message": exc.message or str(exc)})


def call(fn: ContractFunction, sender: str | None = None, block: Any = "latest") -> Any:
    """Runs a view or simulates a transaction, raising the contract's named error on revert."""
    try:
        return fn.call({"from": sender} if sender else {}, block_identifier=block)
    except ContractLogicError as exc:
        raise revert_from(_abi_of(fn), exc) from None


def send(
    w3: Web3,
    fn: ContractFunction | Any,
    sender: str,
    *,
    value: int = 0,
    private_key: str | bytes | None = None,
    gas: int | None = None,
) -> TxReceipt:
    """Sends `fn` from `sender` and waits for its receipt.

    The transaction is simulated first (gas estimate), so a revert is raised as the contract's
    error before anything is signed or broadcast; nothing is lost on bad input.
    """
    params: dict[str, Any] = {"from": sender, "value": value}
    try:
        params["gas"] = gas or fn.estimate_gas(params)
    except ContractLogicError as exc:
        raise revert_from(_abi_of(fn), exc) from None
    if private_key is None:
        tx_hash = fn.transact(params)
    else:
        params["nonce"] = w3.eth.get_transaction_count(sender, "pending")
        params["chainId"] = w3.eth.chain_id
        tx = fn.build_transaction(params)
        signed = Account.sign_transaction(tx, private_key)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, RECEIPT_TIMEOUT, poll_latency=0.02)
    if receipt["status"] != 1:
        raise _mined_revert(fn, params, receipt)
    return receipt


def _mined_revert(fn: Any, params: dict[str, Any], receipt: TxReceipt) -> Exception:
    """Why a mined transaction reverted: replays it before its block, then on the block's state
    (when an earlier transaction in the same block, e.g. a duplicate submission, made it fail)."""
    replay = {k: v for k, v in params.items() if k in ("from", "value", "gas")}
    for block in (receipt["blockNumber"] - 1, receipt["blockNumber"]):
        try:
            fn.call(replay, block_identifier=block)
        except ContractLogicError as exc:
            return revert_from(_abi_of(fn), exc)
        except Exception:  # noqa: BLE001 - the replay is best effort; the failure is certain
            break
    return TransactionFailed(f"transaction {receipt['transactionHash'].hex()} reverted")


def deploy(
    w3: Web3,
    abi: list[dict[str, Any]],
    bytecode: str,
    sender: str,
    *args: Any,
    private_key: str | bytes | None = None,
):
    """Deploys a contract and returns the web3 contract object at its address."""
    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    receipt = send(w3, factory.constructor(*args), sender, private_key=private_key)
    return w3.eth.contract(address=receipt["contractAddress"], abi=abi)
