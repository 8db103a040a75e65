#!/usr/bin/env python3
"""Helpers of e2e/bench/run.sh: start the server and time it to ready, seed identities and
sessions in bulk (SQL, not the API: minutes matter), measure the raw argon2id rate, create the
login users, and write the report (markdown and an SVG plot). Standard library only."""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

PASSWORD = "bench-passphrase-that-is-long-enough-42"


def token(n):
    return "ory_st_bench%020d" % n


def cookie_value(tok, secret):
    """A session cookie as the server issues it: token, the session expiry it was issued for (here
    later than the seeded sessions', so whoami has no reason to issue it again), and their HMAC."""
    expires_us = (int(time.time()) + 31 * 86400) * 1000000
    signed = "%s.%d" % (tok, expires_us)
    mac = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()
    return signed + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


# --------------------------------------------------------------------------------------------
# serve: start the server detached, report the time to the first 200 of /health/ready
# --------------------------------------------------------------------------------------------

def cmd_serve(a):
    log = open(a.log, "ab")
    start = time.perf_counter()
    proc = subprocess.Popen([a.bin, "serve", "-c", a.config], stdout=log, stderr=log,
                            start_new_session=True)
    host, port = a.ready.split(":")
    while True:
        if proc.poll() is not None:
            sys.exit("server exited during start-up (see %s)" % a.log)
        try:
            c = http.client.HTTPConnection(host, int(port), timeout=1)
            c.request("GET", "/health/ready")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.perf_counter() - start > 30:
            proc.kill()
            sys.exit("server not ready after 30s (see %s)" % a.log)
        time.sleep(0.002)
    ready_ms = (time.perf_counter() - start) * 1000
    time.sleep(0.05)
    if proc.poll() is not None:
        sys.exit("server exited right after start-up; is another one on its port? (see %s)" % a.log)
    print(json.dumps({"pid": proc.pid, "ready_ms": round(ready_ms, 1)}))


