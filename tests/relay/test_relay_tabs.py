"""A payment tab without gas (issues 16 and 17): a wallet with 0 ETH opens a tab through the
relay, pays on it by signing vouchers, asks to close it and closes it after the two days, every
step sent by the site's relayer; stale, expired and foreign signatures of a tab action, and a
close before its time, are refused before anything is sent. The first test runs on both
databases: "request-tab-close" is longer than the relay's first `operation` column (0005)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from relay_stack import Site, claim_to, new_wallet, relayed, signed_body

from giftcert.tabs import CLOSE_DELAY, sign_voucher

ZERO = "0x" + "00" * 20










def _refused(site: Site, kind: str, body: dict[str, Any], status: int, code: str) -> None:
    before = site.system.relayer_nonce()
    r = site.post(f"/relay/{kind}", body)
    assert r.status_code == status and r.get_json()["code"] == code, r.get_json()
    assert site.system.relayer_nonce() == before  # nothing was sent


def test_an_empty_wallet_opens_pays_on_and_leaves_a_tab(site: Site) -> None:
    system = site.system
    key, holder = new_wallet()
    cert = claim_to(site, 0, holder)
    assert set(site.get("/relay").get_json()["operations"]) >= {
        "open-tab", "request-tab-close", "close-tab"}
    relayed(site, "open-tab", signed_body(system, "open-tab", cert, key))
    tab = system.admin.tab(cert)
    assert tab.open and tab.epoch == system.admin.certificate(cert).nonce
    # Three purchases on the tab: the holder signs running totals, the merchant collects once.
    vouchers = [sign_voucher(system.admin, cert, total, key=key)
                for total in ("0.0001", "0.00025", "0.0003")]
    system.coffee.calls.settle_tabs(system.coffee_id, vouchers[-1:]).send()
    assert system.admin.certificate(cert).balance.amount == Decimal("0.0007")
    relayed(site, "request-tab-close", signed_body(system, "request-tab-close", cert, key))
    assert system.admin.tab(cert).close_requested
    early = signed_body(system, "close-tab", cert, key)
    _refused(site, "close-tab", early, 422, "TabCloseDelay")  # the merchant's two days
    system.warp(CLOSE_DELAY)
    relayed(site, "close-tab", signed_body(system, "close-tab", cert, key))
    assert not system.admin.tab(cert).open
    assert system.admin.certificate(cert).balance.amount == Decimal("0.0007")
    assert system.w3.eth.get_balance(holder) == 0  # it never paid for anything


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_tab_actions_refused_before_sending(site: Site) -> None:
    system = site.system
    key, holder = new_wallet()
    cert = claim_to(site, 1, holder)
    stranger_key, _ = new_wallet()
    _refused(site, "open-tab", signed_body(system, "open-tab", cert, stranger_key), 422,
             "InvalidSignature")
    past = signed_body(system, "open-tab", cert, key, deadline=system.admin.now() - 1)
    _refused(site, "open-tab", past, 422, "AuthorizationExpired")
    _refused(site, "close-tab", signed_body(system, "close-tab", cert, key), 422, "TabNotOpen")
    early = signed_body(system, "request-tab-close", cert, key)  # at the nonce opening moves on
    opening = signed_body(system, "open-tab", cert, key)
    relayed(site, "open-tab", opening)
    again = site.post("/relay/open-tab", opening)  # the same signature: the same request
    assert again.status_code == 200 and again.get_json()["status"] == "mined"
    _refused(site, "request-tab-close", early, 409, "WrongNonce")
    asking = signed_body(system, "request-tab-close", cert, key)
    _refused(site, "close-tab", asking, 422, "InvalidSignature")  # signed for another purpose
    _refused(site, "close-tab", signed_body(system, "close-tab", cert, key), 422,
             "TabCloseNotRequested")
    _refused(site, "request-tab-close",
             signed_body(system, "request-tab-close", cert, stranger_key), 422,
             "InvalidSignature")
    bad = site.post("/relay/open-tab", {"message": {"certificate": str(cert), "nonce": "1",
                                                    "deadline": "9"}, "signature": "0x"})
    assert bad.status_code == 400 and bad.get_json()["field"] in {"message", "sessionKey"}
    assert system.w3.eth.get_balance(holder) == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_site_may_sponsor_no_tab_actions(make_site) -> None:
    site = make_site(operations=("claim", "transfer"))
    r = site.post("/relay/open-tab", {"message": {"certificate": "1", "sessionKey": ZERO,
                                                  "nonce": "0", "deadline": "9"},
                                      "signature": "0x" + "11" * 65})
    assert r.status_code == 403 and r.get_json()["code"] == "NotSponsored"
