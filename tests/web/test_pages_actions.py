"""The certificate and gift pages offer cash-out, merge and reclaim exactly when the contract
would accept them (and say why not, or nothing, otherwise)."""

from __future__ import annotations

import re

import pytest
from eth_account import Account
from helpers import DAY, build, issue_eth

from giftcert.errors import revert_class
from webapp.present import date, gift_ref

TESTID = re.compile(r'data-testid="([\w-]+)"')


def page(web, path: str) -> str:
    r = web.http.get(path)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return r.get_data(as_text=True)


def shown_ids(html: str) -> set[str]:
    return set(TESTID.findall(html))


def merge_options(html: str) -> list[str]:
    select = re.search(r'<select name="into"[^>]*>(.*?)</select>', html, re.S)
    return re.findall(r'<option value="(\d+)">', select.group(1)) if select else []


def claim_link_gift(web, amount: str = "0.2", claim_days: int = 1) -> int:
    key = Account.create()
    out = build(web, "issue", web.buyer.sender, claimKey=key.address, amount=amount,
                merchant=web.coffee_id, currency="ETH", expiryDays=30, claimDays=claim_days)
    receipt = web.send(out["tx"])
    tx = web.http.get(f"/api/v1/transactions/{receipt['transactionHash'].to_0x_hex()}")
    return int(tx.get_json()["issued"][0])


# ------------------------------------------------------------------ cash-out


def test_no_cash_out_where_the_merchant_allows_none(web):
    cert = issue_eth(web, web.holder.sender, "0.01")
    html = page(web, f"/certificates/{cert}")
    assert {"cashout-form", "cashout-unavailable"}.isdisjoint(shown_ids(html))
    assert 'data-tx="cash-out"' not in html


def test_cash_out_form_when_the_balance_is_within_the_limit(web):
    web.coffee.set_cash_out_limit(web.coffee_id, "ETH", "0.1")
    cert = issue_eth(web, web.holder.sender, "0.05")
    html = page(web, f"/certificates/{cert}")
    assert 'data-tx="cash-out"' in html and "cashout-unavailable" not in shown_ids(html)
    form = html.split('data-testid="cashout-form"')[1].split("</form>")[0]
    assert f'name="certificate" value="{cert}"' in form
    assert "0.05 ETH" in form and "up to\n  0.10 ETH" in form
    assert 'data-total="0.05 ETH"' in html
    # What the form asks the API for is a transaction the holder can send.
    out = build(web, "cash-out", web.holder.sender, certificate=str(cert))
    web.send(out["tx"])
    with pytest.raises(revert_class("UnknownCertificate")):  # closed: its slot is cleared
        web.holder.certificate(cert)


def test_cash_out_limit_exactly_equal_to_the_balance_is_allowed(web):
    web.coffee.set_cash_out_limit(web.coffee_id, "ETH", "0.05")
    cert = issue_eth(web, web.holder.sender, "0.05")
    assert "cashout-form" in shown_ids(page(web, f"/certificates/{cert}"))


def test_cash_out_explains_a_balance_above_the_limit(web):
    web.coffee.set_cash_out_limit(web.coffee_id, "ETH", "0.1")
    cert = issue_eth(web, web.holder.sender, "0.5")
    html = page(web, f"/certificates/{cert}")
    assert "cashout-form" not in shown_ids(html) and 'data-tx="cash-out"' not in html
    why = html.split('data-testid="cashout-unavailable">')[1].split("</p>")[0]
    assert "up to 0.10 ETH" in why and "0.50 ETH" in why and "Corner Coffee" in why
    # The limit is per currency and per merchant.
    other = issue_eth(web, web.holder.sender, "0.05", merchant=web.books_id)
    assert {"cashout-form", "cashout-unavailable"}.isdisjoint(
        shown_ids(page(web, f"/certificates/{other}")))


def test_no_cash_out_for_an_expired_or_unopened_certificate(web):
    web.coffee.set_cash_out_limit(web.coffee_id, "ETH", "1")
    now = web.holder.now()
    later = issue_eth(web, web.holder.sender, "0.05", validFrom=now + DAY,
                      expiry=now + 10 * DAY)
    html = page(web, f"/certificates/{later}")
    assert {"cashout-form", "cashout-unavailable"}.isdisjoint(shown_ids(html))
    soon = issue_eth(web, web.holder.sender, "0.05", expiry=now + 3700)
    assert "cashout-form" in shown_ids(page(web, f"/certificates/{soon}"))
    web.warp(3800)
    assert {"cashout-form", "cashout-unavailable"}.isdisjoint(
        shown_ids(page(web, f"/certificates/{soon}")))


def test_cash_out_is_not_offered_while_paused(web):
    web.coffee.set_cash_out_limit(web.coffee_id, "ETH", "1")
    cert = issue_eth(web, web.holder.sender, "0.05")
    web.admin.pause()
    web.state.forget()
    html = page(web, f"/certificates/{cert}")
    assert "cashout-form" not in shown_ids(html)
    assert "paused" in html.split('data-testid="cashout-unavailable">')[1].split("</p>")[0]


def test_no_cash_out_for_a_gift_awaiting_its_claim(web):
    web.coffee.set_cash_out_limit(web.coffee_id, "ETH", "1")
    cert = claim_link_gift(web, "0.05")
    assert {"cashout-form", "cashout-unavailable"}.isdisjoint(
        shown_ids(page(web, f"/certificates/{cert}")))


# ------------------------------------------------------------------ merge


