"""Relayed claims: accepted, sent from the relayer, mined; the same signature twice is one
request; everything the contract would refuse is refused before anything is sent."""

from __future__ import annotations

import pytest
from relay_stack import RELAYER, Site, follow, fresh_account

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_a_claim_is_relayed_to_a_wallet_with_no_eth(site: Site) -> None:
    system, link, friend = site.system, site.system.links[0], fresh_account()
    before = system.relayer_nonce()
    r = site.post("/relay/claim", system.claim_body(link, friend))
    assert r.status_code == 202, r.get_json()
    body = r.get_json()
    assert body["status"] == "sent" and body["txHash"].startswith("0x")
    assert body["operation"] == "claim" and body["certificate"] == str(link.certificate.id)
    done = follow(site, body["requestId"])
    assert done["status"] == "mined" and done["reason"] is None, done
    assert done["txHash"] == body["txHash"] and done["nonce"] == before
    assert system.admin.certificate(link.certificate.id).owner == friend
    assert system.w3.eth.get_balance(friend) == 0
    assert system.relayer_nonce() == before + 1
    tx = system.w3.eth.get_transaction(body["txHash"])
    assert tx["from"] == RELAYER


def test_the_same_signature_twice_is_one_request_and_one_transaction(site: Site) -> None:
    system = site.system
    body = system.claim_body(system.links[1], fresh_account())
    before = system.relayer_nonce()
    first = site.post("/relay/claim", body)
    assert first.status_code == 202
    again = site.post("/relay/claim", body)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["requestId"] == first.get_json()["requestId"]
    assert again.get_json()["txHash"] == first.get_json()["txHash"]
    follow(site, first.get_json()["requestId"])
    mined = site.post("/relay/claim", body)  # after it was mined: still the same answer
    assert mined.status_code == 200 and mined.get_json()["status"] == "mined"
    assert mined.get_json()["requestId"] == first.get_json()["requestId"]
    assert system.relayer_nonce() == before + 1


def _refused(site: Site, body: dict, status: int, code: str) -> dict:
    system = site.system
    before = system.relayer_nonce()
    r = site.post("/relay/claim", body)
    answer = r.get_json()
    assert r.status_code == status, answer
    assert answer["code"] == code, answer
    assert answer["error"] and "0x" not in answer["error"][:20], answer  # words, not data
    assert system.relayer_nonce() == before  # nothing was sent
    return answer


def test_a_foreign_signer_is_refused_before_anything_is_sent(site: Site) -> None:
    system = site.system
    stranger = "0x" + "11" * 32
    body = system.claim_body(system.links[2], fresh_account(), key=stranger)
    answer = _refused(site, body, 422, "InvalidSignature")
    assert "claim key" in answer["error"] and answer["field"] == "signature"


@pytest.mark.parametrize("other", ["chain", "contract"])
def test_a_signature_for_another_chain_or_contract_is_refused(site: Site, other: str) -> None:
    system, link = site.system, site.system.links[3]
    wrong = {"chain_id": 1} if other == "chain" else {
        "contract": "0x000000000000000000000000000000000000dEaD"}
    body = system.claim_body(link, fresh_account(), **wrong)
    _refused(site, body, 422, "InvalidSignature")  # it recovers to someone else
    domain = {"chainId": wrong.get("chain_id", system.admin.chain_id),
              "verifyingContract": wrong.get("contract", system.admin.address)}
    named = _refused(site, {**body, "domain": domain}, 422,
                     "WrongChain" if other == "chain" else "WrongContract")
    assert ("chain 1" in named["error"]) if other == "chain" else ("dEaD" in named["error"])


def test_a_replayed_claim_is_refused_before_anything_is_sent(site: Site) -> None:
    """The signature was already used on chain (submitted by someone else): refused with the
    contract's reason, nothing sent."""
    system, link, friend = site.system, site.system.links[4], fresh_account()
    body = system.claim_body(link, friend)
    system.holder.calls.claim(link.certificate.id, recipient=friend,
                              signature=body["signature"]).send()
    _refused(site, body, 409, "NotClaimable")


def test_an_expired_claim_window_is_refused(site: Site) -> None:
    system, link = site.system, site.system.links[5]
    system.warp(31 * 86_400)
    site.relay.client.clock.forget()  # the site trusts its last block for 2 s
    _refused(site, system.claim_body(link, fresh_account()), 410, "ClaimWindowClosed")


def test_the_contracts_own_refusal_found_by_simulation(site: Site) -> None:
    """Paused: nothing the relay checks itself, so the simulation finds it; the contract's
    reason in words, nothing sent."""
    system = site.system
    system.admin.pause()
    answer = _refused(site, system.claim_body(system.links[6], fresh_account()), 422,
                      "EnforcedPause")
    assert "paused" in answer["error"]


def test_an_operation_the_site_does_not_sponsor(make_site) -> None:
    site = make_site(operations=("transfer",))
    system = site.system
    before = system.relayer_nonce()
    r = site.post("/relay/claim", system.claim_body(system.links[7], fresh_account()))
    assert r.status_code == 403 and r.get_json()["code"] == "NotSponsored", r.get_json()
    assert "claim" in r.get_json()["error"] and system.relayer_nonce() == before
    info = site.get("/relay").get_json()
    assert info["operations"] == ["transfer"]


def test_relay_info_and_status(site: Site) -> None:
    info = site.get("/relay").get_json()
    assert info["enabled"] and info["relayer"] == RELAYER and "claim" in info["operations"]
    assert info["prefer"] == "when-needed" and info["limits"]["perAddressDay"] == 20
    r = site.post("/relay/claim", site.system.claim_body(site.system.links[8],
                                                         fresh_account()))
    follow(site, r.get_json()["requestId"])
    status = site.get("/status").get_json()["relay"]
    assert status["relayer"] == RELAYER and status["balance"].endswith(" ETH")
    gas = site.get(f"/relay/requests/{r.get_json()['requestId']}").get_json()["gasUsed"]
    assert status["spentToday"]["gas"] == gas > 0
    assert status["spentToday"]["eth"].endswith(" ETH") and status["spentToday"]["eth"] != "0 ETH"
    assert status["budget"] == info["limits"]["gasBudgetDay"]


def test_unknown_and_malformed_request_ids(site: Site) -> None:
    assert site.get("/relay/requests/r" + "0" * 32).status_code == 404
    bad = site.get("/relay/requests/nope")
    assert bad.status_code == 400 and bad.get_json()["field"] == "requestId"
