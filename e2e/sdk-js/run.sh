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
server_pid=""
sink_pid=""
cleanup() {
  if [ -n "$sink_pid" ]; then kill "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; fi
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
public_port="$(free_port)"
admin_port="$(free_port)"
while [ "$admin_port" = "$public_port" ]; do admin_port="$(free_port)"; done

# The SMTP sink the courier delivers to; tests read codes and links from what it received.
mkdir -p "$work/spool"
node lib/smtp-sink.js "$work/smtp.port" "$work/spool" &
sink_pid=$!
for _ in $(seq 1 50); do [ -s "$work/smtp.port" ] && break; sleep 0.1; done
smtp_port="$(cat "$work/smtp.port")"

dsn="sqlite://$work/kratos.sqlite?_fk=true&mode=rwc"
sed -e "s|@PUBLIC_PORT@|$public_port|g" -e "s|@ADMIN_PORT@|$admin_port|g" \
    -e "s|@DSN@|$dsn|g" -e "s|@SMTP_PORT@|$smtp_port|g" -e "s|@DIR@|$here|g" kratos.template.yml >"$work/kratos.yml"

"$bin" migrate sql -e --yes -c "$work/kratos.yml" >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; exit 1; }
"$bin" serve --dev --watch-courier -c "$work/kratos.yml" >"$work/server.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$admin_port/health/ready" >/dev/null 2>&1; then ready=1; break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  echo "FATAL: the server did not become ready; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

status=0
SMTP_SPOOL="$work/spool" KRATOS_PUBLIC_URL="http://127.0.0.1:$public_port" KRATOS_ADMIN_URL="http://127.0.0.1:$admin_port" \
  node --test --test-concurrency=1 test/ || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log (last 80 lines) ---" >&2
  tail -n 80 "$work/server.log" >&2
fi
exit "$status"
