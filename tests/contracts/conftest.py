"""Fixtures for contract tests live in harness.py, which test modules import by name
(`from harness import ...`): a module called conftest is ambiguous once several folders have one."""

from harness import h, system  # noqa: F401 - re-exported as fixtures
