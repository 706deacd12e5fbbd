"""Security tests reuse the contract harness (tests/contracts/harness.py): the deployed system
with two merchants and a stablecoin (`system`, session-wide) and its per-test snapshot (`h`)."""

import importlib.util
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "contracts"))

from harness import h, system  # noqa: E402, F401 - re-exported as fixtures

# The web fixtures (`web_system`, `web`: the site over the session anvil, Flask test client)
# come from tests/web/conftest.py, loaded under another module name.
_spec = importlib.util.spec_from_file_location(
    "web_fixtures", Path(__file__).resolve().parent.parent / "web" / "conftest.py"
)
_web = importlib.util.module_from_spec(_spec)
sys.modules["web_fixtures"] = _web  # dataclasses look their module up there
_spec.loader.exec_module(_web)
web_system = _web.web_system
web = _web.web
