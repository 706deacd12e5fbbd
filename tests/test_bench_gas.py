"""The gas benchmark's measurements work: on the session anvil, a few ops are measured, every
measured transaction succeeded and its state change is there. Figures are not asserted (they
are the benchmark's output, not a property of this test); timing is not measured."""

from __future__ import annotations

import pytest
from eth_account import Account

from bench import gas
from giftcert.compiler import compile_sources
from giftcert.config import ANVIL_DEV_KEYS


@pytest.fixture
def snapshot(w3):
    """Measure inside a snapshot so other tests on this anvil see none of it."""
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    yield
    w3.provider.make_request("evm_revert", [snap])


@pytest.fixture(scope="module")
def bench_artifacts():
    return gas.load_artifacts()


def test_ops_are_measured_from_successful_transactions(w3, snapshot, bench_artifacts):
    t0 = w3.eth.get_block("latest")["timestamp"]
    results = gas.run(w3, bench_artifacts, t0, verbose=False, impls=["giftcert", "oz721"],
                      refund=False).results
    by_key = {(m.impl, m.op): m for m in results}

    for key in [("giftcert", "issue"), ("giftcert", "redeem"), ("giftcert", "redeem_signed"),
                ("giftcert", "claim"), ("oz721", "issue"), ("oz721", "transfer_fresh")]:
        m = by_key[key]
        assert m.status == 1 and m.gas > 21_000, m
        assert w3.eth.get_transaction_receipt(m.tx)["gasUsed"] == m.gas
    assert ("giftcert", "refund") not in by_key  # needs the clock moved years ahead

    # The state changes, read back independently of the benchmark's own checks.
    token_address = w3.eth.get_transaction_receipt(by_key[("oz721", "issue")].tx)["to"]
    token = w3.eth.contract(address=token_address, abi=bench_artifacts["BenchOZ721"].abi)
    assert token.functions.ownerOf(10).call() == gas.fresh("issue/0").address
    gc_address = w3.eth.get_transaction_receipt(by_key[("giftcert", "issue")].tx)["to"]
    gc = w3.eth.contract(address=gc_address, abi=bench_artifacts["GiftCertificates"].abi)
    # coffee: the holder's warm-up and measured redemptions, then the tabs' warm-up redemption,
    # one tab settled alone and ten in a batch (a voucher of PART each)
    assert gc.functions.merchantLedger(1, 0).call()[0] == 2 * gas.SMALL + 12 * gas.PART
    assert gc.functions.merchantLedger(2, 0).call()[0] == 12 * gas.PART  # 2 signed + batch of 10


MULTI_TOKEN = {"oz1155": "BenchOZ1155", "solady1155": "BenchSolady1155",
               "oz6909": "BenchOZ6909", "solady6909": "BenchSolady6909"}


@pytest.fixture(scope="module")
def wrapper_artifacts():
    """The anchor wrappers alone: this test does not need the project's contracts to compile."""
    return compile_sources(sorted(gas.WRAPPERS_DIR.glob("*.sol")))


def test_multi_token_anchors_are_measured_from_successful_transactions(w3, snapshot,
                                                                      wrapper_artifacts):
    t0 = w3.eth.get_block("latest")["timestamp"]
    results = gas.run(w3, wrapper_artifacts, t0, verbose=False, impls=list(MULTI_TOKEN)).results
    by_key = {(m.impl, m.op): m for m in results}
    holder, holder2 = (Account.from_key(k).address for k in ANVIL_DEV_KEYS[2:4])

    for impl, name in MULTI_TOKEN.items():
        assert impl in gas.IMPLS
        for op in ["issue", "issue_batch10", "transfer_fresh", "transfer_holder", "deploy"]:
            m = by_key[(impl, op)]
            assert m.status == 1 and m.gas > 21_000, m
            assert w3.eth.get_transaction_receipt(m.tx)["gasUsed"] == m.gas
        assert by_key[(impl, "runtime_bytes")].gas > 0

        # The state changes, read back independently of the benchmark's own checks.
        address = w3.eth.get_transaction_receipt(by_key[(impl, "issue")].tx)["to"]
        token = w3.eth.contract(address=address, abi=wrapper_artifacts[name].abi).functions
        assert token.balanceOf(gas.fresh("issue/0").address, 10).call() == 1
        batch_to = gas.fresh("issue_batch10/0").address
        assert [token.balanceOf(batch_to, i).call() for i in range(100, 110)] == [1] * 10
        assert token.balanceOf(gas.fresh("transfer_fresh/0").address, 1).call() == 1
        assert token.balanceOf(holder2, 2).call() == 1
        assert token.balanceOf(holder, 1).call() == 0 and token.balanceOf(holder, 3).call() == 1


def test_table_and_targets_cover_what_was_measured():
    results = [gas.Measurement("giftcert", "issue", 55_000, 1, ""),
               gas.Measurement("oz721", "issue", 68_769, 1, ""),
               gas.Measurement("giftcert", "issue_batch10", 330_000, 1, "")]
    table = gas.table(results)
    assert "| issue | 55,000 | 68,769 |" in table and "| issue_batch10 | 330,000 | — |" in table
    lines = gas.target_lines(results)
    # v2 targets are absolute (floor plus an allowance): issue <= 56,000, batch <= 32,500 each
    assert any("measured 55,000" in line and "met" in line for line in lines)
    assert any("33,000 (330,000 / 10)" in line and "missed" in line for line in lines)
    assert len(lines) == 2  # only what was measured
