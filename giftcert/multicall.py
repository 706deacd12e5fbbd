"""Several contract reads in one node call, and the chain's clock cached per block.

A hosted node bills per call and adds 50-100 ms to each, so a page that needs five views should
not make five calls. `read_many(w3, calls, multicall=...)` runs view calls (any contract's, each
described by a `View`) in one `eth_call` to Multicall3 (`aggregate3`, deployed at
`MULTICALL3_ADDRESS` on most public chains, by `giftcert deploy` on the dev chain), with the
block's number and time read in the same call; without a Multicall3 it sends them as one
JSON-RPC batch (one HTTP round trip; the node still counts each call). A view that reverts comes
back as the contract's named error (giftcert.errors), raised by `Read.value`.

`ChainClock` holds the latest block seen (number, time) for `ttl` seconds: the clock a web process
judges expiry by, refreshed for free by every multicall and otherwise by one
`eth_getBlockByNumber` when stale. ttl 0 (the SDK's default) reads the node every time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from web3 import Web3
from web3.types import RPCEndpoint

from giftcert.errors import ContractRevert, NodeError, decode_revert
from giftcert.transactions import Views, _checksummed, node_errors

MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11"
_AGGREGATE3 = function_signature_to_4byte_selector("aggregate3((address,bool,bytes)[])")
_BLOCK_NUMBER = function_signature_to_4byte_selector("getBlockNumber()")
_TIMESTAMP = function_signature_to_4byte_selector("getCurrentBlockTimestamp()")

__all__ = ["MULTICALL3_ADDRESS", "ChainClock", "Read", "View", "read_many"]


@dataclass(frozen=True)
class View:
    """One view call: `name(*args)` of the contract behind `views` (a `Views`)."""

    views: Views
    name: str
    args: tuple[Any, ...] = ()

    @property
    def target(self) -> str:
        return str(self.views._contract.address)

    def calldata(self) -> bytes:
        selector, inputs, _, _ = self.views._spec(self.name)
        return bytes(selector) + abi_encode(inputs, self.args)

    def decode(self, raw: bytes) -> Any:
        _, _, outputs, kinds = self.views._spec(self.name)
        values = [_checksummed(k, v) for k, v in zip(kinds, abi_decode(outputs, raw),
                                                    strict=True)]
        return values[0] if len(values) == 1 else values

    def revert(self, data: bytes | str | None) -> ContractRevert:
        return decode_revert(self.views._contract.abi, data)


@dataclass(frozen=True)
class Read:
    """A view's outcome: its value, or the contract error it reverted with."""

    result: Any = None
    error: ContractRevert | None = None

    @property
    def value(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class ChainClock:
    """The latest block's number and time, trusted for `ttl` seconds (0: never cached)."""

    def __init__(self, ttl: float = 0.0) -> None:
        self.ttl = ttl
        self._seen: tuple[int, int, float] | None = None  # number, timestamp, monotonic
        self._lock = threading.Lock()

    def observe(self, number: int, timestamp: int) -> None:
        """A block read just now (a newer one wins over an older one read concurrently)."""
        with self._lock:
            if self._seen is None or number >= self._seen[0] or self._stale():
                self._seen = (int(number), int(timestamp), time.monotonic())

    def _stale(self) -> bool:
        return self._seen is None or time.monotonic() - self._seen[2] > self.ttl

    def fresh(self) -> tuple[int, int] | None:
        """(number, timestamp) when read within `ttl`, else None."""
        seen = self._seen
        if seen is None or self.ttl <= 0 or time.monotonic() - seen[2] > self.ttl:
            return None
        return seen[0], seen[1]

    def forget(self) -> None:
        self._seen = None

    def latest(self, w3: Web3) -> tuple[int, int]:
        """(number, timestamp) of the latest block: cached, else one node call."""
        cached = self.fresh()
        if cached is not None:
            return cached
        with node_errors("reading the latest block"):
            block = w3.eth.get_block("latest")
        number, stamp = int(block["number"]), int(block["timestamp"])
        self.observe(number, stamp)
        return number, stamp


def read_many(w3: Web3, calls: Sequence[View], *, multicall: str | None = None,
              clock: ChainClock | None = None, block: int | str = "latest") -> list[Read]:
    """Runs `calls` in one node call (Multicall3 at `multicall`, else one JSON-RPC batch) at
    `block` (a number reads the chain as it was then) and tells `clock` the block they were
    read at. Results are in the order of `calls`."""
    if multicall:
        return _aggregate(w3, calls, multicall, clock, block)
    return _batch(w3, calls, clock, block)


def _block_param(block: int | str) -> str:
    return block if isinstance(block, str) else hex(block)


def _aggregate(w3: Web3, calls: Sequence[View], multicall: str,
               clock: ChainClock | None, block: int | str = "latest") -> list[Read]:
    address = to_checksum_address(multicall)
    items = [(to_checksum_address(c.target), True, c.calldata()) for c in calls]
    items += [(address, False, _BLOCK_NUMBER), (address, False, _TIMESTAMP)]
    data = _AGGREGATE3 + abi_encode(["(address,bool,bytes)[]"], [items])
    with node_errors(f"reading {', '.join(sorted({c.name for c in calls})) or 'the block'}"):
        raw = w3.eth.call({"to": address, "data": data}, cast(Any, block))
    (results,) = abi_decode(["(bool,bytes)[]"], bytes(raw))
    *answers, (_, number), (_, stamp) = results
    if clock is not None:
        clock.observe(abi_decode(["uint256"], number)[0], abi_decode(["uint256"], stamp)[0])
    return [Read(call.decode(out)) if ok else Read(error=call.revert(out))
            for call, (ok, out) in zip(calls, answers, strict=True)]


def _batch(w3: Web3, calls: Sequence[View], clock: ChainClock | None,
           block: int | str = "latest") -> list[Read]:
    at = _block_param(block)
    requests: list[tuple[RPCEndpoint, Any]] = [
        (RPCEndpoint("eth_call"), [{"to": c.target, "data": "0x" + c.calldata().hex()},
                                   at]) for c in calls]
    if clock is not None:
        requests.append((RPCEndpoint("eth_getBlockByNumber"), [at, False]))
    replies: Any
    with node_errors("reading the chain"):
        if len(requests) == 1:
            replies = [cast(Any, w3.provider).make_request(*requests[0])]
        else:
            replies = cast(Any, w3.provider).make_batch_request(requests)
    if isinstance(replies, dict):  # the node refused the whole batch
        raise NodeError(f"the Ethereum node refused a batch of reads: {replies.get('error')}")
    by_id = sorted(replies, key=lambda r: int(r.get("id", 0)))
    if clock is not None:
        header = by_id.pop()
        if header.get("result"):
            clock.observe(int(header["result"]["number"], 16),
                          int(header["result"]["timestamp"], 16))
    out = []
    for call, reply in zip(calls, by_id, strict=True):
        if "error" in reply:
            error = reply["error"] or {}
            data = error.get("data")
            if isinstance(data, dict):
                data = data.get("data")
            if not (isinstance(data, str) and data.startswith("0x")):
                raise NodeError(f"the Ethereum node refused reading {call.name}: "
                                f"{error.get('message', error)}")
            out.append(Read(error=call.revert(data)))
        else:
            out.append(Read(call.decode(bytes.fromhex(str(reply["result"])[2:]))))
    return out
