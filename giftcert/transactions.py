"""Sending contract transactions with decoded reverts: the one place the SDK talks to web3.

`send` works with an unlocked node account (anvil's dev accounts) or a local private key (any
network); either way a revert comes back as the contract's own error (see `giftcert.errors`),
a node that refuses as `NodeError` and one that does not answer as `NodeUnreachable`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import requests
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.grammar import ABIType, TupleType, parse
from eth_account import Account
from eth_utils import function_abi_to_4byte_selector, to_checksum_address
from eth_utils.abi import collapse_if_tuple
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError
from web3.types import TxParams, TxReceipt

from giftcert.errors import (
    ContractRevert,
    InvalidInput,
    NodeError,
    NodeUnreachable,
    TransactionFailed,
    UnknownRevert,
    decode_revert,
)

RECEIPT_TIMEOUT = 120.0
GAS_MARGIN_PERCENT = 20  # unsigned transactions: wallets replace it anyway; avoids out-of-gas

__all__ = ["TransactionFailed", "Views", "call", "deploy", "estimate_gas", "node_errors",
           "revert_from", "send"]


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


@contextmanager
def node_errors(what: str = "the request") -> Iterator[None]:
    """Turns the node's own refusals and connection failures into NodeError/NodeUnreachable
    (contract reverts pass through: callers decode them with the ABI they know)."""
    try:
        yield
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise NodeUnreachable(f"no answer from the Ethereum node for {what}: {exc}") from None
    except Web3RPCError as exc:
        raise NodeError(f"the Ethereum node refused {what}: {exc.message or exc}") from None
    except TimeExhausted as exc:
        raise NodeError(f"the Ethereum node gave no result for {what}: {exc}") from None


def call(fn: ContractFunction, sender: str | None = None, block: Any = "latest", *,
         value: int = 0) -> Any:
    """Runs a view or simulates a transaction, raising the contract's named error on revert."""
    params: dict[str, Any] = {"from": sender} if sender else {}
    if value:
        params["value"] = value
    try:
        with node_errors(f"calling {fn.fn_name}"):
            return fn.call(cast(TxParams, params), block_identifier=block)
    except ContractLogicError as exc:
        raise revert_from(_abi_of(fn), exc) from None


def estimate_gas(fn: Any, sender: str, value: int = 0, *,
                 margin_percent: int = GAS_MARGIN_PERCENT) -> int:
    """Simulates `fn` from `sender` and returns its gas estimate plus `margin_percent`. A revert
    is the contract's named error; a node that refuses to simulate (e.g. insufficient funds for
    the value) gives an UnknownRevert with its message, since the transaction would fail."""
    try:
        gas = fn.estimate_gas({"from": sender, "value": value})
    except ContractLogicError as exc:
        raise revert_from(_abi_of(fn), exc) from None
    except (Web3RPCError, ValueError) as exc:  # e.g. insufficient funds: the node says why
        raise UnknownRevert({"message": str(exc)}) from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise NodeUnreachable(f"no answer from the Ethereum node: {exc}") from None
    return int(gas) * (100 + margin_percent) // 100


def _checksummed(kind: ABIType, value: Any) -> Any:
    """web3's return normalisation, with public eth_abi types: every address checksummed,
    containers kept as eth_abi made them (tuples)."""
    if kind.is_array:
        item = kind.item_type
        return type(value)(_checksummed(item, v) for v in value)
    if isinstance(kind, TupleType):
        return tuple(_checksummed(c, v) for c, v in zip(kind.components, value, strict=True))
    if getattr(kind, "base", None) == "address":
        return to_checksum_address(value)
    return value


class Views:
    """A contract's view functions by name, called without web3's per-call ABI matching.

    `contract.functions.x(...).call()` hashes the signature of every function in the ABI to
    find `x` on each call: 3 of the 5 ms a view took in the web server (cProfile). Here each
    name is looked up once; encoding, the revert decoding and web3's return normalisation
    (checksummed addresses) stay the same.
    """

    def __init__(self, contract: Any) -> None:
        self._contract = contract
        self._specs: dict[str, tuple[bytes, list[str], list[str], list[ABIType]]] = {}

    def _spec(self, name: str) -> tuple[bytes, list[str], list[str], list[ABIType]]:
        if name not in self._specs:
            matches = [f for f in self._contract.abi
                       if f.get("type") == "function" and f.get("name") == name]
            if len(matches) != 1:
                raise InvalidInput(f"{name!r} is not one view function of the contract")
            fn = matches[0]
            outputs = [collapse_if_tuple(o) for o in fn["outputs"]]
            self._specs[name] = (function_abi_to_4byte_selector(fn),
                                 [collapse_if_tuple(i) for i in fn["inputs"]],
                                 outputs, [parse(o) for o in outputs])
        return self._specs[name]

    def __call__(self, name: str, *args: Any, block: Any = "latest") -> Any:
        selector, inputs, outputs, kinds = self._spec(name)
        request = {"to": self._contract.address, "data": selector + abi_encode(inputs, args)}
        try:
            with node_errors(f"reading {name}"):
                raw = self._contract.w3.eth.call(request, block)
        except ContractLogicError as exc:
            raise revert_from(self._contract.abi, exc) from None
        values = [_checksummed(k, v)
                  for k, v in zip(kinds, abi_decode(outputs, raw), strict=True)]
        return values[0] if len(values) == 1 else values  # several outputs: a list, as web3


class _SendLocks:
    """One lock per (node URL, account): from reading the account's nonce to the node having the
    transaction, a send holds it, so threads sending from one account never take the same
    nonce. Nothing else is remembered, so a snapshot revert or a send that failed leaves no
    stale counter behind."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[Any, str], threading.Lock] = {}

    def __call__(self, w3: Web3, sender: str) -> threading.Lock:
        node = getattr(w3.provider, "endpoint_uri", None) or id(w3.provider)
        with self._guard:
            return self._locks.setdefault((node, sender.lower()), threading.Lock())


_send_lock = _SendLocks()


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
    name = getattr(fn, "fn_name", None) or "the deployment"
    try:
        with node_errors(f"simulating {name}"):
            params["gas"] = gas or fn.estimate_gas(cast(TxParams, params))
    except ContractLogicError as exc:
        raise revert_from(_abi_of(fn), exc) from None
    with node_errors(f"sending {name} from {sender}"):
        with _send_lock(w3, sender):
            params["nonce"] = w3.eth.get_transaction_count(to_checksum_address(sender),
                                                           "pending")
            if private_key is None:
                tx_hash = fn.transact(cast(TxParams, params))
            else:
                params["chainId"] = w3.eth.chain_id
                built = fn.build_transaction(cast(TxParams, params))
                signed = Account.sign_transaction(cast(dict[str, Any], built), private_key)
                tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, RECEIPT_TIMEOUT,
                                                      poll_latency=0.02)
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
) -> Any:
    """Deploys a contract and returns the web3 contract object at its address."""
    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    receipt = send(w3, factory.constructor(*args), sender, private_key=private_key)
    return w3.eth.contract(address=receipt["contractAddress"], abi=abi)
