"""Load: many concurrent gasless redemptions, through the SDK or through the web API; each lands
exactly once or fails with a reason, and the chain's totals match to the last unit.

Holders (local keys, no ETH) each hold certificates at several merchants; worker threads play
the holders, who sign EIP-712 authorisations, and the merchants, who submit them singly or
collect them into `settleBatch` calls. Some authorisations are deliberately submitted twice (a
double tap at the till, or a batch and a single for the same order), and holders try to spend
more than their balance, so the run exercises the refusals under contention. Each authorisation
carries its certificate's nonce when signed (v2), so a second submission of one is refused
(`WrongNonce`), and so is one signed while another for the same certificate was still
outstanding and landed first: a holder has one usable authorisation per certificate at a time.
Batches settle every valid item and report each refused one (the contract's skip-failed mode);
a batch refused as a whole (nothing in it could settle, or the merchant cannot settle now) is
retried one by one by its merchant, so every authorisation gets its own outcome.

Two ways in (`--via`):

- `sdk` (default): holders sign with `GiftCert.sign_redemption`; merchants (anvil's unlocked
  dev accounts) call `redeem_with_authorization` / `settle_batch`.
- `api`: the site runs (`giftcert serve`, waitress, in a child process) and holds no keys. The
  holder asks it for the typed data (`POST /api/v1/typed-data/redemption`), signs it locally and
  hands it in (`POST /api/v1/authorizations`), which returns the compact authorisation; the
  merchant asks it to build the transaction (`POST /api/v1/tx/redeem-authorized` or
  `/tx/settle-batch`), signs the unsigned transaction with its own key (nonce and EIP-1559 fees
  filled in as a wallet does) and sends it raw to the node. A 4xx from the API (a simulated
  revert names the contract's error) is a refusal with that reason; a 5xx fails the run.

Afterwards the run is audited against the chain (the same audit for both): every `Redeemed`
event matches one landed submission and no order reference appears twice (the plan gives every
authorisation its own reference; the contract no longer refuses a reused one); every authorisation
either landed or has a reason; per merchant the ledger grew by exactly the landed amounts; per
certificate the balance fell by exactly its landed amounts.

`python -m bench.load` runs 1,200 redemptions on its own anvil; `--redemptions 200` runs small;
`--via api` goes through the site.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError

from giftcert.client import DAY, GiftCert, SignedRedemption
from giftcert.errors import ContractRevert
from giftcert.money import ETH
from giftcert.transactions import revert_from

UNIT = 10**9  # wei per unit of value in this run
CERT_UNITS = 1000  # each certificate starts with 1,000 units
BATCH_SIZE = 20
RECEIPT_TIMEOUT = 120


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
    via: str = "sdk"
    # failures that are not a refusal (a 5xx from the API, an exception): each fails the run
    errors: int = 0
    # api: refusals by where and reason ("api X": the API refused before signing,
    # "simulation X": its simulation of the transaction, "chain X": the mined transaction)
    refused_at: dict[str, int] = field(default_factory=dict)
    http_requests: int = 0
    # WrongNonce, split by cause: a second submission of an authorisation that landed (a
    # replay), or one that never landed because another authorisation for its certificate,
    # signed with the same nonce while it was outstanding, landed first (superseded)
    replays_refused: int = 0
    superseded: int = 0

    @property
    def throughput(self) -> float:
        return self.landed / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> bool:
        return (self.lost == 0 and self.duplicates_on_chain == 0 and not self.mismatches
                and self.errors == 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "via": self.via,
            "planned": self.planned,
            "submissions": self.submissions,
            "landed": self.landed,
            "failed_by_reason": self.failed_by_reason,
            "refused_at": self.refused_at,
            "errors": self.errors,
            "lost": self.lost,
            "duplicates_on_chain": self.duplicates_on_chain,
            "mismatches": self.mismatches[:20],
            "batches": self.batches,
            "batch_fallbacks": self.batch_fallbacks,
            "nonce_retries": self.nonce_retries,
            "http_requests": self.http_requests,
            "replays_refused": self.replays_refused,
            "superseded": self.superseded,
            "seconds": round(self.seconds, 2),
            "throughput_per_s": round(self.throughput, 1),
        }


def holder_keys(count: int, seed: int = 7) -> list[str]:
    """Deterministic holder keys (holders never need ETH: merchants pay the gas)."""
    rng = random.Random(seed)
    return ["0x" + rng.randbytes(32).hex() for _ in range(count)]


# -- failures ---------------------------------------------------------------------------------


class Refused(Exception):
    """The API or the chain said no, and why: `reason` is the contract's error name (or the
    API's code); `where` is "api" (checked before signing), "simulation" (the API simulated the
    transaction) or "chain" (the mined transaction reverted)."""

    def __init__(self, reason: str, where: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{reason} ({where})")
        self.reason = reason
        self.where = where
        self.details = details or {}


class ServerError(Exception):
    """A 5xx from the API: the site failed, which fails the run."""


def _is_refusal(exc: Exception) -> bool:
    return isinstance(exc, (Refused, ContractRevert))


# -- the two ways in --------------------------------------------------------------------------


class SdkWay:
    """Holders sign with the SDK; merchants submit with the SDK from anvil's unlocked accounts."""

    name = "sdk"

    def __init__(self, admin: GiftCert, merchant_accounts: dict[int, str], keys: list[str],
                 counters: Counter, lock: threading.Lock) -> None:
        self.eth = admin.currency(0)
        self.submitters = {m: admin.acting_as(sender=a) for m, a in merchant_accounts.items()}
        self.signers = [admin.acting_as(private_key=k) for k in keys]
        self.counters = counters
        self.lock = lock

    def _retrying(self, action: Callable[[], Any]) -> Any:
        """Two concurrent sends from one unlocked account can race for a nonce on the node
        ("replacement transaction underpriced"): that transaction was refused, never pooled,
        so the merchant sends it again."""
        for attempt in range(4):
            try:
                return action()
            except Web3RPCError as exc:
                if attempt == 3 or not any(w in str(exc) for w in ("underpriced", "nonce")):
                    raise
                with self.lock:
                    self.counters["nonce_retries"] += 1
        raise AssertionError("unreachable")

    def sign(self, p: Planned) -> SignedRedemption:
        return self.signers[p.holder].sign_redemption(
            p.certificate, self.eth.money(p.units * UNIT), p.order_ref
        )

    def single(self, p: Planned, signed: SignedRedemption) -> None:
        self._retrying(lambda: self.submitters[p.merchant].redeem_with_authorization(signed))

    def batch(self, merchant: int, signed: list[SignedRedemption]) -> dict[int, Exception]:
        """Settles in the skip-failed mode; the refused items by position, with the reason."""
        settlement = self._retrying(lambda: self.submitters[merchant].settle_batch(merchant,
                                                                                   signed))
        return {r.index: r.reason for r in settlement.refused}

    def close(self) -> None:
        pass


