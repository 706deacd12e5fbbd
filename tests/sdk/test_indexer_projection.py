"""Indexer pieces without a chain: the projection (events -> rows) for both event shapes the
contract has had, the ABI-driven decoder, and the refusal of a range read from two forks."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import event_abi_to_log_topic

from giftcert.ids import encode_id
from giftcert.indexer import ZERO, Applier, Batch, Event, LogDecoder
from giftcert.indexer.sync import _block_hashes

BUYER = "0x" + "b0" * 20
HOLDER = "0x" + "a1" * 20
FRIEND = "0x" + "f2" * 20
KEY = "0x" + "c3" * 20
CERT = encode_id(7, 1, 0, 0, 2_000_000_000, BUYER, 5)


def _ev(name: str, log_index: int, **args) -> Event:
    return Event(name, 10, "0x" + "11" * 32, log_index, 1_700_000_000, args)


def _mint(to: str, log_index: int = 0, cert: int = CERT) -> Event:
    return _ev("TransferSingle", log_index, operator=BUYER, **{"from": ZERO}, to=to, id=cert,
               value=1)


def _apply(*events: Event) -> Batch:
    batch = Batch()
    applier = Applier(batch)
    for ev in events:
        applier.apply(ev)
    return batch


@pytest.mark.parametrize("issued", [
    {"amount": 500, "message": "hi"},  # the buyer is the mint's operator
    {"buyer": BUYER, "amount": 500, "message": "hi"},  # the earlier shape named it
])
def test_an_issue_records_buyer_balance_and_owner(issued):
    row = _apply(_mint(HOLDER), _ev("Issued", 1, id=CERT, **issued)).certs[str(CERT)]
    assert (row["buyer"], row["owner"], row["balance"], row["issued"]) == (BUYER, HOLDER, 500,
                                                                           500)
    assert (row["merchant"], row["currency"]) == (7, 1)  # the terms are the id's


@pytest.mark.parametrize("claimed", [[], [_ev("Claimed", 4, id=CERT, recipient=FRIEND)]])
def test_a_claim_is_the_move_out_of_the_claim_key(claimed):
    batch = _apply(_mint(KEY), _ev("Issued", 1, id=CERT, amount=9, message=""),
                   _ev("ClaimLinkCreated", 2, id=CERT, claimKey=KEY, deadline=1))
    assert batch.certs[str(CERT)]["awaiting_claim"]
    applier = Applier(batch)
    for ev in [_ev("TransferSingle", 3, operator=FRIEND, **{"from": KEY}, to=FRIEND, id=CERT,
                   value=1), *claimed]:
        applier.apply(ev)
    row = batch.certs[str(CERT)]
    assert (row["awaiting_claim"], row["owner"]) == (False, FRIEND)
    assert batch.holders == {KEY: 10, FRIEND: 10}


@pytest.mark.parametrize("extra", [{}, {"merchant": 7}])
def test_a_redemption_is_counted_for_the_ids_merchant(extra):
    batch = _apply(_mint(HOLDER), _ev("Issued", 1, id=CERT, amount=500, message=""),
                   _ev("Redeemed", 2, id=CERT, orderRef=42, amount=120, **extra),
                   _ev("Redeemed", 3, id=CERT, orderRef=43, amount=30, **extra))
    assert batch.certs[str(CERT)]["balance"] == 350
    assert [(r["merchant"], r["currency"], r["order_ref"]) for r in batch.redemptions] == [
        (7, 1, "42"), (7, 1, "43")]
    assert batch.days == {(7, 1, "2023-11-14"): [150, 2]}


def test_a_rebuild_touches_only_its_certificates_and_records_nothing_else():
    other = CERT + 1
    batch = Batch()
    applier = Applier(batch, only={str(other)})
    for ev in (_mint(HOLDER), _mint(HOLDER, 1, other),
               _ev("IssuedBatch", 2, firstId=CERT, buyer=BUYER, amounts=[5, 6], message=""),
               _ev("Redeemed", 3, id=other, orderRef=1, amount=2)):
        applier.apply(ev)
    assert set(batch.certs) == {str(other)} and batch.certs[str(other)]["balance"] == 4
    assert not (batch.holders or batch.redemptions or batch.batch_items or batch.days)


def test_decoder_takes_topics_and_types_from_the_abi():
    abi = [
        {"type": "event", "name": "Redeemed", "anonymous": False, "inputs": [
            {"name": "id", "type": "uint256", "indexed": True},
            {"name": "orderRef", "type": "uint256", "indexed": False},
            {"name": "amount", "type": "uint256", "indexed": False}]},
        {"type": "event", "name": "MetadataUpdate", "anonymous": False, "inputs": [
            {"name": "_tokenId", "type": "uint256", "indexed": False}]},
    ]
    decoder = LogDecoder(abi)
    topic = "0x" + event_abi_to_log_topic(abi[0]).hex()
    assert decoder.topics == [topic]  # wallet refresh hints are not fetched
    log = {"topics": [topic, "0x" + f"{CERT:064x}"], "data": "0x" + encode(
        ["uint256", "uint256"], [42, 120]).hex(), "blockNumber": "0xa",
        "transactionHash": "0x" + "11" * 32, "logIndex": "0x3"}
    ev = decoder.decode(log, 1_700_000_000)
    assert (ev.name, ev.block, ev.log_index) == ("Redeemed", 10, 3)
    assert ev.args == {"id": CERT, "orderRef": 42, "amount": 120}


def test_a_range_read_from_two_forks_is_refused():
    def log(number: int, block_hash: str) -> dict:
        return {"blockNumber": hex(number), "blockHash": block_hash}

    assert _block_hashes([log(5, "0xa"), log(5, "0xa")], 6, "0xb") == {5: "0xa", 6: "0xb"}
    with pytest.raises(RuntimeError, match="block 5 changed"):
        _block_hashes([log(5, "0xa"), log(5, "0xc")], 6, "0xb")
    with pytest.raises(RuntimeError, match="block 6 changed"):
        _block_hashes([log(6, "0xa")], 6, "0xb")
    removed = {**log(6, "0xold"), "removed": True}
    assert _block_hashes([removed], 6, "0xb") == {6: "0xb"}
