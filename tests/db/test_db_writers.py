"""Exactly one writer: the writer lock, the cursor's compare-and-set, crashes and restarts."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import pytest
from db.helpers import (
    CursorWatch,
    activity,
    chain_positions,
    logged_positions,
    start_follower,
    state,
    wait_until_indexed,
)

from giftcert.indexer import Indexer


def _indexer(sdk, url, **kw) -> Indexer:
    return Indexer(sdk.w3, sdk.admin.contract, url, start_block=sdk.record.block, **kw)


def test_two_followers_started_together_store_every_event_once(sdk, backend):
    """Two `follow` processes on one index while certificates are issued, redeemed, split and
    moved: one writes, the other waits (and says so); when the writer is killed the other
    takes over; every event is stored exactly once and the cursor never goes back."""
    url = backend.url()
    watch = CursorWatch(url)
    followers = [start_follower(sdk, url, "--follow", "--block-range", "3", "--poll", "0.05")
                 for _ in range(2)]
    started = time.monotonic()
    try:
        ids = activity(sdk, 6)
        wait_until_indexed(url, sdk.w3.eth.block_number)
        writers = [f for f in followers if f.wrote]
        assert len(writers) == 1, [f.text() for f in followers]
        waiting = next(f for f in followers if f is not writers[0])
        waiting.wait_for("waiting for its writer lock", timeout=20, stream="err")
        writers[0].proc.send_signal(signal.SIGKILL)  # the writer dies: the other takes over
        writers[0].proc.wait(10)
        ids += activity(sdk, 6, offset=6)
        head = sdk.w3.eth.block_number
        wait_until_indexed(url, head)
        elapsed = time.monotonic() - started
        assert waiting.alive and waiting.wrote, waiting.text()
    finally:
        blocks = watch.stop()
        for follower in followers:
            follower.stop()
    assert waiting.proc.returncode == 0 and "stopped" in waiting.out  # SIGTERM: a clean stop
    assert not watch.went_back(), watch.went_back()
    assert blocks and blocks[-1] == head
    index = _indexer(sdk, url)
    stored = logged_positions(index)
    assert len(stored) == len(set(stored))  # nothing twice
    assert sorted(stored) == chain_positions(index, sdk.record.block, head)  # nothing missing
    fresh = _indexer(sdk, backend.url("fresh"))
    fresh.sync()
    assert state(index, ids) == state(fresh, ids)
    print(f"two followers over {backend.name}: {len(stored)} events, {elapsed:.1f} s")


def test_the_cursor_moves_only_by_compare_and_set(sdk, backend, monkeypatch, caplog):
    """The race of issue 14 with the lock bypassed: A reads the cursor and fetches a range, B
    indexes past it meanwhile, A commits last. A's transaction must roll back (the cursor is not
    where A started) and A must carry on from B's cursor: nothing twice, the cursor never back."""
    url = backend.url()
    ids = activity(sdk, 2)
    first_head = sdk.w3.eth.block_number
    a = _indexer(sdk, url, lock=False)
    b = _indexer(sdk, url, lock=False)
    raced = []
    fetch = a._logs

    def slow_logs(start, end):
        logs = fetch(start, end)
        if not raced:  # B moves the cursor while A holds fetched logs for [start, end]
            raced.append((start, end))
            ids.extend(activity(sdk, 1, offset=2))
            assert b.sync() > 0
        return logs

    monkeypatch.setattr(a, "_logs", slow_logs)
    with caplog.at_level(logging.WARNING, logger="giftcert.indexer"):
        a.sync(to_block=first_head)
    assert raced and "another writer moved it" in caplog.text
    assert a.cursor()[0] == sdk.w3.eth.block_number  # B's, not first_head: never back
    stored = logged_positions(a)
    assert len(stored) == len(set(stored))
    fresh = _indexer(sdk, backend.url("fresh"))
    fresh.sync()
    assert state(a, ids) == state(fresh, ids)


def test_a_second_writer_waits_for_the_lock_and_try_sync_does_not(sdk, backend, caplog):
    url = backend.url()
    first = _indexer(sdk, url)
    thread = threading.Thread(target=first.follow, kwargs={"poll_seconds": 0.05}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while first.cursor() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        second = _indexer(sdk, url)
        assert second.try_sync() is None  # busy: returns at once, writes nothing
        done = []
        with caplog.at_level(logging.WARNING, logger="giftcert.indexer"):
            waiter = threading.Thread(target=lambda: done.append(second.sync()), daemon=True)
            waiter.start()
            time.sleep(1.0)
            assert not done  # still waiting for the lock
            first.stop()
            thread.join(10)
            waiter.join(20)
        assert done == [0]  # took the lock once the follower let go; nothing left to do
        assert "waiting for its writer lock" in caplog.text
        assert f"pid {os.getpid()} on" in caplog.text  # who holds it: this process's follower
    finally:
        first.stop()
        thread.join(10)


@pytest.mark.parametrize("kill", ["inside batch 3", "from outside"])
def test_an_indexer_killed_mid_batch_loses_and_repeats_nothing(sdk, backend, kill):
    ids = activity(sdk, 4)
    head = sdk.w3.eth.block_number
    url = backend.url()
    if kill == "inside batch 3":
        follower = start_follower(sdk, url, "--block-range", "2", "--kill-in-batch", "3")
        follower.proc.wait(60)
        assert follower.proc.returncode == -signal.SIGKILL, follower.text()
        # the pump threads may still be reading the dead process's last lines
        assert follower.wait_for("batch 3", timeout=10) == "batch 3"
    else:
        follower = start_follower(sdk, url, "--block-range", "2")
        follower.wait_for("batch 2")
        follower.proc.send_signal(signal.SIGKILL)
        follower.proc.wait(30)
    resumed = _indexer(sdk, url, block_range=2)
    cursor = resumed.cursor()
    assert cursor is None or cursor[0] < head  # it really stopped part-way
    resumed.sync()
    fresh = _indexer(sdk, backend.url("fresh"))
    fresh.sync()
    assert state(resumed, ids) == state(fresh, ids)
    stored = logged_positions(resumed)
    assert len(stored) == len(set(stored))


def test_follow_retries_every_error_with_capped_backoff_and_never_exits(sdk, backend,
                                                                         monkeypatch, caplog):
    index = _indexer(sdk, backend.url())
    calls = []
    real = index._head

    def flaky_head():
        calls.append(time.monotonic())
        if len(calls) <= 3:
            raise ConnectionError("node down")
        if len(calls) == 4:
            raise RuntimeError("something else")
        if len(calls) >= 6:
            index.stop()
        return real()

    monkeypatch.setattr(index, "_head", flaky_head)
    with caplog.at_level(logging.WARNING, logger="giftcert.indexer"):
        index.follow(poll_seconds=0.05, max_backoff=1.0)
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert len(calls) == 6 and index.cursor() is not None  # it went on and indexed
    # 0.25, 0.5, 1.0 (doubling), 1.0 (capped), then the poll interval after a success
    assert 0.24 <= gaps[0] < gaps[1] < gaps[2] <= gaps[3] + 0.1 and gaps[3] < 1.3, gaps
    assert gaps[4] < 0.5
    assert "retrying in 1.0 s (failure 4 in a row)" in caplog.text
