"""The index's read side: every question pages, the API, the CLI and the keeper ask of it.

Queries never touch the chain, so a process that only reads (a web worker beside one indexer
service) needs nothing but an engine: `open_index(url, chain_id=, contract=)` checks that the
schema is at the newest revision and that the index is this chain's and contract's, and gives an
`IndexReader` that never writes (`IndexReader(engine)` skips the checks). `status()` is the
cursor and the writer's heartbeat, for a status page: lag without a node call. Amounts come back
as stored (decimal text) in the row dicts, and as int in `MerchantStats`, the one place that sums
them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import ColumnElement, Engine, Select, and_, func, or_, select

from giftcert.database import connect, open_engine, require_head
from giftcert.indexer.identity import IndexIdentity, IndexStatus, check_identity, read_status
from giftcert.indexer.schema import (
    activity_table,
    certificates_table,
    cursor_table,
    merchant_days_table,
    merchants_table,
    redemptions_table,
)
from giftcert.indexer.store import activity_of

Units = dict[int, int]  # currency id -> amount in the currency's smallest unit

# Activity that moves value into or out of a merchant's certificates, by the figure it adds to.
ISSUING_EVENTS = ("Issued", "IssuedBatch", "ToppedUp")
CLOSING_EVENTS = ("Refunded", "Reclaimed", "Voided", "CashedOut")


@dataclass(frozen=True)
class DayTotal:
    """Redeemed at one merchant on one UTC day, in one currency."""

    day: str
    currency: int
    total: int
    count: int


@dataclass
class MerchantStats:
    """A merchant's figures from the index, per currency id, in smallest units.

    `liability` is what live certificates still hold and may be spent; `expired_unrefunded`
    is held by expired ones (it goes back to the buyers on refund); `issued` is what buyers paid
    in (issues and top-ups: a split or merge moves value, it does not add any).
    """

    merchant: int
    open_certificates: int = 0
    liability: Units = field(default_factory=lambda: defaultdict(int))
    expired_unrefunded: Units = field(default_factory=lambda: defaultdict(int))
    issued: Units = field(default_factory=lambda: defaultdict(int))
    refunded: Units = field(default_factory=lambda: defaultdict(int))
    reclaimed: Units = field(default_factory=lambda: defaultdict(int))
    voided: Units = field(default_factory=lambda: defaultdict(int))
    cashed_out: Units = field(default_factory=lambda: defaultdict(int))
    by_day: list[DayTotal] = field(default_factory=list)
    # Payment tabs: how many are open, what their certificates hold, and what the merchant
    # collected by settling them (also counted in `by_day`, as every payment is). What was
    # served and not yet settled is in the merchant's voucher store (giftcert.vouchers).
    open_tabs: int = 0
    tab_balances: Units = field(default_factory=lambda: defaultdict(int))
    tab_settled: Units = field(default_factory=lambda: defaultdict(int))
    tab_settles: int = 0

    @property
    def breakage(self) -> Units:
        """Value never spent at the merchant: expired balances, refunded or not yet."""
        out: Units = defaultdict(int)
        for per in (self.expired_unrefunded, self.refunded):
            for currency, units in per.items():
                out[currency] += units
        return out

    def add_balance(self, currency: int, units: int, *, expired: bool) -> None:
        """Counts a live certificate's balance as liability, or as expired value."""
        if expired:
            self.expired_unrefunded[currency] += units
        else:
            self.liability[currency] += units
            self.open_certificates += 1

    def add_flow(self, event: str, currency: int, args: dict[str, Any]) -> None:
        """Counts the value an issuing or closing event moved."""
        buckets = {"Issued": self.issued, "IssuedBatch": self.issued, "ToppedUp": self.issued,
                   "Refunded": self.refunded, "Reclaimed": self.reclaimed,
                   "Voided": self.voided, "CashedOut": self.cashed_out}
        moved = (sum(int(a) for a in args["amounts"]) if event == "IssuedBatch"
                 else int(args["amount"]))
        buckets[event][currency] += moved


def _numeric(column: Any) -> tuple[Any, Any]:
    """ORDER BY terms for ids stored as decimal text: shorter text is the smaller number."""
    return func.length(column), column


def _after(column: Any, after: str) -> ColumnElement[bool]:
    """Ids (decimal text) greater than `after`, for paging in numeric order."""
    digits = func.length(column)
    return or_(digits > len(after), and_(digits == len(after), column > after))


