"""The sponsor relay: takes a user's signed claim or holder action, simulates it from the
relayer key, queues it durably (giftcert.relay.store) and sees it mined.

`Relay.submit` is what a web request does: plan (giftcert.relay.operations: the checks in
words), simulate (a revert is the contract's named error: nothing is queued, nothing sent),
read fees and the chain's pending count, then `store.accept` (the serialized transaction that
gives the nonce and records the signed bytes), then broadcast those bytes (`send_at_once`)
so the answer already carries the transaction's hash.

`Relay.tick` is one pass of the keeper, which every process may run at the same time:
- queued rows (accepted, not broadcast: the process died, or did not send at once) are sent,
  after simulating again if they waited (one that would now revert has its nonce filled by a
  0-ETH transfer to the relayer instead: later nonces must not wait behind a gap);
- sent rows are looked up: a receipt makes them mined (or failed, with the contract's reason);
  a transaction the node no longer knows (its mempool was lost) is broadcast again from its
  stored bytes; one not mined within `stuck_seconds` is signed again at the same nonce with
  both EIP-1559 fees raised by at least 12.5%, so exactly one of its versions can be mined.
Every move is a compare-and-set on the row, and the nonce never changes (unless another
transaction of the key took it, when none of the request's own was mined), so several
keepers never send a request twice.

`Keeper` runs `tick` over and over, for the web process's keeper thread (`Relay.keep`) and for
`python -m giftcert.relay` alike: a database that does not answer is one line when it goes
("relay keeper: database unreachable, retrying in 1 s"), passes backing off from 1 s doubling
to 30 s, and one line when it is back; a node that does not answer is said and backed off
from the same way ("relay keeper: node unreachable, ..."); any other error is a traceback at
most once a minute (one line otherwise), with the same backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from hexbytes import HexBytes
from sqlalchemy import exc as sa_exc
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from giftcert.client import GiftCert
from giftcert.config import RelaySettings
from giftcert.database import is_unavailable
from giftcert.errors import ContractRevert, NodeError, NodeUnreachable, decode_revert
from giftcert.relay.operations import PLANNERS, Plan
from giftcert.relay.store import Draft, Record, RelayRefused, RelayStore
from giftcert.transactions import estimate_gas, node_errors

log = logging.getLogger("giftcert.relay")

GAS_MARGIN_PERCENT = 20  # the gas limit over the estimate (the estimate is what is counted)
RESIMULATE_AFTER = 3.0  # a queued row older than this is simulated again before it is sent
FEE_BUMP_NUMERATOR, FEE_BUMP_DENOMINATOR = 9, 8  # +12.5%: what nodes ask of a replacement
FEE_CACHE_SECONDS = 2.0
KNOWN = ("already known", "known transaction", "already imported", "already exists")
NONCE_USED = ("nonce too low", "nonce is too low", "already used")
BUSY_RETRY_SECONDS = 5  # Retry-After of a 503 when no database connection was free in time
FIRST_BACKOFF_SECONDS = 1.0  # after a failed pass; doubling up to MAX_BACKOFF_SECONDS
MAX_BACKOFF_SECONDS = 30.0
TRACEBACK_EVERY_SECONDS = 60.0  # an unexpected error's traceback, at most this often


@dataclass(frozen=True)
class Fees:
    max_fee: int
    priority_fee: int


def bumped(old: int) -> int:
    """At least +12.5% (and at least one wei more)."""
    return max(old + 1, -(-old * FEE_BUMP_NUMERATOR // FEE_BUMP_DENOMINATOR))


class Relay:
    """One relayer key's relay over one contract: `submit`, `status`, `tick`, `keep`."""

    def __init__(self, client: GiftCert, private_key: str, store: RelayStore,
                 settings: RelaySettings, *, send_at_once: bool = True) -> None:
        self.client = client.acting_as(private_key=private_key)
        self.relayer = self.client.sender
        self._key = private_key
        self.store = store
        self.settings = settings
        self.send_at_once = send_at_once
        self._fees: tuple[float, Fees] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.keeper: Keeper | None = None  # the keeper thread's loop (its failures, outage)
        self.last_error: str | None = None

    @property
    def operations(self) -> tuple[str, ...]:
        """What this relay sponsors: the settings' list, of what the SDK can submit."""
        return tuple(op for op in self.settings.operations if op in PLANNERS)

    # -- accepting --------------------------------------------------------------------

    def submit(self, operation: str, request: dict[str, Any],
               client_ip: str = "") -> tuple[Record, bool]:
        """(record, created): a new request queued (and sent, with send_at_once), or the one
        this signature made before. Raises RelayRefused, LimitReached or the contract's error
        (ContractRevert) from the simulation; in every such case nothing was sent."""
        if operation not in self.operations:
            raise RelayRefused(403, f"this site does not pay the gas for {operation}"
                                    f" (it sponsors: {', '.join(self.operations) or 'nothing'})",
                               "operation", "NotSponsored")
        try:
            known = self.store.get_by_signature(operation, bytes(request["signature"]))
            if known is not None:  # a repeat: the same answer, even once the chain moved on
                return known, False
            plan = PLANNERS[operation](self.client, request)
            record, created = self.store.accept(self._draft(plan, client_ip), self._sign,
                                                self.settings)
            if created and self.send_at_once:
                record = self._first_send(record, fresh=True)
        except sa_exc.TimeoutError:  # a burst: no pooled connection came free in time
            # The same signature again is the same request (200, never a second send), so
            # "send it again" is right even if this one was taken before the wait ran out.
            log.warning("relay: no database connection came free in time (the pool's "
                        "timeout; GIFTCERT_DB_POOL_SIZE): a %s answered 503", operation)
            raise RelayRefused(503, "the site's gas sponsor is busy right now (many requests "
                                    "at once): send the same request again in a few seconds; "
                                    "it is never sent twice", None, "DatabaseUnavailable",
                               {"retryAfter": BUSY_RETRY_SECONDS}) from None
        return record, created

    def _draft(self, plan: Plan, client_ip: str) -> Draft:
        fn = plan.call.contract_function()
        estimate = estimate_gas(fn, self.relayer, 0, margin_percent=0)  # the simulation
        fees = self.fees()
        limit = estimate * (100 + GAS_MARGIN_PERCENT) // 100
        self._check_funds(limit * fees.max_fee)
        with node_errors("reading the relayer's nonce"):
            pending = int(self.client.w3.eth.get_transaction_count(self.relayer, "pending"))
        return Draft(operation=plan.operation, certificate=plan.certificate, signer=plan.signer,
                     recipient=plan.recipient, client_ip=client_ip, signature=plan.signature,
                     to=self.client.address, data=plan.call.data(), gas_estimate=estimate,
                     gas_limit=limit, max_fee=fees.max_fee, priority_fee=fees.priority_fee,
                     chain_next_nonce=pending, payload=plan.payload)

    def _check_funds(self, needed: int) -> None:
        balance = self.balance()
        if balance < needed:
            log.error("relayer %s cannot pay for more gas: %s wei, a request needs %s",
                      self.relayer, balance, needed)
            raise RelayRefused(503, "the site's gas sponsor is out of funds right now: pay the "
                                    "gas from the wallet, or try again later", None,
                               "SponsorOutOfFunds")

    def balance(self) -> int:
        with node_errors("reading the relayer's balance"):
            return int(self.client.w3.eth.get_balance(self.relayer))

    def fees(self) -> Fees:
        """EIP-1559 fees for a new transaction: twice the base fee plus the node's suggested
        tip (kept for a couple of seconds: every request of a burst pays the same)."""
        now = time.monotonic()
        if self._fees is not None and now - self._fees[0] < FEE_CACHE_SECONDS:
            return self._fees[1]
        w3 = self.client.w3
        with node_errors("reading fees"):
            base = int(w3.eth.get_block("latest").get("baseFeePerGas") or 0)
            tip = int(w3.eth.max_priority_fee)
        fees = Fees(2 * base + tip, tip)
        self._fees = (now, fees)
        return fees

    def _sign(self, tx: dict[str, Any]) -> tuple[str, str]:
        signed = Account.sign_transaction(tx, self._key)
        return "0x" + bytes(signed.raw_transaction).hex(), "0x" + bytes(signed.hash).hex()

    # -- sending ----------------------------------------------------------------------

    def _broadcast(self, raw: str) -> str | None:
        """Sends signed bytes; None when the node took them (or had them), else its refusal."""
        try:
            self.client.w3.eth.send_raw_transaction(HexBytes(raw))
        except (Web3RPCError, ValueError) as exc:
            message = str(getattr(exc, "message", None) or exc).lower()
            if any(k in message for k in KNOWN):
                return None
            return message
        return None

    def _first_send(self, record: Record, *, fresh: bool = False) -> Record:
        """queued -> sent. A row that waited is simulated again: if it would now revert, its
        nonce is filled by a cancel instead (and the request fails with the reason)."""
        if not fresh and time.time() - float(record.created) > RESIMULATE_AFTER:
            if self._check_receipts(record):  # its accepting process sent it meanwhile
                return self.store.get(record.id) or record
            refusal = self._would_revert(record)
            # Mined between the receipt check and the simulation (which then sees its own
            # effect, e.g. NotClaimable): it went through, so look once more before cancelling.
            if refusal is not None and self._check_receipts(record):
                return self.store.get(record.id) or record
            if refusal is not None:
                self._cancel(record, refusal)
                return self.store.get(record.id) or record
        problem = self._broadcast(record.raw_tx)
        if problem is None:
            self.store.mark_sent(record, time.time())
        elif any(k in problem for k in NONCE_USED):
            self._nonce_taken(record)
        else:
            log.warning("relay %s: the node refused %s: %s", record.id, record.tx_hash, problem)
            self.last_error = problem
        return self.store.get(record.id) or record

    def _would_revert(self, record: Record) -> ContractRevert | None:
        try:
            self.client.w3.eth.call({"from": self.relayer, "to": record.to_address,
                                     "data": record.data})
        except ContractLogicError as exc:
            data = exc.data.get("data") if isinstance(exc.data, dict) else exc.data
            return decode_revert(self.client.contract.abi, data)
        return None

    def _cancel(self, record: Record, refusal: ContractRevert, fees: Fees | None = None) -> None:
        """Fills the request's nonce with 0 ETH to the relayer itself (21,000 gas), at fees
        that replace whatever version of it the node holds."""
        fees = fees or self._replacement_fees(record)
        raw, tx_hash = self._sign(record.tx(max_fee=fees.max_fee,
                                            priority_fee=fees.priority_fee, cancel=True))
        reason = f"the contract refuses it now: {refusal.hint}"
        if self.store.replace(record, raw, tx_hash, fees.max_fee, fees.priority_fee,
                              time.time(), cancel=(reason, refusal.error_name)):
            self._broadcast(raw)

    def _replacement_fees(self, record: Record) -> Fees:
        market = self.fees()
        tip = max(bumped(int(record.priority_fee)), market.priority_fee)
        return Fees(max(bumped(int(record.max_fee)), market.max_fee, tip), tip)

    def _nonce_taken(self, record: Record) -> None:
        """The node says the nonce is used. If one of the request's own transactions was
        mined, that is its outcome; otherwise another transaction of the key took the nonce:
        the request gets a new one (its call never ran, so nothing is done twice)."""
        if self._check_receipts(record):
            return
        if record.status == "cancel":
            self.store.finish(record, "failed")
            return
        with node_errors("reading the relayer's nonce"):
            pending = int(self.client.w3.eth.get_transaction_count(self.relayer, "pending"))
        log.warning("relay %s: nonce %s was taken by another transaction of %s; re-queued",
                    record.id, record.nonce, self.relayer)
        self.store.renonce(record, self._sign, pending)

    # -- the keeper -------------------------------------------------------------------

    def tick(self) -> int:
        """One keeper pass over the unfinished requests (lowest nonce first); how many it
        looked at. Without any, no node call is made."""
        records = self.store.unfinished()
        for record in records:
            try:
                if record.status == "queued":
                    self._first_send(record)
                else:
                    self._watch(record)
            except (NodeError, OSError) as exc:
                self.last_error = str(exc)
                raise  # the node does not answer or refuses: the keeper backs off and says so
        return len(records)

    def _watch(self, record: Record) -> None:
        if self._check_receipts(record):
            return
        if not self._node_has(record.tx_hash):
            problem = self._broadcast(record.raw_tx)  # its mempool was lost: the same bytes
            if problem is None:
                self.store.touch_sent(record, time.time())
            elif any(k in problem for k in NONCE_USED):
                self._nonce_taken(record)
            return
        sent = float(record.sent_at or record.created)
        if time.time() - sent >= self.settings.stuck_seconds:
            self._bump(record)

    def _node_has(self, tx_hash: str) -> bool:
        try:
            self.client.w3.eth.get_transaction(HexBytes(tx_hash))
        except TransactionNotFound:
            return False
        return True

    def _bump(self, record: Record) -> None:
        """Stuck: the same call at the same nonce with higher fees (or a cancel, if it would
        now revert)."""
        fees = self._replacement_fees(record)
        if record.status == "sent":
            refusal = self._would_revert(record)
            if refusal is not None:
                self._cancel(record, refusal, fees)
                return
        raw, tx_hash = self._sign(record.tx(max_fee=fees.max_fee,
                                            priority_fee=fees.priority_fee,
                                            cancel=record.status == "cancel"))
        if self.store.replace(record, raw, tx_hash, fees.max_fee, fees.priority_fee,
                              time.time()):
            log.info("relay %s: stuck since %s, replaced by %s (fees %s/%s)", record.id,
                     record.tx_hash, tx_hash, fees.max_fee, fees.priority_fee)
            self._broadcast(raw)

    def _check_receipts(self, record: Record) -> bool:
        """Whether one of the request's transactions was mined (then it is finished)."""
        for tx_hash in reversed(record.hashes):
            try:
                receipt = self.client.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                continue
            if receipt is None or receipt.get("blockNumber") is None:
                continue
            self._finish(record, tx_hash, receipt)
            return True
        return False

    def _finish(self, record: Record, tx_hash: str, receipt: Any) -> None:
        gas_used = int(receipt["gasUsed"])
        figures: dict[str, Any] = {
            "mined_hash": tx_hash, "gas_used": gas_used,
            "block_number": int(receipt["blockNumber"]),
            "fee_wei": str(gas_used * int(receipt.get("effectiveGasPrice") or 0))}
        if str(receipt.get("to") or "").lower() == self.relayer.lower():  # the cancel
            self.store.finish(record, "failed", **figures)
        elif receipt["status"] == 1:  # the call itself (a cancel came too late: it is void)
            figures |= {"reason": None, "code": None}
            plan_outcome = self._outcome(record, receipt)
            self.store.finish(record, "mined", **figures, **plan_outcome)
        else:
            refusal = self._mined_reason(record, int(receipt["blockNumber"]))
            self.store.finish(record, "failed", **figures, code=refusal.error_name,
                              reason=f"the contract refused it: {refusal.hint}")

    def _outcome(self, record: Record, receipt: Any) -> dict[str, Any]:
        if record.operation != "split":
            return {}
        events = self.client.events("Split", receipt)
        return {"new_certificate": str(events[0]["args"]["newId"])} if events else {}

    def _mined_reason(self, record: Record, block: int) -> ContractRevert:
        for at in (block - 1, block):
            try:
                self.client.w3.eth.call({"from": self.relayer, "to": record.to_address,
                                         "data": record.data}, at)
            except ContractLogicError as exc:
                data = exc.data.get("data") if isinstance(exc.data, dict) else exc.data
                return decode_revert(self.client.contract.abi, data)
            except Exception:  # noqa: BLE001 - the replay is best effort
                break
        return decode_revert(self.client.contract.abi, None)

    def keep(self, poll: float = 1.0, *,
             max_backoff: float = MAX_BACKOFF_SECONDS) -> threading.Thread:
        """Runs `tick` every `poll` seconds in a daemon thread until `stop()` (a `Keeper`:
        failed passes back off, an outage is logged once)."""
        if self._thread is not None and self._thread.is_alive():
            return self._thread
        self._stop.clear()
        self.keeper = keeper = Keeper(self, poll=poll, max_backoff=max_backoff)
        self._thread = threading.Thread(target=keeper.run, args=(self._stop,), daemon=True,
                                        name="giftcert-relay-keeper")
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    @property
    def keeping(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def _outage(exc: BaseException) -> str | None:
    """What does not answer, when `exc` says something is down rather than wrong: the
    database (`is_unavailable`) or the node (no connection: NodeUnreachable, OSError)."""
    if is_unavailable(exc):
        return "database"
    if isinstance(exc, NodeUnreachable | OSError):
        return "node"
    return None


def _first_line(exc: BaseException) -> str:
    """The error's first line, the driver's own words for a database error (no SQL, no
    SQLAlchemy wrapper)."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return (lines[0] if lines else type(cause).__name__)[:200]


class Keeper:
    """The keeper's loop over `relay.tick`, one implementation for the web process's thread
    and `python -m giftcert.relay`.

    After a failed pass the next one waits `first_backoff` seconds, doubling up to
    `max_backoff` (a success goes back to `poll`). A database that does not answer
    (`giftcert.database.is_unavailable`: refused, lost, restarting, no free connection) is
    said once when it starts ("relay keeper: database unreachable, retrying in 1 s") and once
    when a pass succeeds again; the passes in between log at DEBUG only. Any other error is
    logged on one line per failed pass, with its traceback at most every `traceback_every`
    seconds. Nothing is lost meanwhile: the queue is in the database, and the signed bytes of
    a request are only sent by a pass that has read them."""

    def __init__(self, relay: Relay, *, poll: float = 1.0,
                 first_backoff: float = FIRST_BACKOFF_SECONDS,
                 max_backoff: float = MAX_BACKOFF_SECONDS,
                 traceback_every: float = TRACEBACK_EVERY_SECONDS) -> None:
        self.relay = relay
        self.poll = poll
        self.first_backoff = first_backoff
        self.max_backoff = max(max_backoff, first_backoff)
        self.traceback_every = traceback_every
        self.failures = 0  # failed passes in a row
        self._down_since: float | None = None  # an outage, while it lasts
        self._down_what = "database"  # what is down: "database" or "node"
        self._last_traceback: float | None = None

    @property
    def down(self) -> str | None:
        """What the keeper finds unreachable now ("database", "node"), or None."""
        return self._down_what if self._down_since is not None else None

    @property
    def database_down(self) -> bool:
        return self.down == "database"

    def run(self, stop: threading.Event) -> None:
        """Passes until `stop` is set (waits between them return at once when it is)."""
        while not stop.wait(self.delay()):
            self.step()

    def delay(self) -> float:
        """Seconds before the next pass: `poll`, or the backoff after failed passes."""
        if not self.failures:
            return self.poll
        return min(self.max_backoff, self.first_backoff * 2 ** (self.failures - 1))

    def step(self) -> bool:
        """One pass; whether it succeeded. Never raises (but for KeyboardInterrupt/SystemExit)."""
        try:
            self.relay.tick()
        except Exception as exc:  # noqa: BLE001 - the keeper outlives every error
            self._failed(exc)
            return False
        self._succeeded()
        return True

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        self.relay.last_error = _first_line(exc)
        wait = self.delay()
        outage = _outage(exc)
        if outage is not None:
            if self._down_since is None:
                self._down_since, self._down_what = time.monotonic(), outage
                log.warning("relay keeper: %s unreachable, retrying in %.0f s (%s)",
                            outage, wait, _first_line(exc))
            else:
                log.debug("relay keeper: %s still unreachable (failed pass %d), "
                          "retrying in %.0f s", outage, self.failures, wait)
            return
        now = time.monotonic()
        if self._last_traceback is None or now - self._last_traceback >= self.traceback_every:
            self._last_traceback = now
            log.exception("relay keeper: pass failed (%s), retrying in %.0f s",
                          type(exc).__name__, wait)
        else:
            log.warning("relay keeper: pass failed: %s: %s; retrying in %.0f s (failed pass "
                        "%d in a row)", type(exc).__name__, _first_line(exc), wait,
                        self.failures)

    def _succeeded(self) -> None:
        if self._down_since is not None:
            log.warning("relay keeper: %s reachable again after %.0f s; the queue moves "
                        "on", self._down_what, time.monotonic() - self._down_since)
        elif self.failures:
            log.warning("relay keeper: passes succeed again after %d failed", self.failures)
        self._down_since = None
        self.failures = 0
