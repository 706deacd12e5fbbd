"""Indexer: applies events, answers queries, resumes after restart, survives reorgs; on
SQLite and PostgreSQL (the `backend` fixture: test ids end in [sqlite] / [postgresql])."""

from __future__ import annotations

from db import backends
from sqlalchemy import select

from giftcert.indexer import Indexer, activity_table

backend = backends.backend  # the fixture: every test that takes it runs on both databases


def _indexer(sdk, backend, name="index", **kw) -> Indexer:
    return Indexer(sdk.w3, sdk.admin.contract, backend.url(name),
                   start_block=sdk.record.block, **kw)


def _rpc(sdk, method, *params):
    return sdk.w3.provider.make_request(method, list(params))["result"]


def _indexed_then_reorged(sdk, index, action) -> None:
    """`action` happens on chain and is indexed, then a reorg replaces its blocks with two
    empty ones and the index syncs again."""
    snapshot = _rpc(sdk, "evm_snapshot")
    action()
    index.sync()
    _rpc(sdk, "evm_revert", snapshot)
    for _ in range(2):
        _rpc(sdk, "evm_mine")
    index.sync()


def test_indexes_lifecycle_and_answers_queries(sdk, backend):
    cert = sdk.buyer.issue(sdk.holder.sender, "20", sdk.coffee_id, "tUSD", message="hi")
    sdk.holder.redeem(cert.id, "3", order_ref=1)
    part = sdk.holder.split(cert.id, "5", sdk.friend.sender)
    sdk.friend.transfer(part.id, sdk.holder.sender)
    sdk.holder.merge(part.id, cert.id)
    link = sdk.buyer.issue_claimable("2", sdk.books_id, "tUSD")
    sdk.friend.claim(link.certificate.id, link.key)
    index = _indexer(sdk, backend, block_range=3)
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


def test_resumes_from_cursor_after_restart(sdk, backend):
    first = sdk.buyer.issue(sdk.holder.sender, "1", sdk.coffee_id, "tUSD")
    index = _indexer(sdk, backend)
    index.sync()
    before = index.counts()["activity"]
    cursor = index.cursor()
    second = sdk.buyer.issue(sdk.holder.sender, "2", sdk.coffee_id, "tUSD")
    sdk.holder.redeem(first.id, "1", order_ref=9)
    restarted = _indexer(sdk, backend)  # a new process on the same database
    assert restarted.cursor() == cursor
    assert restarted.sync() == 3  # TransferSingle + Issued, Redeemed
    assert restarted.counts()["activity"] == before + 3
    ids = {c["id"] for c in restarted.certificates_of(sdk.holder.sender)}
    assert ids == {str(first.id), str(second.id)}
    assert restarted.certificate(first.id)["balance"] == "0"


def test_reorg_rolls_back_and_reindexes(sdk, backend):
    cert = sdk.buyer.issue(sdk.holder.sender, "10", sdk.coffee_id, "tUSD")
    index = _indexer(sdk, backend)
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


def test_batch_issue_refusals_and_order_lookups(sdk, backend):
    """v2: one IssuedBatch for a whole batch (amount per id), refused batch items kept as
    activity with their reason, and "was order X paid" answered by the index."""
    ids = sdk.buyer.issue_batch([(sdk.holder.sender, "5"), (sdk.friend.sender, "7.25"),
                                 (sdk.holder.sender, "1")], sdk.coffee_id, "tUSD",
                                message="team gifts")
    assert ids == [ids[0], ids[0] + 1, ids[0] + 2]
    good = sdk.holder.sign_redemption(ids[0], "2", order_ref=500)
    settled = sdk.coffee.settle_batch(sdk.coffee_id, [good, good])  # the second is a replay
    assert [r.reason.error_name for r in settled.refused] == ["WrongNonce"]
    sdk.holder.redeem(ids[2], "0.5", order_ref=500)  # the same order, paid in a second part
    index = _indexer(sdk, backend)
    index.sync()

    rows = {r["id"]: r for r in index.certificates_of(sdk.holder.sender)}
    assert {k: (v["balance"], v["issued"], v["buyer"]) for k, v in rows.items()} == {
        str(ids[0]): ("3000000", "5000000", sdk.buyer.sender),
        str(ids[2]): ("500000", "1000000", sdk.buyer.sender)}
    friend = index.certificate(ids[1])
    assert (friend["owner"], friend["balance"], friend["buyer"]) == (
        sdk.friend.sender, "7250000", sdk.buyer.sender)

    middle = index.history(ids[1])
    assert [e["event"] for e in middle] == ["TransferSingle", "IssuedBatch"]
    issued = middle[1]["args"]
    assert (issued["id"], issued["amount"], issued["firstId"]) == (ids[1], 7_250_000, ids[0])
    assert issued["amounts"] == [5_000_000, 7_250_000, 1_000_000]
    assert issued["message"] == "team gifts" and issued["buyer"] == sdk.buyer.sender

    first = index.history(ids[0])
    assert [e["event"] for e in first] == ["TransferSingle", "IssuedBatch", "Redeemed",
                                           "RedemptionRefused"]
    refused = first[3]["args"]
    assert (refused["index"], refused["certificate"], refused["error"]) == (1, ids[0],
                                                                            "WrongNonce")
    assert refused["reason"].startswith("0x") and refused["details"]["expected"] == "1"

    assert index.order_paid(sdk.coffee_id, 500) and index.order_paid(sdk.coffee_id, "500")
    assert not index.order_paid(sdk.books_id, 500) and not index.order_paid(sdk.coffee_id, 501)
    paid = index.order_redemptions(sdk.coffee_id, 500)
    assert [(p["certificate"], p["amount"]) for p in paid] == [(str(ids[0]), "2000000"),
                                                              (str(ids[2]), "500000")]
    assert index.order_redemptions(sdk.coffee_id, 501) == []
    with index.engine.connect() as conn:  # wallet refresh hints are not history
        kept = set(conn.execute(select(activity_table.c.event)).scalars())
    assert not kept & {"MetadataUpdate", "BatchMetadataUpdate"}


