"""The projection's rows in the database: load what a range touches, write what it produced,
and rebuild after a rollback.

Every function takes the caller's connection, so a range of events, its rows and the cursor
commit together (a crash never applies a range twice) and a rollback deletes and rebuilds in
one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Row as SqlRow
from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from giftcert.indexer.decoding import Event
from giftcert.indexer.projection import (
    MERCHANT_EVENTS,
    Applier,
    Batch,
    DayKey,
    activity_row,
    touched,
)
from giftcert.indexer.schema import (
    activity_table,
    batch_items_table,
    blocks_table,
    certificates_table,
    holders_table,
    merchant_days_table,
    merchants_table,
    redemptions_table,
)
from giftcert.vouchers import forget_void

T = TypeVar("T")
CHUNK = 500  # ids per IN (...) list: well under every database's limit on bound parameters


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    """Slices of `items` small enough for one IN (...) list."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


# -- a range of new events -------------------------------------------------------------------


def store_events(conn: Connection, events: list[Event]) -> None:
    """Records `events` as activity and applies them to the rows they touch."""
    if not events:
        return
    conn.execute(insert(activity_table), [activity_row(ev) for ev in events])
    batch = Batch(certs=load_certs(conn, touched(events)))
    applier = Applier(batch)
    for ev in events:
        applier.apply(ev)
    write_batch(conn, batch)


