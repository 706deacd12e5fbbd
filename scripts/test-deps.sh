#!/usr/bin/env bash
# What `make test` needs beyond `make setup`: Debian's Chromium for the browser suite (never
# `playwright install`) and PostgreSQL for the database tests (they start throwaway clusters
# with initdb/pg_ctl; GIFTCERT_TEST_POSTGRES_URL points them at a server instead). Installed
# here when this user may (root, or sudo without a password); otherwise the run stops before
# any test starts, with the one command to run.
set -euo pipefail

has_postgres() {
  [ -n "${GIFTCERT_TEST_POSTGRES_URL:-}" ] && return 0
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium chromium-driver)
has_postgres || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "test: ${missing[*]} missing; run: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "test: installing what the tests need (apt-get install ${missing[*]})"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/tmp/giftcert-apt.log 2>&1 \
  || { cat /tmp/giftcert-apt.log >&2; exit 1; }
