"""The load bench small (bench/relay_load.py): 40 relayed claims and re-gifts through 2
gunicorn workers on their own anvil, on SQLite and PostgreSQL: none lost, none sent twice, no
nonce given twice (the relayer's nonce goes through the database, not a process lock)."""

from __future__ import annotations

from bench.relay_load import run


def test_40_relayed_requests_through_2_workers(backend) -> None:
    outcome = run(requests=40, workers=2, database_url=backend.url("relay-load"), clients=12,
                  say=lambda _m: None)
    assert outcome.accepted == 40 and outcome.mined == 40, outcome
    assert outcome.lost == 0 and outcome.duplicated == 0 and outcome.nonce_collisions == 0
    assert outcome.relayer_txs == 40
