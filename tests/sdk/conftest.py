"""SDK fixtures: the system deployed once per session through `giftcert.deploy`
(tests/deployed.py); each test runs inside an anvil snapshot reverted afterwards (`sdk`,
`sdk_system`: tests/deployed_fixtures.py). `run`: the `giftcert` command in-process against it
(test_cli.py, test_cli_tabs.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result
from deployed import Deployed
from deployed_fixtures import sdk, sdk_system  # noqa: F401  (the fixtures, for every test here)

from giftcert.cli import main


@pytest.fixture
def run(sdk: Deployed, tmp_path) -> Callable[..., Result]:  # noqa: F811 - the fixture
    """`run(*args, ok=True)`: `giftcert *args` on the test system with its own SQLite database
    and no .env file; with `ok`, asserts that it exited 0."""
    env = {**sdk.env, "GIFTCERT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    runner = CliRunner(mix_stderr=False)

    def invoke(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(main, ["--env-file", str(tmp_path / "none.env"), *args], env=env)
        if ok:
            assert result.exit_code == 0, (result.output, result.stderr)
        return result

    return invoke
