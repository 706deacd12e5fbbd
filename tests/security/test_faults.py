"""Faults: the chain restarts, transactions revert when mined or are dropped, the indexer is
killed mid-batch. Nothing may be lost, doubled or left unexplained."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from giftcert import transactions
from giftcert.chain import Anvil, free_port
from giftcert.client import GiftCert
from giftcert.config import ANVIL_DEV_KEYS
from giftcert.errors import ContractRevert
from giftcert.indexer import Indexer
from giftcert.transactions import TransactionFailed, deploy

ROOT = Path(__file__).resolve().parents[2]
DEV = [Account.from_key(k).address for k in ANVIL_DEV_KEYS]
ADMIN, MERCHANT, HOLDER, FRIEND = DEV[0], DEV[1], DEV[2], DEV[3]


def _system(w3: Web3, artifacts) -> tuple[GiftCert, int]:
    module, art = artifacts["GiftCertificatesAdmin"], artifacts["GiftCertificates"]
    admin_module = deploy(w3, module.abi, module.bytecode, ADMIN)
    contract = deploy(w3, art.abi, art.bytecode, ADMIN, ADMIN, admin_module.address)
    admin = GiftCert(w3, contract, ADMIN)
    return admin, admin.register_merchant(MERCHANT, "Fault Shop").id


def _activity(admin: GiftCert, merchant: int, redemptions: int = 3) -> list[int]:
    """Issues, transfers, redeems directly and by a settled batch; returns the certificates."""
    ids = admin.issue_batch([(HOLDER, "0.01"), (HOLDER, "0.02"), (FRIEND, "0.03")], merchant)
    holder = admin.acting_as(sender=HOLDER)
    holder.transfer(ids[1], FRIEND)
    holder.redeem(ids[0], "0.001", 1)
    # successive nonces of one certificate, signed ahead: the batch settles them in order
    nonce = holder.certificate(ids[0]).nonce
    signed = [holder.sign_redemption(ids[0], "0.0001", 10 + i, nonce=nonce + i)
              for i in range(redemptions)]
    settlement = admin.acting_as(sender=MERCHANT).settle_batch(merchant, signed)
    assert settlement.refused == [] and len(settlement.settled) == redemptions
    return ids


def _snapshot(admin: GiftCert, indexer: Indexer, ids: list[int]) -> dict:
    return {
        "chain": {c: (admin.certificate(c).owner, str(admin.certificate(c).balance)) for c in ids},
        "owed": str(admin.merchant_owed(1)),
        "index": {
            c: (indexer.certificate(c)["owner"], indexer.certificate(c)["balance"]) for c in ids
        },
        "history": {
            c: [(e["tx_hash"], e["log_index"], e["event"]) for e in indexer.history(c)] for c in ids
        },
        "counts": indexer.counts(),
    }


def _just_after_a_whole_write(state: Path, timeout: float = 10.0) -> None:
    """Returns the moment anvil has finished rewriting `state` (it changed and reads whole),
    so a kill now falls between two writes, about a second from the next one. A kill during a
    write cuts the file short; tests/test_chain.py covers that start."""
    seen = state.stat().st_mtime_ns
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state.stat().st_mtime_ns != seen:
            try:
                json.loads(state.read_bytes())
                return
            except ValueError:
                seen = state.stat().st_mtime_ns  # caught mid-write: wait for the next change
        time.sleep(0.01)
    raise AssertionError(f"anvil did not rewrite {state} within {timeout} s")


@pytest.mark.parametrize("how", ["clean stop", "kill -9 after the state interval"])
def test_anvil_restart_from_state_file_loses_nothing(tmp_path, artifacts, how):
    state = tmp_path / "state.json"
    node = Anvil(free_port(), state_file=state, state_interval=1).start()
    try:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        admin, merchant = _system(w3, artifacts)
        ids = _activity(admin, merchant)
        indexer = Indexer(w3, admin.contract, f"sqlite:///{tmp_path / 'index.db'}")
        indexer.sync()
        before = _snapshot(admin, indexer, ids)
        head = w3.eth.block_number
        if how == "clean stop":
            node.stop()
        else:
            time.sleep(1.5)  # --state-interval 1: the state file has been written since
            _just_after_a_whole_write(state)  # not during one (anvil writes it in place)
            node._proc.send_signal(signal.SIGKILL)
            node._proc.wait()
            node.stop()
    finally:
        node.stop()
    node = Anvil(node.port, state_file=state, state_interval=1).start()
    try:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        assert w3.eth.block_number == head
        admin = GiftCert(w3, w3.eth.contract(address=admin.address, abi=admin.contract.abi), ADMIN)
        indexer = Indexer(w3, admin.contract, f"sqlite:///{tmp_path / 'index.db'}")
        assert indexer.sync() == 0  # the old index is still right: nothing to redo
        assert _snapshot(admin, indexer, ids) == before
        fresh = Indexer(w3, admin.contract, f"sqlite:///{tmp_path / 'fresh.db'}")
        fresh.sync()
        assert _snapshot(admin, fresh, ids) == before  # history rebuilt from the chain alone
        # and the chain keeps working after the restart
        admin.acting_as(sender=FRIEND).redeem(ids[2], "0.001", 99)
        assert str(admin.certificate(ids[2]).balance) == "0.029 ETH"
    finally:
        node.stop()


def _automine(w3: Web3, on: bool) -> None:
    w3.provider.make_request("evm_setAutomine", [on])


def _wait_pending(w3: Web3, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pool = w3.provider.make_request("txpool_status", [])["result"]
        if int(pool["pending"], 16) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{count} transactions never reached the pool")


def test_conflicting_transactions_one_lands_the_other_reports_why(h):
    """Two submissions of one authorisation pass simulation, then meet in one block."""
    admin = GiftCert(h.w3, h.gc, h.admin)
    cert = h.issue(amount=10**16)
    signed = admin.acting_as(sender=h.holder).sign_redemption(cert, "0.001", 7)
    merchant = admin.acting_as(sender=h.coffee_account)
    results: list[object] = []

    def submit():
        try:
            results.append(merchant.redeem_with_authorization(signed))
        except (ContractRevert, TransactionFailed) as exc:
            results.append(exc)

    _automine(h.w3, False)
    try:
        threads = [threading.Thread(target=submit) for _ in range(2)]
        for t in threads:
            t.start()
        _wait_pending(h.w3, 2)
        h.w3.provider.make_request("evm_mine", [])
    finally:
        _automine(h.w3, True)
        for t in threads:
            t.join(30)
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(results) == 2 and len(failures) == 1, results
    # The SDK names the reason whether the duplicate failed in simulation or was mined in the
    # same block as the first (it then replays on that block's state).
    assert isinstance(failures[0], ContractRevert), failures[0]
    assert failures[0].error_name == "WrongNonce"  # the first one moved the nonce on
    assert h.owed(h.coffee) == 10**15  # credited once
    assert h.balance(cert) == 10**16 - 10**15


def test_dropped_transaction_is_reported_and_resubmitting_cannot_double_spend(h, monkeypatch):
    admin = GiftCert(h.w3, h.gc, h.admin)
    cert = h.issue(amount=10**16)
    signed = admin.acting_as(sender=h.holder).sign_redemption(cert, "0.002", 8)
    merchant = admin.acting_as(sender=h.coffee_account)
    monkeypatch.setattr(transactions, "RECEIPT_TIMEOUT", 1.5)
    errors: list[Exception] = []

    def submit():
        try:
            merchant.redeem_with_authorization(signed)
        except Exception as exc:  # noqa: BLE001 - the test inspects what the SDK raised
            errors.append(exc)

    _automine(h.w3, False)
    try:
        thread = threading.Thread(target=submit)
        thread.start()
        _wait_pending(h.w3, 1)
        h.w3.provider.make_request("anvil_dropAllTransactions", [])
        thread.join(30)
    finally:
        _automine(h.w3, True)
    assert len(errors) == 1 and "not in the chain" in str(errors[0]), errors  # why: dropped
    assert h.owed(h.coffee) == 0 and h.balance(cert) == 10**16  # nothing happened
    merchant.redeem_with_authorization(signed)  # the merchant sends it again: lands once
    with pytest.raises(ContractRevert) as info:  # a third time: refused
        merchant.redeem_with_authorization(signed)
    assert info.value.error_name == "WrongNonce"
    assert h.owed(h.coffee) == 2 * 10**15 and h.balance(cert) == 10**16 - 2 * 10**15


KILLER = """
import json, os, signal, sys
from web3 import Web3
from giftcert.compiler import compile_contracts
from giftcert.indexer import Indexer

