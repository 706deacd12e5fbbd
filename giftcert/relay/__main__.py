"""`python -m giftcert.relay`: a relay keeper as a process of its own, for deployments that set
GIFTCERT_RELAY_KEEPER=off on the web workers (e.g. run it beside `giftcert index --follow`).
It sends queued requests, follows receipts, rebroadcasts and replaces stuck transactions;
several keepers (threads or processes) at once are safe (docs/relay.md). A database that does
not answer is logged once (and once when it is back) and retried with a backoff
(giftcert.relay.service.Keeper, the same loop as the web process's keeper thread); SIGTERM or
SIGINT stop it."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from giftcert.config import load_settings
from giftcert.deploy import connect
from giftcert.relay import open_relay
from giftcert.relay.service import MAX_BACKOFF_SECONDS, Keeper


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between passes")
    parser.add_argument("--max-backoff", type=float, default=MAX_BACKOFF_SECONDS,
                        help="the longest wait after failed passes (from 1 s, doubling)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = load_settings()
    client, _record = connect(settings)
    relay = open_relay(settings, client)
    if relay is None:
        print("no relayer key is set (GIFTCERT_RELAYER_KEY): nothing to keep", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"relay keeper for {relay.relayer} on chain {client.chain_id}", flush=True)
    Keeper(relay, poll=args.poll, max_backoff=args.max_backoff).run(stop)
    relay.store.dispose()
    print("relay keeper stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
