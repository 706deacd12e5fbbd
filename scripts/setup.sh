#!/usr/bin/env bash
# Idempotent setup: venv, `pip install -e '.[dev]'` and `npm ci` only when their inputs changed
# (a stamp holds the sha256 of pyproject.toml / package-lock.json), then link the toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

digest() { sha256sum "$1" | cut -d' ' -f1; }
stale() { [ ! -f "$1" ] || [ "$(cat "$1")" != "$(digest "$2")" ]; }

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "${PYTHON:-python3}" -m venv .venv
fi

pip_stamp=.venv/.giftcert-pip-stamp
if stale "$pip_stamp" pyproject.toml; then
  # The package with its development extra (tests, lint, mypy, ape); runtime-only installs
  # use `pip install .`.
  echo "setup: pip install -e '.[dev]' (pyproject.toml changed or first run)"
  .venv/bin/pip install --disable-pip-version-check -q -e '.[dev]'
  digest pyproject.toml > "$pip_stamp"
fi

npm_stamp=node_modules/.giftcert-npm-stamp
if stale "$npm_stamp" package-lock.json; then
  # A tree npm itself installed from this lockfile needs no reinstall: `npm ci` would wipe
  # node_modules under anyone currently compiling or running anvil from it.
  if [ -f node_modules/.package-lock.json ] && npm ls --depth=0 >/dev/null 2>&1 \
      && [ ! package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: node_modules already matches package-lock.json"
  else
    echo "setup: npm ci (package-lock.json changed or first run)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  digest package-lock.json > "$npm_stamp"
fi

# py-solc-x / ape-solidity find solc 0.8.37 through this link; ape-foundry needs anvil on PATH.
.venv/bin/python -c "from giftcert.compiler import ensure_solcx_link; ensure_solcx_link()"
ln -sf "$PWD/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" .venv/bin/anvil

# Browser libraries for the web app, served from the project (no CDN): secp256k1 + keccak for
# claim links, a QR encoder, a QR decoder (the merchant desk's camera scan). Copied from
# node_modules (pinned in package.json).
vendor=webapp/static/vendor
mkdir -p "$vendor/noble-curves/abstract" "$vendor/noble-hashes" "$vendor/jsqr"
cp node_modules/@noble/curves/*.js "$vendor/noble-curves/"
cp node_modules/@noble/curves/abstract/*.js "$vendor/noble-curves/abstract/"
cp node_modules/@noble/hashes/*.js "$vendor/noble-hashes/"
cp node_modules/qrcode-generator/dist/qrcode.mjs "$vendor/qrcode.mjs"
cp node_modules/jsqr/dist/jsQR.js "$vendor/jsqr/jsQR.js"
cp node_modules/@noble/curves/LICENSE "$vendor/noble-curves/LICENSE"
cp node_modules/@noble/hashes/LICENSE "$vendor/noble-hashes/LICENSE"
cp node_modules/jsqr/LICENSE "$vendor/jsqr/LICENSE"
