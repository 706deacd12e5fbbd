"""A small version of `make bench-index` on the session anvil (the real one runs on its own)."""

from __future__ import annotations

from bench.index_bench import measure, seed
from giftcert.indexer import Indexer


def test_small_bench_seeds_indexes_and_queries(sdk, tmp_path):
    accounts = sdk.w3.eth.accounts
    seeded = seed(sdk.w3, sdk.settings.rpc_url, sdk.admin, accounts, 30, 60, say=lambda _m: None)
    assert seeded.redemptions == 60
    index = Indexer(sdk.w3, sdk.admin.contract, f"sqlite:///{tmp_path / 'b.db'}",
                    start_block=sdk.record.block, block_range=4)
    # a TransferSingle per certificate, one IssuedBatch, a Redeemed per redemption
    assert index.sync() >= 30 + 1 + 60
    medians = measure(index, seeded, runs=5)
    assert set(medians) == {"certificates of an address", "history of a certificate",
                            "merchant totals by day", "was an order paid",
                            "merchant statistics", "merchant's latest redemptions"}
    assert sum(int(t["count"]) for m in range(3, 8) for t in index.merchant_totals(m)) == 60
    assert len(index.history(seeded.certificates[-1])) == 4  # minted, batch issue, 2 redeemed
    assert index.order_paid(3, 1) and not index.order_paid(3, 10**9)
