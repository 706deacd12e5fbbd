"""Shaping SDK and indexer data for templates and JSON (ids and amounts as text), and the
plain words pages use for them: short gift references instead of 77-digit ids, short
addresses, network names, dates people read, statuses in words, amounts with two decimals."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from eth_utils import keccak
from flask import current_app
from markupsafe import Markup, escape
from sqlalchemy import select

from giftcert.client import Certificate
from giftcert.money import ETH, CurrencyInfo, format_decimal, from_units
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
    "TransferSingle": "Passed on", "TransferBatch": "Passed on",
    "RedemptionRefused": "Payment refused",
    "TabOpened": "Tab opened", "TabSettled": "Tab total collected by the merchant",
    "TabCloseRequested": "Asked to close the tab", "TabClosed": "Tab closed",
}


def occasion_name(number: int) -> str:
    return OCCASIONS[number] if 0 <= number < len(OCCASIONS) else OCCASIONS[0]


def date(ts: int | None) -> str:
    """A day as people write it: "3 May 2026" (UTC, the contract's days)."""
    if not ts:
        return "—"
    d = datetime.fromtimestamp(int(ts), UTC)
    return f"{d.day} {d:%b %Y}"


def date_time(ts: int | None) -> str:
    """"3 May 2026, 23:59 UTC": where the hour matters (a claim deadline)."""
    if not ts:
        return "—"
    return f"{date(ts)}, {datetime.fromtimestamp(int(ts), UTC):%H:%M} UTC"


# -- short gift references --------------------------------------------------------------------

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REF = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-?[0-9A-HJKMNP-TV-Z]{4}$")


def gift_ref(cert_id: int | str) -> str:
    """A certificate's short reference, "7K2M-Q9XD": the first 40 bits of keccak256 of its id
    (32 bytes) in Crockford's base32 (the API answers carry it as `ref`: the rule lives here
    only). Ids stay the
    identity on chain and in the API; the reference is what people read, type and share."""
    bits = int.from_bytes(keccak(int(cert_id).to_bytes(32, "big"))[:5], "big")
    code = "".join(_CROCKFORD[(bits >> (5 * i)) & 31] for i in range(7, -1, -1))
    return f"{code[:4]}-{code[4:]}"


def looks_like_ref(text: str) -> bool:
    """A reference as typed: any case, the dash optional; I/L read as 1 and O as 0."""
    return bool(_REF.match(_normal_ref(text)))


def _normal_ref(text: str) -> str:
    return text.strip().upper().replace("I", "1").replace("L", "1").replace("O", "0")


class RefIndex:
    """Short reference -> certificate id, for every certificate the index holds (closed ones
    too: an old link says the gift was used, not that it never existed). Filled from the
    index's certificates table and topped up with the rows made since, when a reference is
    not found."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}
        self._block = -1
        self._lock = threading.Lock()

    def find(self, st: AppState, ref: str, wait: bool = True) -> int | None:
        code = _normal_ref(ref).replace("-", "")
        key = f"{code[:4]}-{code[4:]}"
        # A gift bought a moment ago may not be indexed yet: the follower reads a new block
        # about every second, so wait for it a little before saying there is no such gift.
        for attempt in range(12 if wait else 1):
            if key in self._ids:
                break
            if attempt:
                time.sleep(0.25)
            self._load(st)
        found = self._ids.get(key)
        return int(found) if found is not None else None

    def _load(self, st: AppState) -> None:
        from giftcert.indexer.schema import certificates_table as t

        with self._lock, st.indexer.engine.connect() as conn:
            rows = conn.execute(select(t.c.id, t.c.created_block)
                                .where(t.c.created_block >= self._block)).all()
            for cert_id, block in rows:
                self._ids[gift_ref(cert_id)] = str(cert_id)
                self._block = max(self._block, int(block))


def refs(st: AppState) -> RefIndex:
    index = current_app.extensions.get("giftcert.refs")
    if index is None:
        index = current_app.extensions["giftcert.refs"] = RefIndex()
    return index


def resolve_certificate(text: str, field: str = "certificate") -> int:
    """A certificate id from a page's path: its short reference (7K2M-Q9XD) or the full id."""
    from webapp.api.fields import CertificateId, parse
    from webapp.errors import ApiError

    if looks_like_ref(text) and not text.isdigit():
        found = refs(state()).find(state(), text)
        if found is None:
            raise ApiError(404, f"no gift has the reference {text.upper()} (or it is too "
                                "new: try again in a few seconds)", field, "UnknownCertificate")
        return found
    return int(parse(CertificateId, text, field))


# -- plain words ------------------------------------------------------------------------------

NETWORKS = {
    1: "Ethereum", 10: "Optimism", 56: "BNB Chain", 100: "Gnosis", 137: "Polygon",
    8453: "Base", 42161: "Arbitrum One", 43114: "Avalanche", 59144: "Linea", 534352: "Scroll",
    11155111: "Sepolia test network", 84532: "Base Sepolia test network",
    421614: "Arbitrum Sepolia test network", 11155420: "OP Sepolia test network",
    17000: "Holesky test network", 31337: "Local test network",
}


def network_name(chain_id: int) -> str:
    return NETWORKS.get(int(chain_id), f"Network {chain_id}")


def amount_text(amount: str | Decimal) -> str:
    """At least two decimals, thousands grouped: "1,000.00", "12.50", "0.005"."""
    text = format_decimal(amount) if isinstance(amount, Decimal) else str(amount)
    negative = text.startswith("-")
    whole, _, frac = text.lstrip("-").partition(".")
    return f"{'-' if negative else ''}{int(whole or 0):,}.{frac.ljust(2, '0')}"


def money(value: Any) -> str:
    """A Money (or its JSON) as "12.50 tUSD"."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        return f"{amount_text(value['amount'])} {value['currency']}"
    return f"{amount_text(value.amount)} {value.currency}"


def short_address(address: str | None) -> str:
    return f"{address[:6]}…{address[-4:]}" if address else ""


def address_html(address: str | None, testid: str = "") -> Markup:
    """An address on screen: its short form, the whole one in the title and for copying;
    the page marks the connected account's as "you" (js/app.js)."""
    if not address:
        return Markup("")
    tid = Markup(f' data-testid="{escape(testid)}"') if testid else Markup("")
    return Markup('<span class="addr" data-address="{0}" title="{0}"{1}>{2}</span>').format(
        address, tid, short_address(address))


STATUS_WORDS = {
    "active": "Ready to spend", "awaiting-claim": "Waiting to be claimed",
    "closed": "Used up or closed",
}


def status_text(cert: dict[str, Any]) -> str:
    """A certificate's status in words: "Ready to spend", "Opens on 3 May 2026", "Expired on
    1 June 2026"."""
    status = cert["status"]
    if status == "not-yet-valid":
        return f"Opens on {date(cert['validFrom'])}"
    if status == "expired":
        return f"Expired on {date(cert['expiry'])}"
    return STATUS_WORDS.get(status, status)


def template_helpers() -> dict[str, Any]:
    """What every template may call (registered by the blueprints)."""
    return {"date": date, "date_time": date_time, "money": money, "amount_text": amount_text,
            "addr": address_html, "short_address": short_address, "gift_ref": gift_ref,
            "status_text": status_text, "network_name": network_name}


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
        "id": row["id"], "ref": gift_ref(row["id"]), "owner": row["owner"],
        "balance": from_units(int(row["balance"]), info).to_json(),
        "issued": from_units(int(row["issued"]), info).to_json(),
        "merchant": row["merchant"], "merchantName": merchant.name if merchant else "",
        "currency": info.symbol, "occasion": row["occasion"],
        "occasionName": occasion_name(row["occasion"]),
        "validFrom": row["valid_from"], "expiry": row["expiry"],
        "awaitingClaim": row["awaiting_claim"], "buyer": row["buyer"],
        "status": status_of(row, now), "tabOpen": bool(row.get("tab_open")),
    }


