"""Event indexer: follows GiftCertificates' events into a SQL database (SQLAlchemy Core).

Logs are fetched in block ranges with `eth_getLogs`, decoded with the ABI and applied in one
database transaction per range together with the cursor (last block and its hash), so a crash
never applies a range twice and a restart resumes where the last commit left off. The hashes
of recent blocks are kept; when the chain no longer has one of them (a reorganisation), every
row from blocks after the last common ancestor is deleted, the touched certificates are rebuilt
from their remaining history, and indexing continues from the ancestor.

A batch issue is one `IssuedBatch(firstId, buyer, amounts, message)` event for the ids
firstId .. firstId + n - 1: its activity row names firstId, and `batch_items` maps every id of
the batch to that row, so each certificate's history (and a rebuild) finds its issue. Refused
items of a batch settlement (`RedemptionRefused`) are kept as activity of their certificate with
the reason decoded (`reason` stays the raw hex, `error` is the contract error's name).

Order references are data of the `Redeemed` event only (the contract keeps no record of them),
so whether an order was paid is answered here: `order_paid`, `order_redemptions`.

Amounts and ids are stored as decimal text (ids are 256-bit; balances up to 88 bits), so any
database keeps them exact. Queries never touch the chain.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eth_abi import decode
from eth_utils import event_abi_to_log_topic, to_checksum_address
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from web3 import Web3

from giftcert.database import open_engine
from giftcert.errors import decode_revert
from giftcert.ids import decode_id

ZERO = "0x" + "00" * 20
REORG_WINDOW = 256  # block hashes kept for finding a common ancestor
Progress = Callable[[int, int, int], None]  # (block reached, head, events so far)

metadata = MetaData()

cursor_table = Table(
    "cursor", metadata,
    Column("id", Integer, primary_key=True),
    Column("contract", String(42), nullable=False),
    Column("block", Integer, nullable=False),
    Column("block_hash", String(66), nullable=False),
)
blocks_table = Table(
    "blocks", metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("hash", String(66), nullable=False),
)
activity_table = Table(
    "activity", metadata,
    Column("id", Integer, primary_key=True),
    Column("block", Integer, nullable=False, index=True),
    Column("tx_hash", String(66), nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("timestamp", Integer, nullable=False),
    Column("event", String(32), nullable=False),
    Column("certificate", String(78), index=True),
    Column("other", String(78), index=True),  # newId of a Split, intoId of a Merge
    Column("args", Text, nullable=False),
    UniqueConstraint("tx_hash", "log_index", name="uq_activity_log"),
)
certificates_table = Table(
    "certificates", metadata,
    Column("id", String(78), primary_key=True),
    Column("merchant", Integer, nullable=False, index=True),
    Column("currency", Integer, nullable=False),
    Column("occasion", Integer, nullable=False),
    Column("valid_from", Integer, nullable=False),
    Column("expiry", Integer, nullable=False),
    Column("buyer", String(42)),
    Column("owner", String(42), nullable=False),
    Column("balance", String(40), nullable=False),
    Column("issued", String(40), nullable=False),
    Column("awaiting_claim", Boolean, nullable=False),
    Column("burned", Boolean, nullable=False),
    Column("created_block", Integer, nullable=False),
    Column("updated_block", Integer, nullable=False),
    Index("ix_certificates_owner", "owner", "burned"),
)
holders_table = Table(
    "holders", metadata,
    Column("address", String(42), primary_key=True),
    Column("first_block", Integer, nullable=False, index=True),
)
redemptions_table = Table(
    "redemptions", metadata,
    Column("id", Integer, primary_key=True),
    Column("block", Integer, nullable=False, index=True),
    Column("tx_hash", String(66), nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("certificate", String(78), nullable=False, index=True),
    Column("merchant", Integer, nullable=False),
    Column("currency", Integer, nullable=False),
    Column("order_ref", String(78), nullable=False),
    Column("amount", String(40), nullable=False),
    Column("timestamp", Integer, nullable=False),
    Column("day", String(10), nullable=False),
    UniqueConstraint("tx_hash", "log_index", name="uq_redemption_log"),
    Index("ix_redemptions_merchant_day", "merchant", "day"),
    Index("ix_redemptions_merchant_ref", "merchant", "order_ref"),
)
merchants_table = Table(
    "merchants", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("account", String(42), nullable=False),
    Column("name", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("block", Integer, nullable=False),
)
batch_items_table = Table(
    "batch_items", metadata,
    Column("id", Integer, primary_key=True),
    Column("certificate", String(78), nullable=False, index=True),
    Column("block", Integer, nullable=False, index=True),
    Column("tx_hash", String(66), nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("position", Integer, nullable=False),  # index into the event's amounts
)
merchant_days_table = Table(
    "merchant_days", metadata,
    Column("merchant", Integer, primary_key=True, autoincrement=False),
    Column("currency", Integer, primary_key=True, autoincrement=False),
    Column("day", String(10), primary_key=True),
    Column("total", String(40), nullable=False),
    Column("count", Integer, nullable=False),
)

MERCHANT_EVENTS = ("MerchantRegistered", "MerchantStatusChanged", "MerchantAccountChanged")


# -- decoding ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventSpec:
    name: str
    indexed: list[tuple[str, str]]
    data_names: list[str]
    data_types: list[str]


@dataclass
class Event:
    name: str
    block: int
    tx_hash: str
    log_index: int
    timestamp: int
    args: dict[str, Any]


def event_specs(abi: list[dict[str, Any]]) -> dict[str, EventSpec]:
    """topic0 (0x-hex) -> how to decode that event."""
    specs = {}
    for entry in abi:
        if entry.get("type") != "event" or entry.get("anonymous"):
            continue
        inputs = entry["inputs"]
        topic = "0x" + event_abi_to_log_topic(entry).hex()
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


def decode_log(spec: EventSpec, log: dict[str, Any], timestamp: int) -> Event:
    args = {name: _topic_value(kind, topic)
            for (name, kind), topic in zip(spec.indexed, log["topics"][1:], strict=True)}
    if spec.data_types:
        values = decode(spec.data_types, bytes.fromhex(log["data"][2:]))
        kinds = zip(spec.data_names, spec.data_types, values, strict=True)
        args.update({name: _normalise(kind, v) for name, kind, v in kinds})
    return Event(spec.name, int(log["blockNumber"], 16), log["transactionHash"],
                 int(log["logIndex"], 16), timestamp, args)


# -- applying events to certificate state ----------------------------------------------------


@dataclass
class Batch:
    """Rows produced by one range of events, written in one transaction."""

    certs: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_ids: set[str] = field(default_factory=set)
    holders: dict[str, int] = field(default_factory=dict)
    redemptions: list[dict[str, Any]] = field(default_factory=list)
    batch_items: list[dict[str, Any]] = field(default_factory=list)
    days: dict[tuple[int, int, str], list[int]] = field(default_factory=dict)
    merchant_events: list[Event] = field(default_factory=list)


def _new_cert(cert_id: int, block: int) -> dict[str, Any]:
    terms = decode_id(cert_id)
    return {"id": str(cert_id), "merchant": terms.merchant, "currency": terms.currency,
            "occasion": terms.occasion, "valid_from": terms.valid_from, "expiry": terms.expiry,
            "buyer": None, "owner": ZERO, "balance": 0, "issued": 0, "awaiting_claim": False,
            "burned": False, "created_block": block, "updated_block": block}


class Applier:
    """Applies decoded events to certificate rows held in memory (`certs`, keyed by id text)."""

    def __init__(self, batch: Batch, only: set[str] | None = None) -> None:
        self.batch = batch
        self.only = only  # when replaying after a reorg: rebuild just these certificates

    def cert(self, cert_id: int, block: int) -> dict[str, Any] | None:
        key = str(cert_id)
        if self.only is not None and key not in self.only:
            return None
        row = self.batch.certs.get(key)
        if row is None:
            row = self.batch.certs[key] = _new_cert(int(cert_id), block)
            self.batch.new_ids.add(key)
        row["updated_block"] = block
        return row

    def apply(self, ev: Event) -> None:
        handler = getattr(self, f"on_{ev.name}", None)
        if handler is not None:
            handler(ev, ev.args)

    def _add(self, ev: Event, cert_id: int, delta: int) -> None:
        row = self.cert(cert_id, ev.block)
        if row is not None:
            row["balance"] = int(row["balance"]) + delta

    def _close(self, ev: Event, cert_id: int) -> None:
        row = self.cert(cert_id, ev.block)
        if row is not None:
            row["balance"] = 0

    def on_TransferSingle(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self._move(ev, a["id"], a["from"], a["to"])

    def on_TransferBatch(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        for cert_id in a["ids"]:
            self._move(ev, cert_id, a["from"], a["to"])

    def _move(self, ev: Event, cert_id: int, source: str, to: str) -> None:
        row = self.cert(cert_id, ev.block)
        if row is None:
            return
        if source == ZERO:
            # A mint. Ids carry a buyer-chosen serial, so a burned id can be issued again: its
            # new life starts from nothing (the issue event that follows fills it in).
            fresh = _new_cert(int(cert_id), ev.block)
            row.update({k: v for k, v in fresh.items() if k != "id"})
        row["owner"] = to
        if to == ZERO:
            row["burned"], row["balance"], row["awaiting_claim"] = True, 0, False
        elif self.only is None:
            self.batch.holders.setdefault(to, ev.block)

    def on_Issued(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        row = self.cert(a["id"], ev.block)
        if row is not None:
            row["buyer"], row["balance"], row["issued"] = a["buyer"], a["amount"], a["amount"]

    def on_IssuedBatch(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        for position, (cert_id, amount) in enumerate(_batch_members(a)):
            row = self.cert(cert_id, ev.block)
            if row is not None:
                row["buyer"], row["balance"], row["issued"] = a["buyer"], amount, amount
            if self.only is None:
                self.batch.batch_items.append({
                    "certificate": str(cert_id), "block": ev.block, "tx_hash": ev.tx_hash,
                    "log_index": ev.log_index, "position": position})

    def on_ClaimLinkCreated(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        row = self.cert(a["id"], ev.block)
        if row is not None:
            row["awaiting_claim"] = True

    def on_Claimed(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        row = self.cert(a["id"], ev.block)
        if row is not None:
            row["awaiting_claim"] = False

    def on_ToppedUp(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self._add(ev, a["id"], int(a["amount"]))

    def on_Split(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self._add(ev, a["fromId"], -int(a["amount"]))
        parent = self.batch.certs.get(str(a["fromId"]))
        row = self.cert(a["newId"], ev.block)
        if row is not None:
            row["balance"] = row["issued"] = int(a["amount"])
            row["buyer"] = parent["buyer"] if parent else None

    def on_Merged(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self._close(ev, a["fromId"])
        self._add(ev, a["intoId"], int(a["amount"]))

    def on_Redeemed(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self._add(ev, a["id"], -int(a["amount"]))
        if self.only is not None:
            return
        currency = decode_id(a["id"]).currency
        day = datetime.fromtimestamp(ev.timestamp, UTC).strftime("%Y-%m-%d")
        self.batch.redemptions.append({
            "block": ev.block, "tx_hash": ev.tx_hash, "log_index": ev.log_index,
            "certificate": str(a["id"]), "merchant": a["merchant"], "currency": currency,
            "order_ref": str(a["orderRef"]), "amount": str(a["amount"]),
            "timestamp": ev.timestamp, "day": day,
        })
        totals = self.batch.days.setdefault((a["merchant"], currency, day), [0, 0])
        totals[0] += int(a["amount"])
        totals[1] += 1

    def on_Refunded(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self._close(ev, a["id"])

    on_Reclaimed = on_Voided = on_CashedOut = on_Refunded

    def on_MerchantRegistered(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        if self.only is None:
            self.batch.merchant_events.append(ev)

    on_MerchantStatusChanged = on_MerchantAccountChanged = on_MerchantRegistered


def _batch_members(a: dict[str, Any]) -> list[tuple[int, int]]:
    """(id, amount) of each certificate of an IssuedBatch event."""
    first = int(a["firstId"])
    return [(first + i, int(amount)) for i, amount in enumerate(a["amounts"])]


def _cert_ids(ev: Event) -> tuple[str | None, str | None]:
    a = ev.args
    if ev.name == "IssuedBatch":
        return str(a["firstId"]), None
    if ev.name == "RedemptionRefused":
        return str(a["certificate"]), None
    if ev.name == "Split":
        return str(a["fromId"]), str(a["newId"])
    if ev.name == "Merged":
        return str(a["fromId"]), str(a["intoId"])
    if "id" in a and ev.name not in MERCHANT_EVENTS:
        return str(a["id"]), None
    return None, None


def _touched(events: Iterable[Event]) -> set[str]:
    ids: set[str] = set()
    for ev in events:
        if ev.name == "TransferBatch":
            ids.update(str(i) for i in ev.args["ids"])
        elif ev.name == "IssuedBatch":
            ids.update(str(i) for i, _ in _batch_members(ev.args))
        ids.update(i for i in _cert_ids(ev) if i is not None)
    return ids


# -- the indexer -----------------------------------------------------------------------------


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Indexer:
    """Indexes one contract's events into `database_url` (created if missing)."""

    def __init__(self, w3: Web3, contract: Any, database_url: str, *, start_block: int = 0,
                 block_range: int = 2000) -> None:
        self.w3 = w3
        self.address = contract.address
        self.abi = contract.abi
        self.specs = event_specs(contract.abi)
        # wallet refresh hints (ERC-4906) carry nothing the index keeps
        self.topics = [t for t, s in self.specs.items()
                       if s.name not in ("MetadataUpdate", "BatchMetadataUpdate")]
        self.start_block = start_block
        self.block_range = block_range
        self.engine: Engine = open_engine(database_url)
        metadata.create_all(self.engine)
        self._reset_if_other_contract()

    # -- chain access ---------------------------------------------------------------------

    def _rpc(self, method: str, params: list[Any]) -> Any:
        reply = self.w3.provider.make_request(method, params)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def _block(self, number: int) -> dict[str, Any] | None:
        return self._rpc("eth_getBlockByNumber", [hex(number), False])

    def _head(self) -> int:
        return int(self._rpc("eth_blockNumber", []), 16)

    def _logs(self, start: int, end: int) -> list[dict[str, Any]]:
        query = {"address": self.address, "fromBlock": hex(start), "toBlock": hex(end),
                 "topics": [self.topics]}
        return self._rpc("eth_getLogs", [query])

    # -- cursor ---------------------------------------------------------------------------

    def cursor(self) -> tuple[int, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(cursor_table).where(cursor_table.c.id == 1)).first()
        return (row.block, row.block_hash) if row else None

    def _reset_if_other_contract(self) -> None:
        with self.engine.begin() as conn:
            row = conn.execute(select(cursor_table.c.contract)).first()
            if row is not None and row.contract != self.address:
                for table in reversed(metadata.sorted_tables):
                    conn.execute(delete(table))

    def _set_cursor(self, conn: Connection, block: int, block_hash: str) -> None:
        values = {"contract": self.address, "block": block, "block_hash": block_hash}
        stmt = update(cursor_table).where(cursor_table.c.id == 1).values(**values)
        if conn.execute(stmt).rowcount == 0:
            conn.execute(insert(cursor_table).values(id=1, **values))

    # -- syncing --------------------------------------------------------------------------

    def sync(self, to_block: int | None = None, progress: Progress | None = None) -> int:
        """Indexes up to `to_block` (default: the head); returns the number of events applied."""
        self.handle_reorg()
        head = self._head() if to_block is None else to_block
        cursor = self.cursor()
        start = self.start_block if cursor is None else cursor[0] + 1
        count = 0
        while start <= head:
            end = min(start + self.block_range - 1, head)
            count += self._index_range(start, end)
            if progress:
                progress(end, head, count)
            start = end + 1
        return count

    def follow(self, poll_seconds: float = 1.0, progress: Progress | None = None,
               stop: Callable[[], bool] = lambda: False) -> None:
        """Keeps syncing until `stop()` says so (Ctrl-C in the CLI)."""
        while not stop():
            self.sync(progress=progress)
            time.sleep(poll_seconds)

    def _index_range(self, start: int, end: int) -> int:
        end_block = self._block(end)
        if end_block is None:
            raise RuntimeError(f"block {end} vanished while indexing; run again")
        logs = self._logs(start, end)
        events = self._decode(logs)
        with self.engine.begin() as conn:
            self._store(conn, events)
            hashes = {int(log["blockNumber"], 16): log["blockHash"] for log in logs}
            hashes[end] = end_block["hash"]
            conn.execute(delete(blocks_table).where(or_(
                blocks_table.c.number >= start, blocks_table.c.number < end - REORG_WINDOW)))
            rows = [{"number": n, "hash": h} for n, h in hashes.items()]
            conn.execute(insert(blocks_table), rows)
            self._set_cursor(conn, end, end_block["hash"])
        return len(events)

    def _decode(self, logs: list[dict[str, Any]]) -> list[Event]:
        stamps: dict[str, int] = {}
        events = []
        for log in logs:
            if log.get("removed"):
                continue
            block = log["blockNumber"]
            if block not in stamps:
                raw = log.get("blockTimestamp")
                stamps[block] = int(raw or self._block(int(block, 16))["timestamp"], 16)
            ev = decode_log(self.specs[log["topics"][0]], log, stamps[block])
            if ev.name == "RedemptionRefused":
                reason = decode_revert(self.abi, ev.args["reason"])
                ev.args["error"] = reason.error_name
                ev.args["details"] = {k: str(v) for k, v in reason.args_by_name.items()}
            events.append(ev)
        return events

    def _store(self, conn: Connection, events: list[Event]) -> None:
        if not events:
            return
        conn.execute(insert(activity_table), [_activity_row(ev) for ev in events])
        batch = Batch()
        batch.certs = _load_certs(conn, _touched(events))
        applier = Applier(batch)
        for ev in events:
            applier.apply(ev)
        _write_batch(conn, batch)

    # -- reorganisations ------------------------------------------------------------------

    def handle_reorg(self) -> int | None:
        """Rolls back past the last common ancestor if the chain replaced indexed blocks.

        Returns the ancestor block when a rollback happened, else None.
        """
        cursor = self.cursor()
        if cursor is None or self._hash_at(cursor[0]) == cursor[1]:
            return None
        ancestor = self._common_ancestor()
        self.rollback(ancestor)
        return ancestor

    def _hash_at(self, number: int) -> str | None:
        block = self._block(number)
        return block["hash"] if block else None

    def _common_ancestor(self) -> int:
        with self.engine.connect() as conn:
            stored = conn.execute(select(blocks_table).order_by(blocks_table.c.number.desc())).all()
        for row in stored:
            if self._hash_at(row.number) == row.hash:
                return row.number
        return self.start_block - 1  # deeper than the window: index everything again

    def rollback(self, ancestor: int) -> None:
        """Deletes everything after block `ancestor` and rebuilds the certificates it touched."""
        with self.engine.begin() as conn:
            gone = [_row_event(r) for r in conn.execute(
                select(activity_table).where(activity_table.c.block > ancestor))]
            affected = _touched(gone)
            days = {(r.merchant, r.currency, r.day) for r in conn.execute(
                select(redemptions_table).where(redemptions_table.c.block > ancestor))}
            for table in (activity_table, redemptions_table, batch_items_table):
                conn.execute(delete(table).where(table.c.block > ancestor))
            conn.execute(delete(blocks_table).where(blocks_table.c.number > ancestor))
            conn.execute(delete(holders_table).where(holders_table.c.first_block > ancestor))
            self._rebuild_certs(conn, affected)
            _rebuild_days(conn, days)
            _rebuild_merchants(conn)
            block_hash = self._hash_at(ancestor) if ancestor >= 0 else "0x"
            self._set_cursor(conn, ancestor, block_hash or "0x")

    def _rebuild_certs(self, conn: Connection, ids: set[str]) -> None:
        for part in _chunks(sorted(ids)):
            conn.execute(delete(certificates_table).where(certificates_table.c.id.in_(part)))
        if not ids:
            return
        unique = {(r.block, r.log_index): _row_event(r) for r in _activity_of(conn, ids)}
        batch = Batch()
        applier = Applier(batch, only=ids)
        for key in sorted(unique):
            applier.apply(unique[key])
        _write_batch(conn, batch)

    # -- queries (no chain access) ----------------------------------------------------------

    def certificates_of(self, address: str, include_closed: bool = False,
                        limit: int | None = None, after: str | None = None
                        ) -> list[dict[str, Any]]:
        """An address's certificates in numeric id order (so by merchant, then as issued);
        `limit` and `after` (the last id of the previous page) page through them."""
        t = certificates_table
        cond = t.c.owner == to_checksum_address(address)
        if not include_closed:
            cond = and_(cond, t.c.burned.is_(False))
        # Ids are stored as decimal text: shorter text is the smaller number.
        digits = func.length(t.c.id)
        if after is not None:
            cond = and_(cond, or_(digits > len(after), and_(digits == len(after), t.c.id > after)))
        query = select(t).where(cond).order_by(digits, t.c.id).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def expired_with_balance(self, now: int, limit: int | None = None) -> list[dict[str, Any]]:
        """Live certificates past their expiry (a refund would return their value to the
        buyer), soonest expired first."""
        t = certificates_table
        cond = and_(t.c.burned.is_(False), t.c.expiry <= now, t.c.buyer.is_not(None))
        query = select(t).where(cond).order_by(t.c.expiry, func.length(t.c.id), t.c.id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query.limit(limit))]

    def certificate(self, cert_id: int | str) -> dict[str, Any] | None:
        t = certificates_table
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == str(cert_id))).first()
        return dict(row._mapping) if row else None

    def history(self, cert_id: int | str) -> list[dict[str, Any]]:
        """A certificate's events, oldest first. Its batch issue (`IssuedBatch`) is shown with
        the certificate's own `id` and `amount` added to the event's arguments."""
        key = str(cert_id)
        with self.engine.connect() as conn:
            rows = sorted(_activity_of(conn, {key}), key=lambda r: (r.block, r.log_index))
        entries = []
        for r in rows:
            args = json.loads(r.args)
            if r.event == "IssuedBatch":
                position = int(key) - int(args["firstId"])
                if 0 <= position < len(args["amounts"]):
                    args = {**args, "id": int(key), "amount": args["amounts"][position]}
            entries.append({**dict(r._mapping), "args": args})
        return entries

    def order_redemptions(self, merchant: int, order_ref: int | str) -> list[dict[str, Any]]:
        """Every indexed payment to `merchant` carrying the merchant's `order_ref`, oldest first
        (an order may be paid in parts, from several certificates). The chain keeps no record of
        order references (they are `Redeemed` event data), so this is where to ask."""
        t = redemptions_table
        query = select(t).where(and_(t.c.merchant == int(merchant),
                                     t.c.order_ref == str(int(order_ref))))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(t.c.block,
                                                                          t.c.log_index))]

    def order_paid(self, merchant: int, order_ref: int | str) -> bool:
        """Whether the index holds any payment to `merchant` for `order_ref` (as of the last
        sync: sync first for an answer about the chain's head)."""
        t = redemptions_table
        query = select(t.c.id).where(and_(t.c.merchant == int(merchant),
                                          t.c.order_ref == str(int(order_ref)))).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def merchant_totals(self, merchant: int) -> list[dict[str, Any]]:
        """Redeemed totals per day (and currency) for a merchant, oldest first."""
        t = merchant_days_table
        query = select(t).where(t.c.merchant == merchant).order_by(t.c.day, t.c.currency)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def merchants(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            query = select(merchants_table).order_by(merchants_table.c.id)
            return [dict(r._mapping) for r in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        tables = (activity_table, certificates_table, redemptions_table, merchants_table)
        with self.engine.connect() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in tables}


# -- row helpers -------------------------------------------------------------------------------


def _activity_row(ev: Event) -> dict[str, Any]:
    first, other = _cert_ids(ev)
    return {"block": ev.block, "tx_hash": ev.tx_hash, "log_index": ev.log_index,
            "timestamp": ev.timestamp, "event": ev.name, "certificate": first, "other": other,
            "args": json.dumps(ev.args)}


def _row_event(row: Any) -> Event:
    return Event(row.event, row.block, row.tx_hash, row.log_index, row.timestamp,
                 json.loads(row.args))


def _activity_of(conn: Connection, ids: set[str]) -> list[Any]:
    """Activity rows of these certificates (each row once): rows naming them, and the batch
    issues they were minted in."""
    t, b = activity_table, batch_items_table
    found: dict[int, Any] = {}
    for part in _chunks(sorted(ids)):
        query = select(t).where(or_(t.c.certificate.in_(part), t.c.other.in_(part)))
        found.update((r.id, r) for r in conn.execute(query))
        joined = select(t).join(b, and_(t.c.tx_hash == b.c.tx_hash,
                                        t.c.log_index == b.c.log_index)).where(
            b.c.certificate.in_(part))
        found.update((r.id, r) for r in conn.execute(joined))
    return list(found.values())


def _load_certs(conn: Connection, ids: set[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for part in _chunks(sorted(ids)):
        query = select(certificates_table).where(certificates_table.c.id.in_(part))
        for row in conn.execute(query):
            found[row.id] = dict(row._mapping)
    return found


def _write_batch(conn: Connection, batch: Batch) -> None:
    rows = [{**r, "balance": str(r["balance"]), "issued": str(r["issued"])}
            for r in batch.certs.values()]
    new = [r for r in rows if r["id"] in batch.new_ids]
    old = [{**r, "key": r["id"]} for r in rows if r["id"] not in batch.new_ids]
    if new:
        conn.execute(insert(certificates_table), new)
    if old:
        stmt = update(certificates_table).where(certificates_table.c.id == bindparam("key"))
        conn.execute(stmt, [{k: v for k, v in r.items() if k != "id"} for r in old])
    _write_holders(conn, batch.holders)
    if batch.redemptions:
        conn.execute(insert(redemptions_table), batch.redemptions)
    if batch.batch_items:
        conn.execute(insert(batch_items_table), batch.batch_items)
    _add_days(conn, batch.days)
    for ev in batch.merchant_events:
        _apply_merchant(conn, ev)


def _write_holders(conn: Connection, holders: dict[str, int]) -> None:
    if not holders:
        return
    known: set[str] = set()
    for part in _chunks(sorted(holders)):
        query = select(holders_table.c.address).where(holders_table.c.address.in_(part))
        known.update(conn.execute(query).scalars())
    rows = [{"address": a, "first_block": b} for a, b in holders.items() if a not in known]
    if rows:
        conn.execute(insert(holders_table), rows)


def _add_days(conn: Connection, days: dict[tuple[int, int, str], list[int]]) -> None:
    t = merchant_days_table
    for (merchant, currency, day), (total, count) in days.items():
        key = and_(t.c.merchant == merchant, t.c.currency == currency, t.c.day == day)
        row = conn.execute(select(t).where(key)).first()
        if row is None:
            conn.execute(insert(t).values(merchant=merchant, currency=currency, day=day,
                                          total=str(total), count=count))
        else:
            conn.execute(update(t).where(key).values(total=str(int(row.total) + total),
                                                     count=row.count + count))


def _rebuild_days(conn: Connection, days: set[tuple[int, int, str]]) -> None:
    t, r = merchant_days_table, redemptions_table
    for merchant, currency, day in days:
        conn.execute(delete(t).where(and_(t.c.merchant == merchant, t.c.currency == currency,
                                          t.c.day == day)))
        amounts = conn.execute(select(r.c.amount).where(and_(
            r.c.merchant == merchant, r.c.currency == currency, r.c.day == day))).scalars().all()
        if amounts:
            conn.execute(insert(t).values(merchant=merchant, currency=currency, day=day,
                                          total=str(sum(int(a) for a in amounts)),
                                          count=len(amounts)))


def _rebuild_merchants(conn: Connection) -> None:
    conn.execute(delete(merchants_table))
    query = select(activity_table).where(activity_table.c.event.in_(MERCHANT_EVENTS)).order_by(
        activity_table.c.block, activity_table.c.log_index)
    for row in conn.execute(query).all():
        _apply_merchant(conn, _row_event(row))


def _apply_merchant(conn: Connection, ev: Event) -> None:
    t, a = merchants_table, ev.args
    key = t.c.id == a["merchant"]
    if ev.name == "MerchantRegistered":
        conn.execute(insert(t).values(id=a["merchant"], account=a["account"], name=a["name"],
                                      active=True, block=ev.block))
    elif ev.name == "MerchantStatusChanged":
        conn.execute(update(t).where(key).values(active=a["active"], block=ev.block))
    else:
        conn.execute(update(t).where(key).values(account=a["account"], block=ev.block))
