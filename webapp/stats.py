"""Merchant figures from the indexer: liability, redemptions by day, breakage and refunds, and
the redemptions-over-time chart as inline SVG."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import and_, select

from giftcert.indexer import activity_table, certificates_table, redemptions_table
from giftcert.money import from_units
from webapp.present import currency_or_eth
from webapp.state import AppState

CLOSING_EVENTS = ("Refunded", "Reclaimed", "Voided", "CashedOut")


def merchant_stats(st: AppState, merchant: int, now: int | None = None) -> dict[str, Any]:
    now = int(time.time()) if now is None else now
    t, a = certificates_table, activity_table
    outstanding: dict[int, int] = defaultdict(int)
    expired: dict[int, int] = defaultdict(int)
    issued: dict[int, int] = defaultdict(int)
    closed: dict[str, dict[int, int]] = {e: defaultdict(int) for e in CLOSING_EVENTS}
    open_count = 0
    with st.indexer.engine.connect() as conn:
        for row in conn.execute(select(t.c.currency, t.c.balance, t.c.issued, t.c.expiry,
                                       t.c.burned).where(t.c.merchant == merchant)):
            issued[row.currency] += int(row.issued)
            if row.burned:
                continue
            if row.expiry <= now:
                expired[row.currency] += int(row.balance)
            else:
                outstanding[row.currency] += int(row.balance)
                open_count += 1
        query = select(a.c.event, a.c.args, t.c.currency).join(
            t, t.c.id == a.c.certificate).where(
            and_(t.c.merchant == merchant, a.c.event.in_(CLOSING_EVENTS)))
        for row in conn.execute(query):
            closed[row.event][row.currency] += int(json.loads(row.args)["amount"])
    days = st.indexer.merchant_totals(merchant)

    def money(per: dict[int, int]) -> list[dict[str, str]]:
        return [from_units(v, currency_or_eth(st, c)).to_json() for c, v in sorted(per.items())
                if v]

    by_day = [{"day": d["day"], "currency": currency_or_eth(st, d["currency"]).symbol,
               "total": from_units(int(d["total"]), currency_or_eth(st, d["currency"])).to_json(),
               "count": d["count"], "units": int(d["total"])} for d in days]
    return {
        "merchant": merchant, "openCertificates": open_count,
        "liability": money(outstanding), "expiredUnrefunded": money(expired),
        "issued": money(issued),
        "refunded": money(closed["Refunded"]), "reclaimed": money(closed["Reclaimed"]),
        "voided": money(closed["Voided"]), "cashedOut": money(closed["CashedOut"]),
        "breakage": money({c: expired.get(c, 0) + closed["Refunded"].get(c, 0)
                           for c in set(expired) | set(closed["Refunded"])}),
        "redemptionsByDay": by_day,
    }


def redemptions(st: AppState, merchant: int, limit: int | None = None) -> list[dict[str, Any]]:
    r = redemptions_table
    query = select(r).where(r.c.merchant == merchant).order_by(r.c.block.desc(),
                                                               r.c.log_index.desc())
    if limit:
        query = query.limit(limit)
    with st.indexer.engine.connect() as conn:
        rows = [dict(x._mapping) for x in conn.execute(query)]
    out = []
    for row in rows:
        info = currency_or_eth(st, row["currency"])
        out.append({"certificate": row["certificate"], "orderRef": row["order_ref"],
                    "amount": from_units(int(row["amount"]), info).to_json(),
                    "day": row["day"], "timestamp": row["timestamp"], "txHash": row["tx_hash"],
                    "block": row["block"]})
    return out


def chart_svg(by_day: list[dict[str, Any]], width: int = 640, height: int = 200) -> Markup:
    """Bars of redeemed totals per day (the most common currency), as inline SVG."""
    if not by_day:
        return Markup('<svg id="redemptions-chart" data-testid="redemptions-chart" '
                      f'viewBox="0 0 {width} {height}" role="img" aria-label="No redemptions yet">'
                      f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle">'
                      'No redemptions yet</text></svg>')
    counts: dict[str, int] = defaultdict(int)
    for d in by_day:
        counts[d["currency"]] += 1
    symbol = max(counts, key=lambda s: counts[s])
    rows = [d for d in by_day if d["currency"] == symbol][-30:]
    peak = max(d["units"] for d in rows) or 1
    pad, base = 30, height - 30
    bar = min((width - 2 * pad) / len(rows), 48)  # a few days do not make walls
    parts = [f'<svg id="redemptions-chart" data-testid="redemptions-chart" '
             f'viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Redemptions per day in {escape(symbol)}">',
             f'<line x1="{pad}" y1="{base}" x2="{width - pad}" y2="{base}" class="axis"/>']
    for i, d in enumerate(rows):
        h = (base - 20) * d["units"] / peak
        x = pad + i * bar
        label = f'{d["day"]}: {d["total"]["amount"]} {symbol} ({d["count"]})'
        parts.append(f'<rect class="bar" x="{x + 2:.1f}" y="{base - h:.1f}" '
                     f'width="{max(bar - 4, 1):.1f}" height="{h:.1f}">'
                     f'<title>{escape(label)}</title></rect>')
        if len(rows) <= 10 or i in (0, len(rows) - 1):
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 10}" text-anchor="middle" '
                         f'class="tick">{escape(d["day"][5:])}</text>')
    top = max(rows, key=lambda r: r["units"])["total"]
    parts.append(f'<text x="{pad}" y="14" class="tick">busiest day: '
                 f'{escape(top["amount"])} {escape(top["currency"])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
