"""What the CLI tests (test_cli.py, test_cli_tabs.py) check of a refused command: it exits
non-zero with one `Error:` line and no traceback. Their `run` fixture is in conftest.py."""

from __future__ import annotations

from click.testing import Result


def one_line_error(result: Result, *needles: str) -> None:
    """`result` failed in one line, `Error: ...`, that says each of `needles`."""
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output
    last = output.strip().splitlines()[-1]
    assert last.startswith("Error:"), output
    for needle in needles:
        assert needle in last, last
