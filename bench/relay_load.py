"""`make bench-relay`: relayed claims and re-gifts through several web workers.

Its own anvil and deployment (bench.stack), N claim-link gifts bought up front; then the site
as production serves it (`gunicorn -w 4 'webapp:create_app()'`, PostgreSQL, one
`giftcert index --follow` beside it; each worker runs its relay keeper thread) takes N/2 relayed
claims to fresh wallets, then N/2 relayed re-gifts (signed transfers) by those wallets, from
concurrent clients. It counts, from the chain and the API:
- lost: a request the site accepted (or should have) that is not mined;
- duplicated: relayer transactions beyond one per request (on chain);
- nonce collisions: two requests given one nonce.
and prints relayed/s (requests mined per second, first POST to last mined).
`python -m bench.relay_load --requests 40 --workers 2 --database sqlite` runs it small.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_account import Account

from bench.api_bench import postgres, process, wait_for
from bench.stack import LocalSystem, local_system, report_log_errors
from giftcert import eip712
from giftcert.chain import free_port
from giftcert.config import ANVIL_DEV_KEYS, DEV_RELAYER_KEY_INDEX, PROJECT_ROOT
from giftcert.database import open_engine, upgrade
from giftcert.models import ClaimLink

RELAYER = Account.from_key(ANVIL_DEV_KEYS[DEV_RELAYER_KEY_INDEX]).address


@dataclass
class Outcome:
    requests: int
    accepted: int
    mined: int
    lost: int
    duplicated: int
    nonce_collisions: int
    relayer_txs: int
    seconds: float
    workers: int
    database: str
    failures: dict[str, int]  # not mined: status and reason -> how many

    @property
    def relayed_per_second(self) -> float:
        return round(self.mined / self.seconds, 1) if self.seconds else 0.0

    def line(self) -> str:
        return (f"{self.requests} relayed requests through {self.workers} workers "
                f"({self.database}): {self.relayed_per_second} relayed/s, lost {self.lost}, "
                f"duplicated {self.duplicated}, nonce collisions {self.nonce_collisions} "
                f"({self.relayer_txs} relayer transactions, {self.seconds:.1f} s)"
                + (f"; not mined: {self.failures}" if self.failures else ""))


def _call(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        payload = json.dumps(body) if body is not None else None
        conn.request(method, path, body=payload,
                     headers={"Content-Type": "application/json"} if payload else {})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def claim_body(system: LocalSystem, link: ClaimLink, recipient: str) -> dict[str, Any]:
    document = eip712.claim(system.settings.chain_id, str(system.contract.address),
                            certificate=link.certificate.id, recipient=recipient)
    signature = eip712.sign_typed_data(link.key or "", document)
    return {"certificate": str(link.certificate.id), "recipient": recipient,
            "signature": "0x" + signature.hex()}


def post_all(port: int, path: str, bodies: list[dict[str, Any]], clients: int
             ) -> list[tuple[int, Any]]:
    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(lambda b: _call(port, "POST", path, b), bodies))


def wait_mined(port: int, ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    """Each request's last answer, once all are mined or failed (or the time is up)."""
    deadline = time.monotonic() + timeout
    found: dict[str, dict[str, Any]] = {}
    while True:
        for request_id in ids:
            if found.get(request_id, {}).get("status") not in ("mined", "failed"):
                found[request_id] = _call(port, "GET", f"/api/v1/relay/requests/{request_id}")[1]
        done = all(f.get("status") in ("mined", "failed") for f in found.values())
        if done or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@contextmanager
def serve(system: LocalSystem, database_url: str, workers: int) -> Iterator[int]:
    """gunicorn with `workers` over `database_url`, an indexer service beside it."""
    outside = {k: v for k, v in os.environ.items() if not k.startswith("GIFTCERT_")}
    env = {**outside, **system.env, "GIFTCERT_DATABASE_URL": database_url,
           "GIFTCERT_INDEXER": "service", "PYTHONPATH": str(PROJECT_ROOT),
           "GIFTCERT_RELAY_PER_ADDRESS_DAY": "1000000", "GIFTCERT_RELAY_PER_IP_DAY": "1000000",
           "GIFTCERT_RELAY_GAS_BUDGET_DAY": str(10**12)}
    port = free_port()
    work = system.directory
    with ExitStack() as stack:
        stack.enter_context(process(
            [sys.executable, "-m", "giftcert.cli", "--env-file", str(work / "none.env"),
             "index", "--follow"], env, work / "relay-indexer.log"))
        log = work / "relay-site.log"
        proc = stack.enter_context(process(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
             "--graceful-timeout", "5", "--timeout", "120", "--log-level", "warning",
             "webapp:create_app()"], env, log))
        wait_for(port, proc, log)
        yield port
        report_log_errors(log, "the site")


