"""Helpers of the database tests (imported as `db.helpers`)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from giftcert.indexer import Indexer, activity_table, cursor_table

ROOT = Path(__file__).resolve().parents[2]
FOLLOWER = Path(__file__).with_name("follower.py")


@dataclass
class Follower:
    """An indexer child process (tests/db/follower.py); its output is collected by threads."""

    proc: subprocess.Popen[str]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)

    def _pump(self, stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def start_pumps(self) -> None:
        for stream, into in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, into), daemon=True).start()

    def wait_for(self, prefix: str, timeout: float = 60.0, stream: str = "out") -> str:
        """The first line of stdout (or "err") that starts with (stderr: contains) `prefix`."""
        lines = self.out if stream == "out" else self.err

        def found() -> str | None:
            return next((line for line in list(lines)
                         if line.startswith(prefix) or (stream == "err" and prefix in line)),
                        None)

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (line := found()) is not None:
                return line
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the pumps finish
                if (line := found()) is not None:
                    return line
                raise AssertionError(f"follower exited ({self.proc.returncode}) before "
                                     f"{prefix!r}:\n{self.text()}")
            time.sleep(0.05)
        raise AssertionError(f"no {prefix!r} within {timeout} s:\n{self.text()}")

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def wrote(self) -> bool:
        return any(line.startswith("at ") for line in self.out)

    def text(self) -> str:
        return "stdout:\n" + "\n".join(self.out) + "\nstderr:\n" + "\n".join(self.err)

    def stop(self, timeout: float = 30.0) -> int:
        if self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


def start_follower(sdk: Any, url: str, *args: str) -> Follower:
    command = [sys.executable, str(FOLLOWER), sdk.settings.rpc_url, sdk.admin.address, url,
               str(sdk.record.block), *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    follower = Follower(proc)
    follower.start_pumps()
    return follower


class CursorWatch:
    """Samples the stored cursor every few milliseconds in a thread: `blocks` is what it saw."""

    def __init__(self, url: str, every: float = 0.02) -> None:
        self.engine = create_engine(url)
        self.blocks: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.is_set():
            try:
                with self.engine.connect() as conn:
                    block = conn.execute(select(cursor_table.c.block)).scalar()
                if block is not None:
                    self.blocks.append(int(block))
            except Exception as exc:  # noqa: BLE001 - e.g. the table is not there yet
                self.errors.append(str(exc).splitlines()[0])
            self._stop.wait(every)

    def stop(self) -> list[int]:
        self._stop.set()
        self._thread.join(10)
        self.engine.dispose()
        return self.blocks

    def went_back(self) -> list[tuple[int, int]]:
        return [(a, b) for a, b in zip(self.blocks, self.blocks[1:], strict=False) if b < a]


def wait_until_indexed(url: str, block: int, timeout: float = 90.0) -> None:
    engine = create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                with engine.connect() as conn:
                    at = conn.execute(select(cursor_table.c.block)).scalar()
                if at is not None and at >= block:
                    return
            except Exception:  # noqa: BLE001, S110 - not created yet
                pass
            time.sleep(0.1)
        raise AssertionError(f"the index did not reach block {block} in {timeout} s")
    finally:
        engine.dispose()


def logged_positions(index: Indexer) -> list[tuple[str, int]]:
    """(tx hash, log index) of every activity row, duplicates kept."""
    with index.engine.connect() as conn:
        return [(r.tx_hash, r.log_index) for r in conn.execute(
            select(activity_table.c.tx_hash, activity_table.c.log_index))]


def chain_positions(index: Indexer, start: int, end: int) -> list[tuple[str, int]]:
    """(tx hash, log index) of every log of the contract the index keeps, from the node."""
    return sorted((log["transactionHash"], int(log["logIndex"], 16))
                  for log in index._logs(start, end) if not log.get("removed"))


def state(index: Indexer, ids: list[int]) -> dict[str, Any]:
    """What a rebuilt index must agree on: rows of these certificates, histories, counts."""
    return {
        "certificates": {c: index.certificate(c) for c in ids},
        "history": {c: [(e["tx_hash"], e["log_index"], e["event"]) for e in index.history(c)]
                    for c in ids},
        "counts": index.counts(),
        "merchants": index.merchants(),
    }


def activity(sdk: Any, rounds: int, offset: int = 0) -> list[int]:
    """Issues, redeems, transfers and a split per round (a block each): certificate ids."""
    ids = []
    for i in range(offset, offset + rounds):
        cert = sdk.buyer.issue(sdk.holder.sender, "5", sdk.coffee_id, "tUSD")
        sdk.holder.redeem(cert.id, "1", order_ref=1000 + i)
        if i % 2:
            sdk.holder.transfer(cert.id, sdk.friend.sender)
        else:
            ids.append(sdk.holder.split(cert.id, "1", sdk.friend.sender).id)
        ids.append(cert.id)
    return ids
