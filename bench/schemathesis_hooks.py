"""Test data for the API's own string formats (schemathesis: SCHEMATHESIS_HOOKS=this file, or
import it), so positive runs send what the schemas describe and validation lets through:
addresses (`eth-address`: any 20 bytes, lowercase hex, which needs no EIP-55 checksum) and
amounts (`decimal-amount`: up to two decimals, as a price is written). Without them a random
mixed-case address is refused for its checksum and almost no generated purchase gets past
validation to the contract's checks."""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

ADDRESSES = st.binary(min_size=20, max_size=20).map(lambda raw: "0x" + raw.hex())
AMOUNTS = st.integers(min_value=1, max_value=10**7).map(lambda c: f"{c // 100}.{c % 100:02d}")

schemathesis.openapi.format("eth-address", ADDRESSES)
schemathesis.openapi.format("decimal-amount", AMOUNTS)
