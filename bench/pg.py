#!/usr/bin/python3
"""grantd on PostgreSQL next to grantd on SQLite, one node and two, in one
run with the same assertion pool (`make bench-pg`, or BENCH_PG=1 bench/run.sh;
docs/performance.md, "PostgreSQL").

Rows (the jwt-bearer grant, RS256 assertions each with a distinct jti, plain
HTTP keep-alive, BENCH_CONNS connections in all):
  - grantd on SQLite (the embedded default), one node;
  - grantd on PostgreSQL, one node;
  - grantd on PostgreSQL, two nodes on one database (two grantd processes,
    each given half the connections by its own wrk at the same time; the
    grants/s are summed and CPU per grant counts both nodes).
Each row is measured for the access-token-only client and for the access +
refresh token client. The PostgreSQL server is a private one
(tests/e2e/pgserver.py: initdb + pg_ctl in a temporary directory, loopback,
fsync on, synchronous_commit on) on the same two CPUs, so its CPU per grant
is reported too: with several nodes on one machine the nodes and the
database share the CPUs, which a real deployment would not.
"""
import os
import shutil
import sys
import tempfile
import threading
import time

from cryptography.hazmat.primitives.asymmetric import rsa

import bench as B
import compare as C

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from pgserver import PgServer  # noqa: E402

note = B.note
DURATION = C.DURATION
WARMUP = C.WARMUP
CONNS = C.CONNS
ROWS = [r for r in C.ROWS if r[0] in ("jwt-at", "jwt-rt")]


def pg_cpu(pg):
    """utime+stime seconds of every process of the PostgreSQL server (all
    run as its user)."""
    uid = pg.as_user.pw_uid if pg.as_user is not None else os.getuid()
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if not open(f"/proc/{pid}/comm").read().startswith("postgres"):
                continue
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tck


def start_node(work, label, url=None, secret_from=None):
    data = os.path.join(work, label, "data")
    os.makedirs(os.path.dirname(data), exist_ok=True)
    if secret_from is not None:
        os.makedirs(data, mode=0o700)
        shutil.copy2(os.path.join(secret_from, "server-secret"),
                     os.path.join(data, "server-secret"))
        os.chmod(os.path.join(data, "server-secret"), 0o600)
    srv = B.Server(data, os.path.join(work, f"{label}.log"), label=label)
    if url is not None:
        with open(srv.config_path, "a") as f:
            f.write(f'[database]\ntype = "postgres"\nurl = "{url}"\n')
    srv.start()
    srv.kind = "grantd"
    return srv


def run_nodes(res, pool, targets, row, conns, duration, label, rate_guess, pg):
    """One bounded run of `row` on every target at once, conns split evenly;
    returns the summed result. A run in which a node ran out of fresh
    assertions (bench/wrk.lua stops that thread) is repeated with twice the
    slices, up to five times."""
    for _ in range(5):
        r = _run_nodes(res, pool, targets, row, conns, duration, label, rate_guess, pg)
        if not r["exhausted"]:
            return r
        # the rate before running out understates what the node can do
        rate_guess = max(2 * rate_guess, 2 * r["rps"])
        note(f"{label}: a node ran out of assertions; again with more")
    raise RuntimeError(f"{label}: ran out of assertions five times")


