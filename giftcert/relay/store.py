"""The relay's durable queue in the site's database (tables in giftcert/relay/schema.py).

Everything that must not happen twice happens inside `RelayStore.locked()`, ONE serialized
transaction per relayer key across every process that shares the database:

- PostgreSQL: `pg_advisory_xact_lock` keyed by (schema, chain id, relayer), released by the
  commit or rollback (and by the server if the process dies);
- SQLite: `BEGIN IMMEDIATE`, which takes the database's write lock before the first read, so
  the counts read and the row written belong to one moment. The relay has an engine of its own
  (its connections run without pysqlite's implicit transactions), so the index's and the
  sign-in store's transactions are unchanged.

`accept` runs in it: the repeat check (by the signature's hash), one request in flight per
certificate, the day's limits (per address, per IP, the gas budget), the next nonce (the
relayer's row, or the chain's pending count when that is ahead) and the signing of the raw
transaction with it. The transaction is broadcast after the commit: if the process dies in
between, the row is `queued` with its signed bytes and whoever runs next sends those bytes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, event, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection

from giftcert.config import RelaySettings
from giftcert.database import advisory_key, is_postgres, open_engine, schema_name
from giftcert.errors import GiftCertError
from giftcert.refused import Refused
from giftcert.relay.schema import requests_table, senders_table

DAY = 86_400
# Statuses: queued (signed, not yet broadcast) -> sent -> mined | failed. "cancel" is a request
# that would now revert: its nonce is being filled by a 0-ETH transfer to the relayer itself
# (so later nonces can be mined); the API shows it as failed, with the reason, at once.
UNFINISHED = ("queued", "sent", "cancel")
SHOWN = {"queued": "queued", "sent": "sent", "cancel": "failed", "mined": "mined",
         "failed": "failed"}

# sign(tx fields) -> (raw transaction 0x hex, its hash 0x hex)
Signer = Callable[[dict[str, Any]], tuple[str, str]]


class RelayRefused(GiftCertError, Refused):
    """The relay will not take this request; `status` is the HTTP status a site answers."""


class LimitReached(RelayRefused):
    """A daily limit is used up: `retry_after` seconds until the next UTC day."""

    def __init__(self, message: str, code: str, retry_after: int) -> None:
        super().__init__(429, message, None, code, {"retryAfter": retry_after})
        self.retry_after = retry_after


def utc_day(now: float) -> int:
    return int(now // DAY)


def until_tomorrow(now: float) -> tuple[int, str]:
    """Seconds to the next UTC midnight, and that moment in words."""
    midnight = (utc_day(now) + 1) * DAY
    when = datetime.fromtimestamp(midnight, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return max(1, int(midnight - now)), when


def signature_hash(chain_id: int, contract: str, operation: str, signature: bytes) -> str:
    """What makes a request the same request: its signature (for this chain, contract and
    operation). Two submissions of one signature are one request."""
    material = f"{chain_id}:{contract.lower()}:{operation}:".encode() + signature
    return "0x" + hashlib.sha256(material).hexdigest()


def request_id(sig_hash: str) -> str:
    return "r" + sig_hash[2:34]


@dataclass(frozen=True)
class Draft:
    """A request checked and simulated, before the lock: everything but its nonce."""

    operation: str
    certificate: int
    signer: str
    recipient: str | None
    client_ip: str
    signature: bytes
    to: str
    data: str
    gas_estimate: int
    gas_limit: int
    max_fee: int
    priority_fee: int
    chain_next_nonce: int  # the chain's pending count, read just before
    payload: dict[str, Any]


@dataclass(frozen=True)
class Record:
    """One request as the queue holds it."""

    row: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.row[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def hashes(self) -> list[str]:
        return list(json.loads(self.row["tx_hashes"]))

    @property
    def shown_status(self) -> str:
        return SHOWN[self.row["status"]]

    def tx(self, *, max_fee: int | None = None, priority_fee: int | None = None,
           cancel: bool = False) -> dict[str, Any]:
        """Its transaction's fields (to sign again at other fees, or as a cancel: 0 ETH to the
        relayer itself at the same nonce)."""
        return {
            "chainId": int(self.row["chain_id"]), "nonce": int(self.row["nonce"]),
            "to": self.row["relayer"] if cancel else self.row["to_address"],
            "data": "0x" if cancel else self.row["data"], "value": 0,
            "gas": 21_000 if cancel else int(self.row["gas_limit"]), "type": 2,
            "maxFeePerGas": int(self.row["max_fee"]) if max_fee is None else max_fee,
            "maxPriorityFeePerGas": (int(self.row["priority_fee"]) if priority_fee is None
                                     else priority_fee),
        }

    def to_json(self) -> dict[str, Any]:
        """The request as the API shows it."""
        status = self.shown_status
        tx_hash = None if status == "queued" else self.row["mined_hash"] or self.row["tx_hash"]
        if self.row["status"] == "cancel":
            tx_hash = None
        return {
            "requestId": self.row["id"], "status": status, "txHash": tx_hash,
            "reason": self.row["reason"], "code": self.row["code"],
            "operation": self.row["operation"], "certificate": self.row["certificate"],
            "recipient": self.row["recipient"], "newCertificate": self.row["new_certificate"],
            "nonce": int(self.row["nonce"]), "blockNumber": self.row["block_number"],
            "gasUsed": self.row["gas_used"],
        }


@dataclass(frozen=True)
class DaySpend:
    gas: int
    wei: int
    requests: int


class RelayStore:
    """The queue of one relayer key on one chain and contract."""

    def __init__(self, database: Engine | str, *, chain_id: int, contract: str,
                 relayer: str) -> None:
        url = database.url if isinstance(database, Engine) else database
        self.engine = relay_engine(url)
        self.chain_id = chain_id
        self.contract = contract
        self.relayer = relayer
        self._lock_key: tuple[int, int] | None = None

    def dispose(self) -> None:
        self.engine.dispose()

    # -- the serialized transaction ---------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[Connection]:
        """One transaction that no other process or thread runs at the same time for this
        relayer (see the module's docstring)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(relay_immediate=True)
            with conn.begin():
                if is_postgres(conn):
                    a, b = self._key(conn)
                    conn.execute(text("select pg_advisory_xact_lock(:a, :b)"), {"a": a, "b": b})
                yield conn

    def _key(self, conn: Connection) -> tuple[int, int]:
        if self._lock_key is None:
            self._lock_key = advisory_key("relay", schema_name(conn), self.chain_id,
                                          self.relayer.lower())
        return self._lock_key

    # -- accepting --------------------------------------------------------------------

    def accept(self, draft: Draft, sign: Signer, limits: RelaySettings,
               now: float | None = None) -> tuple[Record, bool]:
        """Records `draft` with the next nonce and its signed transaction: (record, True); the
        same signature again: (the first record, False). Raises RelayRefused / LimitReached."""
        now = time.time() if now is None else now
        sig_hash = signature_hash(self.chain_id, self.contract, draft.operation, draft.signature)
        with self.locked() as conn:
            found = self._by_hash(conn, sig_hash)
            if found is not None:
                return found, False
            self._check_in_flight(conn, draft)
            self._check_limits(conn, draft, limits, now)
            nonce = self._next_nonce(conn, draft.chain_next_nonce, now)
            row = self._row(draft, sig_hash, nonce, now)
            raw, tx_hash = sign(Record(row).tx())
            row.update(raw_tx=raw, tx_hash=tx_hash, tx_hashes=json.dumps([tx_hash]))
            conn.execute(insert(requests_table).values(**row))
        return Record(row), True

    def _row(self, draft: Draft, sig_hash: str, nonce: int, now: float) -> dict[str, Any]:
        return {
            "id": request_id(sig_hash), "sig_hash": sig_hash, "chain_id": self.chain_id,
            "contract": self.contract, "relayer": self.relayer, "operation": draft.operation,
            "certificate": str(draft.certificate), "signer": draft.signer,
            "recipient": draft.recipient, "client_ip": draft.client_ip[:64],
            "day": utc_day(now), "status": "queued", "reason": None, "code": None,
            "nonce": nonce, "to_address": draft.to, "data": draft.data,
            "gas_limit": draft.gas_limit, "gas_estimate": draft.gas_estimate,
            "max_fee": str(draft.max_fee), "priority_fee": str(draft.priority_fee),
            "gas_used": None, "fee_wei": None, "block_number": None, "mined_hash": None,
            "new_certificate": None, "payload": json.dumps(draft.payload),
            "created": now, "sent_at": None, "updated": now,
        }

    def _mine(self) -> Any:
        t = requests_table.c
        return and_(t.chain_id == self.chain_id, t.contract == self.contract,
                    t.relayer == self.relayer)

    def _by_hash(self, conn: Connection, sig_hash: str) -> Record | None:
        row = conn.execute(select(requests_table).where(
            requests_table.c.sig_hash == sig_hash)).mappings().first()
        return Record(dict(row)) if row else None

    def _check_in_flight(self, conn: Connection, draft: Draft) -> None:
        """One request per certificate at a time: a second would revert once the first is
        mined (the certificate's nonce moves, a claim happens once), so it is refused now."""
        t = requests_table.c
        other = conn.execute(select(t.id).where(
            self._mine(), t.certificate == str(draft.certificate),
            t.status.in_(("queued", "sent")))).scalar()
        if other is not None:
            raise RelayRefused(409, f"another request for this certificate is on its way "
                                    f"({other}): wait until it is mined, then sign again",
                               "certificate", "RequestInFlight", {"requestId": other})

    def _check_limits(self, conn: Connection, draft: Draft, limits: RelaySettings,
                      now: float) -> None:
        t, day = requests_table.c, utc_day(now)
        today = and_(self._mine(), t.day == day)
        retry, when = until_tomorrow(now)
        for address in {a for a in (draft.signer, draft.recipient) if a}:
            used = conn.execute(select(func.count()).where(
                today, or_(t.signer == address, t.recipient == address))).scalar() or 0
            if used >= limits.per_address_day:
                raise LimitReached(
                    f"{address} has had {used} sponsored requests today, the most the site "
                    f"pays for in a day: try again after {when}, or pay the gas from the "
                    f"wallet", "AddressLimit", retry)
        used = conn.execute(select(func.count()).where(
            today, t.client_ip == draft.client_ip[:64])).scalar() or 0
        if used >= limits.per_ip_day:
            raise LimitReached(f"this connection has made {used} sponsored requests today, "
                               f"the most the site pays for: try again after {when}",
                               "IpLimit", retry)
        spent = conn.execute(select(func.coalesce(func.sum(
            func.coalesce(t.gas_used, t.gas_estimate)), 0)).where(today)).scalar() or 0
        if int(spent) + draft.gas_estimate > limits.gas_budget_day:
            raise LimitReached(f"the site's gas budget for today is spent ({int(spent):,} of "
                               f"{limits.gas_budget_day:,} gas): try again after {when}, or "
                               f"pay the gas from the wallet", "GasBudget", retry)

    def _next_nonce(self, conn: Connection, chain_next: int, now: float) -> int:
        """The relayer's next nonce from its row (the chain's pending count when that is
        ahead: first use, or the key also used elsewhere), moved on by one."""
        s = senders_table.c
        where = and_(s.chain_id == self.chain_id, s.relayer == self.relayer)
        stored = conn.execute(select(s.next_nonce).where(where)).scalar()
        nonce = max(int(stored or 0), chain_next)
        if stored is None:
            conn.execute(insert(senders_table).values(chain_id=self.chain_id,
                                                      relayer=self.relayer,
                                                      next_nonce=nonce + 1, updated=now))
        else:
            conn.execute(update(senders_table).where(where).values(next_nonce=nonce + 1,
                                                                   updated=now))
        return nonce

    # -- reading ----------------------------------------------------------------------

    def get(self, request_id_: str) -> Record | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(requests_table).where(
                self._mine(), requests_table.c.id == request_id_)).mappings().first()
        return Record(dict(row)) if row else None

    def get_by_signature(self, operation: str, signature: bytes) -> Record | None:
        """The request this signature made, if any (a repeat needs no check or simulation)."""
        sig_hash = signature_hash(self.chain_id, self.contract, operation, signature)
        with self.engine.connect() as conn:
            return self._by_hash(conn, sig_hash)

    def unfinished(self, limit: int = 500) -> list[Record]:
        """Requests the keeper still has work with, lowest nonce first."""
        t = requests_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(requests_table).where(
                self._mine(), t.status.in_(UNFINISHED)).order_by(t.nonce).limit(
                limit)).mappings().all()
        return [Record(dict(r)) for r in rows]

    def has_unfinished(self) -> bool:
        """One small query (no node call): whether a keeper has anything to do."""
        t = requests_table.c
        with self.engine.connect() as conn:
            return conn.execute(select(t.id).where(
                self._mine(), t.status.in_(UNFINISHED)).limit(1)).first() is not None

    def spent(self, now: float | None = None) -> DaySpend:
        """Today's (UTC) spend: gas (used when mined, else the estimate) and ETH paid."""
        t = requests_table.c
        day = utc_day(time.time() if now is None else now)
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.gas_used, t.gas_estimate, t.fee_wei).where(
                self._mine(), t.day == day)).all()
        gas = sum(int(r.gas_used if r.gas_used is not None else r.gas_estimate) for r in rows)
        wei = sum(int(r.fee_wei) for r in rows if r.fee_wei)
        return DaySpend(gas, wei, len(rows))

    def next_nonce(self) -> int | None:
        s = senders_table.c
        with self.engine.connect() as conn:
            found = conn.execute(select(s.next_nonce).where(
                s.chain_id == self.chain_id, s.relayer == self.relayer)).scalar()
        return None if found is None else int(found)

    # -- the keeper's moves (each a compare-and-set: several keepers may race) ----------

    def _set(self, record: Record, expect: dict[str, Any], **values: Any) -> bool:
        t = requests_table.c
        conditions = [t.id == record.id] + [getattr(t, k) == v for k, v in expect.items()]
        with self.locked() as conn:
            done = conn.execute(update(requests_table).where(*conditions).values(
                updated=time.time(), **values)).rowcount
        return bool(done)

    def mark_sent(self, record: Record, now: float) -> bool:
        """queued -> sent (broadcast done); a keeper that finds it sent already does nothing."""
        return self._set(record, {"status": "queued"}, status="sent", sent_at=now)

    def touch_sent(self, record: Record, now: float) -> bool:
        """Rebroadcast: the current bytes went out again at `now`."""
        return self._set(record, {"tx_hash": record.tx_hash}, sent_at=now)

    def replace(self, record: Record, raw: str, tx_hash: str, max_fee: int, priority_fee: int,
                now: float, *, cancel: tuple[str, str] | None = None) -> bool:
        """The same nonce signed again at higher fees (or as a cancel: (reason, code)); only if
        nobody replaced it first. Recorded before the broadcast, so every hash that may be
        mined is known."""
        values: dict[str, Any] = {
            "raw_tx": raw, "tx_hash": tx_hash, "tx_hashes": json.dumps([*record.hashes,
                                                                         tx_hash]),
            "max_fee": str(max_fee), "priority_fee": str(priority_fee), "sent_at": now}
        if cancel is not None:
            values.update(status="cancel", reason=cancel[0], code=cancel[1],
                          gas_estimate=21_000, gas_limit=21_000)
        return self._set(record, {"tx_hash": record.tx_hash}, **values)

    def finish(self, record: Record, status: str, **values: Any) -> bool:
        """-> mined or failed (with reason, code and the receipt's figures)."""
        t = requests_table.c
        with self.locked() as conn:
            done = conn.execute(update(requests_table).where(
                t.id == record.id, t.status.in_(UNFINISHED)).values(
                status=status, updated=time.time(), **values)).rowcount
        return bool(done)

    def renonce(self, record: Record, sign: Signer, chain_next: int) -> Record | None:
        """Its nonce was taken by another transaction of the key (none of its own hashes was
        mined): a new nonce and signature, queued again."""
        with self.locked() as conn:
            t = requests_table.c
            current = conn.execute(select(requests_table).where(
                t.id == record.id, t.tx_hash == record.tx_hash)).mappings().first()
            if current is None:
                return None
            nonce = self._next_nonce(conn, chain_next, time.time())
            fresh = Record({**dict(current), "nonce": nonce})
            raw, tx_hash = sign(fresh.tx())
            values = {"nonce": nonce, "raw_tx": raw, "tx_hash": tx_hash, "status": "queued",
                      "tx_hashes": json.dumps([*record.hashes, tx_hash]), "sent_at": None,
                      "updated": time.time()}
            conn.execute(update(requests_table).where(t.id == record.id).values(**values))
        return Record({**dict(current), **values})


def relay_engine(url: Any) -> Engine:
    """An engine of the relay's own: on SQLite its connections leave transactions to
    SQLAlchemy (pysqlite's implicit BEGIN is off), so `locked()` can say BEGIN IMMEDIATE."""
    engine = open_engine(url)
    if engine.dialect.name != "sqlite":
        return engine

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("relay_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
