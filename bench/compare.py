#!/usr/bin/python3
"""compare.py - grantd next to a Node.js reference server (the default of
`make bench` / bench/run.sh; BENCH_FULL=1 runs the longer bench/bench.py).

The reference is bench/node-ref/server.js: the certified npm library
oidc-provider (v9) with the JWT bearer grant registered through
provider.registerGrantType() and verified with jose, measured as one process
and as a node:cluster of two workers. All three servers get the same load on
the same machine in the same run, one after the other, each alone:

  1. jwt-bearer, RS256 assertion with a distinct jti per request, the client
     may not use refresh_token, so only an (opaque) access token is issued
     (the headline row; also measured at 64 connections)
  2. the same, for a client that may use refresh_token: access + refresh token
  3. client_credentials, client_secret_basic

Each row: wrk over plain HTTP keep-alive, 32 connections, 2 threads, a short
warm-up and then a measured run, both bounded by `wrk -d` (each server first
gets one longer warm-up). The assertions come from one pool minted here (same
key, same claims: iss, sub, aud, iat, exp, jti); every server consumes it from
its start, and no assertion is sent twice to the same server, so replay
protection is exercised and never triggered. Server CPU is user+system of every process and thread of the
server from /proc/<pid>/stat, before and after the measured run.

BENCH_PREFILL=N stops grantd after its rows, writes N token rows into its
SQLite database (clones of the rows the run itself issued, see
prefill_tokens), restarts it and measures the headline row again.

Environment (all optional):
  GRANTD_BIN        binary (default build/grantd; copied first, so a rebuild
                    during the run changes nothing)
  BENCH_DURATION    seconds per measured run (default 6)
  BENCH_WARMUP      seconds of warm-up before each row (default 2)
  BENCH_FIRST_WARMUP  seconds of headline-row warm-up once per server, first (default 5)
  BENCH_CONNS       connections (default 32); the headline row also at 2x
  BENCH_PREFILL     token rows to pre-fill before re-measuring the headline row
                    (default 0 = skip; e.g. 10000000)
  BENCH_NODE        0 = grantd only (no Node.js reference)
  BENCH_OUT         output directory (default bench/out/<UTC timestamp>)
  BENCH_NOTE        free text for the report header
"""
import datetime
import hashlib
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import bench as B

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_DIR = os.path.join(HERE, "node-ref")
DURATION = int(os.environ.get("BENCH_DURATION") or 6)
WARMUP = int(os.environ.get("BENCH_WARMUP") or 2)
FIRST_WARMUP = int(os.environ.get("BENCH_FIRST_WARMUP") or 5)
CONNS = int(os.environ.get("BENCH_CONNS") or 32)
PREFILL = int(os.environ.get("BENCH_PREFILL") or 0)
WITH_NODE = os.environ.get("BENCH_NODE", "1") != "0"
JWT_BEARER = B.JWT_BEARER
ISSUER = "https://idp-rs256.bench"  # the assertions' iss: grantd's IdP, Node's NODEREF_IDP_ISSUER
AUDIENCE = B.ALIAS                  # the assertions' aud: grantd's IdP alias, Node's NODEREF_AUDIENCE
note = B.note

# The server-wide algorithm of JWT access tokens (grantd's default RS256),
# for the title of the JWT access token row.
JWT_ALG = os.environ.get("GRANTD_OAUTH_ACCESS_TOKEN_JWT_SIGNING_ALGORITHM") or "RS256"

ROWS = [
    # (key, title, client: "at" = access token only / "rt" = may refresh, body kind)
    ("jwt-at", "jwt-bearer RS256, unique jti, access token only", "at", "jwt"),
    ("jwt-rt", "jwt-bearer RS256, unique jti, access + refresh token", "rt", "jwt"),
    ("cc", "client_credentials (client_secret_basic)", "at", "cc"),
    # grantd only (the Node reference issues opaque tokens): the cost of
    # signing an RFC 9068 JWT access token with the tenant's key
    ("jwt-jwt", f"jwt-bearer RS256, unique jti, {JWT_ALG}-signed JWT access token", "jwt", "jwt"),
]
HEADLINE = "jwt-at"


# ---------------------------------------------------------------- assertions

_MINT_KEY = None


def _mint_init(pem):
    global _MINT_KEY
    _MINT_KEY = serialization.load_pem_private_key(pem, None)


def _mint(args):
    """Token request bodies for assertions first..first+count-1 (in a pool
    worker: RSA signing is most of the cost, so both CPUs sign)."""
    first, count = args
    # Both servers accept an iat up to 30 min old: far longer than a run.
    now = int(time.time())
    out = []
    for i in range(first, first + count):
        a = jwt.encode({"iss": ISSUER, "sub": "bench-user", "aud": AUDIENCE, "iat": now,
                        "exp": now + 3600, "jti": f"b{i}-{os.urandom(6).hex()}"},
                       _MINT_KEY, algorithm="RS256")
        out.append(urllib.parse.urlencode({"grant_type": JWT_BEARER, "assertion": a}))
    return out


