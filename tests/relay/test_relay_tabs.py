"""A payment tab without gas (issues 16 and 17): a wallet with 0 ETH opens a tab through the
relay, pays on it by signing vouchers, asks to close it and closes it after the two days, every
step sent by the site's relayer; stale, expired and foreign signatures of a tab action, and a
close before its time, are refused before anything is sent. The first test runs on both
databases: "request-tab-close" is longer than the relay's first `operation` column (0005)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from relay_stack import RelaySystem, Site

from giftcert.tabs import CLOSE_DELAY, sign_voucher

ZERO = "0x" + "00" * 20


def _wallet() -> tuple[str, str]:
    account = Account.create()
    return "0x" + bytes(account.key).hex(), str(account.address)


def _claim(site: Site, index: int, to: str) -> int:
    link = site.system.links[index]
    r = site.post("/relay/claim", site.system.claim_body(link, to))
    assert r.status_code == 202, r.get_json()
    site.relay.tick()
    return link.certificate.id


def _signed(system: RelaySystem, kind: str, cert: int, key: str, *, deadline: int | None = None,
            **arguments: Any) -> dict[str, Any]:
    signed = system.admin.calls.sign_holder_action(
        kind, cert, key, deadline=deadline or system.admin.now() + 3600, **arguments)
    data = signed.to_json()
    return {"message": data["message"], "signature": data["signature"]}


def _relayed(site: Site, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    r = site.post(f"/relay/{kind}", body)
    assert r.status_code == 202, r.get_json()
    site.relay.tick()
    done = site.get(f"/relay/requests/{r.get_json()['requestId']}").get_json()
    assert done["status"] == "mined" and done["operation"] == kind, done
    return done


def _refused(site: Site, kind: str, body: dict[str, Any], status: int, code: str) -> None:
    before = site.system.relayer_nonce()
    r = site.post(f"/relay/{kind}", body)
    assert r.status_code == status and r.get_json()["code"] == code, r.get_json()
    assert site.system.relayer_nonce() == before  # nothing was sent


def test_an_empty_wallet_opens_pays_on_and_leaves_a_tab(site: Site) -> None:
    system = site.system
    key, holder = _wallet()
    cert = _claim(site, 0, holder)
    assert set(site.get("/relay").get_json()["operations"]) >= {
        "open-tab", "request-tab-close", "close-tab"}
    _relayed(site, "open-tab", _signed(system, "open-tab", cert, key))
    tab = system.admin.tab(cert)
    assert tab.open and tab.epoch == system.admin.certificate(cert).nonce
    # Three purchases on the tab: the holder signs running totals, the merchant collects once.
    vouchers = [sign_voucher(system.admin, cert, total, key=key)
                for total in ("0.0001", "0.00025", "0.0003")]
    system.coffee.calls.settle_tabs(system.coffee_id, vouchers[-1:]).send()
    assert system.admin.certificate(cert).balance.amount == Decimal("0.0007")
    _relayed(site, "request-tab-close", _signed(system, "request-tab-close", cert, key))
    assert system.admin.tab(cert).close_requested
    early = _signed(system, "close-tab", cert, key)
    _refused(site, "close-tab", early, 422, "TabCloseDelay")  # the merchant's two days
    system.warp(CLOSE_DELAY)
    _relayed(site, "close-tab", _signed(system, "close-tab", cert, key))
    assert not system.admin.tab(cert).open
    assert system.admin.certificate(cert).balance.amount == Decimal("0.0007")
    assert system.w3.eth.get_balance(holder) == 0  # it never paid for anything


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_tab_actions_refused_before_sending(site: Site) -> None:
    system = site.system
    key, holder = _wallet()
    cert = _claim(site, 1, holder)
    stranger_key, _ = _wallet()
    _refused(site, "open-tab", _signed(system, "open-tab", cert, stranger_key), 422,
             "InvalidSignature")
    past = _signed(system, "open-tab", cert, key, deadline=system.admin.now() - 1)
    _refused(site, "open-tab", past, 422, "AuthorizationExpired")
    _refused(site, "close-tab", _signed(system, "close-tab", cert, key), 422, "TabNotOpen")
    early = _signed(system, "request-tab-close", cert, key)  # at the nonce opening moves on
    opening = _signed(system, "open-tab", cert, key)
    _relayed(site, "open-tab", opening)
    again = site.post("/relay/open-tab", opening)  # the same signature: the same request
    assert again.status_code == 200 and again.get_json()["status"] == "mined"
    _refused(site, "request-tab-close", early, 409, "WrongNonce")
    asking = _signed(system, "request-tab-close", cert, key)
    _refused(site, "close-tab", asking, 422, "InvalidSignature")  # signed for another purpose
    _refused(site, "close-tab", _signed(system, "close-tab", cert, key), 422,
             "TabCloseNotRequested")
    _refused(site, "request-tab-close", _signed(system, "request-tab-close", cert, stranger_key),
             422, "InvalidSignature")
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
