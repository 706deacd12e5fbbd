"""A counting JSON-RPC proxy: forwards every request to a node (anvil) and counts the calls by
method, batch items one by one (a hosted node bills each), so tests and `make bench-api` can
say how many node calls a page costs. Counts are deterministic: no timing is involved.

    with RpcProxy(anvil_url) as proxy:        # proxy.url goes where the node's URL went
        ...
        proxy.reset(); do_something(); assert proxy.total() == 1

Faults for tests: `max_log_range` refuses eth_getLogs over more blocks than that, as hosted
providers do (JSON-RPC error -32005, "query exceeds max block range"); `down = True` answers
nothing (the connection is closed), like a node that went away.
`python -m bench.rpc_proxy UPSTREAM [PORT]` runs one and prints the counts on Ctrl-C.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


class RpcProxy:
    def __init__(self, upstream: str, port: int = 0, *, max_log_range: int | None = None) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.max_log_range = max_log_range
        self.down = False
        self.calls: Counter[str] = Counter()  # method -> calls
        self.requests = 0  # HTTP requests (a batch is one)
        self.log_ranges: list[int] = []  # blocks asked per eth_getLogs
        self._lock = threading.Lock()
        self._local = threading.local()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.down:
                    self.close_connection = True
                    self.connection.close()
                    return
                reply = proxy._handle(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> RpcProxy:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name="rpc-proxy")
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> RpcProxy:
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()

    # -- counting ---------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.requests = 0
            self.log_ranges.clear()

    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)

    # -- forwarding -------------------------------------------------------------------------

    def _handle(self, body: bytes) -> bytes:
        try:
            payload = json.loads(body)
        except ValueError:
            return self._forward(body)
        items = payload if isinstance(payload, list) else [payload]
        refused = [self._refusal(item) for item in items]
        with self._lock:
            self.requests += 1
            for item in items:
                self.calls[str(item.get("method"))] += 1
        if not any(refused):
            return self._forward(body)
        # Some items are refused here: forward the others, answer in the request's order.
        passed = [item for item, no in zip(items, refused, strict=True) if not no]
        answers = json.loads(self._forward(json.dumps(passed).encode())) if passed else []
        by_id = {a.get("id"): a for a in (answers if isinstance(answers, list) else [answers])}
        out = [no or by_id.get(item.get("id")) for item, no in zip(items, refused, strict=True)]
        return json.dumps(out if isinstance(payload, list) else out[0]).encode()

    def _refusal(self, item: dict[str, Any]) -> dict[str, Any] | None:
        if item.get("method") != "eth_getLogs" or not item.get("params"):
            return None
        query = item["params"][0]
        try:
            blocks = int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
        except (KeyError, TypeError, ValueError):
            return None
        with self._lock:
            self.log_ranges.append(blocks)
        if self.max_log_range is None or blocks <= self.max_log_range:
            return None
        return {"jsonrpc": "2.0", "id": item.get("id"), "error": {
            "code": -32005,
            "message": f"query exceeds max block range {self.max_log_range}"}}

    def _forward(self, body: bytes) -> bytes:
        conn = getattr(self._local, "conn", None)
        for attempt in (1, 2):
            if conn is None:
                conn = http.client.HTTPConnection(*self.upstream, timeout=60)
                self._local.conn = conn
            try:
                conn.request("POST", "/", body=body,
                             headers={"Content-Type": "application/json"})
                return conn.getresponse().read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    proxy = RpcProxy(args[0], int(args[1]) if len(args) > 1 else 0).start()
    print(f"counting proxy on {proxy.url} -> {args[0]} (Ctrl-C prints the counts)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print(json.dumps(proxy.snapshot(), indent=2, sort_keys=True))
    finally:
        proxy.stop()


if __name__ == "__main__":
    main()
