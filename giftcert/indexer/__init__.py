"""Event indexer: follows GiftCertificates' events into a SQL database (SQLAlchemy Core).

One idea per module:
- `schema`: the tables (`metadata`, the one declaration migrations will use);
- `decoding`: logs -> typed `Event`s, by the contract's ABI;
- `projection`: events -> rows (certificates, holders, redemptions, daily totals, merchants),
  in memory; `store`: those rows in the database, and the rebuild after a rollback;
- `sync`: `Indexer`, which fetches logs by block range, keeps the cursor and undoes reorgs;
- `queries`: `IndexReader`, every read pages, the API and the CLI make (no chain access),
  including `merchant_stats`; `open_index(url, chain_id=, contract=)` for a process that only
  reads (schema and chain checked, nothing written);
- `identity`: whose index it is (chain id and contract, stored with the cursor) and how far it
  got (`IndexStatus`: the writer's heartbeat and lag); `IndexMismatch` refuses another chain's;
- `lock`: the writer lock (PostgreSQL advisory lock, a file lock beside a SQLite file), so
  exactly one `Indexer` writes while others wait.

A batch issue is one `IssuedBatch(firstId, buyer, amounts, message)` event for the ids
firstId .. firstId + n - 1: its activity row names firstId, and `batch_items` maps every id of
the batch (and of an ERC-1155 `TransferBatch`) to that row, so each certificate's history (and
a rebuild) finds it. Refused items of a batch settlement (`RedemptionRefused`) are kept as
activity of their certificate with the reason decoded (`reason` stays the raw hex, `error` is
the contract error's name).

Payment tabs live in their certificate's row (tab_open, tab_epoch, tab_signer, tab_close_at,
tab_settled: from TabOpened, TabSettled, TabCloseRequested, TabClosed); a `TabSettled` is a
payment like a `Redeemed` (a `redemptions` row with order_ref 0 and its `tab_epoch`, and the
day's total), so a rebuild after a reorg handles it the same way. Indexing a `TabSettled` (or a
`TabClosed`) also forgets the merchant's kept vouchers of that epoch and older ones (table
`tab_vouchers`, giftcert.vouchers) in the same transaction: they can no longer be collected.

Order references are data of the `Redeemed` event only (the contract keeps no record of them),
so whether an order was paid is answered here: `order_paid`, `order_redemptions`.
"""

from giftcert.indexer.decoding import Event, EventSpec, LogDecoder, decode_log, event_specs
from giftcert.indexer.identity import IndexIdentity, IndexMismatch, IndexStatus
from giftcert.indexer.projection import MERCHANT_EVENTS, ZERO, Applier, Batch
from giftcert.indexer.queries import DayTotal, IndexReader, MerchantStats, Units, open_index
from giftcert.indexer.schema import (
    activity_table,
    batch_items_table,
    blocks_table,
    certificates_table,
    cursor_table,
    holders_table,
    merchant_days_table,
    merchants_table,
    metadata,
    redemptions_table,
)
from giftcert.indexer.sync import REORG_WINDOW, CursorMoved, Indexer, Progress

__all__ = [
    "MERCHANT_EVENTS", "REORG_WINDOW", "ZERO", "Applier", "Batch", "CursorMoved", "DayTotal",
    "Event", "EventSpec", "IndexIdentity", "IndexMismatch", "IndexReader", "IndexStatus",
    "Indexer", "LogDecoder", "MerchantStats", "Progress", "Units", "open_index",
    "activity_table", "batch_items_table", "blocks_table", "certificates_table", "cursor_table",
    "decode_log", "event_specs", "holders_table", "merchant_days_table", "merchants_table",
    "metadata", "redemptions_table",
]