class ApiClient:
    """JSON over HTTP to the running site, one keep-alive connection per thread."""

    def __init__(self, base_url: str, counters: Counter, lock: threading.Lock) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/") + "/api/v1"
        self.local = threading.local()
        self.counters = counters
        self.lock = lock
        self.connections: list[http.client.HTTPConnection] = []

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            self.local.conn = conn
            with self.lock:
                self.connections.append(conn)
        return conn

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """The JSON answer; a 4xx raises `Refused` with the API's code (the contract's error
        for a simulated revert), a 5xx raises `ServerError`."""
        payload = json.dumps(body)
        headers = {"Content-Type": "application/json"}
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request("POST", self.prefix + path, body=payload, headers=headers)
                response = conn.getresponse()
                text = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionError):
                # The server closed an idle keep-alive connection. Nothing here changes state
                # on the server (it reads the chain and builds), so asking again is safe.
                conn.close()
                if attempt == 1:
                    raise
        with self.lock:
            self.counters["http_requests"] += 1
        if response.status >= 500:
            raise ServerError(f"HTTP {response.status} from {path}: {text[:200]!r}")
        data = json.loads(text)
        if response.status >= 400:
            where = "simulation" if path.startswith("/tx/") else "api"
            raise Refused(data.get("code") or f"HTTP {response.status}: {data.get('error')}",
                          where, data.get("details"))
        return data

    def close(self) -> None:
        for conn in self.connections:
            conn.close()