class Pool:
    """One growing list of token request bodies, each with its own jti.
    Every server reads it from the start (its own cursor), so all servers
    get the same assertions in the same order; it is minted only when a
    server needs more than exists, between runs (never under load)."""

    def __init__(self, key, work):
        self.pem = key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
        self.work = work
        self.bodies = []
        self.mint_s = 0.0
        self._files = 0

    def ensure(self, n):
        if n <= len(self.bodies):
            return
        t = time.monotonic()
        want = n - len(self.bodies)
        chunk = 4000
        tasks = [(len(self.bodies) + i, min(chunk, want - i)) for i in range(0, want, chunk)]
        # fork: the children need nothing but the key, and start instantly
        with multiprocessing.get_context("fork").Pool(os.cpu_count() or 2, _mint_init,
                                                      (self.pem,)) as p:
            for part in p.map(_mint, tasks):
                self.bodies.extend(part)
        dt = time.monotonic() - t
        self.mint_s += dt
        note(f"minted {want} RS256 assertions in {dt:.1f}s (pool: {len(self.bodies)})")

    def slice_file(self, cursor, n):
        """Bodies cursor..cursor+n-1 as a file for bench/wrk.lua."""
        self.ensure(cursor + n)
        self._files += 1
        path = os.path.join(self.work, f"bodies-{self._files}.txt")
        with open(path, "w") as f:
            f.write("\n".join(self.bodies[cursor:cursor + n]) + "\n")
        return path


# ---------------------------------------------------------------- servers

