"""`make bench-index`: index 10,000 certificates and 20,000 redemptions, time the queries.

On its own anvil (100 unlocked accounts, a 1e9 block gas limit): issue the certificates with
`issueBatch` (1,000 per transaction), have the holders sign redemption authorisations (anvil signs
`eth_signTypedData_v4` in JSON-RPC batches) and the merchants settle them with `settleBatch`
(500 per transaction; a certificate's successive authorisations carry its successive nonces, so
they settle in order, also within one batch), moving the clock a day now and then so the daily
totals have several days. Then index everything into a fresh SQLite file and report events per
second and the median time of each query. `python -m bench.index_bench --certificates 200
--redemptions 400` runs it small.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3

from giftcert import eip712
from giftcert.chain import Anvil, free_port
from giftcert.client import DAY, GiftCert, SignedRedemption, wallet_json
from giftcert.config import load_settings
from giftcert.deploy import contract_at, deploy_system
from giftcert.indexer import Indexer

MERCHANTS = 5
ISSUE_CHUNK = 1000
SETTLE_CHUNK = 500
UNIT = 10**12  # 0.000001 ETH per redemption
QUERY_RUNS = 200


class BenchAnvil(Anvil):
    """anvil with many unlocked accounts and room for very large batches."""

    def __init__(self, port: int, accounts: int = 100) -> None:
        super().__init__(port)
        self.accounts = accounts

    def command(self) -> list[str]:
        return super().command() + ["--accounts", str(self.accounts),
                                    "--gas-limit", "1000000000", "--balance", "1000000"]


@dataclass
class Seeded:
    certificates: list[int]
    holders: dict[int, str]
    merchants: dict[int, str]
    redemptions: int
    seconds: float


def rpc_batch(url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    """One HTTP request carrying many JSON-RPC calls; results in call order."""
    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        replies = sorted(json.loads(response.read()), key=lambda r: r["id"])
    errors = [r["error"] for r in replies if "error" in r]
    if errors:
        raise RuntimeError(f"batch call failed: {errors[0]}")
    return [r["result"] for r in replies]


def seed(w3: Web3, url: str, admin: GiftCert, accounts: list[str], n_certs: int,
         n_redemptions: int, say: Callable[[str], None] = print) -> Seeded:
    """Issues `n_certs` ETH certificates and settles `n_redemptions` authorised redemptions."""
    started = time.perf_counter()
    holders = accounts[1 + MERCHANTS:]
    merchants = {admin.register_merchant(account, f"Bench Shop {i + 1}").id: account
                 for i, account in enumerate(accounts[1:1 + MERCHANTS])}
    merchant_ids = sorted(merchants)
    owners: dict[int, str] = {}
    issuer = admin.acting_as(sender=accounts[0])
    for start in range(0, n_certs, ISSUE_CHUNK):
        rows = [(holders[(start + i) % len(holders)], "0.001")
                for i in range(min(ISSUE_CHUNK, n_certs - start))]
        merchant = merchant_ids[(start // ISSUE_CHUNK) % MERCHANTS]
        ids = issuer.issue_batch(rows, merchant, "ETH", chunk=ISSUE_CHUNK,
                                 expiry=admin.now() + 6 * 365 * DAY)
        owners.update({cert_id: to for cert_id, (to, _) in zip(ids, rows, strict=True)})
        say(f"  issued {len(owners)}/{n_certs} certificates")
    certs = list(owners)
    done = _redeem_all(w3, url, admin, certs, owners, merchants, n_redemptions, say)
    return Seeded(certs, owners, merchants, done, time.perf_counter() - started)


def _redeem_all(w3: Web3, url: str, admin: GiftCert, certs: list[int], owners: dict[int, str],
                merchants: dict[int, str], n_redemptions: int,
                say: Callable[[str], None]) -> int:
    plan = [certs[i % len(certs)] for i in range(n_redemptions)]
    by_merchant: dict[int, list[int]] = {}
    for cert_id in plan:
        by_merchant.setdefault(cert_id >> 224, []).append(cert_id)
    done, next_ref = 0, dict.fromkeys(by_merchant, 1)
    nonces = dict.fromkeys(certs, 0)  # fresh certificates: nonce 0, +1 per signed redemption
    deadline = admin.now() + 60 * DAY
    for merchant, cert_ids in sorted(by_merchant.items()):
        settler = admin.acting_as(sender=merchants[merchant])
        for start in range(0, len(cert_ids), SETTLE_CHUNK):
            part = cert_ids[start:start + SETTLE_CHUNK]
            refs = range(next_ref[merchant], next_ref[merchant] + len(part))
            next_ref[merchant] += len(part)
            signed = _sign(url, admin, part, refs, merchant, deadline, owners, nonces)
            settlement = settler.settle_batch(merchant, signed)
            if settlement.refused:
                first = settlement.refused[0]
                raise RuntimeError(f"{len(settlement.refused)} redemptions refused, e.g. item "
                                   f"{first.index}: {first.reason}")
            done += len(settlement.settled)
            if done % (4 * SETTLE_CHUNK) == 0:
                w3.provider.make_request("evm_increaseTime", [DAY])  # spread over days
            say(f"  settled {done}/{n_redemptions} redemptions")
    return done


def _sign(url: str, admin: GiftCert, cert_ids: list[int], refs: range, merchant: int,
          deadline: int, owners: dict[int, str], nonces: dict[int, int]
          ) -> list[SignedRedemption]:
    """Authorisations in settlement order; `nonces` (each certificate's next nonce) moves on."""
    used = []
    for c in cert_ids:
        used.append(nonces[c])
        nonces[c] += 1
    documents = [eip712.redemption(admin.chain_id, admin.address, certificate=c,
                                   merchant=merchant, amount=UNIT, order_ref=r, nonce=n,
                                   deadline=deadline)
                 for c, r, n in zip(cert_ids, refs, used, strict=True)]
    calls = [("eth_signTypedData_v4", [owners[c], wallet_json(d)])
             for c, d in zip(cert_ids, documents, strict=True)]
    signatures = rpc_batch(url, calls)
    return [SignedRedemption(c, merchant, UNIT, r, n, deadline, bytes.fromhex(s[2:]), d)
            for c, r, n, s, d in zip(cert_ids, refs, used, signatures, documents, strict=True)]


def median_ms(fn: Callable[[], Any], runs: int = QUERY_RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(index: Indexer, seeded: Seeded, runs: int = QUERY_RUNS) -> dict[str, float]:
    """Median milliseconds of each query, over random arguments."""
    rng = random.Random(7)
    holders = sorted(set(seeded.holders.values()))
    merchants = sorted(seeded.merchants)
    return {
        "certificates of an address": median_ms(
            lambda: index.certificates_of(rng.choice(holders)), runs),
        "history of a certificate": median_ms(
            lambda: index.history(rng.choice(seeded.certificates)), runs),
        "merchant totals by day": median_ms(
            lambda: index.merchant_totals(rng.choice(merchants)), runs),
        # the merchant dashboard: its figures and its 20 latest redemptions
        "merchant statistics": median_ms(
            lambda: index.merchant_stats(rng.choice(merchants), int(time.time())), runs),
        "merchant's latest redemptions": median_ms(
            lambda: index.merchant_redemptions(rng.choice(merchants), 20), runs),
        # refs 1..n per merchant were used; a random one may or may not have been paid
        "was an order paid": median_ms(
            lambda: index.order_paid(rng.choice(merchants),
                                     rng.randint(1, 2 * seeded.redemptions + 1)), runs),
    }


def run(n_certs: int, n_redemptions: int, say: Callable[[str], None] = print) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, BenchAnvil(free_port()) as node:
        env = {"GIFTCERT_RPC_URL": node.rpc_url, "GIFTCERT_CHAIN_ID": "31337"}
        settings = load_settings(Path(tmp) / "none.env", environ=env)
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 300}))
        record, _ = deploy_system(w3, settings, directory=Path(tmp), say=lambda _m: None)
        admin = GiftCert(w3, contract_at(w3, record), private_key=settings.deployer_key)
        say(f"seeding {n_certs} certificates and {n_redemptions} redemptions on {node.rpc_url}")
        seeded = seed(w3, node.rpc_url, admin, w3.eth.accounts, n_certs, n_redemptions, say)
        index = Indexer(w3, admin.contract, f"sqlite:///{tmp}/bench.db",
                        start_block=record.block, block_range=10)
        started = time.perf_counter()
        events = index.sync(progress=lambda b, h, n: say(f"  indexed block {b}/{h}: {n} events"))
        elapsed = time.perf_counter() - started
        queries = measure(index, seeded)
    return {"certificates": n_certs, "redemptions": seeded.redemptions,
            "seed_seconds": round(seeded.seconds, 1), "events": events,
            "index_seconds": round(elapsed, 2), "events_per_second": round(events / elapsed),
            "query_median_ms": {k: round(v, 3) for k, v in queries.items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=10_000)
    parser.add_argument("--redemptions", type=int, default=20_000)
    args = parser.parse_args(argv)
    result = run(args.certificates, args.redemptions)
    print(f"indexed {result['events']} events in {result['index_seconds']} s: "
          f"{result['events_per_second']} events/s (seeding took {result['seed_seconds']} s)")
    for name, ms in result["query_median_ms"].items():
        flag = "ok" if ms < 20 else "SLOW (target < 20 ms)"
        print(f"  median {name:<28} {ms:8.3f} ms  {flag}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
