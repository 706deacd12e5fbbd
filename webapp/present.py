"""Shaping SDK and indexer data for templates and JSON (ids and amounts as text)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from flask import current_app

from giftcert.client import Certificate
from giftcert.money import ETH, CurrencyInfo, from_units
from giftcert.rules import indexed_status
from webapp.errors import revert_message
from webapp.state import AppState

OCCASIONS = ["Gift", "Happy Birthday", "Thank You", "Happy Holidays", "Congratulations",
             "Get Well Soon", "Happy Wedding", "Welcome Baby"]


def state() -> AppState:
    return current_app.extensions["giftcert"]


# What a certificate's history says, in words (the API also keeps the event's name).
EVENT_LABELS = {
    "Issued": "Bought", "IssuedBatch": "Bought", "ClaimLinkCreated": "Claim link made",
    "Claimed": "Claimed", "Reclaimed": "Taken back by the giver", "ToppedUp": "Topped up",
    "Split": "Part re-gifted",
    "Merged": "Merged", "Redeemed": "Paid at the merchant", "Refunded": "Refunded to the giver",
    "Voided": "Voided by the merchant", "CashedOut": "Cashed out",
    "TransferSingle": "Changed hands", "TransferBatch": "Changed hands",
    "RedemptionRefused": "Payment refused",
}


def occasion_name(number: int) -> str:
    return OCCASIONS[number] if 0 <= number < len(OCCASIONS) else OCCASIONS[0]


def date(ts: int | None) -> str:
    if not ts:
        return "—"
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d %H:%M UTC")


def currency_or_eth(st: AppState, currency_id: int) -> CurrencyInfo:
    return st.currency(currency_id) or ETH


def status_of(row: dict[str, Any], now: int) -> str:
    """An indexed certificate's status at `now` (the SDK's rule, giftcert.rules)."""
    return str(indexed_status(row, now))


def indexed_cert(st: AppState, row: dict[str, Any], now: int | None = None) -> dict[str, Any]:
    """A certificate row from the indexer (no chain call)."""
    now = int(time.time()) if now is None else now
    info = currency_or_eth(st, row["currency"])
    merchant = st.merchant(row["merchant"])
    return {
        "id": row["id"], "owner": row["owner"],
        "balance": from_units(int(row["balance"]), info).to_json(),
        "issued": from_units(int(row["issued"]), info).to_json(),
        "merchant": row["merchant"], "merchantName": merchant.name if merchant else "",
        "currency": info.symbol, "occasion": row["occasion"],
        "occasionName": occasion_name(row["occasion"]),
        "validFrom": row["valid_from"], "expiry": row["expiry"],
        "awaitingClaim": row["awaiting_claim"], "buyer": row["buyer"],
        "status": status_of(row, now),
    }


def chain_cert(cert: Certificate, now: int | None = None) -> dict[str, Any]:
    # Status (expired, not yet valid) by the chain's clock, which the contract also uses.
    data = cert.to_json(state().client.now() if now is None else now)
    data["occasionName"] = occasion_name(cert.occasion)
    return data


def activity(st: AppState, entry: dict[str, Any], currency: CurrencyInfo) -> dict[str, Any]:
    args = dict(entry["args"])
    amount = args.get("amount")
    shown = from_units(int(amount), currency).to_json() if amount is not None else None
    label = EVENT_LABELS.get(entry["event"], entry["event"])
    if entry["event"] == "RedemptionRefused" and args.get("error"):
        label = f"{label}: {revert_message(args['error'])}"  # why, as the merchant was told
    return {"event": entry["event"], "label": label,
            "block": entry["block"], "txHash": entry["tx_hash"],
            "timestamp": entry["timestamp"], "date": date(entry["timestamp"]),
            "amount": shown, "args": {k: str(v) if isinstance(v, int) and not isinstance(
                v, bool) else v for k, v in args.items()}}