def _relayer_txs(system: LocalSystem, first_block: int) -> list[Any]:
    w3 = system.w3
    return [tx for n in range(first_block, w3.eth.block_number + 1)
            for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]
            if tx["from"] == RELAYER]


def _phase(port: int, path: str, bodies: list[dict[str, Any]], clients: int,
           timeout: float) -> tuple[list[tuple[int, Any]], dict[str, dict[str, Any]]]:
    answers = post_all(port, path, bodies, clients)
    ids = [a["requestId"] for code, a in answers if code in (200, 202)]
    return answers, wait_mined(port, ids, timeout)


def run(requests: int = 500, workers: int = 4, database_url: str | None = None,
        clients: int = 16, say: Any = print) -> Outcome:
    """`requests` relayed operations (half claims, half re-gifts) on a system of its own;
    `database_url`: a PostgreSQL URL, "sqlite" (a file), or None (a throwaway cluster)."""
    with local_system() as system, ExitStack() as stack:
        url = database_url or stack.enter_context(postgres(None))
        if url == "sqlite":  # a file of its own beside the chain's state
            url = f"sqlite:///{system.directory / 'relay.db'}"
        engine = open_engine(url)
        upgrade(engine)
        engine.dispose()
        admin = system.admin()
        claims = requests - requests // 2
        say(f"buying {claims} claim-link gifts on {system.node.rpc_url}")
        links = [admin.issue_claimable(Decimal("0.001"), _merchant(system, admin))
                 for _ in range(claims)]
        wallets = [Account.create() for _ in links]
        friends = [str(Account.create().address) for _ in links]
        first_block = system.w3.eth.block_number + 1
        with serve(system, url, workers) as port:
            say(f"{claims} relayed claims, then {requests - claims} relayed re-gifts, "
                f"{clients} clients, {workers} workers")
            started = time.perf_counter()
            bodies = [claim_body(system, link, str(w.address))
                      for link, w in zip(links, wallets, strict=True)]
            answers, found = _phase(port, "/api/v1/relay/claim", bodies, clients, 300)
            regifts = [_transfer(admin, link, wallet, friend)
                       for link, wallet, friend in zip(links, wallets, friends, strict=True)
                       ][:requests - claims]
            more, found_more = _phase(port, "/api/v1/relay/transfer", regifts, clients, 300)
            seconds = time.perf_counter() - started
        answers += more
        found |= found_more
        txs = _relayer_txs(system, first_block)
        return _outcome(requests, answers, found, txs, seconds, workers, url)


def _merchant(system: LocalSystem, admin: Any) -> int:
    if not admin.merchants():
        admin.register_merchant(str(Account.from_key(ANVIL_DEV_KEYS[4]).address), "Load Cafe")
    return int(admin.merchants()[0].id)


def _transfer(admin: Any, link: ClaimLink, wallet: Any, friend: str) -> dict[str, Any]:
    key = "0x" + bytes(wallet.key).hex()
    signed = admin.calls.sign_holder_action("transfer", link.certificate.id, key,
                                            deadline=admin.now() + 3600, to=friend)
    data = signed.to_json()
    return {"message": data["message"], "signature": data["signature"]}


def _outcome(requests: int, answers: list[tuple[int, Any]], found: dict[str, dict[str, Any]],
             txs: list[Any], seconds: float, workers: int, url: str) -> Outcome:
    accepted = [a for code, a in answers if code in (200, 202)]
    mined = [f for f in found.values() if f.get("status") == "mined"]
    nonces = [f["nonce"] for f in found.values() if "nonce" in f]
    per_data: dict[str, int] = {}
    for tx in txs:
        key = tx["input"].hex() if hasattr(tx["input"], "hex") else str(tx["input"])
        per_data[key] = per_data.get(key, 0) + 1
    duplicated = sum(n - 1 for n in per_data.values()) + max(0, len(txs) - len(found))
    failures: dict[str, int] = {}
    for f in found.values():
        if f.get("status") != "mined":
            why = f"{f.get('status')}: {f.get('code')} {f.get('reason')}"
            failures[why] = failures.get(why, 0) + 1
    return Outcome(requests=requests, accepted=len(accepted), mined=len(mined),
                   lost=requests - len(mined), duplicated=duplicated,
                   nonce_collisions=len(nonces) - len(set(nonces)), relayer_txs=len(txs),
                   seconds=seconds, workers=workers, failures=failures,
                   database="postgresql" if url.startswith("postgres") else "sqlite")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args(argv)
    url = "sqlite" if args.database == "sqlite" else args.postgres_url
    outcome = run(args.requests, args.workers, url, args.clients)
    print(outcome.line())
    print(json.dumps({**vars(outcome), "relayed_per_second": outcome.relayed_per_second}))


if __name__ == "__main__":
    main()
