"""Relayed claims: accepted, sent from the relayer, mined; the same signature twice is one
request; everything the contract would refuse is refused before anything is sent."""

from __future__ import annotations

import pytest
from conftest import RELAYER, Site, fresh_account

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_a_claim_is_relayed_to_a_wallet_with_no_eth(site: Site) -> None:
    system, link, friend = site.system, site.system.links[0], fresh_account()
    before = system.relayer_nonce()
    r = site.post("/relay/claim", system.claim_body(link, friend))
    assert r.status_code == 202, r.get_json()
    body = r.get_json()
    assert body["status"] == "sent" and body["txHash"].startswith("0x")
    assert body["operation"] == "claim" and body["certificate"] == str(link.certificate.id)
    site.relay.tick()
    done = site.get(f"/relay/requests/{body['requestId']}").get_json()
    assert done["status"] == "mined" and done["reason"] is None, done
    assert done["txHash"] == body["txHash"] and done["nonce"] == before
    assert system.admin.certificate(link.certificate.id).owner == friend
    assert system.w3.eth.get_balance(friend) == 0
    assert system.relayer_nonce() == before + 1
    tx = system.w3.eth.get_transaction(body["txHash"])
    assert tx["from"] == RELAYER
