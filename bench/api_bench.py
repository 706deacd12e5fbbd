"""`make bench-api`: load on the web API against its framework floor, as deployed two ways.

Seeds its own anvil (bench.index_bench.seed: 2,000 certificates by default, ~21 per holder),
indexes them, then for each way of serving:
- "waitress": one `giftcert serve` process (waitress, SQLite, the indexer in-process), as
  `make run` serves;
- "gunicorn-4-postgres": `gunicorn -w 4 'webapp:create_app()'` over PostgreSQL with one
  `giftcert index --follow` beside it (GIFTCERT_INDEXER=service), as the README's Production
  section deploys (a throwaway PostgreSQL cluster, or --postgres-url);
drives it with keep-alive HTTP clients in threads and, alternating with it slice by slice in
the same run, the framework floor (bench/floor_app.py: a bare Flask app on the same server
with the same workers answering the same response bytes from memory). Prints requests/s,
p50/p99 of each and the giftcert/floor ratios. Targets (issue 14): a holder's certificates
p50 <= 2x and p99 <= 1.5x the floor.
`python -m bench.api_bench --certificates 300 --seconds 2 --serving waitress` runs it small.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.index_bench import seed
from bench.stack import LocalSystem, local_system, report_log_errors
from giftcert.chain import free_port
from giftcert.config import PROJECT_ROOT
from giftcert.database import open_engine, upgrade
from giftcert.indexer import Indexer

Request = tuple[str, str, Any]
SERVINGS = ("waitress", "gunicorn-4-postgres")
TARGETS = {"p50": 2.0, "p99": 1.5}  # giftcert/floor, for a holder's certificates


def load(port: int, requests: list[Request], seconds: float, clients: int,
         offset: int = 0) -> dict[str, Any]:
    """`clients` keep-alive connections in threads, each sending requests in turn for
    `seconds`; latencies of every answer (and how many were not 200)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        i = offset + n
        while time.monotonic() < stop:
            method, path, body = requests[i % len(requests)]
            i += clients
            payload = json.dumps(body) if body is not None else None
            started = time.perf_counter()
            try:
                conn.request(method, path, body=payload,
                             headers={"Content-Type": "application/json"} if payload else {})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with lock:
                    errors[0] += 1
                continue
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                with lock:
                    errors[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"latencies": latencies, "errors": errors[0],
            "elapsed": time.perf_counter() - began}


WARM_PASSES = 6


