"""PostgreSQL restarted under a follower: it logs, backs off, reconnects, takes its writer lock
again and indexes what happened meanwhile, without ever exiting."""

from __future__ import annotations

import time

import pytest
from db.helpers import (
    activity,
    chain_positions,
    logged_positions,
    start_follower,
    state,
    wait_until_indexed,
)
from db.postgres import Cluster, fresh_schema_url

from giftcert.database import upgrade
from giftcert.indexer import Indexer


@pytest.fixture
def cluster():
    own = Cluster()  # its own server: this test stops it
    yield own
    own.destroy()


def test_postgresql_restarted_under_a_follower_loses_nothing(sdk, cluster):
    url, _ = fresh_schema_url(cluster.url)
    upgrade(url)
    follower = start_follower(sdk, url, "--follow", "--block-range", "3", "--poll", "0.05",
                              "--max-backoff", "1")
    try:
        ids = activity(sdk, 3)
        wait_until_indexed(url, sdk.w3.eth.block_number)
        cluster.stop("fast")  # every session ends, the writer lock's too
        ids += activity(sdk, 3, offset=3)  # the chain goes on while the database is down
        time.sleep(2)
        cluster.start()
        ids += activity(sdk, 2, offset=6)
        head = sdk.w3.eth.block_number
        wait_until_indexed(url, head)
        assert follower.alive, follower.text()
        assert any("retrying in" in line for line in follower.err), follower.text()
    finally:
        code = follower.stop()
    assert code == 0 and "stopped" in follower.out
    index = Indexer(sdk.w3, sdk.admin.contract, url, start_block=sdk.record.block)
    stored = logged_positions(index)
    assert len(stored) == len(set(stored))
    assert sorted(stored) == chain_positions(index, sdk.record.block, head)
    fresh_url, _ = fresh_schema_url(cluster.url)
    upgrade(fresh_url)
    fresh = Indexer(sdk.w3, sdk.admin.contract, fresh_url, start_block=sdk.record.block)
    fresh.sync()
    assert state(index, ids) == state(fresh, ids)
    index.close()
    fresh.close()
