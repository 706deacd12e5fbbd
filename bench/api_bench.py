"""`make bench-api`: load on the web API served by waitress on loopback, 10,000 certificates
indexed. Seeds its own anvil (bench.index_bench.seed, no redemptions), indexes, starts
`giftcert serve` in a child process and drives it with keep-alive HTTP clients in threads for a
fixed time per endpoint; reports requests/s and p50/p99 latency for reading a holder's
certificates and for building a redemption (typed data). Target: p99 < 50 ms.
`python -m bench.api_bench --certificates 500 --seconds 3` runs it small."""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from typing import Any

from bench.index_bench import seed
from bench.stack import local_system
from giftcert.indexer import Indexer


def load(port: int, requests: list[tuple[str, str, Any]], seconds: float,
         clients: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        i = offset
        while time.monotonic() < stop:
            method, path, body = requests[i % len(requests)]
            i += clients
            payload = json.dumps(body) if body is not None else None
            started = time.perf_counter()
            conn.request(method, path, body=payload,
                         headers={"Content-Type": "application/json"} if payload else {})
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    return {"requests": len(ordered), "errors": errors[0],
            "req_per_s": round(len(ordered) / elapsed, 1),
            "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2)}


def run(n_certs: int, seconds: float, clients: int, say=print) -> dict[str, Any]:
    with local_system() as system:
        w3, admin = system.w3, system.admin()
        say(f"seeding {n_certs} certificates on {system.node.rpc_url}")
        seeded = seed(w3, system.node.rpc_url, admin, w3.eth.accounts, n_certs, 0, say)
        say("indexing")
        Indexer(w3, admin.contract, system.settings.database_url,
                start_block=system.record.block, block_range=50).sync()
        with system.serve() as url:
            port = int(url.rsplit(":", 1)[1])
            holders = sorted(set(seeded.holders.values()))
            # The API's default page (50 certificates) and every certificate in one answer.
            reads = [("GET", f"/api/v1/holders/{h}/certificates", None) for h in holders]
            whole = [("GET", f"/api/v1/holders/{h}/certificates?limit=500", None)
                     for h in holders]
            certs = seeded.certificates
            builds = [("POST", "/api/v1/typed-data/redemption",
                       {"certificate": str(c), "amount": "0.0001"}) for c in certs[:500]]
            per_holder = n_certs // len(holders)
            say(f"load: {clients} clients, {seconds:.0f} s per endpoint "
                f"({len(holders)} holders, ~{per_holder} certificates each)")
            return {"certificates": n_certs, "clients": clients,
                    "certificates_per_holder": per_holder,
                    "holder_certificates": load(port, reads, seconds, clients),
                    "holder_certificates_all": load(port, whole, seconds, clients),
                    "build_redemption": load(port, builds, seconds, clients)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    result = run(args.certificates, args.seconds, args.clients)
    for name in ("holder_certificates", "holder_certificates_all", "build_redemption"):
        r = result[name]
        flag = "ok" if r["p99_ms"] < 50 else "SLOW (target p99 < 50 ms)"
        print(f"  {name:<24} {r['req_per_s']:8.1f} req/s  p50 {r['p50_ms']:6.2f} ms  "
              f"p99 {r['p99_ms']:6.2f} ms  errors {r['errors']}  {flag}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
