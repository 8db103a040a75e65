#!/usr/bin/env bash
# Benchmarks of kratos-rs (issue 7): whoami against the HTTP stack's ceiling (/health/alive),
# API login and registration against the raw argon2id rate of the same parameters, admin identity
# list/get at growing sizes, memory, binary size and start-up time. Every ratio is to a baseline
# measured in the same run on the same machine; absolute numbers mean little on a shared box.
#
#   e2e/bench/run.sh                      # full run: release build, SQLite and PostgreSQL, 10k, 100k and 1M identities
#   e2e/bench/run.sh --scales 10000,100000 --duration 5 --flow-duration 15 --backends sqlite
#   e2e/bench/run.sh --smoke              # seconds: debug build, tiny data; fails on errors only
#
# Writes e2e/bench/report/{report.md,plot.svg,results.jsonl}. Needs wrk (installed with apt-get
# when missing and running as root), python3, and for PostgreSQL psql and a server at
# $KRATOS_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail

root=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
cd "$root"
here=e2e/bench

smoke=0 scales=10000,100000,1000000 duration=10 flow_duration=60 backends=sqlite,postgres sessions=1000
connections=64 whoami_rounds=6 flow_rounds=6
args="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --scales) scales=$2; shift ;;
    --duration) duration=$2; shift ;;
    --whoami-rounds) whoami_rounds=$2; shift ;;
    --flow-duration) flow_duration=$2; shift ;;
    --backends) backends=$2; shift ;;
    --connections) connections=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ $smoke = 1 ]; then
  scales=2000 duration=1 flow_duration=2 sessions=100 whoami_rounds=1 flow_rounds=1 profile=dev
else
  profile=release
fi
pg_base=${KRATOS_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}