def cmd_rss(a):
    with open("/proc/%d/status" % a.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                print(int(line.split()[1]) // 1024)
                return
    sys.exit("no VmRSS")


# --------------------------------------------------------------------------------------------
# rawhash: the physical limit of password hashing, argon2id with the server's parameters
# --------------------------------------------------------------------------------------------

DURATION_UNITS = {"ns": 1e-9, "\u00b5s": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def go_duration(text):
    import re
    return sum(float(v) * DURATION_UNITS[u] for v, u in re.findall(r"([0-9.]+)(ns|\u00b5s|us|ms|s|m|h)", text))


def hash_durations(a, count):
    """Starts one `kratos hashers argon2 hash` (sequential) with `count` passwords; returns it."""
    return subprocess.Popen([a.bin, "hashers", "argon2", "hash", "-c", a.config]
                            + ["raw-%d-%s" % (n, PASSWORD) for n in range(count)],
                            stdout=subprocess.PIPE, text=True)


def per_hash(proc):
    out, _ = proc.communicate()
    if proc.returncode != 0:
        sys.exit("kratos hashers argon2 hash failed")
    return [go_duration(line.split(":", 1)[1]) for line in out.splitlines() if line.startswith("password ")]


def cmd_rawhash(a):
    """Hashes per second with every core busy, as a saturated server would be: one sequential
    hashing process per core, run long enough (`--seconds`), each process's first hash left out
    (a cold start: fresh process, first touch of its memory)."""
    probe = per_hash(hash_durations(a, 2))
    one = max(probe[-1], 1e-3)
    count = max(3, min(500, int(a.seconds / one) + 1))
    procs = [hash_durations(a, count) for _ in range(a.cpus)]
    t0 = time.perf_counter()
    runs = [per_hash(p) for p in procs]
    wall = time.perf_counter() - t0
    rate = sum((len(r) - 1) / sum(r[1:]) for r in runs)
    print(json.dumps({"rps": round(rate, 2), "hashes": sum(len(r) for r in runs), "workers": a.cpus,
                      "wall_seconds": round(wall, 1), "mean_ms": round(1000 * a.cpus / rate, 1)}))


# --------------------------------------------------------------------------------------------
# seed: identities (with a verifiable and a recovery address) and sessions (with a device)
# --------------------------------------------------------------------------------------------

def methods_json(now_iso):
    return json.dumps([{"method": "password", "aal": "aal1", "completed_at": now_iso}])


def seed_sqlite(a):
    import sqlite3
    db = sqlite3.connect(a.dsn.split("://", 1)[1].split("?")[0])
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    now = datetime.now(timezone.utc)
    ts = now.isoformat()
    later = (now + timedelta(days=30)).isoformat()
    start = a.start
    ids = []
    batch = 20000
    for base in range(start, start + a.identities, batch):
        rows_i, rows_v, rows_r = [], [], []
        for n in range(base, min(base + batch, start + a.identities)):
            iid = uuid.uuid4()
            email = "user%d@bench.test" % n
            rows_i.append((iid.bytes, "default", json.dumps({"email": email}), "active", ts, "aal1", ts, ts))
            rows_v.append((uuid.uuid4().bytes, iid.bytes, "email", email, 0, "pending", ts, ts))
            rows_r.append((uuid.uuid4().bytes, iid.bytes, "email", email, ts, ts))
            if len(ids) < max(a.sessions, 1000):
                ids.append(iid)
        db.executemany("INSERT INTO identities (id, schema_id, traits, state, state_changed_at, available_aal, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)", rows_i)
        db.executemany("INSERT INTO identity_verifiable_addresses (id, identity_id, via, value, verified, status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)", rows_v)
        db.executemany("INSERT INTO identity_recovery_addresses (id, identity_id, via, value, created_at, updated_at) VALUES (?,?,?,?,?,?)", rows_r)
        db.commit()
    if a.sessions:
        rows_s, rows_d = [], []
        for n in range(a.sessions):
            sid = uuid.uuid4()
            tok = token(n)
            rows_s.append((sid.bytes, ids[n % len(ids)].bytes, hashlib.sha256(tok.encode()).hexdigest(),
                           hashlib.sha256(("lo" + tok).encode()).hexdigest(), 1, "aal1", methods_json(ts),
                           ts, ts, later, ts, ts))
            rows_d.append((uuid.uuid4().bytes, sid.bytes, "127.0.0.1", "wrk", "", ts, ts))
        db.executemany("INSERT INTO sessions (id, identity_id, token_hash, logout_token_hash, active, aal, authentication_methods, issued_at, authenticated_at, expires_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows_s)
        db.executemany("INSERT INTO session_devices (id, session_id, ip_address, user_agent, location, created_at, updated_at) VALUES (?,?,?,?,?,?,?)", rows_d)
        db.commit()
    db.execute("ANALYZE")
    db.close()
    return [str(i) for i in ids]


def psql(dsn, sql):
    out = subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", dsn], input=sql, text=True,
                         capture_output=True)
    if out.returncode != 0:
        sys.exit("psql failed: " + out.stderr)
    return out.stdout


def seed_postgres(a):
    start, end = a.start, a.start + a.identities - 1
    psql(a.dsn, f"""
BEGIN;
CREATE TEMP TABLE seed AS SELECT gen_random_uuid() AS id, g FROM generate_series({start}, {end}) g;
INSERT INTO identities (id, schema_id, traits, state, state_changed_at, available_aal, created_at, updated_at)
  SELECT id, 'default', '{{"email":"user' || g || '@bench.test"}}', 'active', now(), 'aal1', now(), now() FROM seed;
INSERT INTO identity_verifiable_addresses (id, identity_id, via, value, verified, status, created_at, updated_at)
  SELECT gen_random_uuid(), id, 'email', 'user' || g || '@bench.test', false, 'pending', now(), now() FROM seed;
INSERT INTO identity_recovery_addresses (id, identity_id, via, value, created_at, updated_at)
  SELECT gen_random_uuid(), id, 'email', 'user' || g || '@bench.test', now(), now() FROM seed;
COMMIT;
""")
    if a.sessions:
        now_iso = datetime.now(timezone.utc).isoformat()
        psql(a.dsn, f"""
BEGIN;
CREATE TEMP TABLE s AS
  SELECT gen_random_uuid() AS id, i.id AS identity_id, 'ory_st_bench' || lpad(n::text, 20, '0') AS tok
  FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM identities LIMIT {a.sessions}) i;
INSERT INTO sessions (id, identity_id, token_hash, logout_token_hash, active, aal, authentication_methods, issued_at, authenticated_at, expires_at, created_at, updated_at)
  SELECT id, identity_id, encode(sha256(convert_to(tok, 'UTF8')), 'hex'), encode(sha256(convert_to('lo' || tok, 'UTF8')), 'hex'),
         true, 'aal1', '{methods_json(now_iso)}', now(), now(), now() + interval '30 days', now(), now() FROM s;
INSERT INTO session_devices (id, session_id, ip_address, user_agent, location, created_at, updated_at)
  SELECT gen_random_uuid(), id, '127.0.0.1', 'wrk', '', now(), now() FROM s;
COMMIT;
""")
    psql(a.dsn, "ANALYZE;")
    return psql(a.dsn, "SELECT id FROM identities ORDER BY id LIMIT 1000;").split()


def cmd_seed(a):
    t0 = time.perf_counter()
    ids = seed_sqlite(a) if a.dsn.startswith("sqlite") else seed_postgres(a)
    if a.out:
        with open(a.out + ".tokens", "w") as f:
            f.write("\n".join(token(n) for n in range(a.sessions)) + "\n")
        with open(a.out + ".cookies", "w") as f:
            f.write("\n".join(cookie_value(token(n), a.cookie_secret) for n in range(a.sessions)) + "\n")
        with open(a.out + ".ids", "w") as f:
            f.write("\n".join(ids) + "\n")
    print(json.dumps({"seeded": a.identities, "sessions": a.sessions,
                      "seconds": round(time.perf_counter() - t0, 1)}))


def request(conn, method, path, body=None):
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    res = conn.getresponse()
    return res.status, res.read()


def cmd_users(a):
    """Creates login users through the admin API (the server hashes their passwords)."""
    host, port = a.admin.split("//", 1)[1].rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    for n in range(a.users):
        status, body = request(conn, "POST", "/admin/identities", {
            "schema_id": "default", "traits": {"email": "login%d@bench.test" % n},
            "credentials": {"password": {"config": {"password": PASSWORD}}}})
        if status != 201:
            sys.exit("creating login user: %d %s" % (status, body[:300]))


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------

def svg_bars(groups, title):
    """A horizontal bar chart: one bar per scenario, its throughput as a share of its baseline."""
    rows = [(name, ratio) for name, ratio in groups if ratio is not None]
    height = 40 + 26 * len(rows)
    width, left = 760, 330
    scale = (width - left - 80) / max([1.0] + [r for _, r in rows])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<text x="10" y="20" font-size="14" font-weight="bold">{title}</text>']
    x1 = left + scale * 1.0
    for i, (name, ratio) in enumerate(rows):
        y = 34 + 26 * i
        color = "#3a7" if ratio >= 0.5 else "#d84"
        out.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{name}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{max(1, scale * ratio):.1f}" height="18" fill="{color}"/>')
        out.append(f'<text x="{left + scale * ratio + 6:.1f}" y="{y + 14}">{ratio:.2f}×</text>')
    out.append(f'<line x1="{x1:.1f}" y1="28" x2="{x1:.1f}" y2="{height - 4}" stroke="#555" stroke-dasharray="4,3"/>')
    out.append(f'<text x="{x1 + 4:.1f}" y="{height - 6}" fill="#555">baseline = 1</text>')
    out.append("</svg>")
    return "\n".join(out)


def fmt(v, nd=1):
    return "–" if v is None else (f"{v:,.{nd}f}" if isinstance(v, float) else f"{v:,}")


def cmd_report(a):
    with open(a.results) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    meta = {}
    scen = []
    for r in lines:
        if r.get("type") == "meta":
            meta.update(r["values"])
        else:
            scen.append(r)
    by = {(r["backend"], r["name"]): r for r in scen}

    def ratio(r):
        base = by.get((r["backend"], r.get("baseline"))) if r.get("baseline") else None
        if r.get("baseline_rps"):
            return r["rps"] / r["baseline_rps"]
        if base and base["rps"]:
            return r["rps"] / base["rps"]
        return None

    def p99_ratio(r):
        base = by.get((r["backend"], r.get("baseline"))) if r.get("baseline") else None
        if base and base.get("p99_ms"):
            return r["p99_ms"] / base["p99_ms"]
        return None

    md = ["# kratos-rs benchmark report", "",
          f"Generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by `e2e/bench/run.sh {meta.get('args', '')}`.", "",
          f"Machine: {meta.get('cpus', '?')} CPUs ({meta.get('cpu_model', '?')}), shared by the load generator and the server, "
          "so only ratios to baselines measured in the same run mean anything.", "",
          "## Scenarios", "",
          "| backend | scenario | req/s | p50 ms | p99 ms | errors | baseline | throughput ratio | p99 ratio |",
          "|---|---|---:|---:|---:|---:|---|---:|---:|"]
    plot_rows = []
    for r in scen:
        rr, pr = ratio(r), p99_ratio(r)
        base = r.get("baseline") or ("raw argon2id" if r.get("baseline_rps") else "")
        md.append(f"| {r['backend']} | {r['name']} | {fmt(r['rps'])} | {fmt(r.get('p50_ms'), 2)} | {fmt(r.get('p99_ms'), 2)} | "
                  f"{r.get('errors', 0)} | {base} | {fmt(rr, 2) if rr is not None else '–'} | {fmt(pr, 2) if pr is not None else '–'} |")
        if rr is not None:
            plot_rows.append((f"{r['backend']}: {r['name']}", rr))
    md += ["", "## Targets (issue 7)", ""]
    smoke = "--smoke" in str(meta.get("args", ""))
    if smoke:
        md += ["A smoke run (debug build, tiny data, one-second runs) checks that every scenario works; "
               "the targets are not judged on it.", ""]
    md += ["| target | measured | result |", "|---|---|---|"]

    def target(name, measured, ok):
        verdict = "–" if ok is None or smoke else ("pass" if ok else "**miss**")
        md.append(f"| {name} | {measured} | {verdict} |")

    backends = sorted({r["backend"] for r in scen})
    for b in backends:
        for name in ("whoami (token)", "whoami (cookie)"):
            r = by.get((b, name))
            if r:
                rr, pr = ratio(r), p99_ratio(r)
                target(f"{b}: {name} ≥ 0.5× `/health/alive` req/s, p99 ≤ 2×",
                       f"{rr:.2f}× req/s, {pr:.2f}× p99", rr >= 0.5 and pr <= 2)
        for kind in ("login", "registration"):
            r = by.get((b, f"API {kind} (argon2id)"))
            if r:
                rr = ratio(r)
                target(f"{b}: API {kind} ≥ 0.9× raw argon2id rate" + (" (login is the target)" if kind != "login" else ""),
                       f"{rr:.2f}× ({r['rps']:.1f} vs {r['baseline_rps']:.1f}/s)", rr >= 0.9 if kind == "login" else None)
        lists = [r for r in scen if r["backend"] == b and r["name"].startswith("list identities @")]
        if len(lists) >= 2:
            first, last = lists[0], lists[-1]
            same = last["rps"] >= 0.8 * first["rps"] and last["p50_ms"] <= 1.25 * first["p50_ms"]
            target(f"{b}: a page of identities as fast at {last['name'].split('@')[1]} as at {first['name'].split('@')[1]} (within 20%)",
                   f"{last['rps'] / first['rps']:.2f}× req/s, p50 {last['p50_ms']:.2f} vs {first['p50_ms']:.2f} ms", same)
    if "binary_bytes" in meta:
        target("stripped binary < 20 MB (10^6 bytes)", f"{meta['binary_bytes'] / 1e6:.2f} MB", meta["binary_bytes"] < 20e6)
    for b in backends:
        if f"rss_idle_mb_{b}" in meta:
            target(f"{b}: idle RSS < 30 MB", f"{meta[f'rss_idle_mb_{b}']} MB", meta[f"rss_idle_mb_{b}"] < 30)
    if "ready_ms_sqlite" in meta:
        target("SQLite: ready < 200 ms", f"{meta['ready_ms_sqlite']} ms", meta["ready_ms_sqlite"] < 200)
    md.append("")
    md += ["## Resources", "", "| measure | value |", "|---|---:|"]
    for k, label in [("binary_bytes", "stripped binary size (bytes)"), ("argon2_params", "argon2id parameters")]:
        if k in meta:
            md.append(f"| {label} | {fmt(meta[k]) if not isinstance(meta[k], str) else meta[k]} |")
    for k in sorted(meta):
        if k.startswith("raw_argon2_") and isinstance(meta[k], dict):
            v = meta[k]
            md.append(f"| {k}: raw argon2id hashes/s (all cores) | {v['rps']} (rounds: {v.get('rounds', '–')}; {v['hashes']} hashes "
                      f"by {v['workers']} sequential workers in {v['wall_seconds']} s, {v['mean_ms']} ms each; each worker's first hash left out) |")
    for k in sorted(meta):
        if k.startswith(("ready_ms", "rss_")):
            md.append(f"| {k} | {fmt(meta[k])} |")
    for k in sorted(meta):
        if k.startswith("seed_"):
            v = meta[k]
            md.append(f"| {k} | {v['seeded']:,} identities, {v['sessions']:,} sessions in {v['seconds']} s |")
    md += ["", "![throughput ratios](plot.svg)", ""]
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(a.out, "plot.svg"), "w") as f:
        f.write(svg_bars(plot_rows, "Throughput as a share of the in-run baseline"))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve"); s.add_argument("--bin"); s.add_argument("--config"); s.add_argument("--log"); s.add_argument("--ready")
    s = sub.add_parser("rss"); s.add_argument("--pid", type=int)
    s = sub.add_parser("rawhash"); s.add_argument("--bin"); s.add_argument("--config"); s.add_argument("--cpus", type=int)
    s.add_argument("--seconds", type=float, default=10)
    s = sub.add_parser("seed"); s.add_argument("--dsn"); s.add_argument("--identities", type=int); s.add_argument("--start", type=int, default=0)
    s.add_argument("--sessions", type=int, default=0); s.add_argument("--out"); s.add_argument("--cookie-secret", default="")
    s = sub.add_parser("users"); s.add_argument("--admin"); s.add_argument("--users", type=int)
    s = sub.add_parser("report"); s.add_argument("--results"); s.add_argument("--out")
    a = p.parse_args()
    {"serve": cmd_serve, "rss": cmd_rss, "rawhash": cmd_rawhash, "seed": cmd_seed, "users": cmd_users,
     "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
