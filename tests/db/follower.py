"""An indexer process for the tests: `python tests/db/follower.py RPC CONTRACT URL START
[--follow] [--block-range N] [--kill-in-batch N] [--poll S]`.

Prints `batch N` when a range's rows are written (inside its open transaction) and
`at BLOCK/HEAD (EVENTS events)` after each commit; logs (the writer lock's wait, retries) go to
stderr. `--kill-in-batch N` SIGKILLs itself inside the N-th range's transaction, before the
commit. SIGTERM stops a follower cleanly (exit 0, prints `stopped`).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from web3 import Web3

from giftcert.abis import load_abi
from giftcert.indexer import Indexer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rpc")
    parser.add_argument("contract")
    parser.add_argument("url")
    parser.add_argument("start", type=int)
    parser.add_argument("--follow", action="store_true")
    parser.add_argument("--block-range", type=int, default=2000)
    parser.add_argument("--kill-in-batch", type=int, default=0)
    parser.add_argument("--poll", type=float, default=0.1)
    parser.add_argument("--max-backoff", type=float, default=2.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"[follower {os.getpid()}] %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    w3 = Web3(Web3.HTTPProvider(args.rpc, request_kwargs={"timeout": 10}))
    contract = w3.eth.contract(address=args.contract, abi=load_abi("GiftCertificates"))
    batches = 0

    class Follower(Indexer):
        def _store(self, conn, events):  # noqa: ANN001 - the seam of the crash tests
            nonlocal batches
            super()._store(conn, events)
            batches += 1
            print(f"batch {batches}", flush=True)
            if args.kill_in_batch and batches == args.kill_in_batch:
                os.kill(os.getpid(), signal.SIGKILL)

    def progress(block: int, head: int, events: int) -> None:
        print(f"at {block}/{head} ({events} events)", flush=True)

    index = Follower(w3, contract, args.url, start_block=args.start,
                     block_range=args.block_range, chain_id=31337, check=not args.follow)
    signal.signal(signal.SIGTERM, lambda *_: index.stop())
    print("started", flush=True)
    if args.follow:
        index.follow(args.poll, progress=progress, max_backoff=args.max_backoff)
    else:
        index.sync(progress=progress)
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
