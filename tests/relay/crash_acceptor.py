"""A web process that dies between the commit and the broadcast (tests/relay/test_relay_outages.py).

    python tests/relay/crash_acceptor.py /relay/claim '<json body>'

The site (webapp.create_app over the GIFTCERT_* environment, as a worker makes it) takes the
POST through its real route: the checks, the simulation, `RelayStore.accept`'s serialized
transaction. Once that transaction has committed, the process prints `committed <requestId>`
and stops where it stands (it waits for the SIGKILL the test sends): the accepting request
never reaches its broadcast, as when a worker is killed (OOM, a deploy, a power cut) at that
moment. Nothing else is changed: the row, its nonce and its signed bytes are what the acceptor
really committed.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

from giftcert.config import load_settings
from giftcert.deploy import connect
from giftcert.relay.store import RelayStore
from webapp import create_app


def main(path: str, body: str) -> None:
    settings = load_settings(Path("none.env"))
    client, record = connect(settings)
    app = create_app(settings, client, follow=False, start_block=record.block)
    accept = RelayStore.accept

    def accept_then_die(store: RelayStore, *args: Any, **kwargs: Any) -> Any:
        found, created = accept(store, *args, **kwargs)  # committed when it returns
        print(f"committed {found.id} {'new' if created else 'repeat'}", flush=True)
        threading.Event().wait()  # never returns: the test kills this process here
        raise AssertionError("unreachable")

    RelayStore.accept = accept_then_die  # type: ignore[method-assign]
    answer = app.test_client().post(f"/api/v1{path}", json=json.loads(body))
    print(f"answered {answer.status_code} {answer.get_data(as_text=True)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