def load_certs(conn: Connection, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The stored rows of `ids` (those indexed before), for the projection to change."""
    found: dict[str, dict[str, Any]] = {}
    for part in chunks(sorted(ids)):
        query = select(certificates_table).where(certificates_table.c.id.in_(part))
        found.update((row.id, dict(row._mapping)) for row in conn.execute(query))
    return found


def write_batch(conn: Connection, batch: Batch) -> None:
    """Writes every row the projection produced for one range."""
    _write_certs(conn, batch)
    _write_holders(conn, batch.holders)
    if batch.redemptions:
        conn.execute(insert(redemptions_table), batch.redemptions)
    if batch.batch_items:
        conn.execute(insert(batch_items_table), batch.batch_items)
    _add_days(conn, batch.days)
    for ev in batch.merchant_events:
        _apply_merchant(conn, ev)
    if batch.void_epochs:  # settled or closed: the merchants' kept vouchers of them go
        forget_void(conn, batch.void_epochs.items())


def _write_certs(conn: Connection, batch: Batch) -> None:
    """New certificates are inserted, known ones updated in one executemany by id."""
    rows = [{**r, "balance": str(r["balance"]), "issued": str(r["issued"]),
             "tab_settled": str(r["tab_settled"])} for r in batch.certs.values()]
    new = [r for r in rows if r["id"] in batch.new_ids]
    old = [{"key": r["id"], **{k: v for k, v in r.items() if k != "id"}}
           for r in rows if r["id"] not in batch.new_ids]
    if new:
        conn.execute(insert(certificates_table), new)
    if old:
        stmt = update(certificates_table).where(certificates_table.c.id == bindparam("key"))
        conn.execute(stmt, old)


def _write_holders(conn: Connection, holders: dict[str, int]) -> None:
    """Records the block each address first held a certificate in (first sighting wins)."""
    known: set[str] = set()
    for part in chunks(sorted(holders)):
        query = select(holders_table.c.address).where(holders_table.c.address.in_(part))
        known.update(conn.execute(query).scalars())
    rows = [{"address": a, "first_block": b} for a, b in holders.items() if a not in known]
    if rows:
        conn.execute(insert(holders_table), rows)


def _day(key: DayKey) -> Any:
    t, (merchant, currency, day) = merchant_days_table, key
    return and_(t.c.merchant == merchant, t.c.currency == currency, t.c.day == day)


def _add_days(conn: Connection, days: dict[DayKey, list[int]]) -> None:
    """Adds [total, count] to each (merchant, currency, day)'s running totals."""
    t = merchant_days_table
    for key, (total, count) in days.items():
        row = conn.execute(select(t.c.total, t.c.count).where(_day(key))).first()
        if row is None:
            merchant, currency, day = key
            conn.execute(insert(t).values(merchant=merchant, currency=currency, day=day,
                                          total=str(total), count=count))
        else:
            conn.execute(update(t).where(_day(key)).values(
                total=str(int(row.total) + total), count=row._mapping["count"] + count))


def _apply_merchant(conn: Connection, ev: Event) -> None:
    """Applies a merchant event in order (they are few, so straight to the table)."""
    t, a = merchants_table, ev.args
    key = t.c.id == a["merchant"]
    if ev.name == "MerchantRegistered":
        conn.execute(insert(t).values(id=a["merchant"], account=a["account"], name=a["name"],
                                      active=True, block=ev.block))
    elif ev.name == "MerchantStatusChanged":
        conn.execute(update(t).where(key).values(active=a["active"], block=ev.block))
    else:
        conn.execute(update(t).where(key).values(account=a["account"], block=ev.block))


# -- reading history back ----------------------------------------------------------------------


def row_event(row: Any) -> Event:
    """An activity row as the event it was made from."""
    return Event(row.event, row.block, row.tx_hash, row.log_index, row.timestamp,
                 json.loads(row.args))


def activity_of(conn: Connection, ids: set[str]) -> list[SqlRow[Any]]:
    """Activity rows of these certificates (each row once): rows naming them, and the batch
    events (issues, transfers) they are members of."""
    t, b = activity_table, batch_items_table
    found: dict[int, SqlRow[Any]] = {}
    for part in chunks(sorted(ids)):
        query = select(t).where(or_(t.c.certificate.in_(part), t.c.other.in_(part)))
        found.update((r.id, r) for r in conn.execute(query))
        joined = select(t).join(b, and_(t.c.tx_hash == b.c.tx_hash,
                                        t.c.log_index == b.c.log_index)).where(
            b.c.certificate.in_(part))
        found.update((r.id, r) for r in conn.execute(joined))
    return list(found.values())


# -- rolling back ---------------------------------------------------------------------------------


def roll_back(conn: Connection, ancestor: int) -> None:
    """Deletes every row from blocks after `ancestor` and rebuilds what they had changed:
    the certificates they touched, the daily totals they counted in, the merchants."""
    gone = [row_event(r) for r in conn.execute(
        select(activity_table).where(activity_table.c.block > ancestor))]
    r = redemptions_table
    days = {(x.merchant, x.currency, x.day) for x in conn.execute(
        select(r.c.merchant, r.c.currency, r.c.day).where(r.c.block > ancestor))}
    for table in (activity_table, redemptions_table, batch_items_table):
        conn.execute(delete(table).where(table.c.block > ancestor))
    conn.execute(delete(blocks_table).where(blocks_table.c.number > ancestor))
    conn.execute(delete(holders_table).where(holders_table.c.first_block > ancestor))
    _rebuild_certs(conn, touched(gone))
    _rebuild_days(conn, days)
    _rebuild_merchants(conn)


def _rebuild_certs(conn: Connection, ids: set[str]) -> None:
    """Replays the remaining history of `ids` (and of the certificates they were split from,
    whose buyer a split passes on) into fresh rows."""
    ids = _with_split_parents(conn, ids)
    for part in chunks(sorted(ids)):
        conn.execute(delete(certificates_table).where(certificates_table.c.id.in_(part)))
    if not ids:
        return
    history = {(r.block, r.log_index): row_event(r) for r in activity_of(conn, ids)}
    batch = Batch()
    applier = Applier(batch, only=ids)
    for key in sorted(history):
        applier.apply(history[key])
    write_batch(conn, batch)


def _with_split_parents(conn: Connection, ids: set[str]) -> set[str]:
    """`ids` and, transitively, every certificate one of them was split from."""
    t, found, frontier = activity_table, set(ids), set(ids)
    while frontier:
        parents: set[str] = set()
        for part in chunks(sorted(frontier)):
            query = select(t.c.certificate).where(and_(t.c.event == "Split",
                                                       t.c.other.in_(part)))
            parents.update(conn.execute(query).scalars())
        frontier = parents - found
        found |= frontier
    return found


def _rebuild_days(conn: Connection, days: set[DayKey]) -> None:
    """Counts these days' totals again from the remaining redemptions."""
    r = redemptions_table
    totals: dict[DayKey, list[int]] = {}
    for key in days:
        conn.execute(delete(merchant_days_table).where(_day(key)))
        merchant, currency, day = key
        amounts = conn.execute(select(r.c.amount).where(and_(
            r.c.merchant == merchant, r.c.currency == currency, r.c.day == day))).scalars()
        found = [int(a) for a in amounts]
        if found:
            totals[key] = [sum(found), len(found)]
    _add_days(conn, totals)


def _rebuild_merchants(conn: Connection) -> None:
    """Replays every merchant event: there are few, and a rebuild then needs no bookkeeping."""
    conn.execute(delete(merchants_table))
    a = activity_table
    query = select(a).where(a.c.event.in_(MERCHANT_EVENTS)).order_by(a.c.block, a.c.log_index)
    for row in conn.execute(query).all():
        _apply_merchant(conn, row_event(row))
