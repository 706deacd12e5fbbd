#!/usr/bin/env bash
# make audit: static analysis, large invariant runs, faults, load and hostile HTTP input.
# The audit tools (pinned in pyproject.toml, extra `audit`) live in their own venv, .venv/audit,
# installed only when the pins change; bench/audit.py runs every check and prints the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv/audit
stamp=$venv/.giftcert-audit-stamp
pins=$(.venv/bin/python -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["audit"]))')
if [ ! -x "$venv/bin/python" ]; then
  echo "audit: creating $venv"
  "${PYTHON:-python3}" -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$pins" ]; then
  echo "audit: pip install $pins"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --disable-pip-version-check -q $pins
  echo "$pins" > "$stamp"
fi

exec .venv/bin/python -m bench.audit "$@"
