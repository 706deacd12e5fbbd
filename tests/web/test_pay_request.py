"""A merchant's payment request link (`/pay?merchant=&currency=&amount=&ref=`)."""

from __future__ import annotations

from helpers import assert_query_errors


def test_payment_request_page_names_merchant_amount_and_order(web):
    r = web.http.get("/pay?merchant=2&currency=tUSD&amount=4.50&ref=77")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Pay at Page Turner Books" in page and "4.50 tUSD" in page and "order 77" in page
    assert 'data-merchant="2"' in page and 'data-currency="tUSD"' in page
    assert web.http.get("/pay?merchant=1").status_code == 200  # the amount comes later


def test_payment_request_bad_input_names_the_field(web):
    assert_query_errors(web, "/pay", [
        ("", 400, "merchant"), ("merchant=9", 404, "merchant"),
        ("merchant=1&amount=abc", 400, "amount"),
        ("merchant=1&currency=tUSD&amount=1.1234567", 400, "amount"),
        ("merchant=1&currency=DOGE", 400, "currency"), ("merchant=1&ref=-3", 400, "ref")])
