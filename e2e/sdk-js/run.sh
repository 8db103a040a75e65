#!/usr/bin/env bash
# Runs the official TypeScript SDK (@ory/kratos-client, pinned in package.json) against a real
# kratos-rs server: installs the locked dependencies, migrates a fresh SQLite file, serves on free
# loopback ports, waits for readiness, runs the node:test suite, and stops the server.
set -euo pipefail
cd "$(dirname "$0")"
here="$(pwd)"

bin="${KRATOS_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/kratos-rs/target}/debug/kratos}"
if [ ! -x "$bin" ]; then
  echo "FATAL: server binary $bin not found (build it with cargo build --bin kratos or set KRATOS_BIN)" >&2
  exit 1
fi

npm ci --no-audit --no-fund --prefer-offline >/dev/null

work="$(mktemp -d /tmp/kratos-sdk-js.XXXXXX)"
server_pids=""
sink_pid=""
cleanup() {
  for pid in $server_pids $sink_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# The SMTP sink the courier delivers to; tests read codes and links from what it received.
mkdir -p "$work/spool"
node lib/smtp-sink.js "$work/smtp.port" "$work/spool" &
sink_pid=$!
for _ in $(seq 1 50); do [ -s "$work/smtp.port" ] && break; sleep 0.1; done
smtp_port="$(cat "$work/smtp.port")"

# start_server NAME METHOD: migrates NAME's own SQLite file and serves the template with
# recovery/verification using METHOD (code or link; a server uses one of them at a time) on free
# ports; sets PUBLIC_PORT/ADMIN_PORT and appends the pid to server_pids.
start_server() {
  local name="$1" method="$2"
  PUBLIC_PORT="$(free_port)"
  ADMIN_PORT="$(free_port)"
  while [ "$ADMIN_PORT" = "$PUBLIC_PORT" ]; do ADMIN_PORT="$(free_port)"; done
  local dsn="sqlite://$work/$name.sqlite?_fk=true&mode=rwc"
  sed -e "s|@PUBLIC_PORT@|$PUBLIC_PORT|g" -e "s|@ADMIN_PORT@|$ADMIN_PORT|g" -e "s|@DSN@|$dsn|g" \
      -e "s|@SMTP_PORT@|$smtp_port|g" -e "s|@DIR@|$here|g" -e "s|use: code|use: $method|g" \
      kratos.template.yml >"$work/$name.yml"
  "$bin" migrate sql -e --yes -c "$work/$name.yml" >"$work/$name-migrate.log" 2>&1 || { cat "$work/$name-migrate.log" >&2; exit 1; }
  "$bin" serve --dev --watch-courier -c "$work/$name.yml" >"$work/$name.log" 2>&1 &
  local pid=$!
  server_pids="$server_pids $pid"
  local ready=""
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$ADMIN_PORT/health/ready" >/dev/null 2>&1; then ready=1; break; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.2
  done
  if [ -z "$ready" ]; then
    echo "FATAL: the $name server did not become ready; its log:" >&2
    cat "$work/$name.log" >&2
    exit 1
  fi
}

start_server kratos code
public_port="$PUBLIC_PORT"; admin_port="$ADMIN_PORT"
start_server kratos-link link
link_public_port="$PUBLIC_PORT"; link_admin_port="$ADMIN_PORT"

status=0
SMTP_SPOOL="$work/spool" \
  KRATOS_LINK_PUBLIC_URL="http://127.0.0.1:$link_public_port" KRATOS_LINK_ADMIN_URL="http://127.0.0.1:$link_admin_port" \
  KRATOS_PUBLIC_URL="http://127.0.0.1:$public_port" KRATOS_ADMIN_URL="http://127.0.0.1:$admin_port" \
  node --test --test-concurrency=1 test/ || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log (last 80 lines) ---" >&2
  tail -n 80 "$work/kratos.log" "$work/kratos-link.log" >&2
fi
exit "$status"