class Wallet:
    """What a merchant's wallet does with an unsigned transaction from the API: checks it is
    from this account, fills in the nonce (the node's pending count, read under a lock held
    until the node has the transaction, so two sends never share a nonce) and EIP-1559 fees
    (twice the latest base fee plus the node's suggested tip), signs, sends it raw and waits
    for the receipt. A mined revert is replayed to name the contract's error."""

    def __init__(self, w3: Web3, key: str, abi: list[dict[str, Any]], fees: _Fees,
                 counters: Counter, counter_lock: threading.Lock) -> None:
        self.w3 = w3
        self.key = key
        self.address = Account.from_key(key).address
        self.abi = abi
        self.fees = fees
        self.lock = threading.Lock()
        self.counters = counters
        self.counter_lock = counter_lock

    def send(self, tx: dict[str, Any]) -> Any:
        if Web3.to_checksum_address(tx["from"]) != self.address:
            raise ValueError(f"the API built a transaction from {tx['from']}, not this wallet")
        params: dict[str, Any] = {
            "type": 2,
            "to": Web3.to_checksum_address(tx["to"]),
            "data": tx["data"],
            "value": int(tx["value"], 16),
            "gas": int(tx["gas"], 16),
            "chainId": int(tx["chainId"], 16),
        }
        max_fee, tip = self.fees()
        params.update(maxFeePerGas=max_fee, maxPriorityFeePerGas=tip)
        for attempt in range(4):
            try:
                with self.lock:
                    params["nonce"] = self.w3.eth.get_transaction_count(self.address, "pending")
                    signed = Account.sign_transaction(params, self.key)
                    tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
                break
            except Web3RPCError as exc:
                # Refused by the node, never pooled: safe to sign again with a fresh nonce.
                if attempt == 3 or not any(w in str(exc) for w in ("underpriced", "nonce")):
                    raise
                with self.counter_lock:
                    self.counters["nonce_retries"] += 1
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, RECEIPT_TIMEOUT,
                                                           poll_latency=0.02)
        if receipt["status"] != 1:
            raise Refused(self._why(params, receipt["blockNumber"]), "chain")
        return receipt

    def _why(self, params: dict[str, Any], block: int) -> str:
        """The contract's error for a mined revert: replayed before its block, then on the
        block's state (when a transaction ahead of it in the block made it fail)."""
        call = {"from": self.address, "to": params["to"], "data": params["data"],
                "value": params["value"], "gas": params["gas"]}
        for at in (block - 1, block):
            try:
                self.w3.eth.call(call, at)
            except ContractLogicError as exc:
                return revert_from(self.abi, exc).error_name
            except Exception:  # noqa: BLE001 - best effort; the revert itself is certain
                break
        return "reverted (no reason recovered)"


