"""The relay when things break, over real parts (anvil, SQLite, PostgreSQL, processes):

- the database goes away under the keepers (a PostgreSQL server of the test's own, stopped and
  started as tests/db does): each keeper, the web process's thread and `python -m
  giftcert.relay`, says so in one line, backs off (1 s doubling), says once that it is back,
  and the request queued before the outage then goes through, once;
- a web process killed (SIGKILL) after the request's row is committed and before its broadcast,
  then a keeper process killed after broadcasting it and before recording that: the next keeper
  finishes it, and the chain has the one transaction (the relayer's nonce moved by one);
- any other error (a table gone): a traceback at most once a minute, one line otherwise, and
  the same backoff;
- no free database connection within the pool's timeout: a JSON 503 in words with Retry-After,
  nothing sent, and the same request sent again later goes through.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

import pytest
from db.postgres import fresh_schema_url
from relay_stack import (
    Site,
    follow,
    fresh_account,
    open_site,
    own_cluster,  # noqa: F401 - a fixture
    start_acceptor,
    start_keeper,
)
from sqlalchemy import text
from web3.exceptions import TransactionNotFound

from giftcert.database import upgrade
from giftcert.relay.service import Keeper

OUTAGE = "database unreachable, retrying in"
BACK = "database reachable again"


def _wait(check: Any, timeout: float = 60.0, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:  # noqa: BLE001 - e.g. the database not back yet
            value = None
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def _said(records: list[logging.LogRecord], words: str) -> list[logging.LogRecord]:
    return [r for r in records if r.name == "giftcert.relay" and words in r.getMessage()]


def test_a_database_outage_is_one_line_per_keeper_and_the_queued_request_goes_through(
        system, own_cluster, caplog, tmp_path) -> None:  # noqa: F811 - the fixture
    url, _ = fresh_schema_url(own_cluster.url)
    upgrade(url)
    site = open_site(system, url, send_at_once=False)  # accepts; the keepers send
    keeper = None
    try:
        start_block, before = system.w3.eth.block_number + 1, system.relayer_nonce()
        link, recipient = system.links[0], fresh_account()
        r = site.post("/relay/claim", system.claim_body(link, recipient))
        assert r.status_code == 202 and r.get_json()["status"] == "queued", r.get_json()
        request_id = r.get_json()["requestId"]

        own_cluster.stop("fast")  # the database goes away with the request queued
        caplog.set_level(logging.DEBUG, logger="giftcert.relay")
        relay = site.relay
        relay.keep(poll=0.1, max_backoff=2.0)  # the web process's keeper thread
        keeper = start_keeper(system, url, tmp_path, "--poll", "0.1", "--max-backoff", "2")
        assert relay.keeper is not None
        assert _wait(lambda: relay.keeper.failures >= 4, timeout=30), relay.keeper.failures
        down = list(caplog.records)
        assert len(_said(down, OUTAGE)) == 1, [r.getMessage() for r in down]
        assert _said(down, OUTAGE)[0].levelno == logging.WARNING
        assert "retrying in 1 s" in _said(down, OUTAGE)[0].getMessage()
        # The passes after the first one: DEBUG only, 1 s then 2 s apart (the backoff's cap).
        assert len(_said(down, "database still unreachable")) >= 3
        assert [r for r in down if r.name.startswith("giftcert.relay")
                and r.levelno >= logging.WARNING] == _said(down, OUTAGE)
        assert not [r for r in down if r.exc_info], "no traceback for a database outage"
        assert relay.keeper.delay() == 2.0 and relay.keeper.database_down
        assert system.relayer_nonce() == before  # nothing could be sent meanwhile

        own_cluster.start()  # back
        mined = _wait(lambda: relay.store.get(request_id).status == "mined", timeout=60)
        assert mined, relay.store.get(request_id)
        assert _wait(lambda: len(_said(caplog.records, BACK)) == 1, timeout=10)
        assert not relay.keeper.database_down and relay.keeper.delay() == 0.1
        assert keeper.wait_for(lambda: any(BACK in line for line in keeper.err), timeout=30)
        relay.stop()
        assert keeper.stop() == 0 and "relay keeper stopped" in keeper.out
        # The keeper process said the same, once each way, and no traceback either.
        assert sum(OUTAGE in line for line in keeper.err) == 1, keeper.text()
        assert sum(BACK in line for line in keeper.err) == 1, keeper.text()
        assert "Traceback" not in keeper.text(), keeper.text()
        assert len(_said(caplog.records, OUTAGE)) == 1

        done = site.get(f"/relay/requests/{request_id}").get_json()
        assert done["status"] == "mined", done
        txs = system.relayer_txs(start_block)
        assert len(txs) == 1 and txs[0]["hash"].to_0x_hex() == done["txHash"]
        assert system.relayer_nonce("latest") == system.relayer_nonce() == before + 1
        assert system.admin.certificate(link.certificate.id).owner == recipient
    finally:
        if keeper is not None:
            keeper.stop()
        site.stop()


def test_killed_after_the_commit_and_after_the_broadcast_the_next_keeper_sends_it_once(
        make_site, backend, tmp_path) -> None:
    site: Site = make_site()  # reads the API; it runs no keeper
    system, url = site.system, backend.url()
    start_block, before = system.w3.eth.block_number + 1, system.relayer_nonce()
    link, recipient = system.links[1], fresh_account()

    # 1. A web process takes the claim through its route and dies (SIGKILL) once the row is
    # committed, before its broadcast.
    acceptor = start_acceptor(system, url, tmp_path, "/relay/claim",
                              system.claim_body(link, recipient))
    said = acceptor.wait_for(lambda: next((line for line in acceptor.out
                                           if line.startswith("committed ")), None), 120)
    request_id = said.split()[1]
    assert said.split()[2] == "new"
    assert acceptor.kill() == -signal.SIGKILL
    assert not any(line.startswith("answered") for line in acceptor.out), acceptor.text()
    row = site.relay.store.get(request_id)
    assert row is not None and row.status == "queued" and row.raw_tx and row.hashes == [
        row.tx_hash]
    assert int(row.nonce) == before and site.relay.store.next_nonce() == before + 1
    assert system.relayer_nonce() == before  # nothing went out
    with pytest.raises(TransactionNotFound):
        system.w3.eth.get_transaction(row.tx_hash)
    assert site.get(f"/relay/requests/{request_id}").get_json()["status"] == "queued"

    # 2. A keeper process sends exactly those bytes, and is killed before it can record that
    # (the test holds the relay's serialized transaction, which marking it sent waits for).
    with site.relay.store.locked():
        first = start_keeper(system, url, tmp_path, "--poll", "0.1")
        first.wait_for(lambda: system.relayer_nonce("latest") == before + 1, 60)
        assert first.kill() == -signal.SIGKILL
    assert site.relay.store.get(request_id).status == "queued"  # the send is not recorded
    assert system.relayer_txs(start_block)[0]["hash"].to_0x_hex() == row.tx_hash

    # 3. The next keeper finds it on chain: mined, and nothing sent again.
    second = start_keeper(system, url, tmp_path, "--poll", "0.1")
    done = second.wait_for(lambda: (lambda b: b if b["status"] in ("mined", "failed") else None)(
        site.get(f"/relay/requests/{request_id}").get_json()), 60)
    time.sleep(0.5)  # a few more passes: none sends anything
    assert second.stop() == 0, second.text()
    assert "Traceback" not in second.text(), second.text()
    assert done["status"] == "mined" and done["txHash"] == row.tx_hash, done
    assert done["nonce"] == before and done["blockNumber"] and done["gasUsed"]
    txs = system.relayer_txs(start_block)
    assert [tx["hash"].to_0x_hex() for tx in txs] == [row.tx_hash]
    assert system.relayer_nonce("latest") == system.relayer_nonce() == before + 1
    assert site.relay.store.next_nonce() == before + 1
    assert system.admin.certificate(link.certificate.id).owner == recipient


def test_no_free_database_connection_is_a_503_in_words_with_retry_after(
        make_site, monkeypatch) -> None:
    for name, value in (("GIFTCERT_DB_POOL_SIZE", "1"), ("GIFTCERT_DB_MAX_OVERFLOW", "0"),
                        ("GIFTCERT_DB_POOL_TIMEOUT", "1")):
        monkeypatch.setenv(name, value)
    site: Site = make_site()
    system = site.system
    start_block, before = system.w3.eth.block_number + 1, system.relayer_nonce()
    link, recipient = system.links[2], fresh_account()
    body = system.claim_body(link, recipient)
    held = site.relay.store.engine.connect()  # the relay pool's one connection: a burst
    try:
        r = site.post("/relay/claim", body)
    finally:
        held.close()
    assert r.status_code == 503 and r.is_json, r.get_data(as_text=True)[:300]
    said = r.get_json()
    assert said["code"] == "DatabaseUnavailable" and said["field"] is None, said
    assert said["error"].startswith("the site's gas sponsor is busy right now"), said
    assert "again in a few seconds" in said["error"] and "never sent twice" in said["error"]
    assert not any(w in said["error"].lower() for w in ("queuepool", "sqlalchemy", "timeout"))
    assert r.headers["Retry-After"] == "5" and said["details"]["retryAfter"] == "5"
    assert system.relayer_nonce() == before and site.relay.store.next_nonce() is None

    again = site.post("/relay/claim", body)  # the page, after Retry-After
    assert again.status_code == 202, again.get_json()
    done = follow(site, again.get_json()["requestId"])
    assert done["status"] == "mined", done
    assert len(system.relayer_txs(start_block)) == 1
    assert system.relayer_nonce("latest") == before + 1
    assert system.admin.certificate(link.certificate.id).owner == recipient


def test_an_unexpected_error_is_a_traceback_at_most_once_a_minute_with_the_same_backoff(
        site, caplog) -> None:
    """Not an outage (a table gone: a bug, a botched migration): the first failed pass logs its
    traceback, the next ones one line each, 1 s, 2 s, 4 s apart; then one line when passes
    succeed again."""
    relay = site.relay
    keeper = Keeper(relay, poll=0.5)
    engine = relay.store.engine
    caplog.set_level(logging.INFO, logger="giftcert.relay")
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE relay_requests RENAME TO relay_requests_away"))
    try:
        waits = []
        for _ in range(4):
            assert keeper.step() is False
            waits.append(keeper.delay())
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE relay_requests_away RENAME TO relay_requests"))
    assert waits == [1.0, 2.0, 4.0, 8.0] and not keeper.database_down
    failed = _said(caplog.records, "relay keeper: pass failed")
    assert len(failed) == 4 and [bool(r.exc_info) for r in failed] == [True, False, False, False]
    assert "retrying in 1 s" in failed[0].getMessage()
    assert "retrying in 2 s (failed pass 2 in a row)" in failed[1].getMessage()
    assert not _said(caplog.records, OUTAGE)
    assert keeper.step() is True and keeper.delay() == 0.5
    assert len(_said(caplog.records, "passes succeed again after 4 failed")) == 1
    keeper.traceback_every = 0.0  # a minute later: the next one has its traceback again
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE relay_requests RENAME TO relay_requests_away"))
    try:
        assert keeper.step() is False
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE relay_requests_away RENAME TO relay_requests"))
    assert _said(caplog.records, "relay keeper: pass failed")[-1].exc_info


def test_a_node_outage_is_one_line_and_the_queued_request_goes_through_after_it(
        make_site, caplog) -> None:
    """The node stops answering (the relay's connection points at a port nobody listens on:
    connections are really refused) with a request queued: one line when it starts, passes 1 s,
    2 s, 4 s apart logging at DEBUG only, one line when it answers again, then the request is
    sent, once."""
    site = make_site(send_at_once=False)
    system, friend = site.system, fresh_account()
    before = system.relayer_nonce()
    accepted = site.post("/relay/claim", system.claim_body(system.links[0], friend))
    assert accepted.status_code == 202
    keeper = Keeper(site.relay, poll=0.5)
    provider = site.relay.client.w3.provider
    endpoint = provider.endpoint_uri
    caplog.set_level(logging.DEBUG, logger="giftcert.relay")
    provider.endpoint_uri = "http://127.0.0.1:9"  # discard port: nothing listens
    try:
        waits = []
        for _ in range(3):
            assert keeper.step() is False
            waits.append(keeper.delay())
        assert keeper.down == "node" and not keeper.database_down
    finally:
        provider.endpoint_uri = endpoint
    assert waits == [1.0, 2.0, 4.0]
    assert len(_said(caplog.records, "relay keeper: node unreachable, retrying in 1 s")) == 1
    assert not [r for r in caplog.records if r.name == "giftcert.relay" and r.exc_info]
    assert len([r for r in caplog.records if r.name == "giftcert.relay"
                and r.levelno >= logging.WARNING]) == 1
    assert system.relayer_nonce() == before  # nothing went out meanwhile
    assert keeper.step() is True and keeper.down is None and keeper.delay() == 0.5
    assert len(_said(caplog.records, "relay keeper: node reachable again after")) == 1
    assert follow(site, accepted.get_json()["requestId"])["status"] == "mined"
    assert system.relayer_nonce() == before + 1
