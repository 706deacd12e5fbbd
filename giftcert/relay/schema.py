"""The relay's tables (revision 0003; 0005 widens `operation`): its durable queue and one row
per relayer key.

- `relay_senders`: per (chain, relayer) the next nonce to hand out. It is read and moved only
  inside the relay's serialized transaction (giftcert.relay.store), so every web process draws
  nonces from one counter: no process lock, no two requests with one nonce.
- `relay_requests`: one row per accepted request, keyed by the hash of its signature (the same
  request twice is the same row). It keeps the signed raw transaction and every hash it was
  sent under (a replacement at a higher fee adds one), so a keeper can rebroadcast the exact
  bytes after the chain lost its mempool, and a replacement reuses the nonce.

Created by the migrations, never here (`giftcert db upgrade`, or a SQLite database's automatic
upgrade); a change needs a new revision.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, MetaData, String, Table, Text

from giftcert.database import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)

senders_table = Table(
    "relay_senders", metadata,
    Column("chain_id", BigInteger, primary_key=True),
    Column("relayer", String(42), primary_key=True),
    Column("next_nonce", BigInteger, nullable=False),
    Column("updated", Float, nullable=False),
)

requests_table = Table(
    "relay_requests", metadata,
    Column("id", String(34), primary_key=True),  # "r" + 32 hex of the signature's hash
    Column("sig_hash", String(66), nullable=False, unique=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("contract", String(42), nullable=False),
    Column("relayer", String(42), nullable=False),
    Column("operation", String(32), nullable=False),  # 32 since 0005 ("request-tab-close")
    Column("certificate", String(78), nullable=False),  # uint256 as decimal text
    Column("signer", String(42), nullable=False),  # who authorised it (holder / claim key)
    Column("recipient", String(42), nullable=True),  # who receives (claim, transfer, split)
    Column("client_ip", String(64), nullable=False),
    Column("day", BigInteger, nullable=False),  # UTC day of acceptance (unix time // 86400)
    Column("status", String(8), nullable=False),  # queued | sent | mined | failed
    Column("reason", Text, nullable=True),  # failed: why, in plain words
    Column("code", String(64), nullable=True),  # failed: the contract's error name, if any
    Column("nonce", BigInteger, nullable=False),
    Column("tx_hash", String(66), nullable=False),  # the latest signed transaction's hash
    Column("tx_hashes", Text, nullable=False),  # JSON list: every hash it was signed under
    Column("raw_tx", Text, nullable=False),  # 0x hex of the latest signed transaction
    Column("to_address", String(42), nullable=False),
    Column("data", Text, nullable=False),  # calldata, 0x hex (re-signed at a higher fee)
    Column("gas_limit", BigInteger, nullable=False),
    Column("gas_estimate", BigInteger, nullable=False),  # counted against the day's budget
    Column("max_fee", String(80), nullable=False),  # wei per gas, decimal text
    Column("priority_fee", String(80), nullable=False),
    Column("gas_used", BigInteger, nullable=True),  # mined: replaces the estimate in the budget
    Column("fee_wei", String(80), nullable=True),  # mined: gas used x effective price
    Column("block_number", BigInteger, nullable=True),
    Column("mined_hash", String(66), nullable=True),  # which of tx_hashes was mined
    Column("new_certificate", String(78), nullable=True),  # split: the certificate it made
    Column("payload", Text, nullable=False),  # the request as accepted (JSON)
    Column("created", Float, nullable=False),
    Column("sent_at", Float, nullable=True),  # last broadcast of the current tx_hash
    Column("updated", Float, nullable=False),
    Index("ix_relay_requests_day", "relayer", "day"),
    Index("ix_relay_requests_status", "status"),
)