class _Fees:
    """EIP-1559 fees as a wallet sets them, read from the node at most every 0.5 s."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.lock = threading.Lock()
        self.stamp = 0.0
        self.value = (0, 0)

    def __call__(self) -> tuple[int, int]:
        with self.lock:
            if time.monotonic() - self.stamp > 0.5:
                base = self.w3.eth.get_block("latest")["baseFeePerGas"]
                tip = self.w3.eth.max_priority_fee
                self.value = (2 * base + tip, tip)
                self.stamp = time.monotonic()
            return self.value


class ApiWay:
    """Holders and merchants through the site's JSON API; keys stay with them."""

    name = "api"

    def __init__(self, admin: GiftCert, merchant_keys: dict[int, str], keys: list[str],
                 site: str, counters: Counter, lock: threading.Lock) -> None:
        self.eth = admin.currency(0)
        self.keys = keys
        self.api = ApiClient(site, counters, lock)
        fees = _Fees(admin.w3)
        self.wallets = {m: Wallet(admin.w3, k, admin.contract.abi, fees, counters, lock)
                        for m, k in merchant_keys.items()}
        self.reader = admin  # decodes RedemptionRefused events of mined settlements

    def sign(self, p: Planned) -> str:
        built = self.api.post("/typed-data/redemption", {
            "certificate": str(p.certificate),
            "amount": self.eth.money(p.units * UNIT).to_json()["amount"],
            "orderRef": str(p.order_ref),
        })
        typed = built["typedData"]
        message = typed["message"]
        # What a careful wallet shows and the holder checks before signing.
        expected = (str(p.certificate), str(p.merchant), str(p.units * UNIT), str(p.order_ref))
        seen = (message["certificate"], message["merchant"], message["amount"],
                message["orderRef"])
        if seen != expected:
            raise ValueError(f"the API asks to sign {seen}, expected {expected}")
        signature = Account.sign_typed_data(self.keys[p.holder], full_message=typed).signature
        handed_in = self.api.post("/authorizations",
                                  {"typedData": typed, "signature": "0x" + signature.hex()})
        return handed_in["authorization"]

    def single(self, p: Planned, authorization: str) -> None:
        wallet = self.wallets[p.merchant]
        built = self.api.post("/tx/redeem-authorized",
                              {"from": wallet.address, "authorization": authorization})
        wallet.send(built["tx"])

    def batch(self, merchant: int, authorizations: list[str]) -> dict[int, Exception]:
        """The refused items by position: from the mined transaction's RedemptionRefused
        events, or, when the API found that nothing in the batch could settle (and built
        nothing), from its per-item reasons."""
        wallet = self.wallets[merchant]
        try:
            built = self.api.post("/tx/settle-batch", {"from": wallet.address,
                                                       "merchant": str(merchant),
                                                       "authorizations": authorizations})
        except Refused as exc:
            items = exc.details.get("refused") or []
            if len(items) != len(authorizations):
                raise  # refused as a whole (not item by item): the caller retries singly
            return {int(r["item"]) - 1: Refused(r["reason"], exc.where) for r in items}
        receipt = wallet.send(built["tx"])
        return {r.index: Refused(r.reason.error_name, "chain")
                for r in self.reader.refusals(receipt)}

    def close(self) -> None:
        self.api.close()


