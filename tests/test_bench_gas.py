"""The gas benchmark's measurements work: on the session anvil, a few ops are measured, every
measured transaction succeeded and its state change is there. Figures are not asserted (they
are the benchmark's output, not a property of this test); timing is not measured."""

from __future__ import annotations

import pytest

from bench import gas


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
    assert gc.functions.merchantLedger(1, 0).call()[0] == gas.SMALL + gas.PART  # warm-up + measured
    assert gc.functions.merchantLedger(2, 0).call()[0] == 12 * gas.PART  # 2 signed + batch of 10


def test_table_and_targets_cover_what_was_measured():
    results = [gas.Measurement("giftcert", "issue", 60_000, 1, ""),
               gas.Measurement("oz721", "issue", 68_769, 1, ""),
               gas.Measurement("giftcert", "issue_batch10", 300_000, 1, "")]
    table = gas.table(results)
    assert "| issue | 60,000 | 68,769 |" in table and "| issue_batch10 | 300,000 | — |" in table
    lines = gas.target_lines(results)
    assert any("68,769" in line and "met" in line for line in lines)
    assert any("30,000 (300,000 / 10)" in line and "missed" in line for line in lines)
