#!/usr/bin/env bash
# `make run`: local chain (background, with state) -> compile -> deploy -> demo -> serve.
# Steps whose subcommand does not exist yet are reported as skipped, never faked.
set -euo pipefail
cd "$(dirname "$0")/.."
GC=.venv/bin/giftcert

has_command() { "$GC" --help | grep -qE "^  $1( |$)"; }
setting() { .venv/bin/python -c "from giftcert.config import load_settings as l; print(l().$1)"; }

state_dir=$(setting state_dir)
rpc_url=http://127.0.0.1:$(setting anvil_port)
web_url=$(setting web_url)
mkdir -p "$state_dir"
log="$state_dir/chain.log"

chain_pid=""
stop_chain() {
  if [ -n "$chain_pid" ] && kill -0 "$chain_pid" 2>/dev/null; then
    echo "stopping the chain (state is saved)..."
    kill -TERM "$chain_pid" 2>/dev/null || true
    wait "$chain_pid" 2>/dev/null || true
  fi
}
trap stop_chain EXIT
trap 'exit 130' INT TERM

echo "== chain: $rpc_url (log: $log)"
"$GC" chain >"$log" 2>&1 &
chain_pid=$!
for _ in $(seq 1 200); do
  grep -q "^RPC URL:" "$log" 2>/dev/null && break
  if ! kill -0 "$chain_pid" 2>/dev/null; then cat "$log" >&2; exit 1; fi
  sleep 0.1
done
grep -q "^RPC URL:" "$log" || { echo "chain did not start; see $log" >&2; exit 1; }

echo "== compile"
"$GC" compile

# The schema first: web workers and the indexer only check it (they never create tables).
# This is the dev chain's flow, so an index made before migrations existed is dropped and
# rebuilt from the chain (elsewhere `giftcert db upgrade` refuses it and says how to proceed).
echo "== database"
"$GC" db upgrade --drop-legacy

# The demo seeds a deployment once: on a restart it says it is there and adds nothing.
for step in deploy demo; do
  echo "== $step"
  if has_command "$step"; then "$GC" "$step"; else echo "skipped: giftcert $step not built yet"; fi
done

echo
echo "RPC URL:   $rpc_url"
echo "Chain id:  31337 (the wallet calls it a custom network; the site offers to add it)"
# Who is who: the keys a newcomer imports for each role (giftcert/demo.py: ROLES).
.venv/bin/python -c "from giftcert.demo import roles_text; print(roles_text())"
if has_command serve; then
  echo "Site:      $web_url"
  echo "== serve (Ctrl-C stops the site and the chain)"
  "$GC" serve
else
  echo "Site:      skipped: giftcert serve not built yet"
  echo "Chain running; Ctrl-C to stop."
  wait "$chain_pid"
fi