class IndexReader:
    """Answers queries from the index in `engine` (no chain access)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _rows(self, query: Select[Any]) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def cursor(self) -> tuple[int, str] | None:
        """(last indexed block, its hash), or None before the first sync."""
        with self.engine.connect() as conn:
            row = conn.execute(select(cursor_table.c.block, cursor_table.c.block_hash)
                               .where(cursor_table.c.id == 1)).first()
        if row is None or row.block is None:
            return None
        return int(row.block), str(row.block_hash)

    def status(self) -> IndexStatus | None:
        """The cursor row (chain, contract, block, the writer's heartbeat), or None before any
        writer opened the index. One query; `DatabaseUnavailable` when the database is down."""
        with connect(self.engine) as conn:
            return read_status(conn)

    def identity(self) -> IndexIdentity | None:
        """The chain and contract this index belongs to (None before a writer opened it)."""
        status = self.status()
        return status.identity if status else None

    def check(self, chain_id: int, contract: str) -> IndexStatus | None:
        """Schema at head (`SchemaNotCurrent`) and the index this chain's and contract's
        (`IndexMismatch`); writes nothing. Returns the status."""
        require_head(self.engine)
        with connect(self.engine) as conn:
            return check_identity(conn, IndexIdentity(int(chain_id), contract))

    # -- certificates -----------------------------------------------------------------------

    def certificates_of(self, address: str, include_closed: bool = False,
                        limit: int | None = None, after: str | None = None
                        ) -> list[dict[str, Any]]:
        """An address's certificates in numeric id order (so by merchant, then as issued);
        `limit` and `after` (the last id of the previous page) page through them."""
        t = certificates_table
        cond = t.c.owner == to_checksum_address(address)
        if not include_closed:
            cond = and_(cond, t.c.burned.is_(False))
        if after is not None:
            cond = and_(cond, _after(t.c.id, after))
        return self._rows(select(t).where(cond).order_by(*_numeric(t.c.id)).limit(limit))

    def expired_with_balance(self, now: int, limit: int | None = None) -> list[dict[str, Any]]:
        """Live certificates past their expiry that still hold value (a refund would return it
        to the buyer), soonest expired first."""
        t = certificates_table
        cond = and_(t.c.burned.is_(False), t.c.expiry <= now, t.c.buyer.is_not(None),
                    t.c.balance != "0")
        return self._rows(select(t).where(cond).order_by(t.c.expiry, *_numeric(t.c.id))
                          .limit(limit))

    def certificate(self, cert_id: int | str) -> dict[str, Any] | None:
        rows = self._rows(select(certificates_table).where(
            certificates_table.c.id == str(cert_id)))
        return rows[0] if rows else None

    def history(self, cert_id: int | str) -> list[dict[str, Any]]:
        """A certificate's events, oldest first. Its batch issue (`IssuedBatch`) is shown with
        the certificate's own `id` and `amount` added to the event's arguments."""
        key = str(cert_id)
        with self.engine.connect() as conn:
            rows = sorted(activity_of(conn, {key}), key=lambda r: (r.block, r.log_index))
        entries = []
        for r in rows:
            args = json.loads(r.args)
            if r.event == "IssuedBatch":
                position = int(key) - int(args["firstId"])
                if 0 <= position < len(args["amounts"]):
                    args = {**args, "id": int(key), "amount": args["amounts"][position]}
            entries.append({**dict(r._mapping), "args": args})
        return entries

    # -- orders and redemptions --------------------------------------------------------------

    def order_redemptions(self, merchant: int, order_ref: int | str) -> list[dict[str, Any]]:
        """Every indexed payment to `merchant` carrying the merchant's `order_ref`, oldest first
        (an order may be paid in parts, from several certificates). The chain keeps no record of
        order references (they are `Redeemed` event data), so this is where to ask."""
        t = redemptions_table
        return self._rows(select(t).where(_order(merchant, order_ref))
                          .order_by(t.c.block, t.c.log_index))

    def order_paid(self, merchant: int, order_ref: int | str) -> bool:
        """Whether the index holds any payment to `merchant` for `order_ref` (as of the last
        sync: sync first for an answer about the chain's head)."""
        query = select(redemptions_table.c.id).where(_order(merchant, order_ref)).limit(1)
        return bool(self._rows(query))

    def merchant_redemptions(self, merchant: int, limit: int | None = None
                             ) -> list[dict[str, Any]]:
        """A merchant's redemptions, newest first (`limit` of them; all when None or 0)."""
        t = redemptions_table
        query = select(t).where(t.c.merchant == int(merchant)).order_by(
            t.c.block.desc(), t.c.log_index.desc())
        return self._rows(query.limit(limit or None))

    def merchant_totals(self, merchant: int) -> list[dict[str, Any]]:
        """Redeemed totals per day (and currency) for a merchant, oldest first."""
        t = merchant_days_table
        return self._rows(select(t).where(t.c.merchant == merchant)
                          .order_by(t.c.day, t.c.currency))

    # -- merchants -------------------------------------------------------------------------

    def merchants(self) -> list[dict[str, Any]]:
        """Merchants as indexed (id order), with no node call."""
        return self._rows(select(merchants_table).order_by(merchants_table.c.id))

    def merchant_stats(self, merchant: int, now: int) -> MerchantStats:
        """Liability, expired value, what was issued, refunded, reclaimed, voided and cashed
        out, redeemed totals by day (tab settles included) and the tabs' figures (open tabs,
        their balances, settled per currency), for one merchant. `now` decides what has
        expired: pass the chain's clock (`GiftCert.now()`), which is the one the contract
        judges by."""
        stats = MerchantStats(int(merchant))
        with self.engine.connect() as conn:
            for currency, balance, expiry in conn.execute(_live_balances(stats.merchant)):
                stats.add_balance(currency, int(balance), expired=expiry <= now)
            for event, currency, args in conn.execute(_value_flows(stats.merchant)):
                stats.add_flow(event, currency, json.loads(args))
            for currency, balance in conn.execute(_open_tab_balances(stats.merchant)):
                stats.open_tabs += 1
                stats.tab_balances[currency] += int(balance)
            for currency, amount in conn.execute(_tab_settles(stats.merchant)):
                stats.tab_settles += 1
                stats.tab_settled[currency] += int(amount)
        stats.by_day = [DayTotal(d["day"], d["currency"], int(d["total"]), d["count"])
                        for d in self.merchant_totals(stats.merchant)]
        return stats

    # -- payment tabs ------------------------------------------------------------------------

    def open_tabs(self, merchant: int) -> list[dict[str, Any]]:
        """A merchant's certificates with an open tab (their rows: tab_epoch, tab_signer,
        tab_close_at, tab_settled on this tab, balance), in numeric id order."""
        t = certificates_table
        return self._rows(select(t).where(and_(
            t.c.merchant == int(merchant), t.c.tab_open.is_(True), t.c.burned.is_(False)))
            .order_by(*_numeric(t.c.id)))

    def tab_settles(self, merchant: int, limit: int | None = None) -> list[dict[str, Any]]:
        """A merchant's tab settles (payments rows with their tab_epoch), newest first."""
        t = redemptions_table
        query = select(t).where(and_(t.c.merchant == int(merchant),
                                     t.c.tab_epoch.is_not(None))).order_by(
            t.c.block.desc(), t.c.log_index.desc())
        return self._rows(query.limit(limit or None))

    def counts(self) -> dict[str, int]:
        """Rows per main table (health checks, tests and benchmarks compare indexes by it)."""
        tables = (activity_table, certificates_table, redemptions_table, merchants_table)
        with self.engine.connect() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in tables}


def open_index(database: str | Engine, *, chain_id: int, contract: str) -> IndexReader:
    """A reader for a process that does not write the index (a web worker beside the indexer
    service): the schema must be at head and the index this chain's and contract's (an empty
    index, before the service's first start, is fine). Raises `SchemaNotCurrent`,
    `IndexMismatch`, `DatabaseUnavailable`, `DriverMissing`."""
    engine = open_engine(database) if isinstance(database, str) else database
    reader = IndexReader(engine)
    reader.check(chain_id, contract)
    return reader


def _order(merchant: int, order_ref: int | str) -> ColumnElement[bool]:
    """A merchant's redemptions for an order (a tab's settle pays no order)."""
    t = redemptions_table
    return and_(t.c.merchant == int(merchant), t.c.order_ref == str(int(order_ref)),
                t.c.tab_epoch.is_(None))


def _open_tab_balances(merchant: int) -> Select[Any]:
    """(currency, balance) of a merchant's certificates with an open tab."""
    t = certificates_table
    return select(t.c.currency, t.c.balance).where(and_(
        t.c.merchant == merchant, t.c.tab_open.is_(True), t.c.burned.is_(False)))


def _tab_settles(merchant: int) -> Select[Any]:
    """(currency, amount) of every tab settle a merchant collected."""
    t = redemptions_table
    return select(t.c.currency, t.c.amount).where(and_(t.c.merchant == merchant,
                                                       t.c.tab_epoch.is_not(None)))


def _live_balances(merchant: int) -> Select[Any]:
    """(currency, balance, expiry) of a merchant's certificates that are not burned."""
    t = certificates_table
    return select(t.c.currency, t.c.balance, t.c.expiry).where(
        and_(t.c.merchant == merchant, t.c.burned.is_(False)))


def _value_flows(merchant: int) -> Select[Any]:
    """(event, currency, args) of every issue, top-up and closing event of a merchant's
    certificates (a batch issue is filed under its first id, which has the batch's terms)."""
    a, t = activity_table, certificates_table
    return select(a.c.event, t.c.currency, a.c.args).join(t, t.c.id == a.c.certificate).where(
        and_(t.c.merchant == merchant, a.c.event.in_(ISSUING_EVENTS + CLOSING_EVENTS)))