def chain_cert(cert: Certificate, now: int | None = None) -> dict[str, Any]:
    # Status (expired, not yet valid) by the chain's clock, which the contract also uses.
    data = cert.to_json(state().client.now() if now is None else now)
    data["occasionName"] = occasion_name(cert.occasion)
    data["ref"] = gift_ref(cert.id)
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


def gift_story(st: AppState, cert_id: int) -> dict[str, Any]:
    """What the giver wrote (the Issued event's message, from the index) and who they are:
    the name the give form adds as the message's last line ("— Sam"), else the buyer's
    address. A certificate split off another has no message of its own."""
    message, buyer = "", None
    for entry in st.indexer.history(cert_id):
        if entry["event"] in ("Issued", "IssuedBatch"):
            message = str(entry["args"].get("message") or "")
            buyer = entry["args"].get("buyer") or buyer
            break
    row = st.indexer.certificate(cert_id)
    if row is not None and row.get("buyer"):
        buyer = row["buyer"]
    name = None
    lines = message.rstrip().split("\n")
    if lines and re.match(r"^\s*[—–-]{1,2}\s*\S", lines[-1]):
        name = re.sub(r"^\s*[—–-]{1,2}\s*", "", lines[-1]).strip()[:60]
        message = "\n".join(lines[:-1]).strip()
    return {"message": message, "fromName": name, "buyer": buyer}
