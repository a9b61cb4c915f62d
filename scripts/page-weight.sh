#!/usr/bin/env bash
# Page weight and time to interactive of the release build: starts the server on a fresh SQLite
# file and a free port, runs scripts/page-weight.mjs against it in Debian's Chromium (bytes on
# the wire of a first visit; /login and a signed-in reload of / under Fast 3G and a 4x slower
# CPU), then stops the server and removes its folder. By hand, after `cargo xtask build --release`:
# scripts/page-weight.sh [--json-out FILE] [--verbose] [--samples N] (passed on to the .mjs)
#
# Settings (environment): MESSENGER_BIN (the server binary; default the release build under
# $CARGO_TARGET_DIR or target) and MESSENGER_SITE (the built site; default target/site).
set -euo pipefail
caller=$(pwd)
cd "$(dirname "$0")/.."
root=$(pwd)

# A relative --json-out is taken from where the script was called.
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --json-out)
      [ $# -ge 2 ] || { echo "--json-out needs a file"; exit 1; }
      case "$2" in /*) args+=("$1" "$2") ;; *) args+=("$1" "$caller/$2") ;; esac
      shift 2
      ;;
    *) args+=("$1"); shift ;;
  esac
done

BIN=${MESSENGER_BIN:-${CARGO_TARGET_DIR:-target}/release/messenger}
SITE=${MESSENGER_SITE:-$root/target/site}
# The server runs in its own folder: make the paths absolute.
case "$BIN" in /*) ;; *) BIN="$root/$BIN" ;; esac
case "$SITE" in /*) ;; *) SITE="$root/$SITE" ;; esac

[ -x "$BIN" ] || { echo "no server binary at $BIN (cargo xtask build --release)"; exit 1; }
[ -f "$SITE/pkg/output-name" ] || { echo "no release site at $SITE (cargo xtask build --release)"; exit 1; }
[ -x /usr/bin/chromium ] || { echo "chromium is missing: apt-get install -y chromium"; exit 1; }
[ -d end2end/node_modules/@playwright/test ] || { echo "Playwright is missing: cd end2end && npm ci --no-audit --no-fund"; exit 1; }

work=$(mktemp -d)
server_pid=""

stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port=$(free_port)
base="http://127.0.0.1:$port"
log="$work/server.log"
(
  cd "$work"
  PORT="$port" HOST=127.0.0.1 DATABASE_URL="sqlite://$work/m.db?mode=rwc" ADMIN_PASSWORD=page-weight-admin-1 \
    LEPTOS_SITE_ROOT="$SITE" RUST_LOG=warn RATE_LIMITS=off exec "$BIN"
) >"$log" 2>&1 &
server_pid=$!
for _ in $(seq 600); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$log"; echo "the server did not start"; exit 1; }
  sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null || { cat "$log"; echo "the server did not answer /healthz within 60 s"; exit 1; }

status=0
node scripts/page-weight.mjs --url "$base" ${args[@]+"${args[@]}"} || status=$?
if grep -q 'ERROR\|panicked' "$log"; then
  echo "== the server logged errors:"
  grep 'ERROR\|panicked' "$log" | head -n 20
fi
exit $status
