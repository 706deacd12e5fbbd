"""Indexer: applies events, answers queries, resumes after restart, survives reorgs."""

from __future__ import annotations

from giftcert.indexer import Indexer


def _indexer(sdk, tmp_path, name="index.db", **kw) -> Indexer:
    return Indexer(sdk.w3, sdk.admin.contract, f"sqlite:///{tmp_path / name}",
                   start_block=sdk.record.block, **kw)


def _rpc(sdk, method, *params):
    return sdk.w3.provider.make_request(method, list(params))["result"]


def test_indexes_lifecycle_and_answers_queries(sdk, tmp_path):
    cert = sdk.buyer.issue(sdk.holder.sender, "20", sdk.coffee_id, "tUSD", message="hi")
    sdk.holder.redeem(cert.id, "3", order_ref=1)
    part = sdk.holder.split(cert.id, "5", sdk.friend.sender)
    sdk.friend.transfer(part.id, sdk.holder.sender)
    sdk.holder.merge(part.id, cert.id)
    link = sdk.buyer.issue_claimable("2", sdk.books_id, "tUSD")
    sdk.friend.claim(link.certificate.id, link.key)
    index = _indexer(sdk, tmp_path, block_range=3)
    assert index.sync() > 10
    mine = index.certificates_of(sdk.holder.sender)
    assert [c["id"] for c in mine] == [str(cert.id)]
    assert mine[0]["balance"] == "17000000" and mine[0]["buyer"] == sdk.buyer.sender
    assert index.certificate(part.id)["burned"]
    claimed = index.certificates_of(sdk.friend.sender)[0]
    assert claimed["id"] == str(link.certificate.id) and not claimed["awaiting_claim"]
    events = [e["event"] for e in index.history(cert.id)]
    assert events[:3] == ["TransferSingle", "Issued", "Redeemed"] and "Merged" in events
    totals = index.merchant_totals(sdk.coffee_id)
    assert [(t["total"], t["count"]) for t in totals] == [("3000000", 1)]
    names = [m["name"] for m in index.merchants()]
    assert names == ["Corner Coffee", "Page Turner Books"]
    assert index.sync() == 0  # nothing new: idempotent


def test_resumes_from_cursor_after_restart(sdk, tmp_path):
    first = sdk.buyer.issue(sdk.holder.sender, "1", sdk.coffee_id, "tUSD")
    index = _indexer(sdk, tmp_path)
    index.sync()
    before = index.counts()["activity"]
    cursor = index.cursor()
    second = sdk.buyer.issue(sdk.holder.sender, "2", sdk.coffee_id, "tUSD")
    sdk.holder.redeem(first.id, "1", order_ref=9)
    restarted = _indexer(sdk, tmp_path)  # a new process on the same database
    assert restarted.cursor() == cursor
    assert restarted.sync() == 3  # TransferSingle + Issued, Redeemed
    assert restarted.counts()["activity"] == before + 3
    ids = {c["id"] for c in restarted.certificates_of(sdk.holder.sender)}
    assert ids == {str(first.id), str(second.id)}
    assert restarted.certificate(first.id)["balance"] == "0"


def test_reorg_rolls_back_and_reindexes(sdk, tmp_path):
    cert = sdk.buyer.issue(sdk.holder.sender, "10", sdk.coffee_id, "tUSD")
    index = _indexer(sdk, tmp_path)
    index.sync()
    fork_point = sdk.w3.eth.block_number
    snapshot = _rpc(sdk, "evm_snapshot")
    sdk.holder.redeem(cert.id, "4", order_ref=1)
    sdk.holder.transfer(cert.id, sdk.friend.sender)
    index.sync()
    assert index.certificate(cert.id)["owner"] == sdk.friend.sender
    assert index.merchant_totals(sdk.coffee_id)[0]["total"] == "4000000"
    _rpc(sdk, "evm_revert", snapshot)  # the chain replaces those blocks with others
    sdk.w3.provider.make_request("evm_mine", [])
    sdk.holder.redeem(cert.id, "1", order_ref=2)
    sdk.holder.redeem(cert.id, "1", order_ref=3)
    index.sync()
    assert index.cursor()[0] == sdk.w3.eth.block_number
    row = index.certificate(cert.id)
    assert row["owner"] == sdk.holder.sender and row["balance"] == "8000000"
    assert index.certificates_of(sdk.friend.sender) == []
    assert [(t["total"], t["count"]) for t in index.merchant_totals(sdk.coffee_id)] == [
        ("2000000", 2)]
    refs = [e["args"].get("orderRef") for e in index.history(cert.id) if e["event"] == "Redeemed"]
    assert refs == [2, 3]
    assert all(e["block"] > fork_point for e in index.history(cert.id)[2:])
