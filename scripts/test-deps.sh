#!/usr/bin/env bash
# What `make test` needs beyond `make setup`: Debian's Chromium for the browser suite (never
# `playwright install`). Installed here when this user may (root, or sudo without a password);
# otherwise the run stops before any test starts, with the one command to run.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "test: Chromium is missing; run: sudo apt-get install chromium chromium-driver" >&2
  exit 1
fi
echo "test: installing Chromium for the browser tests (apt-get install chromium chromium-driver)"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/tmp/giftcert-apt.log 2>&1 \
  || { cat /tmp/giftcert-apt.log >&2; exit 1; }