def test_merge_lists_only_compatible_certificates_of_the_holder(web):
    now = web.holder.now()
    expiry = now + 20 * DAY
    this = issue_eth(web, web.holder.sender, "0.1", expiry=expiry)
    same_expiry = issue_eth(web, web.holder.sender, "0.2", expiry=expiry)
    later = issue_eth(web, web.holder.sender, "0.3", expiry=expiry + DAY)
    earlier = issue_eth(web, web.holder.sender, "0.4", expiry=expiry - DAY)
    other_merchant = issue_eth(web, web.holder.sender, "0.5", merchant=web.books_id,
                               expiry=expiry)
    someone_else = issue_eth(web, web.friend.sender, "0.6", expiry=expiry)
    other_giver = web.friend.issue(web.holder.sender, "0.7", web.coffee_id, "ETH",
                                   expiry=expiry).id
    usd = web.buyer.issue(web.holder.sender, "5", web.coffee_id, "tUSD", expiry=expiry).id
    unopened = issue_eth(web, web.holder.sender, "0.8", validFrom=now + DAY,
                         expiry=expiry + DAY)
    claim = claim_link_gift(web)
    web.sync()

    html = page(web, f"/certificates/{this}")
    assert "merge-form" in shown_ids(html) and "merge-none" not in shown_ids(html)
    assert sorted(merge_options(html)) == sorted([str(same_expiry), str(later)])
    for excluded in (this, earlier, other_merchant, someone_else, other_giver, usd, unopened,
                     claim):
        assert f'<option value="{excluded}">' not in html
    assert re.search(rf'<option value="{later}">0\.30 ETH · Gift · expires '
                     r'\d{1,2} \w{3} \d{4}', html)
    form = html.split('data-testid="merge-form"')[0].rsplit("<form", 1)[1]
    assert 'data-tx="merge"' in form and 'data-after-field="into"' in form
    assert 'data-total="0.10 ETH"' in form
    # The earlier one can go into this one; it is not offered the other way round.
    assert str(this) in merge_options(page(web, f"/certificates/{earlier}"))

    # What the form sends builds a merge the holder's wallet can send.
    out = build(web, "merge", web.holder.sender, certificate=str(this), into=str(later))
    web.send(out["tx"])
    assert str(web.holder.certificate(later).balance) == "0.40 ETH"


def test_merge_empty_state_when_nothing_is_compatible(web):
    cert = issue_eth(web, web.holder.sender, "0.1")
    issue_eth(web, web.holder.sender, "0.2", merchant=web.books_id)
    web.sync()
    html = page(web, f"/certificates/{cert}")
    assert "merge-none" in shown_ids(html)
    assert "merge-form" not in shown_ids(html) and 'data-tx="merge"' not in html


def test_no_merge_for_an_expired_certificate_or_a_gift_awaiting_claim(web):
    now = web.holder.now()
    soon = issue_eth(web, web.holder.sender, "0.1", expiry=now + 3700)
    issue_eth(web, web.holder.sender, "0.2", expiry=now + 10 * DAY)
    web.sync()
    assert "merge-form" in shown_ids(page(web, f"/certificates/{soon}"))
    web.warp(3800)
    html = page(web, f"/certificates/{soon}")
    assert {"merge-form", "merge-none"}.isdisjoint(shown_ids(html))
    claim = claim_link_gift(web)
    web.sync()
    assert {"merge-form", "merge-none"}.isdisjoint(shown_ids(page(web, f"/certificates/{claim}")))


# ------------------------------------------------------------------ reclaim


def test_reclaim_is_explained_before_the_claim_deadline(web):
    cert = claim_link_gift(web, claim_days=1)
    deadline = web.holder.certificate(cert).claim_deadline
    html = page(web, f"/gift/{cert}")
    assert "reclaim-form" not in shown_ids(html) and 'data-tx="reclaim"' not in html
    later = html.split('data-testid="reclaim-later">')[1].split("</p>")[0]
    assert date(deadline) in later and "0.20 ETH" in later
    # The certificate page says where and when the giver can take it back.
    cert_page = page(web, f"/certificates/{cert}")
    note = cert_page.split('data-testid="awaiting-claim">')[1].split("</p>")[0]
    assert date(deadline) in note and f'href="/gift/{gift_ref(cert)}"' in note


def test_reclaim_form_after_the_claim_deadline(web):
    cert = claim_link_gift(web, claim_days=1)
    # The deadline is the last second of a UTC day: up to two days from now.
    web.warp(web.holder.certificate(cert).claim_deadline - web.holder.now() + 60)
    html = page(web, f"/gift/{cert}")
    assert "reclaim-form" in shown_ids(html) and "reclaim-later" not in shown_ids(html)
    form = html.split('data-testid="reclaim-form"')[1].split("</form>")[0]
    assert f'name="certificate" value="{cert}"' in form and "0.20 ETH" in form
    out = build(web, "reclaim", web.buyer.sender, certificate=str(cert))
    web.send(out["tx"])
    with pytest.raises(revert_class("UnknownCertificate")):  # closed: its slot is cleared
        web.holder.certificate(cert)


def test_no_reclaim_for_a_claimed_or_address_gift(web):
    cert = issue_eth(web, web.holder.sender, "0.1")
    html = page(web, f"/gift/{cert}")
    assert {"reclaim-form", "reclaim-later"}.isdisjoint(shown_ids(html))
    assert "awaiting-claim" not in shown_ids(page(web, f"/certificates/{cert}"))
    web.warp(DAY + 60)
    assert {"reclaim-form", "reclaim-later"}.isdisjoint(shown_ids(page(web, f"/gift/{cert}")))
