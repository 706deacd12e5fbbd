"""Item 11: wallets can show a certificate (metadata JSON with on-chain SVG; ERC-4906 events)."""

import base64
import json

from harness import USD
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp import present


def _metadata(h, cert_id):
    uri = h.view("uri", cert_id)
    prefix = "data:application/json;base64,"
    assert uri.startswith(prefix)
    return json.loads(base64.b64decode(uri[len(prefix) :]))


def _svg(meta) -> str:
    prefix = "data:image/svg+xml;base64,"
    assert meta["image"].startswith(prefix)
    return base64.b64decode(meta["image"][len(prefix) :]).decode()


def test_metadata_shows_merchant_balance_currency_expiry_and_occasion(h):
    h.fund_usd(h.buyer, 100 * USD)
    cert = h.issue(amount=25 * USD, currency=h.usd_id, occasion=1)
    meta = _metadata(h, cert)
    svg = _svg(meta)
    assert meta["name"] == "Happy Birthday - Corner Coffee"
    assert "25.00 tUSD" in svg and "Corner Coffee" in svg and "Happy Birthday" in svg
    expiry = h.cert(cert)["expiry"]
    assert f"Valid until {present.date(expiry)}" in svg  # "3 Dec 2031", as the site writes it
    traits = {a["trait_type"]: a["value"] for a in meta["attributes"]}
    assert traits["Balance"] == "25 tUSD" and traits["Expires"] == expiry


def test_metadata_follows_balance_changes_with_erc4906_event(h):
    cert = h.issue(amount=10**16)  # 0.01 ETH
    assert "0.01 ETH" in _svg(_metadata(h, cert))  # two decimals already
    receipt = h.tx("redeem", cert, 25 * 10**14, 1, sender=h.holder)
    assert [e["args"]["_tokenId"] for e in h.events("MetadataUpdate", receipt)] == [cert]
    assert "0.0075 ETH" in _svg(_metadata(h, cert))


def test_interfaces_declared(h):
    for interface_id in ("0xd9b67a26", "0x0e89341c", "0x49064906", "0x01ffc9a7"):
        assert h.view("supportsInterface", bytes.fromhex(interface_id[2:])), interface_id


def test_merchant_name_cannot_break_json(h):
    h.tx("registerMerchant", h.outsider, 'Bad "name" <script>', sender=h.admin)
    cert = h.issue(amount=1000, merchant=3)
    meta = _metadata(h, cert)  # parses as JSON
    assert 'Bad "name" <script>' in meta["name"]
    assert "Bad &quot;name&quot; &lt;script&gt;" in _svg(meta)


# The renderer's views only read: the snapshot of the function-scoped fixture is not needed.
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2**72 - 1), st.sampled_from([0, 2, 6, 18]),
       st.integers(1, 253_402_300_799))  # to 31 Dec 9999, as far as Python's dates go
def test_card_writes_amounts_and_days_as_the_site_does(h, units, decimals, timestamp):
    """The card art and the site never disagree on how an amount or a day reads."""
    r = h.renderer.functions
    plain = r.formatAmount(units, decimals).call()
    assert r.displayAmount(plain).call() == present.amount_text(plain)
    assert r.displayDate(timestamp).call() == present.date(timestamp)
