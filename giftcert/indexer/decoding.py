"""Logs -> typed events, by the contract's ABI.

Everything about an event (its topic, which arguments are indexed, their types) comes from the
ABI, so a changed or added event needs no edit here. Values are made JSON-safe on the way in
(addresses checksummed, bytes as 0x-hex, arrays as lists) because the arguments are stored as
JSON and read back on a rebuild: decoding once here means a replay sees exactly what a first
sync saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from eth_abi import decode
from eth_typing import ABIEvent
from eth_utils import event_abi_to_log_topic, to_checksum_address

from giftcert.errors import decode_revert

# ERC-4906 wallet refresh hints: they carry nothing the index keeps, so they are not fetched.
WALLET_HINTS = frozenset({"MetadataUpdate", "BatchMetadataUpdate"})

Log = dict[str, Any]  # a log as `eth_getLogs` returns it (hex strings)


@dataclass(frozen=True)
class EventSpec:
    """How to decode one event: its indexed arguments (topics) and the ABI types of its data."""

    name: str
    indexed: list[tuple[str, str]]
    data_names: list[str]
    data_types: list[str]


@dataclass
class Event:
    """A decoded log: what the projection applies and the activity table stores."""

    name: str
    block: int
    tx_hash: str
    log_index: int
    timestamp: int
    args: dict[str, Any]


def event_specs(abi: list[dict[str, Any]]) -> dict[str, EventSpec]:
    """topic0 (0x-hex) -> how to decode that event, for every non-anonymous event of `abi`."""
    specs = {}
    for entry in abi:
        if entry.get("type") != "event" or entry.get("anonymous"):
            continue
        inputs = entry["inputs"]
        topic = "0x" + event_abi_to_log_topic(cast(ABIEvent, entry)).hex()
        specs[topic] = EventSpec(
            entry["name"],
            [(i["name"], i["type"]) for i in inputs if i["indexed"]],
            [i["name"] for i in inputs if not i["indexed"]],
            [i["type"] for i in inputs if not i["indexed"]],
        )
    return specs


def _topic_value(kind: str, topic: str) -> Any:
    if kind == "address":
        return to_checksum_address("0x" + topic[-40:])
    if kind == "bool":
        return int(topic, 16) != 0
    return int(topic, 16)


def _normalise(kind: str, value: Any) -> Any:
    if kind == "address":
        return to_checksum_address(value)
    if kind.endswith("[]"):
        return list(value)
    if isinstance(value, bytes):  # bytes / bytesN: kept as 0x-hex text (JSON-safe)
        return "0x" + value.hex()
    return value


def decode_log(spec: EventSpec, log: Log, timestamp: int) -> Event:
    """One log decoded by `spec`; `timestamp` is its block's (logs may not carry it)."""
    args = {name: _topic_value(kind, topic)
            for (name, kind), topic in zip(spec.indexed, log["topics"][1:], strict=True)}
    if spec.data_types:
        values = decode(spec.data_types, bytes.fromhex(log["data"][2:]))
        kinds = zip(spec.data_names, spec.data_types, values, strict=True)
        args.update({name: _normalise(kind, v) for name, kind, v in kinds})
    return Event(spec.name, int(log["blockNumber"], 16), log["transactionHash"],
                 int(log["logIndex"], 16), timestamp, args)


class LogDecoder:
    """Decodes one contract's logs: which topics to ask the node for, and each log's event."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self.abi = abi
        self.specs = event_specs(abi)

    @property
    def topics(self) -> list[str]:
        """topic0 of every event the index keeps (the `eth_getLogs` filter)."""
        return [t for t, s in self.specs.items() if s.name not in WALLET_HINTS]

    def decode(self, log: Log, timestamp: int) -> Event:
        """The event of `log`; a refused batch item also gets its reason's error name and
        arguments (the event carries only the raw revert data)."""
        ev = decode_log(self.specs[log["topics"][0]], log, timestamp)
        if ev.name == "RedemptionRefused":
            reason = decode_revert(self.abi, ev.args["reason"])
            ev.args["error"] = reason.error_name
            ev.args["details"] = {k: str(v) for k, v in reason.args_by_name.items()}
        return ev
