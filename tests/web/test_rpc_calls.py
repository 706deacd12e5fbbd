"""Node calls per request, counted by a JSON-RPC proxy in front of anvil (bench/rpc_proxy.py):
issue 14's targets (a holder's certificates page and the API list 0 calls warm, the merchant
dashboard at most 1, building a redemption at most 2, an idle web process 0 calls per second
while an indexer service runs), and eth_getLogs ranges that adapt to a provider's limit."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import issue_eth

from bench.rpc_calls import count_all, idle_calls, probes, proxied_client
from bench.rpc_proxy import RpcProxy
from giftcert.config import ANVIL_DEV_KEYS
from giftcert.indexer import Indexer
from webapp import create_app


@pytest.fixture
def proxy(web):
    with RpcProxy(web.settings.rpc_url) as counting:
        yield counting


def site(web, proxy, mode="in-process", follow=False, multicall=True):
    client = proxied_client(proxy, web.admin.address, web.admin.contract.abi, web.admin.chain_id,
                            web.record.multicall if multicall else None)
    app = create_app(replace(web.settings, indexer_mode=mode), client, follow=follow,
                     start_block=web.record.block)
    app.config["TESTING"] = True
    return app


def close(app):
    app.extensions["giftcert"].close()


@pytest.mark.parametrize("multicall", [True, False], ids=["multicall", "json-rpc-batch"])
def test_pages_and_api_meet_the_call_targets(web, proxy, multicall):
    cert = issue_eth(web, web.holder.sender, "0.5")
    issue_eth(web, web.holder.sender, "0.2", merchant=web.books_id)
    web.sync()
    counts = count_all(lambda: site(web, proxy, multicall=multicall), proxy,
                       probes(web.holder.sender, cert, ANVIL_DEV_KEYS[4]), close)
    for c in counts:
        assert c.status == 200, (c.probe.name, c.status)
        if multicall:
            assert c.met is not False, (c.probe.name, c.warm, c.methods)
    by_name = {c.probe.name: c for c in counts}
    assert by_name["a holder's certificates (page)"].warm == 0
    assert by_name["a holder's certificates (API list)"].warm == 0
    if multicall:
        assert by_name["build a redemption (typed data)"].cold <= 2
        assert by_name["merchant dashboard (signed in)"].warm <= 1


def test_an_idle_process_makes_no_node_call_while_an_indexer_service_runs(web, proxy):
    service = Indexer(web.w3, web.admin.contract, web.settings.database_url,
                      start_block=web.record.block)
    assert service._lock.try_acquire()  # the service's writer lock
    try:
        for mode in ("service", "in-process"):  # in-process: try_sync finds the lock taken
            app = site(web, proxy, mode=mode, follow=True)
            try:
                assert idle_calls(app, proxy, 2.0) == 0, (mode, proxy.snapshot())
                assert app.extensions["giftcert"].follows is (mode == "in-process")
            finally:
                close(app)
    finally:
        service.close()


def test_in_process_mode_alone_follows_the_chain(web, proxy):
    app = site(web, proxy, follow=True)
    try:
        cert = issue_eth(web, web.holder.sender, "0.3")
        http = app.test_client()
        for _ in range(100):
            found = http.get(f"/api/v1/holders/{web.holder.sender}/certificates").get_json()
            if str(cert) in [c["id"] for c in found["certificates"]]:
                break
            import time

            time.sleep(0.1)
        else:
            raise AssertionError("the in-process follower did not index the new certificate")
        assert proxy.calls["eth_getLogs"] >= 1
    finally:
        close(app)


def test_log_ranges_halve_to_the_providers_limit(web, tmp_path):
    for _ in range(3):
        issue_eth(web, web.holder.sender, "0.01")
    head = web.w3.eth.block_number
    with RpcProxy(web.settings.rpc_url, max_log_range=4) as limited:
        client = proxied_client(limited, web.admin.address, web.admin.contract.abi, 31337, None)
        index = Indexer(client.w3, client.contract, f"sqlite:///{tmp_path / 'i.db'}",
                        start_block=web.record.block, block_range=2000, chain_id=31337)
        try:
            index.sync()
            assert index.cursor()[0] == head
            assert index.block_range <= 4
            ranges = limited.log_ranges
            refused = [r for r in ranges if r > 4]
            assert refused and refused == sorted(refused, reverse=True)  # halved each time
            first_fit = ranges.index(next(r for r in ranges if r <= 4))
            assert all(r <= 4 for r in ranges[first_fit:])  # and kept small afterwards
            reference = Indexer(web.w3, web.admin.contract, f"sqlite:///{tmp_path / 'r.db'}",
                                start_block=web.record.block)
            reference.sync()
            assert index.counts() == reference.counts()
            reference.close()
        finally:
            index.close()
