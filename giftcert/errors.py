"""Contract reverts as Python exceptions named after the contract's custom errors.

`decode_revert(abi, data)` turns revert data into an instance of a subclass of `ContractRevert`
whose class name is the Solidity error name (``InsufficientBalance``), with the error's arguments
by name in ``.args_by_name``. Standard ``Error(string)`` and ``Panic(uint256)`` are decoded too.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address


class ContractRevert(Exception):
    """A transaction or call reverted; subclasses are named after the contract's errors."""

    error_name = "ContractRevert"

    def __init__(self, args_by_name: dict[str, Any] | None = None, raw: bytes = b""):
        self.args_by_name = args_by_name or {}
        self.raw = raw
        shown = ", ".join(f"{k}={v}" for k, v in self.args_by_name.items())
        super().__init__(f"{self.error_name}({shown})")


class UnknownRevert(ContractRevert):
    error_name = "UnknownRevert"


_classes: dict[str, type[ContractRevert]] = {}


def revert_class(name: str) -> type[ContractRevert]:
    """The exception class for the contract error `name` (created once, shared everywhere)."""
    if name not in _classes:
        _classes[name] = type(name, (ContractRevert,), {"error_name": name})
    return _classes[name]


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return param["type"]


_BUILTIN_ERRORS = [
    {"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]},
    {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
]


@lru_cache(maxsize=32)
def _selectors(abi_key: str, abi_json: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]):
    table = {}
    for name, params in abi_json:
        signature = f"{name}({','.join(t for _, t in params)})"
        table[function_signature_to_4byte_selector(signature)] = (name, params)
    return table


def _error_table(abi: list[dict[str, Any]]):
    entries = tuple(
        (e["name"], tuple((p.get("name", ""), _abi_type(p)) for p in e.get("inputs", [])))
        for e in [*abi, *_BUILTIN_ERRORS]
        if e.get("type") == "error"
    )
    return _selectors(str(hash(entries)), entries)


def _normalise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
    return value


def decode_revert(abi: list[dict[str, Any]], data: bytes | str | None) -> ContractRevert:
    """Decodes revert `data` against the errors in `abi`."""
    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x"))
    data = data or b""
    entry = _error_table(abi).get(data[:4])
    if entry is None:
        return UnknownRevert({"data": "0x" + data.hex()}, data)
    name, params = entry
    values = decode([t for _, t in params], data[4:]) if params else ()
    args = {
        pname or f"arg{i}": _normalise(v)
        for i, ((pname, _), v) in enumerate(zip(params, values, strict=True))
    }
    return revert_class(name)(args, data)
