"""Events -> rows: what each event does to the index, in memory, with no database.

`Applier` folds decoded events into a `Batch` of rows: certificates (their current state, their
payment tab's included), holders, payments (redemptions and tab settles), batch items, daily
totals and merchant changes. `store` loads the rows a
range of events touches and writes the batch back in the same transaction, so the rules of the
index live here once, for a first sync and for a rebuild after a reorganisation alike.

A rebuild replays the remaining history of some certificates (`only`): then only those rows
are touched and nothing else is recorded (holders, redemptions, batch items and totals are
kept or rebuilt from their own tables).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from giftcert.ids import decode_id
from giftcert.indexer.decoding import Event

ZERO = "0x" + "00" * 20
MERCHANT_EVENTS = ("MerchantRegistered", "MerchantStatusChanged", "MerchantAccountChanged")
# Events about several certificates at once: each member id is mapped to the event's activity
# row in `batch_items`, so a certificate's history (and its rebuild) finds them.
BATCH_EVENTS = ("IssuedBatch", "TransferBatch")

Row = dict[str, Any]  # a certificate row in memory (balance and issued as int)
DayKey = tuple[int, int, str]  # (merchant, currency, day)


@dataclass
class Batch:
    """Rows produced by one range of events, written in one transaction."""

    certs: dict[str, Row] = field(default_factory=dict)
    new_ids: set[str] = field(default_factory=set)
    holders: dict[str, int] = field(default_factory=dict)
    redemptions: list[Row] = field(default_factory=list)
    batch_items: list[Row] = field(default_factory=list)
    days: dict[DayKey, list[int]] = field(default_factory=dict)  # -> [total, count]
    merchant_events: list[Event] = field(default_factory=list)
    # certificate -> the latest epoch the range settled or closed: the merchant's kept vouchers
    # of it and older ones are void (giftcert.vouchers.forget_void, in the same transaction)
    void_epochs: dict[str, int] = field(default_factory=dict)


def new_cert(cert_id: int, block: int) -> Row:
    """A certificate row before its first event: the terms come from the id itself."""
    terms = decode_id(cert_id)
    return {"id": str(cert_id), "merchant": terms.merchant, "currency": terms.currency,
            "occasion": terms.occasion, "valid_from": terms.valid_from, "expiry": terms.expiry,
            "buyer": None, "owner": ZERO, "balance": 0, "issued": 0, "awaiting_claim": False,
            "burned": False, "created_block": block, "updated_block": block,
            "tab_open": False, "tab_epoch": None, "tab_signer": None, "tab_close_at": None,
            "tab_settled": 0}


def day_of(timestamp: int) -> str:
    """The UTC day a redemption counts for in the daily totals."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