def test_reorg_rebuilds_batch_issued_certificates(sdk, backend):
    ids = sdk.buyer.issue_batch([(sdk.holder.sender, "4"), (sdk.holder.sender, "6")],
                                sdk.coffee_id, "tUSD")
    index = _indexer(sdk, backend)
    index.sync()
    snapshot = _rpc(sdk, "evm_snapshot")
    sdk.holder.redeem(ids[1], "5", order_ref=1)
    later = sdk.buyer.issue_batch([(sdk.friend.sender, "2")], sdk.books_id, "tUSD")
    index.sync()
    assert index.certificate(ids[1])["balance"] == "1000000"
    assert index.order_paid(sdk.coffee_id, 1)
    _rpc(sdk, "evm_revert", snapshot)
    sdk.w3.provider.make_request("evm_mine", [])
    sdk.holder.redeem(ids[1], "2", order_ref=2)
    index.sync()
    # rebuilt from the batch issue before the fork: the amount of the second id, not zero
    row = index.certificate(ids[1])
    assert (row["balance"], row["issued"], row["buyer"]) == ("4000000", "6000000",
                                                             sdk.buyer.sender)
    assert index.certificate(later[0]) is None and index.certificates_of(sdk.friend.sender) == []
    assert not index.order_paid(sdk.coffee_id, 1) and index.order_paid(sdk.coffee_id, 2)
    assert [e["event"] for e in index.history(ids[1])] == ["TransferSingle", "IssuedBatch",
                                                          "Redeemed"]
    fresh = _indexer(sdk, backend, "fresh")
    fresh.sync()
    assert fresh.certificate(ids[1]) == index.certificate(ids[1])
    assert fresh.counts() == index.counts()


def test_an_id_issued_again_after_its_burn_starts_afresh(sdk, backend):
    """Serials are the buyer's, so a burned id can be minted again with the same terms."""
    terms = {"serial": 77, "expiry": sdk.buyer.now() + sdk.buyer.min_validity() + 3 * 86400}
    cert = sdk.buyer.issue(sdk.holder.sender, "3", sdk.coffee_id, "tUSD", **terms)
    index = _indexer(sdk, backend)
    index.sync()
    sdk.coffee.void(cert.id)
    index.sync()
    assert index.certificate(cert.id)["burned"]
    again = sdk.buyer.issue(sdk.friend.sender, "8", sdk.coffee_id, "tUSD", **terms)
    assert again.id == cert.id
    index.sync()
    row = index.certificate(cert.id)
    assert (row["burned"], row["owner"], row["balance"]) == (False, sdk.friend.sender, "8000000")
    assert [c["id"] for c in index.certificates_of(sdk.friend.sender)] == [str(cert.id)]
    assert index.certificates_of(sdk.holder.sender) == []


def test_a_sqlite_index_in_a_folder_that_does_not_exist_yet_is_created(tmp_path):
    """A fresh checkout has no .giftcert/: the first process to open the index makes it."""
    from giftcert.database import open_engine

    path = tmp_path / "state" / "nested" / "giftcert.db"
    engine = open_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select 1").scalar() == 1
    assert path.exists()
    assert open_engine("sqlite:///:memory:").url.database == ":memory:"


