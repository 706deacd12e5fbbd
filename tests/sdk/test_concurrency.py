"""One account sending from many threads of one process (a merchant's till, a relayer)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest


@pytest.mark.parametrize("who", ["key", "unlocked"])
def test_concurrent_sends_from_one_account_all_land(sdk, who):
    sender = sdk.buyer if who == "key" else sdk.buyer.acting_as(sender=sdk.w3.eth.accounts[7])
    start = sdk.w3.eth.get_transaction_count(sender.sender)
    with ThreadPoolExecutor(12) as pool:
        certs = list(pool.map(
            lambda i: sender.issue(sdk.holder.sender, f"0.00{i + 1}", sdk.coffee_id, "ETH"),
            range(24)))
    assert len({c.id for c in certs}) == 24
    assert sdk.w3.eth.get_transaction_count(sender.sender) == start + 24
