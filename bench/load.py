"""Load: many concurrent gasless redemptions through the SDK; each lands exactly once or fails
with a reason, and the chain's totals match to the last unit.

Holders (local keys, no ETH) each hold certificates at several merchants; worker threads play
the holders, who sign EIP-712 authorisations with `GiftCert.sign_redemption`, and the merchants,
who submit them singly (`redeem_with_authorization`) or collect them into `settle_batch` calls.
Some authorisations are deliberately submitted twice (a double tap at the till, or a batch and a
single for the same order), and holders try to spend more than their balance, so the run
exercises the contract's refusals under contention. A batch that fails as a whole is retried
one by one by its merchant, so every authorisation gets its own outcome.

Afterwards the run is audited against the chain: every `Redeemed` event matches one landed
submission and no order reference appears twice; every authorisation either landed or has a
reason; per merchant the ledger grew by exactly the landed amounts; per certificate the balance
fell by exactly its landed amounts; the contract still holds what it owes.

`python -m bench.load` runs 1,200 redemptions on its own anvil; `--redemptions 200` runs small.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.exceptions import Web3RPCError

from giftcert.client import DAY, GiftCert, SignedRedemption
from giftcert.errors import ContractRevert

UNIT = 10**9  # wei per unit of value in this run
CERT_UNITS = 1000  # each certificate starts with 1,000 units
BATCH_SIZE = 20


@dataclass
class Planned:
    """One authorisation a holder will sign."""

    key: int  # index in the plan
    holder: int
    certificate: int
    merchant: int
    units: int
    order_ref: int
    batch: bool  # submitted in a batch (else singly)
    twice: bool  # also submitted a second time


@dataclass
class Outcome:
    landed: int = 0
    reasons: list[str] = field(default_factory=list)


@dataclass
class LoadResult:
    planned: int
    submissions: int
    landed: int
    failed_by_reason: dict[str, int]
    lost: int
    duplicates_on_chain: int
    mismatches: list[str]
    batches: int
    batch_fallbacks: int
    nonce_retries: int
    seconds: float

    @property
    def throughput(self) -> float:
        return self.landed / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "planned": self.planned,
            "submissions": self.submissions,
            "landed": self.landed,
            "failed_by_reason": self.failed_by_reason,
            "lost": self.lost,
            "duplicates_on_chain": self.duplicates_on_chain,
            "mismatches": self.mismatches[:20],
            "batches": self.batches,
            "batch_fallbacks": self.batch_fallbacks,
            "nonce_retries": self.nonce_retries,
            "seconds": round(self.seconds, 2),
            "throughput_per_s": round(self.throughput, 1),
        }


def holder_keys(count: int, seed: int = 7) -> list[str]:
    """Deterministic holder keys (holders never need ETH: merchants pay the gas)."""
    rng = random.Random(seed)
    return ["0x" + rng.randbytes(32).hex() for _ in range(count)]


def run_load(
    admin: GiftCert,
    merchant_accounts: dict[int, str],
    *,
    redemptions: int,
    holders: int,
    threads: int = 24,
    certs_per_holder: int = 2,
    twice_share: float = 0.02,
    batch_share: float = 0.4,
    seed: int = 1,
    say=print,
) -> LoadResult:
    """Issues certificates and runs `redemptions` concurrent authorised redemptions."""
    rng = random.Random(seed)
    w3: Web3 = admin.w3
    merchants = sorted(merchant_accounts)
    keys = holder_keys(holders, seed)
    addresses = [Account.from_key(k).address for k in keys]
    eth = admin.currency(0)

    # -- certificates: each holder gets `certs_per_holder`, at merchants round-robin
    expiry = admin.now() + admin.min_validity() + 30 * DAY
    owned: dict[int, list[int]] = defaultdict(list)  # holder -> certificates
    cert_merchant: dict[int, int] = {}
    for slot in range(certs_per_holder):
        for i, merchant in enumerate(merchants):
            rows = [
                (addresses[h], eth.money(CERT_UNITS * UNIT))
                for h in range(holders)
                if (h + slot) % len(merchants) == i
            ]
            if not rows:
                continue
            ids = admin.issue_batch(rows, merchant, 0, chunk=200, expiry=expiry)
            for (to, _), cert_id in zip(rows, ids, strict=True):
                owned[addresses.index(to)].append(cert_id)
                cert_merchant[cert_id] = merchant
    certs = sorted(cert_merchant)
    start_balance = {c: _balance(admin, c) for c in certs}
    start_owed = {m: _owed(admin, m) for m in merchants}
    say(f"  issued {len(certs)} certificates to {holders} holders at {len(merchants)} merchants")

    # -- the plan: amounts drawn so that some certificates are overspent
    next_ref = dict.fromkeys(merchants, 1)
    plan: list[Planned] = []
    for k in range(redemptions):
        holder = rng.randrange(holders)
        cert_id = rng.choice(owned[holder])
        merchant = cert_merchant[cert_id]
        plan.append(
            Planned(
                k,
                holder,
                cert_id,
                merchant,
                rng.randint(1, 250),
                next_ref[merchant],
                batch=rng.random() < batch_share,
                twice=rng.random() < twice_share,
            )
        )
        next_ref[merchant] += 1

    outcomes = {p.key: Outcome() for p in plan}
    lock = threading.Lock()
    pending: dict[int, list[tuple[Planned, SignedRedemption]]] = defaultdict(list)
    counters = Counter()
    submitters = {m: admin.acting_as(sender=a) for m, a in merchant_accounts.items()}
    signers = [admin.acting_as(private_key=k) for k in keys]

    def record(p: Planned, landed: bool, reason: str = "") -> None:
        with lock:
            counters["submissions"] += 1
            if landed:
                outcomes[p.key].landed += 1
            else:
                outcomes[p.key].reasons.append(reason)

    def retrying(action):
        """Two concurrent sends from one unlocked account can race for a nonce on the node
        ("replacement transaction underpriced"): that transaction was refused, never pooled,
        so the merchant sends it again."""
        for attempt in range(4):
            try:
                return action()
            except Web3RPCError as exc:
                if attempt == 3 or not any(w in str(exc) for w in ("underpriced", "nonce")):
                    raise
                with lock:
                    counters["nonce_retries"] += 1
        raise AssertionError("unreachable")

    def submit_single(p: Planned, signed: SignedRedemption) -> None:
        try:
            retrying(lambda: submitters[p.merchant].redeem_with_authorization(signed))
        except ContractRevert as exc:
            record(p, False, exc.error_name)
        except Exception as exc:  # noqa: BLE001 - a dropped or failed call is reported too
            record(p, False, f"{type(exc).__name__}: {exc}")
        else:
            record(p, True)

    def submit_batch(merchant: int, items: list[tuple[Planned, SignedRedemption]]) -> None:
        with lock:
            counters["batches"] += 1
        try:
            retrying(lambda: submitters[merchant].settle_batch(merchant, [s for _, s in items]))
        except ContractRevert:
            # All or nothing: the merchant retries each authorisation on its own.
            with lock:
                counters["batch_fallbacks"] += 1
            for p, signed in items:
                submit_single(p, signed)
        else:
            for p, _ in items:
                record(p, True)

    def holder_pays(p: Planned) -> None:
        try:
            signed = signers[p.holder].sign_redemption(
                p.certificate, eth.money(p.units * UNIT), p.order_ref
            )
        except Exception as exc:  # noqa: BLE001
            record(p, False, f"sign: {type(exc).__name__}: {exc}")
            return
        submissions = [p.batch, not p.batch] if p.twice else [p.batch]
        for in_batch in submissions:
            if not in_batch:
                submit_single(p, signed)
                continue
            chunk = None
            with lock:
                pending[p.merchant].append((p, signed))
                if len(pending[p.merchant]) >= BATCH_SIZE:
                    chunk, pending[p.merchant] = pending[p.merchant], []
            if chunk:
                submit_batch(p.merchant, chunk)

    first_block = w3.eth.block_number + 1
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(holder_pays, plan))
        rest = [(m, items) for m, items in pending.items() if items]
        list(pool.map(lambda mi: submit_batch(*mi), rest))
    seconds = time.perf_counter() - started

    # -- audit against the chain
    logs = admin.contract.events.Redeemed().get_logs(from_block=first_block)
    on_chain = Counter((e["args"]["merchant"], e["args"]["orderRef"]) for e in logs)
    by_ref = {(p.merchant, p.order_ref): p for p in plan}
    mismatches = []
    for (merchant, ref), times in on_chain.items():
        p = by_ref.get((merchant, ref))
        if p is None:
            mismatches.append(f"unplanned redemption on chain: merchant {merchant} ref {ref}")
        elif outcomes[p.key].landed != times:
            mismatches.append(f"{p}: landed {outcomes[p.key].landed}x, on chain {times}x")
    for e in logs:
        p = by_ref.get((e["args"]["merchant"], e["args"]["orderRef"]))
        if p and (e["args"]["id"], e["args"]["amount"]) != (p.certificate, p.units * UNIT):
            mismatches.append(f"{p}: chain says {dict(e['args'])}")
    lost = 0
    for p in plan:
        out = outcomes[p.key]
        if out.landed == 0 and not out.reasons:
            lost += 1  # neither landed nor refused with a reason
        if out.landed and (p.merchant, p.order_ref) not in on_chain:
            lost += 1  # the SDK said it landed, the chain does not have it
    landed_units: Counter = Counter()
    landed_by_merchant: Counter = Counter()
    for p in plan:
        if outcomes[p.key].landed:
            landed_units[p.certificate] += p.units * UNIT
            landed_by_merchant[p.merchant] += p.units * UNIT
    for cert_id in certs:
        now = _balance(admin, cert_id)
        if now != start_balance[cert_id] - landed_units[cert_id]:
            mismatches.append(
                f"certificate {cert_id}: balance {now}, expected "
                f"{start_balance[cert_id] - landed_units[cert_id]}"
            )
    for m in merchants:
        owed = _owed(admin, m)
        if owed != start_owed[m] + landed_by_merchant[m]:
            mismatches.append(
                f"merchant {m}: owed {owed}, expected {start_owed[m] + landed_by_merchant[m]}"
            )
    reasons = Counter(r for out in outcomes.values() for r in out.reasons)
    return LoadResult(
        planned=len(plan),
        submissions=counters["submissions"],
        landed=sum(1 for out in outcomes.values() if out.landed),
        failed_by_reason=dict(reasons.most_common()),
        lost=lost,
        duplicates_on_chain=sum(t - 1 for t in on_chain.values() if t > 1),
        mismatches=mismatches,
        batches=counters["batches"],
        batch_fallbacks=counters["batch_fallbacks"],
        nonce_retries=counters["nonce_retries"],
        seconds=seconds,
    )


def _balance(client: GiftCert, cert_id: int) -> int:
    return client.contract.functions.balanceOfCertificate(cert_id).call()


def _owed(client: GiftCert, merchant: int) -> int:
    return client.contract.functions.merchantLedger(merchant, 0).call()[0]


def report(result: LoadResult, say=print) -> None:
    failed = sum(result.failed_by_reason.values())
    say(
        f"  {result.planned} authorisations, {result.submissions} submissions "
        f"({result.batches} batches, {result.batch_fallbacks} retried singly; "
        f"{result.nonce_retries} resent after a nonce race) in "
        f"{result.seconds:.1f} s"
    )
    say(
        f"  landed {result.landed}, refusals {failed}: "
        + ", ".join(f"{k} {v}" for k, v in result.failed_by_reason.items())
    )
    say(
        f"  throughput {result.throughput:.1f} redemptions/s; lost {result.lost}; "
        f"duplicates on chain {result.duplicates_on_chain}; "
        f"mismatches with the chain {len(result.mismatches)}"
    )
    for line in result.mismatches[:10]:
        say("    " + line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redemptions", type=int, default=1200)
    parser.add_argument("--holders", type=int, default=150)
    parser.add_argument("--merchants", type=int, default=4)
    parser.add_argument("--threads", type=int, default=24)
    args = parser.parse_args(argv)

    from bench.index_bench import BenchAnvil
    from giftcert.chain import free_port
    from giftcert.compiler import compile_contracts
    from giftcert.config import ANVIL_DEV_KEYS
    from giftcert.transactions import deploy

    artifacts = compile_contracts()
    with BenchAnvil(free_port(), accounts=10) as node:
        w3 = Web3(
            Web3.HTTPProvider(
                node.rpc_url, request_kwargs={"timeout": 60}, cache_allowed_requests=True
            )
        )
        accounts = [Account.from_key(k).address for k in ANVIL_DEV_KEYS]
        art = artifacts["GiftCertificates"]
        contract = deploy(w3, art.abi, art.bytecode, accounts[0], accounts[0])
        admin = GiftCert(w3, contract, accounts[0])
        merchant_accounts = {
            admin.register_merchant(a, f"Load Shop {i + 1}").id: a
            for i, a in enumerate(accounts[1 : 1 + args.merchants])
        }
        result = run_load(
            admin,
            merchant_accounts,
            redemptions=args.redemptions,
            holders=args.holders,
            threads=args.threads,
        )
    report(result)
    print(json.dumps(result.to_json()))
    ok = result.lost == 0 and not result.mismatches and result.duplicates_on_chain == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