def test_merchant_stats_count_what_buyers_paid_in_and_where_it_went(sdk, backend):
    """Issues and top-ups are what buyers paid in (a split moves value, it adds none); live
    balances are liability, expired ones breakage until refunded; other merchants don't count."""
    sdk.admin.set_min_validity(3600)
    soon = sdk.buyer.now() + 3700
    kept = sdk.buyer.issue(sdk.holder.sender, "20", sdk.coffee_id, "tUSD")
    sdk.holder.split(kept.id, "5", sdk.friend.sender)
    sdk.buyer.top_up(kept.id, "1")
    sdk.holder.redeem(kept.id, "3", order_ref=1)
    voided = sdk.buyer.issue(sdk.holder.sender, "2", sdk.coffee_id, "tUSD")
    sdk.coffee.void(voided.id)
    lapsing = sdk.buyer.issue(sdk.holder.sender, "4", sdk.coffee_id, "tUSD", expiry=soon)
    refunded = sdk.buyer.issue(sdk.holder.sender, "6", sdk.coffee_id, "tUSD", expiry=soon)
    spent = sdk.buyer.issue(sdk.holder.sender, "1", sdk.coffee_id, "tUSD", expiry=soon)
    sdk.holder.redeem(spent.id, "1", order_ref=2)
    sdk.buyer.issue(sdk.holder.sender, "9", sdk.books_id, "tUSD")
    sdk.warp(4000)
    sdk.buyer.refund(refunded.id)
    index = _indexer(sdk, backend)
    index.sync()

    usd = index.certificate(kept.id)["currency"]
    stats = index.merchant_stats(sdk.coffee_id, sdk.buyer.now())
    units = 10**6
    assert stats.issued == {usd: 34 * units}  # 20 + 1 top-up + 2 + 4 + 6 + 1
    assert stats.liability == {usd: 18 * units} and stats.open_certificates == 2  # 13 + 5
    assert stats.expired_unrefunded == {usd: 4 * units}  # `spent` holds nothing
    assert (stats.refunded, stats.voided) == ({usd: 6 * units}, {usd: 2 * units})
    assert stats.breakage == {usd: 10 * units} and not stats.cashed_out
    assert sum(d.total for d in stats.by_day) == 4 * units
    assert sum(d.count for d in stats.by_day) == 2
    before = index.merchant_stats(sdk.coffee_id, soon - 1)  # the clock decides what expired
    assert before.expired_unrefunded == {} and before.liability == {usd: 22 * units}

    due = index.expired_with_balance(sdk.buyer.now())
    assert [r["id"] for r in due] == [str(lapsing.id)]  # not the empty one, not the refunded
    newest = index.merchant_redemptions(sdk.coffee_id)
    assert [r["order_ref"] for r in newest] == ["2", "1"]
    assert [r["order_ref"] for r in index.merchant_redemptions(sdk.coffee_id, 1)] == ["2"]


def test_a_batch_transfer_is_history_and_survives_a_rebuild(sdk, backend):
    """ERC-1155 safeBatchTransferFrom names no single certificate: each one finds it anyway,
    and a rebuild after a reorg keeps the new owner."""
    a = sdk.buyer.issue(sdk.holder.sender, "3", sdk.coffee_id, "tUSD")
    b = sdk.buyer.issue(sdk.holder.sender, "4", sdk.coffee_id, "tUSD")
    gc = sdk.admin.contract.functions
    tx = gc.safeBatchTransferFrom(sdk.holder.sender, sdk.friend.sender, [a.id, b.id], [1, 1],
                                  b"").transact({"from": sdk.holder.sender})
    sdk.w3.eth.wait_for_transaction_receipt(tx)
    index = _indexer(sdk, backend)
    index.sync()
    assert [e["event"] for e in index.history(b.id)][-1] == "TransferBatch"
    _indexed_then_reorged(sdk, index, lambda: sdk.friend.redeem(b.id, "1", order_ref=1))
    row = index.certificate(b.id)
    assert (row["owner"], row["balance"]) == (sdk.friend.sender, "4000000")
    assert {c["id"] for c in index.certificates_of(sdk.friend.sender)} == {str(a.id), str(b.id)}
    assert index.certificates_of(sdk.holder.sender) == []


def test_a_split_part_keeps_its_buyer_when_rebuilt(sdk, backend):
    """The Split event carries no buyer: a rebuild of the part alone must replay its parent."""
    cert = sdk.buyer.issue(sdk.holder.sender, "10", sdk.coffee_id, "tUSD")
    part = sdk.holder.split(cert.id, "4", sdk.friend.sender)
    index = _indexer(sdk, backend)
    index.sync()
    assert index.certificate(part.id)["buyer"] == sdk.buyer.sender
    # the redemption touches the part only, so the rebuild is of the part alone
    _indexed_then_reorged(sdk, index, lambda: sdk.friend.redeem(part.id, "1", order_ref=1))
    row = index.certificate(part.id)
    assert (row["buyer"], row["balance"], row["owner"]) == (sdk.buyer.sender, "4000000",
                                                            sdk.friend.sender)
    assert index.certificate(cert.id)["balance"] == "6000000"