class Applier:
    """Applies decoded events to the rows of `batch` (certificates keyed by id text)."""

    def __init__(self, batch: Batch, only: set[str] | None = None) -> None:
        self.batch = batch
        self.only = only  # when replaying after a reorg: rebuild just these certificates

    @property
    def recording(self) -> bool:
        """A first sync (not a rebuild): rows besides the certificates are produced too."""
        return self.only is None

    def cert(self, cert_id: int, block: int) -> Row | None:
        """The row of `cert_id` (created on first sight), or None if it is not being built."""
        key = str(cert_id)
        if self.only is not None and key not in self.only:
            return None
        row = self.batch.certs.get(key)
        if row is None:
            row = self.batch.certs[key] = new_cert(int(cert_id), block)
            self.batch.new_ids.add(key)
        row["updated_block"] = block
        return row

    def apply(self, ev: Event) -> None:
        handler = getattr(self, f"on_{ev.name}", None)
        if handler is not None:
            handler(ev, ev.args)

    def _set(self, ev: Event, cert_id: int, **values: Any) -> Row | None:
        row = self.cert(cert_id, ev.block)
        if row is not None:
            row.update(values)
        return row

    def _add(self, ev: Event, cert_id: int, delta: int) -> None:
        row = self.cert(cert_id, ev.block)
        if row is not None:
            row["balance"] = int(row["balance"]) + delta

    def _move(self, ev: Event, cert_id: int, a: dict[str, Any]) -> None:
        """A TransferSingle or TransferBatch item: a mint, a claim, a re-gift or a burn."""
        row = self.cert(cert_id, ev.block)
        if row is None:
            return
        if a["from"] == ZERO:
            # A mint. Ids carry a buyer-chosen serial, so a burned id can be issued again: its
            # new life starts from nothing (the issue event that follows fills it in). The
            # minting caller is the buyer (`Issued` does not repeat it); a split's new
            # certificate takes its parent's buyer instead (the `Split` that follows).
            fresh = new_cert(int(cert_id), ev.block)
            row.update({k: v for k, v in fresh.items() if k != "id"}, buyer=a["operator"])
        else:
            # A claim link is claimed by moving the certificate out of its claim key (the only
            # way the key can move it), so any move ends the wait.
            row["awaiting_claim"] = False
        to = a["to"]
        row["owner"] = to
        if to == ZERO:
            row["burned"], row["balance"], row["awaiting_claim"] = True, 0, False
            row["tab_open"], row["tab_close_at"] = False, None  # a refund ends a tab
        elif self.recording:
            self.batch.holders.setdefault(to, ev.block)

    def _map_members(self, ev: Event, ids: Iterable[int]) -> None:
        if self.recording:
            self.batch.batch_items.extend(
                {"certificate": str(cert_id), "block": ev.block, "tx_hash": ev.tx_hash,
                 "log_index": ev.log_index, "position": position}
                for position, cert_id in enumerate(ids))

    def on_TransferSingle(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self._move(ev, a["id"], a)

    def on_TransferBatch(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        for cert_id in a["ids"]:
            self._move(ev, cert_id, a)
        self._map_members(ev, a["ids"])

    def on_Issued(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        row = self._set(ev, a["id"], balance=a["amount"], issued=a["amount"])
        if row is not None and "buyer" in a:  # contract v2 before the buyer topic was dropped
            row["buyer"] = a["buyer"]

    def on_IssuedBatch(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        members = batch_members(a)
        for cert_id, amount in members:
            self._set(ev, cert_id, buyer=a["buyer"], balance=amount, issued=amount)
        self._map_members(ev, (cert_id for cert_id, _ in members))

    def on_ClaimLinkCreated(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self._set(ev, a["id"], awaiting_claim=True)

    def on_ToppedUp(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self._add(ev, a["id"], int(a["amount"]))

    def on_Split(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self._add(ev, a["fromId"], -int(a["amount"]))
        parent = self.batch.certs.get(str(a["fromId"]))
        amount = int(a["amount"])
        self._set(ev, a["newId"], balance=amount, issued=amount,
                  buyer=parent["buyer"] if parent else None)

    def on_Merged(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self._set(ev, a["fromId"], balance=0)
        self._add(ev, a["intoId"], int(a["amount"]))

    def on_Redeemed(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        """A payment: the balance goes down; the order reference and daily total are kept."""
        self._add(ev, a["id"], -int(a["amount"]))
        self._payment(ev, a["id"], int(a["amount"]), str(a["orderRef"]), None)

    def _payment(self, ev: Event, cert_id: int, amount: int, order_ref: str,
                 tab_epoch: int | None) -> None:
        """Records a payment to the certificate's merchant (a redemption, a tab's settle) and
        counts it in the day's total."""
        if not self.recording:
            return
        terms, day = decode_id(cert_id), day_of(ev.timestamp)
        merchant, currency = terms.merchant, terms.currency  # both are the id's
        self.batch.redemptions.append({
            "block": ev.block, "tx_hash": ev.tx_hash, "log_index": ev.log_index,
            "certificate": str(cert_id), "merchant": merchant, "currency": currency,
            "order_ref": order_ref, "amount": str(amount), "timestamp": ev.timestamp,
            "day": day, "tab_epoch": tab_epoch,
        })
        totals = self.batch.days.setdefault((merchant, currency, day), [0, 0])
        totals[0] += amount
        totals[1] += 1

    # -- payment tabs: the tab's state lives in its certificate's row ------------------------

    def on_TabOpened(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        key = a["sessionKey"]
        self._set(ev, a["id"], tab_open=True, tab_epoch=int(a["epoch"]),
                  tab_signer=None if key == ZERO else key, tab_close_at=None, tab_settled=0)

    def on_TabSettled(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        """The merchant collected a voucher: a payment (as a redemption is, with no order
        reference) and the tab's next epoch."""
        amount = int(a["amount"])
        row = self.cert(a["id"], ev.block)
        if row is not None:
            row["balance"] = int(row["balance"]) - amount
            row["tab_settled"] = int(row["tab_settled"]) + amount
            row["tab_epoch"] = int(a["epoch"]) + 1
        self._payment(ev, a["id"], amount, "0", int(a["epoch"]))
        self._void(a["id"], int(a["epoch"]))

    def _void(self, cert_id: int, epoch: int) -> None:
        """Vouchers of `epoch` and older can no longer be collected (a first sync only: a
        rebuild replays what was recorded before)."""
        if self.recording:
            key = str(cert_id)
            self.batch.void_epochs[key] = max(epoch, self.batch.void_epochs.get(key, epoch))

    def on_TabCloseRequested(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self._set(ev, a["id"], tab_close_at=int(a["closeAt"]))

    def on_TabClosed(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self._set(ev, a["id"], tab_open=False, tab_epoch=int(a["epoch"]), tab_close_at=None)
        self._void(a["id"], int(a["epoch"]) - 1)  # the event names the next epoch

    def on_Refunded(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self._set(ev, a["id"], balance=0)

    on_Reclaimed = on_Voided = on_CashedOut = on_Refunded

    def on_MerchantRegistered(self, ev: Event, a: dict[str, Any]) -> None:  # noqa: N802
        if self.recording:
            self.batch.merchant_events.append(ev)

    on_MerchantStatusChanged = on_MerchantAccountChanged = on_MerchantRegistered


def batch_members(a: dict[str, Any]) -> list[tuple[int, int]]:
    """(id, amount) of each certificate of an IssuedBatch event."""
    first = int(a["firstId"])
    return [(first + i, int(amount)) for i, amount in enumerate(a["amounts"])]


def cert_ids(ev: Event) -> tuple[str | None, str | None]:
    """The certificate an activity row is filed under, and the other one a Split or Merge
    names. An IssuedBatch is filed under its first id and a TransferBatch under none: their
    members find them through `batch_items`."""
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


def touched(events: Iterable[Event]) -> set[str]:
    """Every certificate these events change (the rows to load before applying them)."""
    ids: set[str] = set()
    for ev in events:
        if ev.name == "TransferBatch":
            ids.update(str(i) for i in ev.args["ids"])
        elif ev.name == "IssuedBatch":
            ids.update(str(i) for i, _ in batch_members(ev.args))
        ids.update(i for i in cert_ids(ev) if i is not None)
    return ids


def activity_row(ev: Event) -> Row:
    """The activity table's row for `ev` (its arguments as JSON)."""
    first, other = cert_ids(ev)
    return {"block": ev.block, "tx_hash": ev.tx_hash, "log_index": ev.log_index,
            "timestamp": ev.timestamp, "event": ev.name, "certificate": first, "other": other,
            "args": json.dumps(ev.args)}