def wait_http(port, path, stop, timeout=120):
    """Polls GET path on 127.0.0.1:port until it answers 200; returns the
    monotonic time of that answer (None if stopped or timed out)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and not stop.is_set():
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return time.monotonic()
        except OSError:
            pass
        time.sleep(0.005)
    return None


def start_grantd(data, log, label):
    """B.Server started with a poller on its plain-HTTP port running from
    before the exec: start-up time = Popen to the first 200 of /healthz."""
    srv = B.Server(data, log, label=label)
    got, stop = {}, threading.Event()
    poller = threading.Thread(target=lambda: got.update(
        t=wait_http(srv.http_port_cfg, "/healthz", stop)), daemon=True)
    t0 = time.monotonic()
    poller.start()
    try:
        srv.start()
    except BaseException:
        stop.set()
        raise
    poller.join(timeout=30)
    stop.set()
    srv.startup_s = got["t"] - t0 if got.get("t") else float("nan")
    srv.kind = "grantd"
    return srv


class NodeRef:
    """bench/node-ref/server.js, one process or a node:cluster primary with
    workers; offers what B.wrk() reads from a server (CPU, I/O and memory
    summed over every process of it)."""

    def __init__(self, work, workers, pubkey_pem, secret):
        self.workers = workers
        self.label = f"node-ref-{workers}p"
        self.kind = "node"
        self.log_path = os.path.join(work, f"{self.label}.log")
        self.http_port = B.free_port()
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith(("BENCH_", "GRANTD_")):
                del self.env[k]
        self.env.update(NODEREF_PORT=str(self.http_port), NODEREF_WORKERS=str(workers),
                        NODEREF_IDP_KEY=pubkey_pem, NODEREF_IDP_ISSUER=ISSUER,
                        NODEREF_AUDIENCE=AUDIENCE, NODEREF_CLIENT_SECRET=secret,
                        NODE_ENV="production")
        self.proc = None
        self.worker_pids = []
        self.problems = []

    def start(self, timeout=60):
        stop = threading.Event()
        t0 = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(["node", "server.js"], cwd=NODE_DIR, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        # Ready = the "node-ref ready" line (every worker listens) and an
        # answer from the provider's discovery document.
        end = t0 + timeout
        line = None
        while line is None and time.monotonic() < end and self.alive():
            with open(self.log_path, errors="replace") as f:
                line = next((x for x in f if x.startswith("node-ref ready ")), None)
            if line is None:
                time.sleep(0.005)
        t = wait_http(self.http_port, "/.well-known/openid-configuration", stop,
                      timeout=max(1, end - time.monotonic())) if line else None
        if t is None:
            self.stop()
            raise RuntimeError(f"{self.label} did not start; log:\n" + "\n".join(self.tail_lines()))
        self.startup_s = t - t0
        w = line.split("workers=", 1)[1].strip()
        self.worker_pids = [int(x) for x in w.split(",") if x]
        return self

    @property
    def pid(self):
        return self.proc.pid

    def pids(self):
        return {self.proc.pid, *self.worker_pids}

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _sum(self, fn):
        out = {}
        for pid in self.pids():
            for k, v in fn(pid).items():
                out[k] = out.get(k, 0) + v
        return out

    def cpu(self):
        tck = os.sysconf("SC_CLK_TCK")
        u = s = 0
        for pid in self.pids():
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            u += int(fields[11])
            s += int(fields[12])
        return u / tck, s / tck

    def status(self):
        """VmRSS, VmHWM (KiB) and threads, summed over the processes (the sum
        of per-process peaks is an upper bound of the peak of the sum)."""
        def one(pid):
            out = {}
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "VmHWM", "Threads"):
                        out[k] = int(v.split()[0])
            return out
        return self._sum(one)

    def io(self):
        def one(pid):
            with open(f"/proc/{pid}/io") as f:
                return {k: int(v) for k, _, v in (line.partition(":") for line in f)}
        return self._sum(one)

    # no access log: B.wrk() then reports no server-side latencies
    def log_offset(self):
        return 0

    def access_times(self, start, end):
        return []

    def tail_lines(self, n=30):
        with open(self.log_path, errors="replace") as f:
            return f.read().splitlines()[-n:]

    def keep_log(self, path):
        shutil.copyfile(self.log_path, path)
        self.problems = [x for x in self.tail_lines(10000)
                         if "error" in x.lower() and "WARNING" not in x][:50]

    def stop(self, timeout=30):
        if self.proc is None:
            return None, 0.0
        t = time.monotonic()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait()
        # The primary stops its workers on SIGTERM; make sure, by their PIDs.
        for pid in self.worker_pids:
            for _ in range(200):
                if not os.path.exists(f"/proc/{pid}") or _zombie_or_gone(pid):
                    break
                time.sleep(0.01)
            else:
                os.kill(pid, signal.SIGKILL)
        self.proc = None
        return rc, time.monotonic() - t


def _zombie_or_gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def setup_grantd(srv, key):
    """One RS256 identity provider (certificate upload, alias = the
    assertions' aud) and two applications: "bench-at" may not use
    refresh_token (a JWT grant returns an access token only), "bench-rt"
    may. Returns {"at": Basic credentials, "rt": ...}."""
    cl = B.Client(srv)
    pem = B.self_signed(key, "bench-RS256").public_bytes(serialization.Encoding.PEM).decode()
    B.admin_post(cl, "/identity-providers", {
        "name": "bench-rs256", "idpIssuerName": ISSUER, "alias": AUDIENCE,
        "certificate": {"certificates": [pem]}})
    creds = {}
    for name, grants in (("at", [JWT_BEARER, "client_credentials"]),
                         ("rt", [JWT_BEARER, "refresh_token", "client_credentials"])):
        app = B.admin_post(cl, "/applications", {
            "name": f"bench-{name}",
            "inboundProtocolConfiguration": {"oidc": {"grantTypes": grants}}})
        o = app["inboundProtocolConfiguration"]["oidc"]
        creds[name] = B.basic(o["clientId"], o["clientSecret"])
    app = B.admin_post(cl, "/applications", {
        "name": "bench-jwt",
        "inboundProtocolConfiguration": {"oidc": {
            "grantTypes": [JWT_BEARER], "accessToken": {"type": "JWT"}}}})
    o = app["inboundProtocolConfiguration"]["oidc"]
    creds["jwt"] = B.basic(o["clientId"], o["clientSecret"])
    cl.close()
    return creds


# ---------------------------------------------------------------- measuring

class Target:
    """A server under test with its token path, client credentials and its
    cursor into the assertion pool."""

    def __init__(self, name, srv, path, creds):
        self.name, self.srv, self.path, self.creds = name, srv, path, creds
        self.cursor = 0
        self.results = {}   # row key -> wrk result
        # highest rate of any row on this server so far: sizes the next slice
        # of assertions (client_credentials is usually the fastest row, so
        # JWT slices come out too large rather than too small)
        self.fast = 0.0


def one_request(t, body, auth):
    cl = http.client.HTTPConnection("127.0.0.1", t.srv.http_port, timeout=30)
    cl.request("POST", t.path, body=body, headers={
        "Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
    r = cl.getresponse()
    data = r.read()
    cl.close()
    return r.status, data


def signed_body(key):
    """One token request body with a fresh assertion (for the checks)."""
    now = int(time.time())
    a = jwt.encode({"iss": ISSUER, "sub": "bench-user", "aud": AUDIENCE, "iat": now,
                    "exp": now + 3600, "jti": f"check-{os.urandom(8).hex()}"}, key,
                   algorithm="RS256")
    return urllib.parse.urlencode({"grant_type": JWT_BEARER, "assertion": a})


def verify(t, key):
    """Before measuring: each row's request succeeds, a JWT grant returns a
    refresh token exactly when the row expects one, and a replayed assertion
    is refused (one process only: Node's workers each keep their own jti set)."""
    for _, title, client, kind in ROWS:
        if client not in t.creds:
            continue  # a row this server does not offer
        body = "grant_type=client_credentials" if kind == "cc" else signed_body(key)
        st, data = one_request(t, body, t.creds[client])
        if st != 200:
            raise RuntimeError(f"{t.name} {title}: HTTP {st} {data[:300]!r}")
        tok = json.loads(data)
        want_rt = kind == "jwt" and client == "rt"
        if "access_token" not in tok or ("refresh_token" in tok) != want_rt:
            raise RuntimeError(f"{t.name} {title}: unexpected response fields {sorted(tok)}")
    if t.srv.kind == "grantd" or t.srv.workers == 1:
        body = signed_body(key)
        codes = [one_request(t, body, t.creds["at"])[0] for _ in range(2)]
        if codes != [200, 400]:
            raise RuntimeError(f"{t.name}: a fresh assertion then its replay gave HTTP {codes}")


def run_row(res, pool, t, row, conns, duration, label, rate_guess):
    """One bounded wrk run of a row; JWT rows get a fresh slice of the pool
    large enough for rate_guess (grants/s) with a margin. A run that still
    ran out of assertions is repeated once with twice the slice."""
    key, title, client, kind = row
    auth = t.creds[client]
    for attempt in (1, 2):
        if kind == "cc":
            scn = B.Scenario(title, t.path, "grant_type=client_credentials", auth)
        else:
            n = int(rate_guess * duration * 1.6 * attempt) + 2000
            path = pool.slice_file(t.cursor, n)
            t.cursor += n
            scn = B.Scenario(title, t.path, auth=auth, bodies=path)
        r = B.wrk(res, t.srv, scn, False, conns, label=f"{t.name} {label}", duration=duration)
        if scn.bodies:
            os.unlink(scn.bodies)
        if not r.get("exhausted"):
            break
        note(f"{t.name} {label}: ran out of assertions ({r['exhausted']}); again with more")
    return r


QUIET = {"budget": float(os.environ.get("BENCH_QUIET_WAIT") or 60), "waited": 0.0}


def wait_quiet(limit=0.3, cap=15):
    """Other people's jobs on this machine (builds, test suites) skew every
    number: before a row, wait until the machine is idle (less than `limit`
    CPU busy over half a second, our idle server included), at most `cap`
    seconds and within a total budget of BENCH_QUIET_WAIT seconds for the
    run. What others used during each measured run is reported anyway."""
    tck = os.sysconf("SC_CLK_TCK")
    t0 = time.monotonic()
    while True:
        a = B.sys_cpu()
        time.sleep(0.5)
        b = B.sys_cpu()
        busy = (b[0] - a[0]) / tck / 0.5
        spent = time.monotonic() - t0
        if busy < limit or spent >= cap or QUIET["waited"] + spent >= QUIET["budget"]:
            break
    QUIET["waited"] += spent
    if spent > 1:
        note(f"waited {spent:.0f}s for the machine to quiet down (busy {busy:.2f} CPU now)")


def measure(res, pool, t, fastest):
    """Warm-up and measured run of every row, then the headline row at twice
    the connections. `fastest` is the highest rate seen so far on any
    server, to size the warm-up slices."""
    # Mint (about) what this server will need now, not between a row's
    # warm-up and its measured run.
    est = max(fastest[0], 1500) * (FIRST_WARMUP + 2 * (WARMUP + DURATION) + DURATION) * 1.6
    pool.ensure(t.cursor + int(est))
    head = next(r for r in ROWS if r[0] == HEADLINE)
    # A longer warm-up once per server: V8 needs a few seconds of traffic
    # before its optimised code and heap sizes settle (grantd does not, but
    # gets the same treatment).
    wait_quiet()
    w = run_row(res, pool, t, head, CONNS, FIRST_WARMUP, f"{HEADLINE} c{CONNS} first warm-up",
                max(fastest[0], 3000))
    t.fast = max(t.fast, w["rps"])
    for row in ROWS:
        if row[2] not in t.creds:
            continue  # a row this server does not offer
        wait_quiet()
        w = run_row(res, pool, t, row, CONNS, WARMUP, f"{row[0]} c{CONNS} warm-up",
                    max(fastest[0], t.fast, 3000))
        t.fast = max(t.fast, w["rps"])
        t.results[row[0]] = run_row(res, pool, t, row, CONNS, DURATION, f"{row[0]} c{CONNS}",
                                    max(fastest[0], t.fast))
        t.fast = max(t.fast, t.results[row[0]]["rps"])
    wait_quiet()
    t.results[HEADLINE + "@2x"] = run_row(res, pool, t, head, 2 * CONNS, DURATION,
                                          f"{HEADLINE} c{2 * CONNS}", max(fastest[0], t.fast))
    fastest[0] = max(fastest[0], t.fast)


# ---------------------------------------------------------------- pre-fill

def prefill_tokens(db_path, n, log=note, batch=1_000_000):
    """Adds n rows to the tokens table of a stopped grantd's database.

    The rows are clones of the ones the run itself stored (one template per
    app, kind and grant type, taken round-robin), so they match the real
    schema whatever migration it is at: the column list is read from the
    database, the token key is made as grantd makes it (its issue time in
    milliseconds, then random bytes), every other column of a UNIQUE index
    and chain_id get fresh random values of the template's length, issued_at is spread
    over the last 10 minutes and expires_at keeps the template's lifetime
    (nothing is expired, so the server's purge leaves them alone).

    Bulk load, not the server's write path: the table's secondary indexes are
    dropped, the rows inserted in transactions of `batch` rows with the
    journal off, and the indexes re-created from their own CREATE statements
    (a sort instead of n random B-tree inserts: about 1.5 min for 10 M rows
    instead of 5+); the database is put back in WAL mode at the end."""
    t0 = time.monotonic()
    con = sqlite3.connect(db_path, isolation_level=None)
    try:
        con.execute("PRAGMA cache_size=-1000000")   # 1 GiB
        con.execute("PRAGMA temp_store=MEMORY")
        con.execute("PRAGMA threads=2")             # sorter threads for CREATE INDEX
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA journal_mode=OFF")
        con.create_function(
            "tkey", 2, lambda secs, i: (secs * 1000 + i % 1000).to_bytes(6, "big") + os.urandom(26),
            deterministic=False)
        info = con.execute("PRAGMA table_info(tokens)").fetchall()  # cid name type notnull dflt pk
        cols = [c[1] for c in info]
        tsql = con.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name='tokens'"
                           ).fetchone()[0]
        rowid_alias = None
        pks = [c for c in info if c[5]]
        if len(pks) == 1 and pks[0][2].upper() == "INTEGER" and "WITHOUT ROWID" not in tsql.upper():
            rowid_alias = pks[0][1]
        unique = set()
        for _, iname, uniq, *_ in con.execute("PRAGMA index_list(tokens)").fetchall():
            if uniq:
                unique.update(r[2] for r in con.execute(f"PRAGMA index_info('{iname}')"))
        if "WITHOUT ROWID" in tsql.upper():
            unique.update(c[1] for c in pks)
        unique.discard(rowid_alias)
        fresh = unique | ({"chain_id"} & set(cols))
        group = [c for c in ("app_id", "kind", "grant_type") if c in cols]
        before = con.execute("SELECT count(*) FROM tokens").fetchone()[0]
        if before == 0:
            raise RuntimeError("prefill: the tokens table is empty, no row to clone")
        # the newest row of each group (bare columns with max(): SQLite
        # takes them from the row holding the maximum)
        order = rowid_alias or "issued_at"
        con.execute("DROP TABLE IF EXISTS temp.tpl")
        con.execute(f"CREATE TEMP TABLE tpl AS SELECT (row_number() OVER ()) - 1 AS k, * FROM "
                    f"(SELECT max({order}) AS _m, * FROM tokens GROUP BY {', '.join(group) or '1'})")
        ntpl = con.execute("SELECT count(*) FROM tpl").fetchone()[0]
        ins = [c for c in cols if c != rowid_alias]

        def expr(c):
            if c == "hash" and "issued_at" in cols:
                # the key as grantd writes it (src/oauth/tokens.h, tokens_key):
                # 48 bits of the issue time in ms, then 26 random bytes
                return "tkey(:now - (c.i % 600), c.i)"
            if c in fresh:
                # random hex of the template's length for text, random bytes for blobs
                return (f"CASE WHEN t.{c} IS NULL THEN NULL WHEN typeof(t.{c}) = 'blob' "
                        f"THEN randomblob(length(t.{c})) ELSE "
                        f"substr(lower(hex(randomblob(length(t.{c})))), 1, length(t.{c})) END")
            if c == "issued_at":
                return ":now - (c.i % 600)"
            if c == "expires_at" and "issued_at" in cols:
                return ":now - (c.i % 600) + (t.expires_at - t.issued_at)"
            return f"t.{c}"
        insert = (f"WITH RECURSIVE c(i) AS (SELECT :lo UNION ALL SELECT i + 1 FROM c "
                  f"WHERE i + 1 < :hi) INSERT INTO tokens ({', '.join(ins)}) "
                  f"SELECT {', '.join(expr(c) for c in ins)} FROM c JOIN tpl t "
                  f"ON t.k = c.i % {ntpl}")
        idx = con.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND "
                          "tbl_name='tokens' AND sql IS NOT NULL").fetchall()
        for name, _ in idx:
            con.execute(f'DROP INDEX "{name}"')
        now = int(time.time())
        for lo in range(0, n, batch):
            con.execute("BEGIN")
            con.execute(insert, {"lo": lo, "hi": min(n, lo + batch), "now": now})
            con.execute("COMMIT")
            if (lo // batch) % 5 == 4:
                log(f"prefill: {min(n, lo + batch)} rows inserted ({time.monotonic() - t0:.0f}s)")
        t1 = time.monotonic()
        for name, q in idx:
            con.execute(q)
        t2 = time.monotonic()
        con.execute("DROP TABLE temp.tpl")
        con.execute("PRAGMA journal_mode=WAL")
        after = con.execute("SELECT count(*) FROM tokens").fetchone()[0]
    finally:
        con.close()
    size = sum(os.path.getsize(os.path.join(os.path.dirname(db_path), f))
               for f in os.listdir(os.path.dirname(db_path)) if f.startswith("grantd.db"))
    out = {"before": before, "after": after, "templates": ntpl, "insert_s": t1 - t0,
           "index_s": t2 - t1, "total_s": time.monotonic() - t0, "db_mib": size / 2**20,
           "fresh": sorted(fresh)}
    log(f"prefill: {n} rows in {out['total_s']:.0f}s (insert {out['insert_s']:.0f}s, "
        f"indexes {out['index_s']:.0f}s), {after} token rows, database {out['db_mib']:.0f} MiB")
    return out


# ---------------------------------------------------------------- report

def fmt_rate(x):
    return f"{x:,.0f}".replace(",", " ")


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "—"


def cpu_us(r):
    return r["srv_user_us"] + r["srv_sys_us"]


def others(r):
    """CPU % used during a run by every other user-space process (not the
    server, wrk or this script; kernel threads are left out: the file system
    journal among them works for grantd)."""
    return r["others_cpu_pct"]


def report(res, mach, targets, extra):
    md = []
    w = md.append
    now = datetime.datetime.now(datetime.timezone.utc)
    w(f"# grantd vs Node.js reference (oidc-provider) — {now:%Y-%m-%d %H:%M UTC}\n")
    w(f"- grantd: `{os.environ.get('GRANTD_BIN') or 'build/grantd'}` (sha256 "
      f"{extra['grantd_sha'][:12]}…; {mach['grantd']})"
      + (f"; {os.environ['BENCH_NOTE']}" if os.environ.get("BENCH_NOTE") else ""))
    if extra.get("node"):
        w(f"- Node.js reference: `bench/node-ref/server.js`, {extra['node']}")
    w(f"- client: {mach['wrk']}, `-t2 -c{CONNS}` (headline also `-c{2 * CONNS}`), plain HTTP "
      f"keep-alive, {WARMUP} s warm-up + {DURATION} s measured per row after a {FIRST_WARMUP} s "
      "warm-up per server, `--latency`")
    w(f"- machine: {mach['nproc']} CPUs ({mach['cpu']}), {mach['mem_mib']} MiB RAM, Linux "
      f"{mach['kernel']}; **wrk and the server share the {mach['nproc']} CPUs**; load average "
      f"at start {B.LOAD0}")
    knobs = " ".join(f"{k}={os.environ[k]}" for k in sorted(os.environ)
                     if k.startswith("BENCH_") or k == "GRANTD_BIN")
    w(f"- command: `{knobs + ' ' if knobs else ''}bench/run.sh`\n")

    w(f"## Token endpoint, {CONNS} connections\n")
    w("| row | server | grants/s | server CPU µs/grant (user+sys) | p50 ms | p99 ms | "
      "server CPU % | wrk CPU % | others CPU % | non-2xx / errors |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, title, _, _ in ROWS:
        for t in targets:
            r = t.results.get(key)
            if not r:
                continue
            w(f"| {title} | {t.name} | {fmt_rate(r['rps'])} | {cpu_us(r):.0f} "
              f"({r['srv_user_us']:.0f}+{r['srv_sys_us']:.0f}) | {B.ms(r['p50_us'])} | "
              f"{B.ms(r['p99_us'])} | {r['srv_cpu_pct']:.0f} | {r['client_cpu_pct']:.0f} | "
              f"{others(r):.0f} | {r['status']} / {r['errors']} |")
    g = targets[0]
    nodes = [t for t in targets if t.srv.kind == "node"]
    if nodes:
        w("\nRatios (grantd / Node.js): throughput higher is better for grantd, CPU per grant "
          "lower is better for grantd.\n")
        w("| row | " + " | ".join(f"grants/s vs {t.name} | CPU/grant vs {t.name}"
                                  for t in nodes) + " |")
        w("|---|" + "---:|---:|" * len(nodes))
        for key, title, _, _ in ROWS:
            a = g.results.get(key)
            cells = []
            for t in nodes:
                b = t.results.get(key)
                cells += [ratio(a and a["rps"], b and b["rps"]),
                          ratio(a and cpu_us(a), b and cpu_us(b))]
            w(f"| {title} | " + " | ".join(cells) + " |")
    w(f"\nHeadline row at {2 * CONNS} connections:\n")
    w("| server | grants/s | server CPU µs/grant | p50 ms | p99 ms | others CPU % | "
      "non-2xx / errors |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for t in targets:
        r = t.results.get(HEADLINE + "@2x")
        if r:
            w(f"| {t.name} | {fmt_rate(r['rps'])} | {cpu_us(r):.0f} | {B.ms(r['p50_us'])} | "
              f"{B.ms(r['p99_us'])} | {others(r):.0f} | {r['status']} / {r['errors']} |")

    w("\n## Memory and start-up\n")
    w("| server | start-up s | VmRSS MiB after load | VmHWM MiB |")
    w("|---|---:|---:|---:|")
    for t in targets:
        m = extra["mem"].get(t.name, {})
        w(f"| {t.name} | {t.srv.startup_s:.2f} | {m.get('VmRSS', 0) / 1024:.1f} | "
          f"{m.get('VmHWM', 0) / 1024:.1f} |")
    if extra.get("restart_s"):
        w(f"| grantd restart (same data dir{extra.get('restart_note', '')}) | "
          f"{extra['restart_s']:.2f} | | |")
    w("\nstart-up = from the exec to the first 200 answer (grantd `GET /healthz` on a fresh "
      "data dir: keys, TLS certificate, database and the admin password's argon2id hash; "
      "Node: `GET /.well-known/openid-configuration` once every worker listens). Node memory is "
      "the sum over its processes. grantd's VmHWM includes the 64 MiB argon2id hash of the "
      "admin password at bootstrap and admin login.")

    p = extra.get("prefill")
    if p:
        base, pre = g.results.get(HEADLINE), p["result"]
        w(f"\n## grantd with {fmt_rate(PREFILL)} token rows already stored (`BENCH_PREFILL`)\n")
        w("| store | token rows | database MiB | grants/s | server CPU µs/grant | p50 ms | p99 ms "
          "| others CPU % | VmRSS MiB | VmHWM MiB |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        w(f"| as left by this run | {fmt_rate(p['info']['before'])} | {p['db_before_mib']:.0f} | "
          f"{fmt_rate(base['rps'])} | {cpu_us(base):.0f} | {B.ms(base['p50_us'])} | "
          f"{B.ms(base['p99_us'])} | {others(base):.0f} | "
          f"{extra['mem']['grantd'].get('VmRSS', 0) / 1024:.1f} | "
          f"{extra['mem']['grantd'].get('VmHWM', 0) / 1024:.1f} |")
        w(f"| pre-filled | {fmt_rate(p['info']['after'])} | {p['info']['db_mib']:.0f} | "
          f"{fmt_rate(pre['rps'])} | {cpu_us(pre):.0f} | {B.ms(pre['p50_us'])} | "
          f"{B.ms(pre['p99_us'])} | {others(pre):.0f} | {p['mem'].get('VmRSS', 0) / 1024:.1f} | "
          f"{p['mem'].get('VmHWM', 0) / 1024:.1f} |")
        w(f"\nHeadline row, {CONNS} connections, after a restart on the pre-filled data dir "
          f"(start-up {p['startup_s']:.2f} s) and a {WARMUP} s warm-up. The rows were written "
          f"in {p['info']['total_s']:.0f} s ({p['info']['insert_s']:.0f} s inserts, "
          f"{p['info']['index_s']:.0f} s re-creating the indexes) as clones of the "
          f"{p['info']['templates']} kinds of rows the run had stored, with fresh "
          f"{', '.join(p['info']['fresh'])}; the indexes are built by sorting, so they are "
          "denser than ones grown by random inserts, and the file is in the page cache.")

    w("\n## Notes\n")
    w("- Same assertion pool for every server: RS256 (2048-bit key), claims iss, sub, aud, iat, "
      f"exp (iat + 1 h) and a distinct jti; {len(extra['pool'].bodies)} minted in "
      f"{extra['pool'].mint_s:.0f} s before the runs that needed them, each sent at most once "
      "to each server. grantd: app `bench-at` (jwt-bearer, client_credentials) and `bench-rt` "
      "(+ refresh_token), one identity provider with the RS256 certificate; Node: clients of "
      "the same names and grant types.")
    w("- **Storage differs**: grantd keeps every token and every used jti in its SQLite "
      "database on disk, committed before it answers (how: docs/performance.md). **Node** "
      "uses oidc-provider's default in-memory adapter (an LRU of 1000 entries per process): "
      "nothing is written to disk, tokens are lost on restart and evicted after 1000 newer "
      "entries, and used jti values live in a Map in the process.")
    w("- A single Node.js process also runs V8's helper threads (garbage collection, "
      "compilation) and libuv's thread pool, so it can use more than one CPU; grantd runs "
      "one process with its worker threads.")
    if any(t.srv.kind == "node" and t.srv.workers > 1 for t in targets):
        w("- **node-ref-2p**: node:cluster, one primary (accepts and hands out connections, "
          "round-robin) and two workers; its CPU is the sum of the three processes. The jti "
          "replay set is per process: with two workers a replayed assertion is refused only "
          "if it reaches the worker that saw it first (no shared store), so this configuration "
          "is not replay-safe as it stands.")
    w("- One run on a shared 2-CPU machine: compare servers within a run, and repeat the run "
      "before trusting a difference smaller than about 30 % (the same server's throughput "
      "varied that much between runs here).")
    w("- server CPU = utime+stime from /proc/<pid>/stat of every process of the server (all "
      "threads), around the measured run, divided by the requests; server CPU % and wrk CPU % "
      "are shares of one CPU (200 = both); others CPU % = every other user-space process "
      "meanwhile (more than a few % means someone else's job shared the CPUs with the run). "
      "p50 / p99 are wrk's (client side, including queueing).")
    if QUIET["waited"] > 1:
        w(f"- waited {QUIET['waited']:.0f} s in all for the machine to be idle before rows "
          f"(budget `BENCH_QUIET_WAIT`={QUIET['budget']:.0f} s).")
    if extra.get("node_warn"):
        w(f"- oidc-provider printed: {extra['node_warn']}")
    probs = [x for t in targets for x in getattr(t.srv, "problems", [])]
    if probs:
        w("\n## Server warnings and errors\n\n```")
        md.extend(probs[:50])
        w("```")
    w(f"\nRaw outputs: `{res.out}`; total bench time {time.monotonic() - B.T0:.0f} s.")
    text = "\n".join(md) + "\n"
    with open(os.path.join(res.out, "results.md"), "w") as f:
        f.write(text)
    print(text)


# ---------------------------------------------------------------- main

def node_versions():
    def ver(pkg):
        try:
            with open(os.path.join(NODE_DIR, "node_modules", pkg, "package.json")) as f:
                return json.load(f)["version"]
        except OSError:
            return "?"
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return f"Node.js {node}, oidc-provider {ver('oidc-provider')}, jose {ver('jose')}"


def main():
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = os.path.abspath(os.environ.get("BENCH_OUT") or os.path.join(HERE, "out", stamp))
    res = B.Results(out)
    work = tempfile.mkdtemp(prefix="grantd-compare-")
    res.tmp = work
    live = []
    try:
        return _main(res, work, live)
    finally:
        for s in live:
            if s.alive():
                s.stop()
        shutil.rmtree(work, ignore_errors=True)


def _main(res, work, live):
    src = B.GRANTD
    if not os.access(src, os.X_OK):
        raise SystemExit(f"bench: no executable {src} (build it, or set GRANTD_BIN)")
    # Measure one binary for the whole run even if build/ is rebuilt meanwhile.
    B.GRANTD = os.path.join(work, "grantd")
    shutil.copy2(src, B.GRANTD)
    with open(B.GRANTD, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    mach = B.machine()
    note(f"grantd: {src} ({mach['grantd']}); output: {res.out}")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = os.path.join(work, "idp-rs256.pub.pem")
    with open(pub, "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    pool = Pool(key, work)
    extra = {"mem": {}, "pool": pool, "grantd_sha": sha}
    fastest = [0.0]
    targets = []

    # ---- grantd
    data = os.path.join(work, "data")
    srv = start_grantd(data, os.path.join(work, "grantd.log"), "grantd")
    live.append(srv)
    note(f"grantd ready in {srv.startup_s:.2f}s (pid {srv.pid}, http {srv.http_port})")
    g = Target("grantd", srv, "/oauth2/token", setup_grantd(srv, key))
    verify(g, key)
    measure(res, pool, g, fastest)
    extra["mem"]["grantd"] = srv.status()
    targets.append(g)
    rc, dt = srv.stop()
    note(f"grantd stopped: exit {rc} in {dt:.2f}s")
    srv.keep_log(os.path.join(res.out, "grantd.log"))

    # restart on the same data dir: start-up time of a server with data, and
    # with BENCH_PREFILL the headline row again on a big store
    db = os.path.join(data, "grantd.db")
    if PREFILL > 0:
        db_before = sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data)
                        if f.startswith("grantd.db")) / 2**20
        info = prefill_tokens(db, PREFILL)
        srv2 = start_grantd(data, os.path.join(work, "grantd-prefilled.log"), "grantd-prefilled")
        live.append(srv2)
        note(f"grantd (pre-filled) ready in {srv2.startup_s:.2f}s")
        t2 = Target("grantd (pre-filled)", srv2, "/oauth2/token", g.creds)
        t2.cursor = g.cursor   # the replay table remembers every jti already used
        head = next(r for r in ROWS if r[0] == HEADLINE)
        rate = max(g.results[HEADLINE]["rps"], g.results[HEADLINE + "@2x"]["rps"])
        pool.ensure(t2.cursor + int(rate * (WARMUP + DURATION) * 1.6) + 4000)
        wait_quiet()
        run_row(res, pool, t2, head, CONNS, WARMUP, f"{HEADLINE} c{CONNS} warm-up", rate)
        r = run_row(res, pool, t2, head, CONNS, DURATION, f"{HEADLINE} c{CONNS}", rate)
        extra["prefill"] = {"info": info, "result": r, "mem": srv2.status(),
                            "startup_s": srv2.startup_s, "db_before_mib": db_before}
        extra["restart_s"] = srv2.startup_s
        extra["restart_note"] = f", {fmt_rate(info['after'])} token rows"
        srv2.stop()
        srv2.keep_log(os.path.join(res.out, "grantd-prefilled.log"))
    else:
        srv2 = start_grantd(data, os.path.join(work, "grantd-restart.log"), "grantd-restart")
        live.append(srv2)
        extra["restart_s"] = srv2.startup_s
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        extra["restart_note"] = f", {fmt_rate(con.execute('SELECT count(*) FROM tokens').fetchone()[0])} token rows"
        con.close()
        srv2.stop()

    # ---- Node.js reference, one process and two
    if WITH_NODE:
        extra["node"] = node_versions()
        secret = os.urandom(16).hex()
        cred = {c: B.basic(f"bench-{c}", secret) for c in ("at", "rt")}
        for workers in (1, 2):
            n = NodeRef(work, workers, pub, secret)
            n.start()
            live.append(n)
            name = "Node (1 process)" if workers == 1 else "Node (2 processes)"
            note(f"{name} ready in {n.startup_s:.2f}s (pids {sorted(n.pids())}, "
                 f"http {n.http_port})")
            t = Target(name, n, "/token", cred)
            verify(t, key)
            measure(res, pool, t, fastest)
            extra["mem"][name] = n.status()
            targets.append(t)
            rc, dt = n.stop()
            note(f"{name} stopped: exit {rc} in {dt:.2f}s")
            n.keep_log(os.path.join(res.out, f"{n.label}.log"))
            with open(n.log_path, errors="replace") as f:
                warn = sorted({x.strip() for x in f if "WARNING" in x})
            extra["node_warn"] = "; ".join(warn)

    report(res, mach, targets, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