# -- the run ----------------------------------------------------------------------------------


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
    via: str = "sdk",
    site: str | None = None,
    merchant_keys: dict[int, str] | None = None,
    say=print,
) -> LoadResult:
    """Issues certificates and runs `redemptions` concurrent authorised redemptions, through
    the SDK (`via="sdk"`) or the site at `site` with the merchants' keys (`via="api"`)."""
    if via not in ("sdk", "api"):
        raise ValueError(f"via must be 'sdk' or 'api', not {via!r}")
    if via == "api" and (site is None or merchant_keys is None):
        raise ValueError("via='api' needs the site's URL and the merchants' keys")
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
    pending: dict[int, list[tuple[Planned, Any]]] = defaultdict(list)
    counters: Counter = Counter()
    way: SdkWay | ApiWay
    if via == "api":
        assert site is not None and merchant_keys is not None
        way = ApiWay(admin, merchant_keys, keys, site, counters, lock)
    else:
        way = SdkWay(admin, merchant_accounts, keys, counters, lock)

    def record(p: Planned, landed: bool, reason: str = "") -> None:
        with lock:
            counters["submissions"] += 1
            if landed:
                outcomes[p.key].landed += 1
            else:
                outcomes[p.key].reasons.append(reason)

    def reason_of(exc: Exception, stage: str = "") -> str:
        """The refusal's reason; anything else (a 5xx, an exception) is counted as an error."""
        if isinstance(exc, Refused):
            with lock:
                counters[f"refused at {exc.where} {exc.reason}"] += 1
            return exc.reason
        if isinstance(exc, ContractRevert):
            return exc.error_name
        with lock:
            counters["errors"] += 1
        if isinstance(exc, ServerError):
            return str(exc)
        return f"{stage}{type(exc).__name__}: {exc}"

    def submit_single(p: Planned, auth: Any) -> None:
        try:
            way.single(p, auth)
        except Exception as exc:  # noqa: BLE001 - every failure is reported with its reason
            record(p, False, reason_of(exc))
        else:
            record(p, True)

    def submit_batch(merchant: int, items: list[tuple[Planned, Any]]) -> None:
        with lock:
            counters["batches"] += 1
        try:
            refused = way.batch(merchant, [a for _, a in items])
        except Exception as exc:  # noqa: BLE001
            if not _is_refusal(exc):
                reason = reason_of(exc)
                for p, _ in items:
                    record(p, False, reason)
                return
            # Refused as a whole: the merchant retries each authorisation on its own.
            with lock:
                counters["batch_fallbacks"] += 1
            for p, auth in items:
                submit_single(p, auth)
        else:
            for i, (p, _) in enumerate(items):
                if i in refused:
                    record(p, False, reason_of(refused[i]))
                else:
                    record(p, True)

    def holder_pays(p: Planned) -> None:
        try:
            auth = way.sign(p)
        except Exception as exc:  # noqa: BLE001
            record(p, False, reason_of(exc, "sign: "))
            return
        submissions = [p.batch, not p.batch] if p.twice else [p.batch]
        for in_batch in submissions:
            if not in_batch:
                submit_single(p, auth)
                continue
            chunk = None
            with lock:
                pending[p.merchant].append((p, auth))
                if len(pending[p.merchant]) >= BATCH_SIZE:
                    chunk, pending[p.merchant] = pending[p.merchant], []
            if chunk:
                submit_batch(p.merchant, chunk)

    first_block = w3.eth.block_number + 1
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(holder_pays, plan))
            rest = [(m, items) for m, items in pending.items() if items]
            list(pool.map(lambda mi: submit_batch(*mi), rest))
    finally:
        way.close()
    seconds = time.perf_counter() - started

    # -- audit against the chain: every redemption mined since the run began (Redeemed events)
    payments = admin.payments(first_block)
    on_chain = Counter((pay.merchant, pay.order_ref) for pay in payments)
    by_ref = {(p.merchant, p.order_ref): p for p in plan}
    mismatches = []
    for (merchant, ref), times in on_chain.items():
        p = by_ref.get((merchant, ref))
        if p is None:
            mismatches.append(f"unplanned redemption on chain: merchant {merchant} ref {ref}")
        elif outcomes[p.key].landed != times:
            mismatches.append(f"{p}: landed {outcomes[p.key].landed}x, on chain {times}x")
    for pay in payments:
        p = by_ref.get((pay.merchant, pay.order_ref))
        if p and (pay.certificate, pay.units) != (p.certificate, p.units * UNIT):
            mismatches.append(f"{p}: chain says {pay.to_json()}")
    lost = 0
    for p in plan:
        out = outcomes[p.key]
        if out.landed == 0 and not out.reasons:
            lost += 1  # neither landed nor refused with a reason
        if out.landed and (p.merchant, p.order_ref) not in on_chain:
            lost += 1  # the submitter was told it landed, the chain does not have it
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
    replays = sum(1 for out in outcomes.values() if out.landed and "WrongNonce" in out.reasons)
    superseded = sum(1 for out in outcomes.values()
                     if not out.landed and out.reasons and set(out.reasons) == {"WrongNonce"})
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
        via=via,
        errors=counters["errors"],
        refused_at={
            k.removeprefix("refused at "): v
            for k, v in sorted(counters.items())
            if k.startswith("refused at ")
        },
        http_requests=counters["http_requests"],
        replays_refused=replays,
        superseded=superseded,
    )


def _balance(client: GiftCert, cert_id: int) -> int:
    """A certificate's balance in smallest units (0 once closed)."""
    cert = client.certificate(cert_id)
    return cert.currency.units(cert.balance, allow_zero=True)


def _owed(client: GiftCert, merchant: int) -> int:
    """What the merchant is owed in ETH, in wei."""
    return ETH.units(client.merchant_owed(merchant, 0), allow_zero=True)


