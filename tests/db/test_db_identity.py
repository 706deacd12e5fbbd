"""The index knows its chain: another chain's or contract's index is refused, never wiped;
readers check without writing; the status (cursor and heartbeat) says how far behind it is."""

from __future__ import annotations

import dataclasses
import time

import pytest

from giftcert.database import SchemaNotCurrent, open_engine
from giftcert.indexer import Indexer, IndexMismatch, open_index
from giftcert.indexer import sync as sync_module


def _indexer(sdk, url, contract=None, **kw) -> Indexer:
    return Indexer(sdk.w3, contract or sdk.admin.contract, url, start_block=sdk.record.block,
                   **kw)


def test_an_index_of_another_contract_is_refused_not_wiped(sdk, backend):
    sdk.buyer.issue(sdk.holder.sender, "2", sdk.coffee_id, "tUSD")
    url = backend.url()
    index = _indexer(sdk, url)
    index.sync()
    before, cursor = index.counts(), index.cursor()
    other = sdk.w3.eth.contract(address=sdk.record.test_usd, abi=sdk.admin.contract.abi)
    with pytest.raises(IndexMismatch) as info:
        _indexer(sdk, url, contract=other)
    message = str(info.value)
    assert sdk.admin.address in message and sdk.record.test_usd in message
    assert "nothing was changed" in message and "GIFTCERT_DATABASE_URL" in message
    assert "csearch_path" in message  # the other fix: a schema of its own on PostgreSQL
    with pytest.raises(IndexMismatch):
        open_index(url, chain_id=31337, contract=sdk.record.test_usd)
    again = _indexer(sdk, url)
    assert again.counts() == before and again.cursor() == cursor  # nothing was deleted
    assert again.sync() == 0


def test_the_same_contract_address_on_another_chain_is_refused(sdk, backend):
    """The same deployer on two chains gets the same address: the chain id tells them apart."""
    url = backend.url()
    _indexer(sdk, url).sync()
    with pytest.raises(IndexMismatch, match="belongs to chain 31337, .* not to chain 1337"):
        _indexer(sdk, url, chain_id=1337)
    with pytest.raises(IndexMismatch):
        open_index(url, chain_id=1337, contract=sdk.admin.address)


def test_two_indexers_claiming_an_empty_index_at_once_agree(sdk, backend):
    url = backend.url()
    first = _indexer(sdk, url, check=False)
    second = _indexer(sdk, url, check=False, chain_id=1337)
    first.open()
    with pytest.raises(IndexMismatch):
        second.open()
    assert first.identity().chain_id == 31337


def test_a_reader_checks_schema_and_chain_and_writes_nothing(sdk, backend, monkeypatch):
    with pytest.raises(SchemaNotCurrent):
        open_index(backend.url("bare", migrated=False), chain_id=31337,
                   contract=sdk.admin.address)
    url = backend.url()
    reader = open_index(url, chain_id=31337, contract=sdk.admin.address)
    assert reader.status() is None and reader.identity() is None  # no writer yet: fine
    assert reader.certificates_of(sdk.holder.sender) == []
    index = _indexer(sdk, url)
    index.sync()
    status = reader.status()
    assert (status.chain_id, status.contract) == (31337, sdk.admin.address)
    assert status.block == sdk.w3.eth.block_number == status.head and status.lag_blocks == 0
    assert status.seconds_since_check() < 30 and "pid" in status.writer
    # an idle writer still beats: checked_at (and head) move, the cursor does not
    monkeypatch.setattr(sync_module, "HEARTBEAT_SECONDS", 0.0)
    time.sleep(0.05)
    assert index.sync() == 0
    beat = reader.status()
    assert beat.block == status.block and beat.updated_at == status.updated_at
    assert beat.checked_at > status.checked_at
    behind = dataclasses.replace(beat, head=beat.block + 3, checked_at=time.time() - 12)
    assert behind.lag_blocks == 3 and 11 < behind.seconds_since_check() < 14
    data = behind.to_json()
    assert data["lagBlocks"] == 3 and data["chainId"] == 31337 and data["block"] == beat.block
    sdk.buyer.issue(sdk.holder.sender, "1", sdk.coffee_id, "tUSD")
    assert reader.status().block == status.block  # a reader never indexes


def test_an_indexer_and_a_reader_can_share_one_engine(sdk, backend):
    """A single-process site opens one engine for the index, its reader and the sessions."""
    engine = open_engine(backend.url())
    index = _indexer(sdk, engine)
    index.sync()
    reader = open_index(engine, chain_id=31337, contract=sdk.admin.address)
    assert reader.status().block == index.cursor()[0]
    index.close()  # releases its lock; the engine stays the caller's
    assert reader.counts() == index.counts()
    engine.dispose()
