"""Deployment record: reuse, --fresh, stale records; the indexer's follow loop."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from giftcert.deploy import connect, deploy_system, load_deployment, record_path
from giftcert.indexer import Indexer


def _quiet(_message: str) -> None:
    pass


def test_reuse_fresh_and_stale_record(sdk, tmp_path):
    shutil.copy(record_path(31337, Path(sdk.env["GIFTCERT_DEPLOYMENTS_DIR"])),
                tmp_path / "31337.json")
    record, created = deploy_system(sdk.w3, sdk.settings, directory=tmp_path, say=_quiet)
    assert not created and record == sdk.record
    fresh, created = deploy_system(sdk.w3, sdk.settings, fresh=True, directory=tmp_path,
                                   say=_quiet)
    assert created and fresh.gift_certificates != sdk.record.gift_certificates
    saved = json.loads((tmp_path / "31337.json").read_text())
    assert saved["gift_certificates"] == fresh.gift_certificates and saved["chain_id"] == 31337
    assert set(saved) >= {"abi_hash", "block", "deployer", "renderer", "test_usd"}
    client, _ = connect(sdk.settings, directory=tmp_path)
    assert [c.symbol for c in client.currencies()] == ["ETH", "tUSD"]
    stale = {**saved, "gift_certificates": "0x" + "12" * 20}  # no code there
    (tmp_path / "31337.json").write_text(json.dumps(stale))
    again, created = deploy_system(sdk.w3, sdk.settings, directory=tmp_path, say=_quiet)
    assert created and load_deployment(31337, tmp_path) == again


def test_follow_indexes_until_stopped(sdk, tmp_path):
    index = Indexer(sdk.w3, sdk.admin.contract, f"sqlite:///{tmp_path / 'f.db'}",
                    start_block=sdk.record.block)
    polls = []

    def stop() -> bool:
        if len(polls) == 1:
            sdk.buyer.issue(sdk.holder.sender, "1", sdk.coffee_id, "tUSD")
        polls.append(1)
        return len(polls) > 2

    index.follow(poll_seconds=0.01, stop=stop)
    assert len(index.certificates_of(sdk.holder.sender)) == 1