def warm(port: int, requests: list[Request], clients: int) -> None:
    """Sends every request once, `clients` at a time."""
    def worker(n: int) -> None:
        for method, path, body in requests[n::clients]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            payload = json.dumps(body) if body is not None else None
            conn.request(method, path, body=payload,
                         headers={"Content-Type": "application/json"} if payload else {})
            conn.getresponse().read()
            conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    ordered = sorted(x for r in runs for x in r["latencies"])
    elapsed = sum(r["elapsed"] for r in runs)
    if not ordered:
        return {"requests": 0, "errors": sum(r["errors"] for r in runs), "req_per_s": 0.0,
                "p50_ms": 0.0, "p99_ms": 0.0}
    return {"requests": len(ordered), "errors": sum(r["errors"] for r in runs),
            "req_per_s": round(len(ordered) / elapsed, 1),
            "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000, 2)}


def alternate(real: int, floor: int, requests: list[Request], seconds: float, clients: int,
              slices: int) -> dict[str, Any]:
    """The endpoint and its floor, one slice each in turn (so both see the same machine),
    `seconds` in all for each."""
    # Warm both: every request several times over (each gunicorn worker keeps its own caches,
    # and a sync worker serves one request per connection: any worker may get any request).
    for port in (real, floor):
        warm(port, (requests * WARM_PASSES)[:max(len(requests), 600)], clients)
    mine: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    for n in range(slices):
        first, second = ((real, mine), (floor, theirs)) if n % 2 == 0 else \
            ((floor, theirs), (real, mine))
        for port, into in (first, second):
            into.append(load(port, requests, seconds / slices, clients, offset=n * clients))
    out: dict[str, Any] = {"giftcert": summary(mine), "floor": summary(theirs)}
    g, f = out["giftcert"], out["floor"]
    out["ratio"] = {"p50": round(g["p50_ms"] / f["p50_ms"], 2) if f["p50_ms"] else None,
                    "p99": round(g["p99_ms"] / f["p99_ms"], 2) if f["p99_ms"] else None}
    return out


def capture(port: int, requests: list[Request], path: Path) -> None:
    """What the real endpoint answers, for the floor to answer from memory."""
    answers: dict[str, str] = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for method, url, body in requests:
        key = f"{method} {url}"
        if key in answers:
            continue
        payload = json.dumps(body) if body is not None else None
        conn.request(method, url, body=payload,
                     headers={"Content-Type": "application/json"} if payload else {})
        response = conn.getresponse()
        text = response.read().decode()
        if response.status != 200:
            raise RuntimeError(f"{method} {url} answered {response.status}: {text[:300]}")
        answers[key] = text
    conn.close()
    path.write_text(json.dumps(answers))


def wait_for(port: int, proc: subprocess.Popen, log: Path, path: str = "/api/v1/status",
             timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status in (200, 404):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on {port}:\n{log.read_text()[-3000:]}")


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with open(log, "w") as out:
        proc = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def server_command(serving: str, port: int, app: str) -> list[str]:
    if serving == "waitress":
        module, call = app.split(":")
        return [sys.executable, "-c",
                f"from waitress import serve; from {module} import {call[:-2]} as make; "
                f"serve(make(), host='127.0.0.1', port={port})"]
    return [sys.executable, "-m", "gunicorn", "-w", "4", "-b", f"127.0.0.1:{port}",
            "--graceful-timeout", "5", "--log-level", "warning", app]


@contextmanager
def served(system: LocalSystem, serving: str, database_url: str, requests: list[Request],
           work: Path) -> Iterator[tuple[int, int]]:
    """(the site's port, the floor's port), both served by `serving`."""
    outside = {k: v for k, v in os.environ.items() if not k.startswith("GIFTCERT_")}
    env = {**outside, **system.env, "GIFTCERT_DATABASE_URL": database_url,
           "PYTHONPATH": str(PROJECT_ROOT)}
    port, floor_port = free_port(), free_port()
    with ExitStack() as stack:
        if serving == "waitress":  # as `make run`: giftcert serve, following in-process
            site_env = {**env, "GIFTCERT_WEB_PORT": str(port), "GIFTCERT_INDEXER": "in-process"}
            command = [sys.executable, "-m", "giftcert.cli", "--env-file",
                       str(work / "none.env"), "serve"]
        else:  # production: gunicorn workers that read, one indexer service that writes
            site_env = {**env, "GIFTCERT_INDEXER": "service"}
            stack.enter_context(process(
                [sys.executable, "-m", "giftcert.cli", "--env-file", str(work / "none.env"),
                 "index", "--follow"], site_env, work / f"{serving}-indexer.log"))
            command = server_command(serving, port, "webapp:create_app()")
        log = work / f"{serving}.log"
        proc = stack.enter_context(process(command, site_env, log))
        wait_for(port, proc, log)
        answers = work / f"{serving}-floor.json"
        capture(port, requests, answers)
        floor_log = work / f"{serving}-floor.log"
        floor = stack.enter_context(process(
            server_command(serving, floor_port, "bench.floor_app:create_app()"),
            {**env, "GIFTCERT_FLOOR_FILE": str(answers)}, floor_log))
        wait_for(floor_port, floor, floor_log, path="/")
        yield port, floor_port
        for name in (log, floor_log):
            report_log_errors(name, name.name)


@contextmanager
def postgres(url: str | None) -> Iterator[str]:
    """A PostgreSQL URL: the one given, else a throwaway cluster (tests/db/postgres.py)."""
    if url:
        yield url
        return
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from db.postgres import Cluster, fresh_schema_url

    cluster = Cluster()
    try:
        yield fresh_schema_url(cluster.url)[0]
    finally:
        cluster.destroy()


def run(n_certs: int, seconds: float, clients: int, slices: int, servings: list[str],
        postgres_url: str | None = None, say: Any = print) -> dict[str, Any]:
    with local_system() as system, ExitStack() as stack:
        w3, admin = system.w3, system.admin()
        say(f"seeding {n_certs} certificates on {system.node.rpc_url}")
        seeded = seed(w3, system.node.rpc_url, admin, w3.eth.accounts, n_certs, 0, say)
        databases = {"waitress": system.settings.database_url}
        if any(s != "waitress" for s in servings):
            databases["postgres"] = stack.enter_context(postgres(postgres_url))
            engine = open_engine(databases["postgres"])
            upgrade(engine)
            engine.dispose()
        for url in databases.values():
            say(f"indexing into {url.split('?')[0].split('@')[-1]}")
            Indexer(w3, admin.contract, url, start_block=system.record.block,
                    block_range=200).sync()
        holders = sorted(set(seeded.holders.values()))
        endpoints = {
            "holder_certificates": [("GET", f"/api/v1/holders/{h}/certificates", None)
                                    for h in holders],
            "holder_certificates_all": [("GET", f"/api/v1/holders/{h}/certificates?limit=500",
                                         None) for h in holders],
            "build_redemption": [("POST", "/api/v1/typed-data/redemption",
                                  {"certificate": str(c), "amount": "0.0001"})
                                 for c in seeded.certificates[:500]],
        }
        every = [r for group in endpoints.values() for r in group]
        per_holder = round(n_certs / len(holders))
        result: dict[str, Any] = {"certificates": n_certs, "clients": clients,
                                  "holders": len(holders), "certificates_per_holder": per_holder,
                                  "seconds_per_side": seconds, "servings": {}}
        for serving in servings:
            database = databases["waitress" if serving == "waitress" else "postgres"]
            say(f"{serving}: {clients} clients, {seconds:g} s per endpoint for giftcert and "
                f"as much for the floor, alternating in {slices} slices")
            with served(system, serving, database, every, system.directory) as (port, floor):
                result["servings"][serving] = {
                    name: alternate(port, floor, reqs, seconds, clients, slices)
                    for name, reqs in endpoints.items()}
        return result


def report(result: dict[str, Any]) -> list[str]:
    lines = [f"{result['certificates']} certificates, {result['holders']} holders "
             f"(~{result['certificates_per_holder']} each), {result['clients']} clients"]
    for serving, endpoints in result["servings"].items():
        lines.append(f"{serving}:")
        for name, r in endpoints.items():
            g, f, ratio = r["giftcert"], r["floor"], r["ratio"]
            verdict = ""
            if name == "holder_certificates":
                met = (ratio["p50"] is not None and ratio["p50"] <= TARGETS["p50"]
                       and ratio["p99"] is not None and ratio["p99"] <= TARGETS["p99"])
                verdict = "  target p50 <= 2x, p99 <= 1.5x: " + ("met" if met else "MISSED")
            lines.append(
                f"  {name:<24} giftcert {g['req_per_s']:7.1f} req/s p50 {g['p50_ms']:6.2f} "
                f"p99 {g['p99_ms']:6.2f} ms | floor {f['req_per_s']:7.1f} req/s p50 "
                f"{f['p50_ms']:5.2f} p99 {f['p99_ms']:5.2f} ms | ratio p50 {ratio['p50']}x "
                f"p99 {ratio['p99']}x | errors {g['errors']}{verdict}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="per endpoint, for giftcert and again for the floor")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--slices", type=int, default=10)
    parser.add_argument("--serving", action="append", choices=SERVINGS,
                        help="default: both")
    parser.add_argument("--postgres-url", default=None,
                        help="a database to make the index in (default: a throwaway cluster)")
    args = parser.parse_args(argv)
    result = run(args.certificates, args.seconds, args.clients, args.slices,
                 args.serving or list(SERVINGS), args.postgres_url)
    for line in report(result):
        print(line)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
