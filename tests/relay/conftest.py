"""Relay fixtures live in relay_stack.py, which test modules import by name (`from relay_stack
import ...`): a module called conftest is ambiguous once several folders have one (which one
`from conftest import` finds depends on what else the process collected first)."""

from db.backends import backend  # noqa: F401 - re-exported as a fixture
from relay_stack import make_site, relay_system, site, system  # noqa: F401 - fixtures