def _run_nodes(res, pool, targets, row, conns, duration, label, rate_guess, pg):
    key, title, client, _ = row
    share = max(1, conns // len(targets))
    scns = []
    for t in targets:
        n = int(rate_guess / len(targets) * duration * 1.6) + 2000
        path = pool.slice_file(t.cursor, n)
        # every node gets assertions no other node gets: disjoint slices
        for o in targets:
            o.cursor = max(o.cursor, t.cursor + n)
        scns.append(B.Scenario(title, t.path, auth=t.creds[client], bodies=path))
    out = [None] * len(targets)
    errs = []

    def one(i):
        try:
            out[i] = B.wrk(res, targets[i].srv, scns[i], False, share,
                           label=f"{targets[i].name} {label}", duration=duration)
        except Exception as e:  # reported below
            errs.append(e)

    cpu0 = pg_cpu(pg) if pg is not None else 0.0
    th = [threading.Thread(target=one, args=(i,)) for i in range(len(targets))]
    for x in th:
        x.start()
    for x in th:
        x.join()
    cpu1 = pg_cpu(pg) if pg is not None else 0.0
    for s in scns:
        os.unlink(s.bodies)
    if errs:
        raise errs[0]
    req = sum(r["requests"] for r in out)
    dur = max(r["duration_us"] for r in out) / 1e6
    cpu = sum((r["srv_user_us"] + r["srv_sys_us"]) * r["requests"] for r in out)
    return {
        "rps": req / dur,
        "cpu_us": cpu / max(req, 1),
        "pg_cpu_us": (cpu1 - cpu0) / max(req, 1) * 1e6,
        "p50_us": max(r["p50_us"] for r in out),
        "p99_us": max(r["p99_us"] for r in out),
        "status": sum(r["status"] for r in out),
        "errors": sum(r["errors"] for r in out),
        "exhausted": sum(r.get("exhausted", 0) for r in out),
        "rss_mib": max(r.get("VmRSS", 0) for r in out) / 1024,
    }


def main():
    work = tempfile.mkdtemp(prefix="grantd-pgbench-")
    out = os.path.abspath(os.environ.get("BENCH_OUT") or os.path.join(
        HERE, "out", "pg-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())))
    res = B.Results(out)
    res.tmp = work
    src = B.GRANTD
    B.GRANTD = os.path.join(work, "grantd")
    shutil.copy2(src, B.GRANTD)
    live, pg = [], None
    try:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pool = C.Pool(key, work)
        pg = PgServer().start()
        note(f"PostgreSQL on 127.0.0.1:{pg.port}")
        results = {}
        configs = [("SQLite, 1 node", None, 1), ("PostgreSQL, 1 node", "pg1", 1),
                   ("PostgreSQL, 2 nodes", "pg2", 2)]
        fastest = 3000.0
        for name, db, nodes in configs:
            url = pg.create_database(db) if db else None
            first = start_node(work, f"{name.split(',')[0].lower()}-{nodes}-a", url)
            live.append(first)
            srvs = [first]
            creds = C.setup_grantd(first, key)
            for i in range(1, nodes):
                s = start_node(work, f"pg-{nodes}-{chr(97 + i)}", url, first.data_dir)
                live.append(s)
                srvs.append(s)
            targets = [C.Target(f"{name} #{i + 1}", s, "/oauth2/token", creds)
                       for i, s in enumerate(srvs)]
            for t in targets:
                C.verify(t, key)
            base = max(t.cursor for t in targets)
            for t in targets:
                t.cursor = base
            for row in ROWS:
                C.wait_quiet()
                w = run_nodes(res, pool, targets, row, CONNS, WARMUP, f"{row[0]} warm-up",
                              fastest, pg if db else None)
                fastest = max(fastest, w["rps"])
                r = run_nodes(res, pool, targets, row, CONNS, DURATION, row[0], fastest,
                              pg if db else None)
                fastest = max(fastest, r["rps"])
                results[(name, row[0])] = r
                note(f"{name} {row[0]}: {r['rps']:.0f} grants/s, {r['cpu_us']:.0f} µs grantd "
                     f"CPU/grant, {r['pg_cpu_us']:.0f} µs PostgreSQL CPU/grant, p99 "
                     f"{r['p99_us'] / 1000:.1f} ms")
            for s in srvs:
                s.stop()
                live.remove(s)
        md = [f"# grantd on PostgreSQL and SQLite ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
              "", f"{CONNS} connections in all, {DURATION} s per run after a {WARMUP} s warm-up, "
              "plain HTTP keep-alive, RS256 assertions each with a distinct jti; "
              f"PostgreSQL {pg.psql('SHOW server_version')} on the same machine.", "",
              "| store | grant | grants/s | grantd CPU µs/grant | PostgreSQL CPU µs/grant | "
              "p50 ms | p99 ms | non-2xx / errors | VmRSS MiB |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, _, _ in configs:
            for row in ROWS:
                r = results[(name, row[0])]
                md.append(f"| {name} | {row[1]} | {r['rps']:,.0f} | {r['cpu_us']:.0f} | "
                          f"{r['pg_cpu_us']:.0f} | {B.ms(r['p50_us'])} | {B.ms(r['p99_us'])} | "
                          f"{r['status']} / {r['errors']} | {r['rss_mib']:.1f} |")
        md.append("")
        md.append("Two nodes: each its own wrk with half the connections, at the same time; "
                  "grants/s summed, CPU per grant over both nodes; p50/p99 the worse node's. "
                  "Everything (wrk, the nodes, PostgreSQL) shares the same 2 CPUs.")
        text = "\n".join(md) + "\n"
        with open(os.path.join(out, "results.md"), "w") as f:
            f.write(text)
        print(text)
        return 0
    finally:
        for s in live:
            if s.alive():
                s.stop()
        if pg is not None:
            pg.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