command -v wrk >/dev/null || {
  echo "installing wrk"
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; fi
  command -v wrk >/dev/null || { echo "run.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
}

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
echo "== building ($profile)"
cargo build -q --profile "$profile" -p kratos-server --bin kratos
[ "$profile" = dev ] && bin=$CARGO_TARGET_DIR/debug/kratos || bin=$CARGO_TARGET_DIR/release/kratos

work=$(mktemp -d)
out=$here/report
mkdir -p "$out"
results=$out/results.jsonl
: >"$results"
server_pid=
pg_db=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$pg_db" ] && psql -qX "$pg_base/postgres" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
meta() { printf '{"type":"meta","values":{"%s":%s}}\n' "$1" "$2" >>"$results"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cpus=$(nproc)
meta args "\"$args\""
meta cpus "$cpus"
meta cpu_model "\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//; s/"//g')\""
strip -o "$work/kratos.stripped" "$bin"
meta binary_bytes "$(stat -c %s "$work/kratos.stripped")"
echo "stripped binary: $(stat -c %s "$work/kratos.stripped") bytes"

write_config() { # dsn public-port admin-port
  cat >"$work/kratos.yml" <<YML
dsn: "$1"
log: { level: error, format: json }
serve:
  public: { host: 127.0.0.1, port: $2, base_url: "http://127.0.0.1:$2/" }
  admin: { host: 127.0.0.1, port: $3, base_url: "http://127.0.0.1:$3/" }
secrets:
  default: ["bench-default-secret-long-enough-0123456789"]
  cookie: ["$cookie_secret"]
identity:
  default_schema_id: default
  schemas: [{ id: default, url: "file://$root/$here/identity.schema.json" }]
hashers:
  algorithm: argon2
  argon2: { memory: 64MB, iterations: 1, parallelism: 1, dedicated_memory: 1GB }
selfservice:
  default_browser_return_url: "http://127.0.0.1:4455/"
  methods:
    password: { enabled: true, config: { haveibeenpwned_enabled: false } }
YML
}
cookie_secret=bench-cookie-secret-long-enough-0123456789
bench_password=bench-passphrase-that-is-long-enough-42 # bench.py PASSWORD, the login users' password

# The physical limit of the login and registration flows: raw argon2id hashes per second on every
# core, with the parameters of the server's configuration ($work/kratos.yml): one sequential
# hashing process per core, each one's cold first hash left out. Measured in rounds interleaved
# with the flows' (see run_hash_bound), so that both see the machine in the same state.
meta argon2_params '"argon2id m=64MB t=1 p=1"'

# wrk runs → one result line. Args: backend name url baseline [env...]. With --rounds N, the
# runs of the same round number are recorded in $work/rounds/<name> and aggregated by
# record_rounds; alone, one run of $duration seconds is recorded.
wrk_json() { # seconds url [env...]
  local secs=$1 url=$2; shift 2
  env "$@" wrk -t2 -c"$connections" -d"${secs}s" --timeout 10s -s $here/wrk.lua "$url" | sed -n 's/^JSON //p'
}
record() { # backend name baseline file-of-wrk-json-lines
  python3 - "$@" >>"$results" <<'PY'
import json, statistics, sys
b, name, base, path = sys.argv[1:]
runs = [json.loads(line) for line in open(path) if line.strip()]
secs = sum(r["duration_us"] for r in runs) / 1e6
requests = sum(r["requests"] for r in runs)
# Percentiles: the median of the runs' (wrk reports no mergeable histogram).
print(json.dumps({"backend": b, "name": name, "baseline": base or None,
                  "rps": round(requests / secs, 1),
                  "p50_ms": statistics.median(r["p50_us"] for r in runs) / 1000,
                  "p99_ms": statistics.median(r["p99_us"] for r in runs) / 1000,
                  "errors": sum(r["errors"] + r["non2xx"] for r in runs), "requests": requests,
                  "rounds": len(runs)}))
PY
  tail -n1 "$results"
  local errs
  errs=$(tail -n1 "$results" | python3 -c 'import json,sys; print(json.load(sys.stdin)["errors"])')
  [ "$errs" = 0 ] || fail "$2 ($1): $errs failed requests"
}
run_wrk() {
  local backend=$1 name=$2 url=$3 baseline=$4; shift 4
  local line
  line=$(wrk_json "$duration" "$url" "$@")
  [ -n "$line" ] || fail "$backend $name: wrk printed no summary"
  echo "$line" >"$work/run.jsonl"
  record "$backend" "$name" "$baseline" "$work/run.jsonl"
}
# Scenarios compared with each other are measured in interleaved rounds (A B C A B C ...), so that
# a busy moment on a shared machine weighs on baseline and scenario alike.
# Args: backend seconds-per-round rounds then, per scenario, "name|url|baseline|env..." (env
# space-separated).
run_interleaved() {
  local backend=$1 secs=$2 rounds=$3; shift 3
  local round spec name url baseline env line
  rm -rf "$work/rounds"; mkdir -p "$work/rounds"
  for round in $(seq 1 "$rounds"); do
    for spec in "$@"; do
      IFS='|' read -r name url baseline env <<<"$spec"
      # shellcheck disable=SC2086 # env is a list of VAR=value words
      line=$(wrk_json "$secs" "$url" $env)
      [ -n "$line" ] || fail "$backend $name: wrk printed no summary"
      echo "$line" >>"$work/rounds/$(echo "$name" | tr -c 'a-zA-Z0-9' _)"
    done
  done
  for spec in "$@"; do
    IFS='|' read -r name url baseline env <<<"$spec"
    record "$backend" "$name" "$baseline" "$work/rounds/$(echo "$name" | tr -c 'a-zA-Z0-9' _)"
  done
}

# API login or registration driven by wrk (flows.lua: create the flow, submit it; one connection
# per thread) → one JSON line: operations per second, submit latency, failures. Eight clients keep
# the hashing slots of a small machine busy (a queue of several waiting logins) without a wrk
# thread per extra idle connection competing for the cores; rounds of 10 s keep the pipeline's
# fill and drain, which the raw rate does not pay, near 1%.
run_flows() { # backend kind seconds
  local conns=$((smoke ? 4 : 8)) secs line
  secs=$(python3 -c "print(max(1, round($3)))")
  line=$(KIND=$2 PASSWORD=$bench_password USERS=8 TAG="$1-$RANDOM$RANDOM" \
    wrk -t"$conns" -c"$conns" -d"${secs}s" --timeout 30s -s $here/flows.lua "$public" | sed -n 's/^JSON //p')
  [ -n "$line" ] || fail "$1 $2 flow: wrk printed no summary"
  python3 - "$line" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
secs = r["duration_us"] / 1e6
print(json.dumps({"rps": round(r["operations"] / secs, 2), "seconds": round(secs, 3),
                  "p50_ms": r["submit_p50_us"] / 1000, "p99_ms": r["submit_p99_us"] / 1000,
                  "requests": r["operations"], "errors": r["failed"] + r["errors"],
                  "first_error": r["first_error"] or None}))
PY
}
# Raw hashing, API login and API registration in $flow_rounds interleaved rounds of
# $flow_duration/$flow_rounds seconds each; the flows' ratio is to the mean raw rate.
run_hash_bound() {
  local backend=$1 secs round kind
  secs=$(python3 -c "print(max(1.0, $flow_duration / $flow_rounds))")
  rm -rf "$work/hb"; mkdir -p "$work/hb"
  for round in $(seq 1 "$flow_rounds"); do
    python3 $here/bench.py rawhash --bin "$bin" --config "$work/kratos.yml" --cpus "$cpus" \
      --seconds "$secs" >>"$work/hb/raw"
    for kind in login registration; do
      run_flows "$backend" "$kind" "$secs" >>"$work/hb/$kind"
    done
  done
  python3 - "$backend" "$work/hb" >>"$results" <<'PY'
import json, statistics, sys
b, d = sys.argv[1:]
raws = [json.loads(l) for l in open(d + "/raw") if l.strip()]
raw = statistics.mean(r["rps"] for r in raws)
print(json.dumps({"type": "meta", "values": {f"raw_argon2_{b}": {
    "rps": round(raw, 2), "rounds": [r["rps"] for r in raws], "hashes": sum(r["hashes"] for r in raws),
    "workers": raws[0]["workers"], "wall_seconds": round(sum(r["wall_seconds"] for r in raws), 1),
    "mean_ms": round(statistics.mean(r["mean_ms"] for r in raws), 1)}}}))
for kind in ("login", "registration"):
    runs = [json.loads(l) for l in open(f"{d}/{kind}") if l.strip()]
    secs = sum(r["seconds"] for r in runs)
    requests = sum(r["requests"] for r in runs)
    print(json.dumps({"backend": b, "name": f"API {kind} (argon2id)", "baseline_rps": round(raw, 2),
                      "rps": round(requests / secs, 2), "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                      "p99_ms": statistics.median(r["p99_ms"] for r in runs), "requests": requests,
                      "errors": sum(r["errors"] for r in runs), "rounds": [r["rps"] for r in runs],
                      "first_error": next((r["first_error"] for r in runs if r["first_error"]), None)}))
PY
  tail -n3 "$results"
  tail -n2 "$results" | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["errors"] or not r["requests"]:
        sys.exit("FAIL: %s %s: %s" % (r["backend"], r["name"], l))'
}

label() { python3 -c "n=$1; print(f'{n//1000000}M' if n>=1000000 and n%1000000==0 else f'{n//1000}k' if n>=1000 else str(n))"; }

for backend in ${backends//,/ }; do
  echo "== $backend"
  case $backend in
    # The database in a directory of its own, as deployments keep data apart from configuration
    # (beside kratos.yml, every write would also wake the configuration watcher's thread).
    sqlite) mkdir -p "$work/db"; dsn="sqlite://$work/db/bench.sqlite?_fk=true&mode=rwc" ;;
    postgres)
      pg_db=kratos_bench_$$
      psql -qX "$pg_base/postgres" -c "CREATE DATABASE $pg_db" >/dev/null || fail "PostgreSQL at $pg_base is not reachable"
      dsn="$pg_base/$pg_db?sslmode=disable" ;;
    *) fail "unknown backend $backend" ;;
  esac
  pub=$(free_port) adm=$(free_port)
  public=http://127.0.0.1:$pub admin=http://127.0.0.1:$adm
  write_config "$dsn" "$pub" "$adm"
  DSN=$dsn "$bin" migrate sql -e --yes -c "$work/kratos.yml" >/dev/null
  started=$(python3 $here/bench.py serve --bin "$bin" --config "$work/kratos.yml" --log "$work/server-$backend.log" --ready "127.0.0.1:$pub")
  server_pid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pid"])' "$started")
  meta "ready_ms_$backend" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ready_ms"])' "$started")"
  sleep 0.3
  meta "rss_idle_mb_$backend" "$(python3 $here/bench.py rss --pid "$server_pid")"
  echo "ready: $started"

  python3 $here/bench.py users --admin "$admin" --users 8
  seeded=0
  first=1
  for scale in ${scales//,/ }; do
    [ "$scale" -gt "$seeded" ] || continue
    s=$(python3 $here/bench.py seed --dsn "$dsn" --identities $((scale - seeded)) --start "$seeded" \
      --sessions $((first ? sessions : 0)) --out "$work/data" --cookie-secret "$cookie_secret")
    meta "seed_${backend}_$(label "$scale")" "$s"
    echo "seeded: $s"
    seeded=$scale
    if [ $first = 1 ]; then
      sed 's/^/ory_kratos_session=/' "$work/data.cookies" >"$work/cookies"
      sed 's|^|/admin/identities/|' "$work/data.ids" >"$work/paths.get"
      # RSS under load: sampled during the first round of whoami by token.
      ( sleep "$(python3 -c "print($duration * 0.75)")"; python3 $here/bench.py rss --pid "$server_pid" >"$work/rss_load" ) &
      # Whoami against its baseline: $whoami_rounds interleaved rounds of $duration/2 s each.
      run_interleaved "$backend" "$(((duration + 1) / 2))" "$whoami_rounds" \
        "/health/alive|$public/health/alive||" \
        "whoami (token)|$public/sessions/whoami|/health/alive|HEADER=X-Session-Token VALUES=$work/data.tokens" \
        "whoami (cookie)|$public/sessions/whoami|/health/alive|HEADER=Cookie VALUES=$work/cookies"
      wait
      meta "rss_load_mb_$backend" "$(cat "$work/rss_load")"
      run_wrk "$backend" "/admin/health/alive" "$admin/admin/health/alive" ""
      run_hash_bound "$backend"
      meta "rss_after_flows_mb_$backend" "$(python3 $here/bench.py rss --pid "$server_pid")"
      base_list="/admin/health/alive" base_get="/admin/health/alive"
    fi
    l=$(label "$scale")
    run_wrk "$backend" "list identities @$l" "$admin/admin/identities?page_size=250" "$base_list"
    run_wrk "$backend" "get identity @$l" "$admin/admin/identities" "$base_get" PATHS="$work/paths.get"
    if [ $first = 1 ]; then
      base_list="list identities @$l" base_get="get identity @$l"
    fi
    first=0
  done
  kill "$server_pid"
  for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.05; done
  server_pid=
  if [ "$backend" = postgres ]; then
    psql -qX "$pg_base/postgres" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null; pg_db=
  fi
done

python3 $here/bench.py report --results "$results" --out "$out"
echo "== report: $out/report.md"
