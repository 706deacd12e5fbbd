"""Merchant figures for the dashboard and the API: the SDK's index queries
(`Indexer.merchant_stats`, `Indexer.merchant_redemptions`) shaped as JSON with currency symbols
and decimal amounts, and the redemptions-over-time chart as inline SVG. Nothing here reads the
index's tables: what is counted, and how, is the SDK's."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from markupsafe import Markup, escape

from giftcert.indexer import MerchantStats, Units
from giftcert.money import from_units
from webapp.present import currency_or_eth
from webapp.state import AppState


def merchant_stats(st: AppState, merchant: int, now: int | None = None) -> dict[str, Any]:
    """The `/merchants/{id}/stats` body and the dashboard's figures. Expiry is judged by the
    chain's clock (as the contract does) unless `now` is given."""
    stats = st.indexer.merchant_stats(merchant, st.client.now() if now is None else now)
    return stats_json(st, stats)


def stats_json(st: AppState, stats: MerchantStats) -> dict[str, Any]:
    def money(per: Units) -> list[dict[str, str]]:
        return [from_units(v, currency_or_eth(st, c)).to_json() for c, v in sorted(per.items())
                if v]

    by_day = []
    for d in stats.by_day:
        info = currency_or_eth(st, d.currency)
        by_day.append({"day": d.day, "currency": info.symbol, "count": d.count,
                       "total": from_units(d.total, info).to_json(), "units": d.total})
    return {
        "merchant": stats.merchant, "openCertificates": stats.open_certificates,
        "liability": money(stats.liability), "expiredUnrefunded": money(stats.expired_unrefunded),
        "issued": money(stats.issued),
        "refunded": money(stats.refunded), "reclaimed": money(stats.reclaimed),
        "voided": money(stats.voided), "cashedOut": money(stats.cashed_out),
        "breakage": money(stats.breakage),
        "redemptionsByDay": by_day,
        "openTabs": stats.open_tabs, "tabBalances": money(stats.tab_balances),
        "tabSettles": stats.tab_settles, "tabsSettled": money(stats.tab_settled),
    }


def redemptions(st: AppState, merchant: int, limit: int | None = None) -> list[dict[str, Any]]:
    """A merchant's redemptions, newest first, as the API, the desk and the CSV export show
    them."""
    out = []
    for row in st.indexer.merchant_redemptions(merchant, limit):
        info = currency_or_eth(st, row["currency"])
        out.append({"certificate": row["certificate"], "orderRef": row["order_ref"],
                    "tab": row.get("tab_epoch") is not None,
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
