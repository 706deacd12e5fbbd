"""`python -m giftcert.relay`: a relay keeper as a process of its own, for deployments that set
GIFTCERT_RELAY_KEEPER=off on the web workers (e.g. run it beside `giftcert index --follow`).
It sends queued requests, follows receipts, rebroadcasts and replaces stuck transactions;
several keepers (threads or processes) at once are safe (docs/relay.md)."""

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between passes")
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
    while not stop.wait(args.poll):
        try:
            relay.tick()
        except Exception:  # noqa: BLE001 - the keeper outlives a bad pass
            logging.getLogger("giftcert.relay").exception("keeper pass failed")
    relay.store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
