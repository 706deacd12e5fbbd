"""The durable queue: a site restart with 20 queued requests sends each exactly once (two
keepers racing for them), a transaction stuck in the mempool is replaced at the same nonce with
fees at least 12.5% higher, a mempool the chain lost is refilled from the stored bytes, and a
queued request that would now revert is never sent (its nonce is filled by a cancel)."""

from __future__ import annotations

import time

import pytest
from relay_stack import RELAYER, Site, follow, fresh_account, tick_until

import giftcert.relay.service as service


def _wait_all(site: Site, ids: list[str], status: str, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = [site.get(f"/relay/requests/{i}").get_json() for i in ids]
        if all(f["status"] == status for f in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_restart_with_20_queued_requests_sends_each_exactly_once(make_site) -> None:
    first = make_site(send_at_once=False)  # accepts, but nobody sends (no keeper either)
    system = first.system
    start_block, before = system.w3.eth.block_number + 1, system.relayer_nonce()
    bodies = [system.claim_body(link, fresh_account()) for link in system.links[:20]]
    accepted = [first.post("/relay/claim", b).get_json() for b in bodies]
    assert {a["status"] for a in accepted} == {"queued"} and {a["txHash"] for a in accepted} == {
        None}
    assert system.relayer_nonce() == before  # nothing went out
    first.stop()  # the site stops
    # ... and starts again as two processes at once, each with its keeper thread
    again = [make_site(keeper="thread"), make_site(keeper="thread")]
    for s in again:
        assert s.get("/relay").status_code == 200 and s.relay.keeping
    ids = [a["requestId"] for a in accepted]
    done = _wait_all(again[0], ids, "mined")
    assert {d["status"] for d in done} == {"mined"}, done
    txs = system.relayer_txs(start_block)
    assert len(txs) == 20 and len({tx["nonce"] for tx in txs}) == 20
    assert sorted(d["nonce"] for d in done) == list(range(before, before + 20))
    assert system.relayer_nonce("latest") == before + 20
    for body, link in zip(bodies, system.links[:20], strict=True):
        assert system.admin.certificate(link.certificate.id).owner == body["recipient"]


def test_a_stuck_transaction_is_replaced_at_the_same_nonce_with_higher_fees(make_site) -> None:
    site = make_site(stuck_seconds=1.0)
    system = site.system
    start_block, before = system.w3.eth.block_number + 1, system.relayer_nonce()
    system.automine(False)
    sent = site.post("/relay/claim", system.claim_body(system.links[0], fresh_account()))
    request_id = sent.get_json()["requestId"]
    assert sent.status_code == 202 and sent.get_json()["status"] == "sent"
    site.relay.tick()  # not stuck yet
    record = site.relay.store.get(request_id)
    assert record is not None and len(record.hashes) == 1
    time.sleep(1.1)
    site.relay.tick()
    bumped = site.relay.store.get(request_id)
    assert bumped is not None and len(bumped.hashes) == 2 and bumped.nonce == record.nonce
    assert int(bumped.max_fee) * 8 >= int(record.max_fee) * 9
    assert int(bumped.priority_fee) * 8 >= int(record.priority_fee) * 9
    system.mine()
    done = follow(site, request_id)
    assert done["status"] == "mined" and done["txHash"] == bumped.tx_hash, done
    txs = system.relayer_txs(start_block)
    assert len(txs) == 1 and txs[0]["hash"].to_0x_hex() == bumped.tx_hash
    assert system.relayer_nonce("latest") == before + 1


def test_a_mempool_the_chain_lost_is_sent_again_from_the_stored_bytes(make_site) -> None:
    site = make_site()
    system = site.system
    start_block = system.w3.eth.block_number + 1
    system.automine(False)
    sent = site.post("/relay/claim", system.claim_body(system.links[1], fresh_account()))
    tx_hash = sent.get_json()["txHash"]
    system.w3.provider.make_request("anvil_dropAllTransactions", [])
    assert system.w3.eth.get_transaction_count(RELAYER, "pending") == system.relayer_nonce(
        "latest")
    site.relay.tick()
    assert system.w3.eth.get_transaction(tx_hash)["hash"].to_0x_hex() == tx_hash
    system.mine()
    done = follow(site, sent.get_json()["requestId"])
    assert done["status"] == "mined" and done["txHash"] == tx_hash
    assert len(system.relayer_txs(start_block)) == 1


def test_a_queued_request_that_would_now_revert_is_never_sent(make_site, monkeypatch) -> None:
    monkeypatch.setattr(service, "RESIMULATE_AFTER", 0.0)
    site = make_site(send_at_once=False)
    system = site.system
    start_block, before = system.w3.eth.block_number + 1, system.relayer_nonce()
    queued = site.post("/relay/claim", system.claim_body(system.links[2], fresh_account()))
    later = site.post("/relay/claim", system.claim_body(system.links[3], fresh_account()))
    system.admin.pause()  # the first would revert now; so would the second
    failed = follow(site, queued.get_json()["requestId"])
    assert failed["status"] == "failed" and failed["code"] == "EnforcedPause", failed
    assert "paused" in failed["reason"]
    # the cancels are mined: the nonces are filled, nothing reverted
    def both_mined() -> list | None:
        found = system.relayer_txs(start_block)
        return found if len(found) >= 2 else None
    txs = tick_until(site, both_mined) or system.relayer_txs(start_block)
    assert len(txs) == 2 and all(tx["to"] == RELAYER and tx["value"] == 0 for tx in txs)
    assert all(system.w3.eth.get_transaction_receipt(tx["hash"])["status"] == 1 for tx in txs)
    assert system.relayer_nonce("latest") == before + 2
    assert site.get(f"/relay/requests/{later.get_json()['requestId']}").get_json()[
        "status"] == "failed"
    system.admin.unpause()
    after = site.post("/relay/claim", system.claim_body(system.links[4], fresh_account()))
    assert follow(site, after.get_json()["requestId"])["status"] == "mined"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_request_in_flight_blocks_a_second_for_the_same_certificate(make_site) -> None:
    site = make_site(send_at_once=False)
    system, link = site.system, site.system.links[5]
    assert site.post("/relay/claim", system.claim_body(link, fresh_account())).status_code == 202
    r = site.post("/relay/claim", system.claim_body(link, fresh_account()))
    assert r.status_code == 409 and r.get_json()["code"] == "RequestInFlight", r.get_json()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_keeper_finds_a_queued_request_its_acceptor_already_sent(make_site,
                                                                    monkeypatch) -> None:
    """The accepting process broadcast it and was about to mark it sent when another keeper
    looked: the keeper sees the receipt, not a request that "would now revert" (the bench
    found this: 3 of 500 re-gifts were cancelled in vain)."""
    monkeypatch.setattr(service, "RESIMULATE_AFTER", 0.0)
    site = make_site(send_at_once=False)
    system = site.system
    accepted = site.post("/relay/claim", system.claim_body(system.links[6], fresh_account()))
    record = site.relay.store.get(accepted.get_json()["requestId"])
    assert record is not None
    system.w3.eth.send_raw_transaction(record.raw_tx)  # what the acceptor did (automine)
    done = follow(site, record.id)
    assert done["status"] == "mined" and done["reason"] is None, done
    assert system.relayer_nonce("latest") == record.nonce + 1
