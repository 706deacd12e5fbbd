"""Security tests reuse the contract harness (tests/contracts/harness.py): the deployed system
with two merchants and a stablecoin (`system`, session-wide) and its per-test snapshot (`h`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "contracts"))

from harness import h, system  # noqa: E402, F401 - re-exported as fixtures
