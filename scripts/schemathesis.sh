#!/usr/bin/env bash
# schemathesis against /api-docs/openapi.json, on a fresh SQLite file and on a fresh PostgreSQL
# database with Redis: every response must have a documented status, content type, headers and
# schema, and none may be a 5xx. `make schemathesis` installs schemathesis, builds the server and
# runs this; by hand: scripts/schemathesis.sh [sqlite] [postgres].
#
# Settings (environment): MESSENGER_BIN (the server binary; default the debug build under
# $CARGO_TARGET_DIR or target), SCHEMATHESIS (the schemathesis command), PG_URL and REDIS_URL
# (default the local ones) and SCHEMATHESIS_MAX_EXAMPLES (cases per operation, default 300). The
# cases are derandomized (`--generation-deterministic`): each run sends the same requests.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${MESSENGER_BIN:-${CARGO_TARGET_DIR:-target}/debug/messenger}
SCHEMATHESIS=${SCHEMATHESIS:-$HOME/.cache/messenger-tools/bin/schemathesis}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
REDIS=${REDIS_URL:-redis://127.0.0.1:6379}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-300}
BACKENDS=("$@")
[ ${#BACKENDS[@]} -gt 0 ] || BACKENDS=(sqlite postgres)

[ -x "$BIN" ] || { echo "no server binary at $BIN (cargo build -p domain -p app -p server -p migration -p bench)"; exit 1; }
command -v "$SCHEMATHESIS" >/dev/null || { echo "schemathesis is missing: make schemathesis installs it"; exit 1; }

ADMIN_EMAIL=admin@example.com
ADMIN_PASSWORD=admin-password-1
PASSWORD="correct horse battery"

work=$(mktemp -d)
server_pid=""
fuzzer_pid=""
database=""

stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

drop_database() {
  if [ -n "$database" ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
    database=""
  fi
}

cleanup() {
  if [ -n "$fuzzer_pid" ]; then kill -TERM "$fuzzer_pid" 2>/dev/null || true; wait "$fuzzer_pid" 2>/dev/null || true; fi
  stop_server
  drop_database
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# `schemathesis run` with these arguments, from the scratch folder (it keeps a cache in the
# working directory), in the background so that a signal to this script stops it at once.
fuzz() {
  local status=0
  (cd "$work" && exec "$SCHEMATHESIS" run "$@") &
  fuzzer_pid=$!
  wait "$fuzzer_pid" || status=$?
  fuzzer_pid=""
  return $status
}

# Signs up someone new and prints `session=<token>` from the answer's Set-Cookie.
sign_up() {
  local base=$1 email=$2 headers
  headers=$(curl -sS -o /dev/null -D - -H 'content-type: application/json' \
    --data "{\"email\":\"$email\",\"name\":\"Fuzz\",\"password\":\"$PASSWORD\"}" \
    "$base/api/v1/auth/register")
  grep -qi '^HTTP/[0-9.]* 201' <<<"$headers" || { echo "signing up $email failed: $headers" >&2; return 1; }
  sed -n 's/^[Ss]et-[Cc]ookie: *\(session=[^;]*\).*/\1/p' <<<"$headers" | head -n 1
}

# The operations that end the caller's own session. They run last, on a session of their own.
SESSION_ENDING=("POST /api/v1/auth/logout" "POST /api/v1/sessions/end-others" "DELETE /api/v1/sessions/{id}")

run_backend() {
  local backend=$1 url port base log started
  case "$backend" in
    sqlite)
      url="sqlite://$work/sqlite/messenger.db?mode=rwc"
      ;;
    postgres)
      database="msgtest_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
      psql "$PG_URL/postgres" -qc "CREATE DATABASE \"$database\"" >/dev/null || return 1
      url="$PG_URL/$database"
      ;;
    *)
      echo "unknown backend $backend (sqlite or postgres)"
      return 1
      ;;
  esac
  port=$(free_port)
  base="http://127.0.0.1:$port"
  log="$work/server-$backend.log"
  started=$SECONDS
  (
    [ "$backend" = postgres ] && export REDIS_URL="$REDIS"
    DATABASE_URL="$url" HOST=127.0.0.1 PORT="$port" ADMIN_EMAIL="$ADMIN_EMAIL" ADMIN_PASSWORD="$ADMIN_PASSWORD" \
      RUST_LOG=warn LOG_FORMAT=json exec "$BIN"
  ) >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$log"; echo "the server did not start"; return 1; }
    sleep 0.1
  done
  curl -fsS "$base/healthz" >/dev/null || { cat "$log"; echo "the server did not answer"; return 1; }

  local cookie status=0
  cookie=$(sign_up "$base" "fuzz@example.com") || return 1
  local common=(
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance
    --max-examples "$MAX_EXAMPLES" --generation-deterministic --generation-with-security-parameters false
    --workers 1 --request-timeout 20 --no-color --exclude-name "GET /api/v1/ws"
  )
  local excluded=()
  for name in "${SESSION_ENDING[@]}"; do excluded+=(--exclude-name "$name"); done

  echo "== schemathesis on $backend ($base)"
  fuzz "$base/api-docs/openapi.json" "${common[@]}" "${excluded[@]}" -H "Cookie: $cookie" || status=$?
  # Each operation that ends sessions on a session of its own (once it is ended, the 401s
  # that follow are documented too).
  local i=0 spare
  for name in "${SESSION_ENDING[@]}"; do
    i=$((i + 1))
    spare=$(sign_up "$base" "fuzz-sessions-$i@example.com") || return 1
    echo "== schemathesis on $backend: $name, on a session of its own"
    fuzz "$base/api-docs/openapi.json" "${common[@]}" --include-name "$name" -H "Cookie: $spare" || status=$?
  done

  if grep -q '"level":"ERROR"\|panicked' "$log"; then
    echo "== the server logged errors on $backend:"
    grep '"level":"ERROR"\|panicked' "$log" | head -n 20
    status=1
  fi
  stop_server
  drop_database
  echo "== $backend: $((SECONDS - started)) s, $([ $status -eq 0 ] && echo passed || echo FAILED)"
  return $status
}

failed=()
for backend in "${BACKENDS[@]}"; do
  run_backend "$backend" || failed+=("$backend")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "schemathesis found problems on: ${failed[*]}"
  exit 1
fi
echo "schemathesis: no problems on ${BACKENDS[*]}"