def report(result: LoadResult, say=print) -> None:
    failed = sum(result.failed_by_reason.values())
    say(
        f"  via {result.via}: {result.planned} authorisations, {result.submissions} submissions "
        f"({result.batches} batches, {result.batch_fallbacks} retried singly; "
        f"{result.nonce_retries} resent after a nonce race) in "
        f"{result.seconds:.1f} s"
    )
    say(
        f"  landed {result.landed}, refusals {failed}: "
        + ", ".join(f"{k} {v}" for k, v in result.failed_by_reason.items())
    )
    if result.replays_refused or result.superseded:
        say(
            f"  WrongNonce: {result.replays_refused} second submissions of a landed "
            f"authorisation, {result.superseded} authorisations superseded by another for "
            "the same certificate (one usable per certificate at a time)"
        )
    if result.refused_at or result.http_requests:
        say(
            "  refused at: "
            + (", ".join(f"{k} {v}" for k, v in result.refused_at.items()) or "-")
            + f"; {result.http_requests} API requests"
        )
    say(
        f"  throughput {result.throughput:.1f} redemptions/s; lost {result.lost}; "
        f"duplicates on chain {result.duplicates_on_chain}; "
        f"errors (5xx or exceptions) {result.errors}; "
        f"mismatches with the chain {len(result.mismatches)}"
    )
    for line in result.mismatches[:10]:
        say("    " + line)


# -- a chain (and a site) of its own ------------------------------------------------------------


@dataclass
class LoadChain:
    admin: GiftCert
    merchant_accounts: dict[int, str]  # merchant id -> account (unlocked on anvil)
    merchant_keys: dict[int, str]  # merchant id -> that account's private key
    site: str | None  # base URL of `giftcert serve`, when asked for


@contextmanager
def load_chain(merchants: int = 4, *, serve: bool = False) -> Iterator[LoadChain]:
    """A fresh anvil with the system deployed (`giftcert.deploy.deploy_system`) and `merchants`
    merchants registered (anvil's dev accounts 1..n); with `serve`, the site runs on loopback
    as `giftcert serve` in a child process (bench/stack.py)."""
    from bench.stack import local_system
    from giftcert.config import ANVIL_DEV_KEYS

    if not 1 <= merchants < len(ANVIL_DEV_KEYS):
        raise ValueError(f"between 1 and {len(ANVIL_DEV_KEYS) - 1} merchants")
    with local_system(accounts=10) as system:
        deployer = Account.from_key(system.settings.deployer_key).address
        admin = GiftCert(system.w3, system.contract, deployer)  # unlocked on anvil
        chosen = ANVIL_DEV_KEYS[1 : 1 + merchants]
        merchant_keys = {
            admin.register_merchant(Account.from_key(k).address, f"Load Shop {i + 1}").id: k
            for i, k in enumerate(chosen)
        }
        merchant_accounts = {m: Account.from_key(k).address for m, k in merchant_keys.items()}
        if not serve:
            yield LoadChain(admin, merchant_accounts, merchant_keys, None)
            return
        # The site starts after the merchants are registered (it caches them briefly).
        with system.serve() as url:
            yield LoadChain(admin, merchant_accounts, merchant_keys, url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--via", choices=("sdk", "api"), default="sdk",
                        help="sdk: the SDK signs and submits; api: through `giftcert serve`")
    parser.add_argument("--redemptions", type=int, default=1200)
    parser.add_argument("--holders", type=int, default=150)
    parser.add_argument("--merchants", type=int, default=4)
    parser.add_argument("--threads", type=int, default=24)
    args = parser.parse_args(argv)

    with load_chain(args.merchants, serve=args.via == "api") as chain:
        result = run_load(
            chain.admin,
            chain.merchant_accounts,
            redemptions=args.redemptions,
            holders=args.holders,
            threads=args.threads,
            via=args.via,
            site=chain.site,
            merchant_keys=chain.merchant_keys,
        )
    report(result)
    print(json.dumps(result.to_json()))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