rpc, address, db, start, kill_at = sys.argv[1:6]
w3 = Web3(Web3.HTTPProvider(rpc))
abi = compile_contracts()["GiftCertificates"].abi
indexer = Indexer(w3, w3.eth.contract(address=address, abi=abi), db, start_block=int(start),
                  block_range=2)
store = Indexer._store
batches = []

def store_then_die(self, conn, events):
    store(self, conn, events)  # rows written inside the batch's open transaction
    batches.append(1)
    print(f"batch {len(batches)}", flush=True)
    if kill_at != "never" and len(batches) == int(kill_at):
        os.kill(os.getpid(), signal.SIGKILL)  # mid-batch: before the commit

Indexer._store = store_then_die
indexer.sync(progress=lambda end, head, count: print(f"at {end}/{head}", flush=True))
"""


@pytest.mark.parametrize("kill", ["inside batch 3", "from outside"])
def test_indexer_killed_mid_batch_resumes_without_gaps_or_duplicates(h, anvil, tmp_path, kill):
    admin = GiftCert(h.w3, h.gc, h.admin)
    start = h.w3.eth.block_number + 1
    ids = []
    for i in range(4):
        ids += admin.issue_batch([(h.holder, "0.01"), (h.friend, "0.02")], h.coffee)
        admin.acting_as(sender=h.holder).redeem(ids[-2], "0.001", 100 + i)
        batch = [admin.acting_as(sender=h.friend).sign_redemption(ids[-1], "0.0001", 200 + i)]
        admin.acting_as(sender=h.coffee_account).settle_batch(h.coffee, batch)
    db = f"sqlite:///{tmp_path / 'index.db'}"
    args = [sys.executable, "-c", KILLER, anvil.rpc_url, h.gc.address, db, str(start)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if kill == "inside batch 3":
        proc = subprocess.run([*args, "3"], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        assert "batch 3" in proc.stdout
    else:
        proc = subprocess.Popen([*args, "never"], env=env, stdout=subprocess.PIPE, text=True)
        for line in proc.stdout:  # kill it as soon as it has indexed something
            if line.startswith("batch 2"):
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(30)
    indexer = Indexer(h.w3, h.gc, db, start_block=start, block_range=2)
    cursor = indexer.cursor()
    assert cursor is None or cursor[0] < h.w3.eth.block_number  # it really stopped part-way
    indexer.sync()
    fresh = Indexer(h.w3, h.gc, f"sqlite:///{tmp_path / 'fresh.db'}", start_block=start)
    fresh.sync()

    def rows(ix: Indexer):
        return {
            c: (
                [(e["tx_hash"], e["log_index"]) for e in ix.history(c)],
                ix.certificate(c)["balance"],
                ix.certificate(c)["owner"],
            )
            for c in ids
        }

    resumed, rebuilt = rows(indexer), rows(fresh)
    assert resumed == rebuilt
    for history, _, _ in resumed.values():
        assert len(history) == len(set(history))  # no duplicates
    assert indexer.counts() == fresh.counts()
    on_chain = h.gc.events.Redeemed().get_logs(from_block=start)
    assert indexer.counts()["redemptions"] == len(on_chain) == 8  # no gaps
    assert json.dumps(indexer.merchant_totals(h.coffee), default=str) == json.dumps(
        fresh.merchant_totals(h.coffee), default=str
    )
