#!/usr/bin/python3
"""bench.py - the full grantd benchmark matrix, run by `BENCH_FULL=1 bench/run.sh`
(the default run is bench/compare.py; see docs/performance.md).

Starts the real binary on loopback (temporary data dir, ephemeral HTTPS port,
a free plain-HTTP port), registers identity providers (RS256, ES256, EdDSA
certificates) and an application through the admin API, then measures with
wrk (every run bounded by -d): /healthz, client_credentials and the JWT
bearer grant over HTTP and HTTPS (keep-alive) at a few concurrencies, plus
unique-jti assertions and new-TLS-connection-per-request. Also: RSS idle and
after load, the server's own latencies (access log), CPU per request,
syscalls per request (perf tracepoints), durable writes by file and the
busy-handler sleeps with their stacks (strace), a CPU profile (perf, software
clock), restarts with [server] threads = 1 and 8, the cost of durability (the
same requests with the data dir on tmpfs), and instructions per request under
callgrind. Prints a Markdown report and writes it, the raw outputs and the
logs (without the access log) to BENCH_OUT.

Readiness is the server's own "ready" log line, never a sleep; the server is
stopped by PID with SIGTERM; only processes started here are signalled.

Environment (all optional):
  GRANTD_BIN                 binary (default: build/grantd)
  BENCH_DURATION             seconds per wrk run (default 5)
  BENCH_CONCURRENCY          HTTP connection counts (default 1,16,64)
  BENCH_TLS_CONCURRENCY      HTTPS connection counts (default 1,16)
  BENCH_CALLGRIND_REQUESTS   requests per scenario under callgrind (default 100; 0 = skip)
  BENCH_PERF                 0 = no perf profile / syscall counts (default: when perf works)
  BENCH_TMPFS                0 = skip the tmpfs (no-fsync) comparison (default 1)
  BENCH_THREADS_EXPERIMENT   0 = skip the restarts with [server] threads = 1 and 8 (default 1)
  BENCH_OUT                  output directory (default bench/out/<UTC timestamp>)
  BENCH_NOTE                 free text for the report header (e.g. the commit measured)
"""
import base64
import collections
import datetime
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GRANTD = os.path.abspath(os.environ.get("GRANTD_BIN") or os.path.join(ROOT, "build", "grantd"))
WRK_LUA = os.path.join(HERE, "wrk.lua")
DURATION = int(os.environ.get("BENCH_DURATION") or 5)
CONC = [int(x) for x in (os.environ.get("BENCH_CONCURRENCY") or "1,16,64").split(",") if x]
TLS_CONC = [int(x) for x in (os.environ.get("BENCH_TLS_CONCURRENCY") or "1,16").split(",") if x]
CG_N = int(os.environ.get("BENCH_CALLGRIND_REQUESTS") or 100)
ADMIN_PASSWORD = "bench-Admin-Passw0rd!"
API = "/api/server/v1"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ALIAS = "https://grantd.bench/oauth2/token"  # the audience of every assertion
LISTEN_RE = re.compile(r"listening (https?)://(\S+):(\d+)")
ACCESS_RE = re.compile(rb" access \S+ \S+ \S+ 200 \d+ (\d+)us ")
T0 = time.monotonic()
with open("/proc/loadavg") as _f:
    LOAD0 = " ".join(_f.read().split()[:3])

# Loopback only: never a proxy from the environment.
for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(k, None)


def note(msg):
    print(f"[bench {time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


# ---------------------------------------------------------------- server

class Server:
    """A grantd process started by this script. Its stderr (one line per
    request: the access log) goes straight to a file, so nothing of ours runs
    per request; readiness is read from that file with `tail -F` (inotify)
    until the "ready" line."""

    def __init__(self, data_dir, log_path, prefix=(), label="grantd", env=None):
        self.extra_env = dict(env or {})
        self.data_dir = data_dir
        self.log_path = log_path
        self.prefix = list(prefix)
        self.label = label
        self.config_path = os.path.join(os.path.dirname(data_dir), f"{label}.toml")
        self.http_port_cfg = free_port()
        with open(self.config_path, "w") as f:
            f.write("[server]\n"
                    f'data_dir = "{data_dir}"\n'
                    'bind = ["127.0.0.1"]\n'
                    "port = 0\n"
                    f"http_port = {self.http_port_cfg}\n"
                    # One load generator on loopback opens up to 64
                    # connections: above the default per-address cap.
                    "max_connections_per_address = 1024\n")
        self.proc = None
        self.port = self.http_port = None
        self.head = []
        self.problems = []

    def start(self, timeout=60):
        env = dict(os.environ)
        env.pop("GRANTD_BIN", None)  # ours, not a server setting (it would warn)
        env["GRANTD_ADMIN_PASSWORD"] = ADMIN_PASSWORD
        env.update(self.extra_env)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.prefix + [GRANTD, "serve", "-c", self.config_path],
                                         env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=log)
        # tail exits by itself when the server does (--pid), so a server that
        # dies before "ready" ends the wait too; the timer is only a backstop.
        tail = subprocess.Popen(["tail", "-n", "+1", "-F", f"--pid={self.proc.pid}",
                                 self.log_path], stdout=subprocess.PIPE, text=True,
                                errors="replace", stderr=subprocess.DEVNULL)
        backstop = threading.Timer(timeout, lambda: tail.poll() is None and
                                   os.kill(tail.pid, signal.SIGTERM))
        backstop.start()
        ready = False
        for line in tail.stdout:
            line = line.rstrip("\n")
            self.head.append(line)
            m = LISTEN_RE.search(line)
            if m and m.group(2) in ("127.0.0.1", "[127.0.0.1]"):
                if m.group(1) == "https":
                    self.port = int(m.group(3))
                else:
                    self.http_port = int(m.group(3))
            if " ready " in line or line.endswith(" ready"):
                ready = True
                break
        backstop.cancel()
        if tail.poll() is None:
            os.kill(tail.pid, signal.SIGTERM)
        tail.wait()
        tail.stdout.close()
        if not ready:
            self.stop()
            raise RuntimeError(f"{self.label} did not start; log:\n" + "\n".join(self.head[-50:]))
        if self.port is None or self.http_port is None:
            self.stop()
            raise RuntimeError(f"{self.label}: no listening lines for https and http")
        return self

    def log_offset(self):
        return os.path.getsize(self.log_path)

    def access_times(self, start, end):
        """Server-measured durations (µs) of the successful requests logged
        between two offsets of the log."""
        with open(self.log_path, "rb") as f:
            f.seek(start)
            chunk = f.read(end - start)
        return [int(m.group(1)) for m in ACCESS_RE.finditer(chunk)]

    def tail_lines(self, n=30):
        with open(self.log_path, "rb") as f:
            f.seek(max(0, os.path.getsize(self.log_path) - 16384))
            return f.read().decode(errors="replace").splitlines()[-n:]

    def keep_log(self, path):
        """After the run: copy every line but the access log to `path` and
        collect the WARN/ERROR lines."""
        with open(self.log_path, "rb") as f, open(path, "wb") as out:
            for line in f:
                if b" access " not in line:
                    out.write(line)
                    if (b" WARN " in line or b" ERROR " in line) and len(self.problems) < 200:
                        self.problems.append(line.decode(errors="replace").rstrip())

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def status(self):
        """VmRSS and VmHWM in KiB."""
        out = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "Threads"):
                    out[k] = int(v.split()[0])
        return out

    def io(self):
        """/proc/<pid>/io: rchar, wchar (bytes through read/write syscalls),
        write_bytes (bytes sent to storage)."""
        out = {}
        with open(f"/proc/{self.pid}/io") as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = int(v)
        return out

    def cpu(self):
        """(user, system) CPU seconds of all the server's threads so far."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tck = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tck, int(fields[12]) / tck

    def stop(self, timeout=60):
        """SIGTERM to our own child by PID; returns (exit code, seconds)."""
        if self.proc is None:
            return None, 0.0
        t = time.monotonic()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            note(f"{self.label} ignored SIGTERM for {timeout}s: SIGKILL to pid {self.proc.pid}")
            os.kill(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait()
        dt = time.monotonic() - t
        self.proc = None
        return rc, dt

    @property
    def cert(self):
        return os.path.join(self.data_dir, "tls", "cert.pem")


class Client:
    """One keep-alive connection (HTTP or HTTPS, certificate verified)."""

    def __init__(self, srv, tls=False):
        if tls:
            ctx = ssl.create_default_context(cafile=srv.cert)
            self.conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx,
                                                    timeout=120)
        else:
            self.conn = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=120)

    def send(self, method, path, body=None, headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.conn.request(method, path, body=body, headers=headers or {})
        r = self.conn.getresponse()
        return r.status, r.read()

    def close(self):
        self.conn.close()


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def admin_post(cl, path, obj):
    st, data = cl.send("POST", API + path, json.dumps(obj),
                       {"Content-Type": "application/json",
                        "Authorization": basic("admin", ADMIN_PASSWORD)})
    if st != 201:
        raise RuntimeError(f"POST {path}: {st} {data[:500]!r}")
    return json.loads(data)


# ---------------------------------------------------------------- keys, setup

def self_signed(key, cn):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    algo = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, algo))


def make_keys():
    return {
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "EdDSA": ed25519.Ed25519PrivateKey.generate(),
    }


def issuer(alg):
    return f"https://idp-{alg.lower()}.bench"


def setup(srv, keys):
    """IdPs (one per algorithm, certificate upload) and one application;
    returns the Basic credentials of the application."""
    cl = Client(srv)
    for alg, key in keys.items():
        pem = self_signed(key, f"bench-{alg}").public_bytes(serialization.Encoding.PEM).decode()
        admin_post(cl, "/identity-providers", {
            "name": f"bench-{alg.lower()}", "idpIssuerName": issuer(alg), "alias": ALIAS,
            "certificate": {"certificates": [pem]}})
    app = admin_post(cl, "/applications", {
        "name": "bench-app",
        "inboundProtocolConfiguration": {"oidc": {
            "grantTypes": [JWT_BEARER, "refresh_token", "client_credentials"]}}})
    cl.close()
    o = app["inboundProtocolConfiguration"]["oidc"]
    return basic(o["clientId"], o["clientSecret"])


def assertion(keys, alg, jti=None, lifetime=3600):
    now = int(time.time())
    claims = {"iss": issuer(alg), "sub": "bench-user", "aud": ALIAS, "iat": now,
              "exp": now + lifetime}
    if jti is not None:
        claims["jti"] = jti
    return jwt.encode(claims, keys[alg], algorithm=alg)


def jwt_body(a):
    return urllib.parse.urlencode({"grant_type": JWT_BEARER, "assertion": a})


class Scenario:
    """A request shape. `bodies` is a file with one body per line (for wrk);
    `feed`, a list of bodies consumed one per request by the python clients."""

    def __init__(self, name, path, body=None, auth=None, bodies=None, feed=None):
        self.name, self.path, self.body, self.auth, self.bodies = name, path, body, auth, bodies
        self.feed = feed

    def headers(self):
        h = {}
        if self.auth:
            h["Authorization"] = self.auth
        if self.body is not None or self.bodies is not None or self.feed is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        return h

    def send(self, cl):
        if self.feed is not None:
            return cl.send("POST", self.path, self.feed.pop(), self.headers())
        if self.body is None and self.bodies is None:
            return cl.send("GET", self.path)
        return cl.send("POST", self.path, self.body, self.headers())


def scenarios(keys, auth):
    s = [Scenario("healthz", "/healthz"),
         Scenario("client_credentials", "/oauth2/token", "grant_type=client_credentials", auth)]
    for alg in keys:
        s.append(Scenario(f"jwt-bearer {alg}", "/oauth2/token", jwt_body(assertion(keys, alg)),
                          auth))
    return s


def verify(srv, scn):
    """One request of the scenario must succeed before it is measured."""
    cl = Client(srv)
    st, data = scn.send(cl)
    cl.close()
    if st != 200:
        raise RuntimeError(f"{scn.name}: HTTP {st}: {data[:300]!r}")
    if scn.path == "/oauth2/token":
        tok = json.loads(data)
        if "access_token" not in tok:
            raise RuntimeError(f"{scn.name}: no access_token in {data[:300]!r}")
        return sorted(tok)
    return None


# ---------------------------------------------------------------- wrk

class Results:
    def __init__(self, out):
        self.out = out
        os.makedirs(os.path.join(out, "raw"), exist_ok=True)

    def raw(self, name, text):
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        with open(os.path.join(self.out, "raw", safe + ".txt"), "w") as f:
            f.write(text)


def wrk(res, srv, scn, tls, conns, label=None, close=False, wrap=(), duration=None):
    duration = duration or DURATION
    threads = min(2, conns)
    url = (f"https://127.0.0.1:{srv.port}" if tls else
           f"http://127.0.0.1:{srv.http_port}") + scn.path
    env = dict(os.environ)
    tmp = []
    if scn.body is not None:
        fd, p = tempfile.mkstemp(prefix="bench-body-", dir=res.tmp)
        os.write(fd, scn.body.encode())
        os.close(fd)
        env["BENCH_BODY_FILE"] = p
        tmp.append(p)
    if scn.bodies is not None:
        env["BENCH_BODIES_FILE"] = scn.bodies
        env["BENCH_THREADS"] = str(threads)
    if scn.auth:
        env["BENCH_AUTH"] = scn.auth
    if close:
        env["BENCH_CLOSE"] = "1"
    cmd = list(wrap) + ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--timeout", "10s",
                        "--latency", "-s", WRK_LUA, url]
    off0 = srv.log_offset()
    pt0 = proc_times()
    cpu0, ru0, st0, io0 = srv.cpu(), resource.getrusage(resource.RUSAGE_CHILDREN), sys_cpu(), srv.io()
    p = run(cmd, env=env, timeout=duration + 60)
    cpu1, ru1, st1, io1 = srv.cpu(), resource.getrusage(resource.RUSAGE_CHILDREN), sys_cpu(), srv.io()
    pt1 = proc_times()
    off1 = srv.log_offset()
    for t in tmp:
        os.unlink(t)
    label = label or f"{scn.name} {'https' if tls else 'http'} c{conns}"
    res.raw("wrk " + label, " ".join(cmd) + "\n\n" + p.stdout + "\n" + p.stderr)
    m = re.search(r"^BENCH_RESULT (\{.*\})$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({label}): rc={p.returncode}\n{p.stdout}\n{p.stderr}")
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    n = max(r["requests"], 1)
    r["srv_user_us"] = (cpu1[0] - cpu0[0]) / n * 1e6
    r["srv_sys_us"] = (cpu1[1] - cpu0[1]) / n * 1e6
    r["client_cpu_pct"] = ((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)) \
        / (r["duration_us"] / 1e6) * 100
    r["srv_cpu_pct"] = ((cpu1[0] - cpu0[0]) + (cpu1[1] - cpu0[1])) / (r["duration_us"] / 1e6) * 100
    # CPU used by everything else on the machine meanwhile (other users' jobs)
    wall = (st1[1] - st0[1]) / os.sysconf("SC_CLK_TCK") / (os.cpu_count() or 1)
    busy = (st1[0] - st0[0]) / os.sysconf("SC_CLK_TCK")
    srv_s = (cpu1[0] - cpu0[0]) + (cpu1[1] - cpu0[1])
    cli_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    r["other_cpu_pct"] = max(0.0, (busy - srv_s - cli_s) / wall * 100) if wall > 0 else 0.0
    kt = us = 0.0
    own = srv.pids() if hasattr(srv, "pids") else {srv.pid}  # a multi-process server
    for pid, (t, kthread) in pt1.items():
        if pid in own or pid == os.getpid() or pid not in pt0:
            continue
        if kthread:
            kt += t - pt0[pid][0]
        else:
            us += t - pt0[pid][0]
    r["kthread_cpu_pct"] = kt / wall * 100 if wall > 0 else 0.0
    r["steal_pct"] = (st1[2] - st0[2]) / os.sysconf("SC_CLK_TCK") / wall * 100 if wall > 0 else 0.0
    r["others_cpu_pct"] = us / wall * 100 if wall > 0 else 0.0
    r["wchar_kib"] = (io1["wchar"] - io0["wchar"]) / n / 1024
    r["write_bytes_kib"] = (io1["write_bytes"] - io0["write_bytes"]) / n / 1024
    r["rchar_kib"] = (io1["rchar"] - io0["rchar"]) / n / 1024
    d = sorted(srv.access_times(off0, off1))
    if d:
        r["srv_p50_us"], r["srv_p99_us"], r["srv_max_us"] = (
            d[len(d) // 2], d[min(len(d) - 1, int(len(d) * 0.99))], d[-1])
        r["srv_over_10ms"] = sum(1 for x in d if x >= 10000)
    r["counts"] = {}
    for line in p.stderr.splitlines():  # perf stat -x ';' when wrapped
        f = line.split(";")
        if len(f) > 2 and f[2].startswith("syscalls:sys_enter_") and f[0].isdigit():
            r["counts"][f[2][len("syscalls:sys_enter_"):]] = int(f[0]) / n
    r.update(scenario=scn.name, transport="https" if tls else "http", conns=conns, label=label,
             cmd=" ".join(cmd), stderr=p.stderr)
    if srv.alive():
        r.update(srv.status())
    else:
        raise RuntimeError(f"the server died during {label}; log tail:\n"
                           + "\n".join(srv.tail_lines()))
    note(f"{label}: {r['rps']:.0f} req/s p50 {r['p50_us'] / 1000:.2f} ms "
         f"p99 {r['p99_us'] / 1000:.2f} ms non-2xx {r['status']} errors {r['errors']} "
         f"others {r['others_cpu_pct']:.0f}% steal {r['steal_pct']:.0f}% kthreads {r['kthread_cpu_pct']:.0f}% "
         f"RSS {r.get('VmRSS', 0) / 1024:.1f} MiB")
    return r


# ---------------------------------------------------------------- extras

def sys_cpu():
    """(busy, total, steal) clock ticks of all CPUs from /proc/stat; steal is
    time the hypervisor gave to other guests."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    total = sum(v[:8])
    return total - v[3] - v[4], total, v[7]


def proc_times():
    """{pid: (CPU seconds, is a kernel thread)} of every process now."""
    tck = os.sysconf("SC_CLK_TCK")
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(d)] = ((int(fields[11]) + int(fields[12])) / tck,
                       bool(int(fields[6]) & 0x00200000))  # PF_KTHREAD
    return out


def perf_works():
    if os.environ.get("BENCH_PERF") == "0" or shutil.which("perf") is None:
        return False
    p = run(["perf", "stat", "-e", "cpu-clock,syscalls:sys_enter_fdatasync", "true"])
    return p.returncode == 0 and "not supported" not in p.stderr


def perf_profile(res, srv, scn, tls, conns):
    """wrk under `perf record -p <server>` (the wrk command bounds the
    recording); returns the flat profile by library and by symbol."""
    data = os.path.join(res.tmp, "perf.data")
    label = f"perf {scn.name} {'https' if tls else 'http'} c{conns}"
    r = wrk(res, srv, scn, tls, conns, label=label,
            wrap=["perf", "record", "-q", "-e", "cpu-clock", "-F", "2000", "-p", str(srv.pid),
                  "-o", data, "--"])
    out = {"run": r}
    for key, sort in (("dso", "dso"), ("sym", "dso,sym")):
        p = run(["perf", "report", "-i", data, "--stdio", "--no-children", "-q",
                 "--sort", sort, "--percent-limit", "0.7"], timeout=120)
        res.raw(f"{label} by {key}", p.stdout + p.stderr)
        rows = []
        for line in p.stdout.splitlines():
            m = re.match(r"\s*([\d.]+)%\s+(.*\S)", line)
            if m:
                rows.append((float(m.group(1)), re.sub(r"\s+", " ", m.group(2))))
        out[key] = rows
    os.unlink(data)
    return out


SYSCALLS = ["fsync", "fdatasync", "pwrite64", "pread64", "write", "recvfrom", "clock_nanosleep",
            "futex"]
CONTENTION = ["fdatasync", "pwrite64", "pread64", "clock_nanosleep", "futex"]


def contention(res, srv, scn, conns=16):
    """A wrk run under `perf stat -e syscalls:...` on the server: durable
    commits and SQLite busy-handler sleeps (clock_nanosleep) per request."""
    ev = ",".join(f"syscalls:sys_enter_{x}" for x in CONTENTION)
    return wrk(res, srv, scn, False, conns, label=f"{scn.name} http c{conns} syscall count",
               wrap=["perf", "stat", "-x", ";", "-e", ev, "-p", str(srv.pid), "--"])


def count_syscalls(res, srv, scn, n, bodies=None):
    """n sequential keep-alive HTTP requests by a child python process under
    `perf stat -p <server>` (tracepoint counts are exact): syscalls per request."""
    reqf = os.path.join(res.tmp, "syscall-req.json")
    with open(reqf, "w") as f:
        json.dump({"port": srv.http_port, "path": scn.path, "headers": scn.headers(),
                   "bodies": bodies or ([scn.body] * n if scn.body is not None else None),
                   "n": n}, f)
    client = (
        "import http.client,json,sys\n"
        "r=json.load(open(sys.argv[1]))\n"
        "c=http.client.HTTPConnection('127.0.0.1',r['port'],timeout=60)\n"
        "for i in range(r['n']):\n"
        "    b=r['bodies'][i] if r['bodies'] else None\n"
        "    c.request('POST' if b else 'GET',r['path'],body=b,headers=r['headers'])\n"
        "    x=c.getresponse(); x.read()\n"
        "    assert x.status==200,(x.status)\n")
    events = ",".join(f"syscalls:sys_enter_{s}" for s in SYSCALLS)
    cmd = ["perf", "stat", "-x", ";", "-e", events, "-p", str(srv.pid), "--",
           "/usr/bin/python3", "-c", client, reqf]
    p = run(cmd, timeout=300)
    res.raw(f"syscalls {scn.name}", " ".join(cmd[:8]) + " ...\n" + p.stdout + p.stderr)
    if p.returncode != 0:
        raise RuntimeError(f"syscall count failed: {p.stderr[-2000:]}")
    counts = {}
    for line in p.stderr.splitlines():
        f = line.split(";")
        if len(f) > 2 and f[2].startswith("syscalls:sys_enter_"):
            counts[f[2][len("syscalls:sys_enter_"):]] = int(f[0]) / n if f[0].isdigit() else None
    os.unlink(reqf)
    return counts


def fsync_trace(res, srv, scn, n):
    """The server's durable-write syscalls by file over n sequential
    requests (strace -f -y -T attached to every server thread): fsync and
    fdatasync with their durations, pwrite64 with their sizes."""
    if shutil.which("strace") is None:
        return None
    log = os.path.join(res.tmp, "strace.txt")
    st = subprocess.Popen(["strace", "-f", "-y", "-T", "-e", "trace=fsync,fdatasync,pwrite64",
                           "-o", log, "-p", str(srv.pid)], stderr=subprocess.PIPE, text=True)
    # "strace: Process N attached with M threads" once every thread is traced
    for line in st.stderr:
        if "attached" in line:
            break
    else:
        raise RuntimeError("strace did not attach")
    try:
        cl = Client(srv)
        for _ in range(n):
            code, data = scn.send(cl)
            if code != 200:
                raise RuntimeError(f"fsync trace {scn.name}: HTTP {code} {data[:200]!r}")
        cl.close()
    finally:
        os.kill(st.pid, signal.SIGINT)
        st.communicate(timeout=60)
    calls = collections.defaultdict(lambda: [0, 0.0, 0])  # count, seconds, bytes
    with open(log) as f:
        text = f.read()
    res.raw(f"strace writes {scn.name}", text[:500000])
    for m in re.finditer(r"(fsync|fdatasync|pwrite64)\(\d+<([^>]*)>(?:, .*?, (\d+), \d+)?\)"
                         r"\s*=\s*(\d+)\s*<([\d.]+)>", text):
        call, path = m.group(1), os.path.basename(m.group(2))
        if call == "pwrite64":
            call += " 4096 B" if m.group(3) == "4096" else f" {m.group(3)} B" \
                if int(m.group(3)) < 4096 else " other"
        c = calls[(call, path)]
        c[0] += 1
        c[1] += float(m.group(5))
        c[2] += int(m.group(4)) if m.group(1) == "pwrite64" else 0
    return {f"{k[0]} {k[1]}": (c / n, t / c * 1e3 if c else 0, b / n / 1024)
            for k, (c, t, b) in sorted(calls.items(), key=lambda x: (x[0][1], x[0][0]))}


def busy_trace(res, srv, scn, conns=16, duration=3):
    """Every clock_nanosleep of the server with its call stack (strace -k)
    during a short wrk run: how many come from SQLite's busy handler, called
    by which grantd function, and how long they sleep."""
    if shutil.which("strace") is None:
        return None
    log = os.path.join(res.tmp, "strace-sleep.txt")
    st = subprocess.Popen(["strace", "-f", "-k", "-e", "trace=clock_nanosleep", "-o", log,
                           "-p", str(srv.pid)], stderr=subprocess.PIPE, text=True)
    for line in st.stderr:
        if "attached" in line:
            break
    else:
        raise RuntimeError("strace did not attach")
    try:
        r = wrk(res, srv, scn, False, conns, label=f"{scn.name} http c{conns} under strace -k",
                duration=duration)
    finally:
        os.kill(st.pid, signal.SIGINT)
        st.communicate(timeout=60)
    with open(log) as f:
        text = f.read()
    res.raw(f"strace clock_nanosleep {scn.name}", text[:200000])
    sleeps = text.split("clock_nanosleep(")[1:]
    hist = collections.Counter()
    busy = 0
    callers = collections.Counter()
    for b in sleeps:
        m = re.search(r"tv_sec=(\d+), tv_nsec=(\d+)", b)
        if m:
            hist[int(m.group(1)) * 1000 + int(m.group(2)) // 1000000] += 1
        if "sqlite3InvokeBusyHandler" in b:
            busy += 1
            m = re.search(r"grantd\((\w+)\+0x[0-9a-f]+\).*\n.*grantd\((\w+)\+", b)
            callers[m.group(1) + " < " + m.group(2) if m else "?"] += 1
    return {"run": r, "sleeps": len(sleeps), "busy": busy, "hist": dict(sorted(hist.items())),
            "callers": callers.most_common(3)}


def fdatasync_latency(directory, n=200):
    """Mean and p99 of an fdatasync after a 4 KiB pwrite on the file system of
    `directory` (what one durable SQLite commit waits for at least)."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    lat = []
    try:
        for i in range(n):
            os.pwrite(fd, os.urandom(4096), (i % 64) * 4096)
            t = time.perf_counter()
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()
    return sum(lat) / n * 1e3, lat[int(n * 0.99) - 1] * 1e3


def unique_jti_bodies(res, keys, alg, n):
    path = os.path.join(res.tmp, f"bodies-{alg}.txt")
    t = time.monotonic()
    with open(path, "w") as f:
        for i in range(n):
            f.write(jwt_body(assertion(keys, alg, jti=f"bench-{i}-{os.urandom(6).hex()}")) + "\n")
    note(f"minted {n} {alg} assertions with unique jti in {time.monotonic() - t:.1f}s")
    return path


# ---------------------------------------------------------------- callgrind

def callgrind(res, data_dir, scns, n):
    """Restarts the server on the same data dir under callgrind; for each
    scenario: one warm-up request on a keep-alive connection (TLS handshake
    included there), zero the counters, n requests, dump. Instructions are
    counted in every thread of the server."""
    outdir = os.path.join(res.out, "callgrind")
    os.makedirs(outdir, exist_ok=True)
    srv = Server(data_dir, os.path.join(res.tmp, "grantd-callgrind.log"), label="grantd-callgrind",
                 prefix=["valgrind", "--tool=callgrind", "--quiet",
                         f"--callgrind-out-file={outdir}/callgrind.out.%p"])
    srv.start(timeout=600)
    pid = srv.pid
    note(f"callgrind server ready (pid {pid})")
    rows = []
    try:
        for tls in (False, True):
            for scn in scns:
                cl = Client(srv, tls)
                st, data = scn.send(cl)
                if st != 200:
                    raise RuntimeError(f"callgrind warm-up {scn.name}: HTTP {st} {data[:300]!r}")
                label = f"{scn.name} {'https' if tls else 'http'}"
                z = run(["callgrind_control", "--zero", str(srv.pid)], timeout=120)
                if z.returncode != 0:
                    raise RuntimeError("callgrind_control --zero: " + z.stdout + z.stderr)
                for i in range(n):
                    st, data = scn.send(cl)
                    if st != 200:
                        raise RuntimeError(f"callgrind {label}: HTTP {st} {data[:200]!r}")
                d = run(["callgrind_control", f"--dump={label}", str(srv.pid)], timeout=300)
                if d.returncode != 0:
                    raise RuntimeError("callgrind_control --dump: " + d.stdout + d.stderr)
                cl.close()
                rows.append({"label": label, "scenario": scn.name, "tls": tls})
                note(f"callgrind: {label} dumped")
        # full TLS handshakes: a new connection for every /healthz
        k = max(5, n // 5)
        label = "healthz https new connection"
        cl = Client(srv, True)
        cl.send("GET", "/healthz")
        cl.close()
        z = run(["callgrind_control", "--zero", str(srv.pid)], timeout=120)
        for i in range(k):
            cl = Client(srv, True)
            st, _ = cl.send("GET", "/healthz")
            cl.close()
            if st != 200:
                raise RuntimeError(f"callgrind {label}: HTTP {st}")
        d = run(["callgrind_control", f"--dump={label}", str(srv.pid)], timeout=300)
        if z.returncode != 0 or d.returncode != 0:
            raise RuntimeError("callgrind_control: " + z.stderr + d.stderr)
        rows.append({"label": label, "scenario": "healthz, new TLS connection each (handshake)",
                     "tls": True, "n": k})
        note(f"callgrind: {label} dumped")
    finally:
        rc, dt = srv.stop(timeout=300)
        srv.keep_log(os.path.join(res.out, "grantd-callgrind.log"))
    # One file per dump, numbered in order: callgrind.out.<pid>.<k>.
    files = sorted((f for f in os.listdir(outdir) if re.match(rf"callgrind\.out\.{pid}\.\d+$", f)),
                   key=lambda f: int(f.rsplit(".", 1)[1]))
    for r in rows:
        for f in files:
            path = os.path.join(outdir, f)
            with open(path) as fh:
                head = fh.read(4096)
            if re.search(rf"^desc: Trigger: (dump )?{re.escape(r['label'])}$", head, re.M):
                r["file"] = path
        if "file" not in r:
            continue
        total = None
        with open(r["file"]) as fh:
            for line in fh:
                if line.startswith(("summary:", "totals:")):
                    total = int(line.split()[1])
        r["ir"] = total
        r["ir_per_req"] = total / r.get("n", n) if total else None
    return rows, files, outdir


ANNOTATE_RE = re.compile(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S.*?)\s+\[(.*)\]$")
# (label, functions whose inclusive cost is summed)
COMPONENTS = [
    ("signature verify", ["jose_verify_raw"]),
    ("JWS/JSON parse", ["jws_parse"]),
    ("all JWT checks", ["jwt_grant_check"]),
    ("client auth", ["client_authenticate"]),
    ("SQLite write tx", ["sq_write_tx"]),
    ("HMAC of tokens/secret", ["oauth_keyed_hash"]),
    ("CSPRNG", ["rand_bytes"]),
    ("logging", ["log_msg"]),
    ("memset", ["__memset_avx2_unaligned_erms"]),
    ("TLS records", ["gnutls_record_recv", "gnutls_record_send"]),
    ("TLS handshake", ["gnutls_handshake"]),
]
LIBS = [("libcrypto", "libcrypto"), ("sqlite", "libsqlite3"), ("libc", "libc.so"),
        ("grantd", "grantd"), ("jansson", "libjansson"), ("microhttpd", "libmicrohttpd"),
        ("gnutls+nettle+gmp", ("libgnutls", "libnettle", "libhogweed", "libgmp"))]


def annotate(res, label, path, n):
    """Instructions per request by library (self cost) and by component
    (inclusive cost of a few functions), from callgrind_annotate."""
    by_lib = collections.Counter()
    p = run(["callgrind_annotate", "--threshold=100", path], timeout=120)
    res.raw(f"callgrind_annotate self {label}", p.stdout)
    for line in p.stdout.splitlines():
        m = ANNOTATE_RE.match(line)
        if not m or m.group(2).endswith(("clone.S:clone", "pthread_create.c:start_thread")):
            continue
        obj = m.group(3).rsplit("/", 1)[-1]
        name = next((k for k, pre in LIBS if obj.startswith(pre)), "other")
        by_lib[name] += int(m.group(1).replace(",", "")) / n
    incl = collections.Counter()
    p = run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path], timeout=120)
    res.raw(f"callgrind_annotate inclusive {label}", p.stdout)
    best = {}
    for line in p.stdout.splitlines():
        m = ANNOTATE_RE.match(line)
        if m:
            fn = m.group(2).rsplit(":", 1)[-1]
            best[fn] = max(best.get(fn, 0), int(m.group(1).replace(",", "")))
    for comp, fns in COMPONENTS:
        incl[comp] = sum(best.get(f, 0) for f in fns) / n
    return by_lib, incl


# ---------------------------------------------------------------- report

def ms(us):
    return f"{us / 1000:.2f}"


def srvlat(r):
    if "srv_p50_us" not in r:
        return "-"
    return f"{ms(r['srv_p50_us'])} / {ms(r['srv_p99_us'])} / {ms(r['srv_max_us'])}"


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    ver = run([GRANTD, "version"]).stdout.strip().splitlines()
    return {"nproc": os.cpu_count(), "cpu": model, "mem_mib": mem,
            "kernel": platform.release(), "grantd": ", ".join(ver) if ver else "?",
            "wrk": run(["wrk", "--version"]).stdout.splitlines()[0] if shutil.which("wrk") else "?"}


def main():
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = os.path.abspath(os.environ.get("BENCH_OUT") or os.path.join(HERE, "out", stamp))
    res = Results(out)
    work = tempfile.mkdtemp(prefix="grantd-bench-")
    res.tmp = work
    md = []
    servers = []
    try:
        return _main(res, work, md, servers)
    finally:
        for s in servers:
            if s.alive():
                s.stop()
        shutil.rmtree(work, ignore_errors=True)


def _main(res, work, md, servers):
    if not os.access(GRANTD, os.X_OK):
        raise SystemExit(f"bench: no executable {GRANTD} (build it, or set GRANTD_BIN)")
    mach = machine()
    note(f"grantd: {GRANTD} ({mach['grantd']}); output: {res.out}")
    keys = make_keys()

    # ---- server A: data dir on the normal disk
    data = os.path.join(work, "data")
    srv = Server(data, os.path.join(work, "grantd.log"))
    t = time.monotonic()
    srv.start()
    servers.append(srv)
    first_start = time.monotonic() - t
    note(f"server ready in {first_start:.2f}s (pid {srv.pid}, https {srv.port}, http {srv.http_port})")
    rss = {"idle after start": srv.status()}
    auth = setup(srv, keys)
    scns = scenarios(keys, auth)
    fields = {}
    for scn in scns:
        fields[scn.name] = verify(srv, scn)
    rss["idle after setup"] = srv.status()

    rows = []
    for tls, concs in ((False, CONC), (True, TLS_CONC)):
        for scn in scns:
            for c in concs:
                rows.append(wrk(res, srv, scn, tls, c))
    hs = wrk(res, srv, scns[0], True, 16, label="healthz https c16 new connection per request",
             close=True)
    rss["after the load matrix"] = srv.status()

    # unique jti: one replay record per request (a second durable commit)
    es = next((r for r in rows if r["scenario"] == "jwt-bearer ES256" and r["transport"] == "http"
               and r["conns"] == 16), None)
    want = int((es["rps"] if es else 3000) * DURATION * 1.5) + 2000
    jti_scn = Scenario("jwt-bearer ES256 unique jti", "/oauth2/token", auth=auth,
                       bodies=unique_jti_bodies(res, keys, "ES256", min(want, 300000)))
    jti = wrk(res, srv, jti_scn, False, 16)

    extra = {}
    if perf_works():
        for name in ("jwt-bearer RS256", "client_credentials"):
            scn = next(s for s in scns if s.name == name)
            extra[f"perf {name} http"] = perf_profile(res, srv, scn, False, 16)
        extra["perf jwt-bearer ES256 https"] = perf_profile(
            res, srv, next(s for s in scns if s.name == "jwt-bearer ES256"), True, 16)
        n = 300
        sc = {}
        for scn in scns:
            sc[scn.name] = count_syscalls(res, srv, scn, n)
        bodies = [jwt_body(assertion(keys, "ES256", jti=f"sys-{i}-{os.urandom(4).hex()}"))
                  for i in range(n)]
        sc["jwt-bearer ES256 unique jti"] = count_syscalls(res, srv, jti_scn, n, bodies)
        extra["syscalls"] = (n, sc)
        note("syscall counts done")
        ft = {}
        for scn in scns[1:3]:
            ft[scn.name] = fsync_trace(res, srv, scn, n)
        fb = Scenario(jti_scn.name, jti_scn.path, auth=auth,
                      feed=[jwt_body(assertion(keys, "ES256", jti=f"st-{i}-{os.urandom(4).hex()}"))
                            for i in range(n)])
        ft[fb.name] = fsync_trace(res, srv, fb, n)
        extra["fsync_trace"] = (n, ft)
        note("fsync trace done")
        cont = [contention(res, srv, s) for s in scns[1:3]]
        jti2 = Scenario(jti_scn.name, jti_scn.path, auth=auth,
                        bodies=unique_jti_bodies(res, keys, "ES256", min(want, 300000)))
        cont.append(contention(res, srv, jti2))
        extra["contention"] = cont
        extra["busy"] = busy_trace(res, srv, scns[1])
    # the same run again and again: RSS should level off
    rsc = next(s for s in scns if s.name == "jwt-bearer RS256")
    extra["soak"] = [wrk(res, srv, rsc, True, 16, label=f"jwt-bearer RS256 https c16 repeat {i + 1}")
                     for i in range(3)]
    rss["after all load"] = srv.status()
    rc, stop_s = srv.stop()
    note(f"server stopped: exit {rc} in {stop_s:.2f}s")
    srv.keep_log(os.path.join(res.out, "grantd.log"))
    db = os.path.join(data, "grantd.db")
    dbinfo = {"size_mib": sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data)
                              if f.startswith("grantd.db")) / 2**20,
              "files": {f: os.path.getsize(os.path.join(data, f)) / 2**20
                        for f in sorted(os.listdir(data)) if f.startswith("grantd.db")}}
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        for tbl in ("tokens", "replay"):
            try:
                dbinfo[tbl] = con.execute(f"SELECT count(*) FROM {tbl}").fetchone()[0]
            except sqlite3.Error:
                pass
        con.close()
    except sqlite3.Error as e:
        dbinfo["error"] = str(e)
    fsync_disk = fdatasync_latency(work)

    # ---- server B: the same on tmpfs, where fsync costs (almost) nothing
    tmpfs = None
    if os.environ.get("BENCH_TMPFS", "1") != "0" and os.path.isdir("/dev/shm"):
        shm = tempfile.mkdtemp(prefix="grantd-bench-", dir="/dev/shm")
        try:
            b = Server(os.path.join(shm, "data"), os.path.join(work, "grantd-tmpfs.log"),
                       label="grantd-tmpfs")
            b.start()
            servers.append(b)
            auth_b = setup(b, keys)
            scns_b = scenarios(keys, auth_b)
            tmpfs = {"fsync": fdatasync_latency(shm), "rows": []}
            for scn in scns_b[1:3]:
                verify(b, scn)
                tmpfs["rows"].append(wrk(res, b, scn, False, 16, label=f"{scn.name} http c16 tmpfs"))
            want = int(jti["rps"] * DURATION * 4) + 2000
            jb = Scenario("jwt-bearer ES256 unique jti", "/oauth2/token", auth=auth_b,
                          bodies=unique_jti_bodies(res, keys, "ES256", min(want, 300000)))
            tmpfs["rows"].append(wrk(res, b, jb, False, 16,
                                     label="jwt-bearer ES256 unique jti http c16 tmpfs"))
            b.stop()
            b.keep_log(os.path.join(res.out, "grantd-tmpfs.log"))
        finally:
            shutil.rmtree(shm, ignore_errors=True)

    # ---- server A again on the same data dir with more worker threads
    threads = {}
    if os.environ.get("BENCH_THREADS_EXPERIMENT", "1") != "0":
        for nt in (1, 8):
            c = Server(data, os.path.join(work, f"grantd-threads{nt}.log"),
                       label=f"grantd-threads{nt}", env={"GRANTD_SERVER_THREADS": str(nt)})
            c.start()
            servers.append(c)
            threads[nt] = [wrk(res, c, scn, False, 16, label=f"{scn.name} http c16 threads={nt}")
                           for scn in scns[1:3]]
            c.stop()
            c.keep_log(os.path.join(res.out, f"grantd-threads{nt}.log"))

    # ---- callgrind: instructions per request, same data dir as server A
    cg = None
    if CG_N > 0 and shutil.which("valgrind") and shutil.which("callgrind_control"):
        u = Scenario("jwt-bearer ES256 unique jti", "/oauth2/token", auth=auth,
                     feed=[jwt_body(assertion(keys, "ES256", jti=f"cg-{i}-{os.urandom(4).hex()}"))
                           for i in range(2 * (CG_N + 1))])
        cg = callgrind_report(res, data, scns + [u], CG_N)

    extra["threads"] = threads
    report(res, md, mach, first_start, rss, rows, hs, jti, extra, dbinfo, fsync_disk, tmpfs, cg,
           stop_s, rc, srv, fields)
    return 0


def callgrind_report(res, data, scns, n):
    rows, files, outdir = callgrind(res, data, scns, n)
    for r in rows:
        if r.get("file"):
            r["by_lib"], r["by_comp"] = annotate(res, r["label"], r["file"], r.get("n", n))
    return {"rows": rows, "dir": outdir, "n": n}


def report(res, md, mach, first_start, rss, rows, hs, jti, extra, dbinfo, fsync_disk, tmpfs, cg,
           stop_s, rc, srv, fields):
    w = md.append
    w(f"# grantd benchmark — {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}\n")
    w(f"- grantd: `{GRANTD}` ({mach['grantd']})"
      + (f"; {os.environ['BENCH_NOTE']}" if os.environ.get("BENCH_NOTE") else ""))
    w(f"- client: {mach['wrk']}")
    knobs = " ".join(f"{k}={os.environ[k]!r}" if " " in os.environ[k] else f"{k}={os.environ[k]}"
                     for k in sorted(os.environ) if k.startswith("BENCH_") or k == "GRANTD_BIN")
    w(f"- command: `{knobs} bench/run.sh`")
    w(f"- machine: {mach['nproc']} CPUs ({mach['cpu']}), {mach['mem_mib']} MiB RAM, "
      f"Linux {mach['kernel']}; **wrk and grantd share the {mach['nproc']} CPUs**")
    w(f"- each wrk run: `-d{DURATION}s`, `-t{{min(2,c)}}`, keep-alive, `--latency`; "
      "assertions without `jti` (replayable until `exp`, 1 h), client_secret_basic")
    w(f"- load average when the bench started: {LOAD0}")
    w(f"- first start (keys, TLS certificate, database, admin): {first_start:.2f} s; "
      f"SIGTERM to exit: {stop_s:.2f} s (exit code {rc})\n")
    w("## Throughput and latency\n")
    w("| scenario | transport | conns | req/s | p50 ms | p99 ms | max ms | server p50/p99/max ms | server CPU µs/req user+sys | server CPU % | wrk CPU % | kernel threads CPU % | other processes CPU % | steal % | KiB written/req | non-2xx | socket errors | RSS after MiB |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows + [hs, jti]:
        w(f"| {r['scenario']}{' (Connection: close)' if r is hs else ''} | {r['transport']} | "
          f"{r['conns']} | {r['rps']:.0f} | {ms(r['p50_us'])} | {ms(r['p99_us'])} | "
          f"{ms(r['max_us'])} | {srvlat(r)} | {r['srv_user_us']:.0f}+{r['srv_sys_us']:.0f} | "
          f"{r['srv_cpu_pct']:.0f} | {r['client_cpu_pct']:.0f} | {r['kthread_cpu_pct']:.0f} | "
          f"{r['others_cpu_pct']:.0f} | {r['steal_pct']:.0f} | "
          f"{r['wchar_kib']:.1f} | {r['status']} | {r['errors']} | {r.get('VmRSS', 0) / 1024:.1f} |")
    w("\nserver CPU from /proc/<pid>/stat (utime, stime) around each run; wrk CPU from "
      "getrusage(RUSAGE_CHILDREN); server p50/p99/max = the durations the server logs in its "
      "access log (request line handed to grantd to response completed; time waiting in the "
      "socket before the worker reads the request is not included); kernel threads = jbd2, "
      "kworkers, ksoftirqd (mostly the file system journal and I/O done for grantd); other "
      "processes = every other user-space "
      "process on the machine, steal = CPU time the hypervisor gave to other guests (high "
      "values mean the run was disturbed); 100 % = one CPU. "
      "KiB written/req = wchar of /proc/<pid>/io (bytes passed to write/pwrite, WAL and "
      "checkpoints, plus the log line).")
    if jti.get("exhausted"):
        w(f"\nThe unique-jti run ran out of fresh assertions ({jti['exhausted']} replays counted as non-2xx).")
    w("\n## Memory (server process, /proc/<pid>/status)\n")
    w("| when | VmRSS MiB | VmHWM MiB | threads |")
    w("|---|---:|---:|---:|")
    for k, v in rss.items():
        w(f"| {k} | {v['VmRSS'] / 1024:.1f} | {v['VmHWM'] / 1024:.1f} | {v.get('Threads', '')} |")
    w(f"\nDatabase after the run: {dbinfo.get('size_mib', 0):.1f} MiB ("
      + ", ".join(f"{k} {v:.1f}" for k, v in dbinfo.get("files", {}).items()) + "), "
      f"{dbinfo.get('tokens', '?')} token rows, {dbinfo.get('replay', '?')} replay rows.")
    w("\n## Durability\n")
    w(f"- `fdatasync` after a 4 KiB `pwrite`, on the data dir's file system: mean {fsync_disk[0]:.3f} ms, "
      f"p99 {fsync_disk[1]:.3f} ms (200 samples)")
    if "syscalls" in extra:
        n, sc = extra["syscalls"]
        w(f"\nSyscalls per request (server, `perf stat -e syscalls:sys_enter_*`, {n} sequential keep-alive HTTP requests):\n")
        w("| scenario | " + " | ".join(SYSCALLS) + " |")
        w("|---|" + "---:|" * len(SYSCALLS))
        for name, c in sc.items():
            w(f"| {name} | " + " | ".join(f"{c.get(s, 0):.2f}" for s in SYSCALLS) + " |")
    if extra.get("fsync_trace"):
        n, ft = extra["fsync_trace"]
        w(f"\nDurable-write syscalls by file ({n} sequential keep-alive HTTP requests, "
          "`strace -f -y -T -e trace=fsync,fdatasync,pwrite64 -p <server>`; strace slows every "
          "syscall, so durations are upper bounds; a WAL frame is a 24 B header and a 4096 B "
          "page):\n")
        w("| scenario | call, size, file | calls per request | mean ms | KiB per request |")
        w("|---|---|---:|---:|---:|")
        for name, files in ft.items():
            for k, (per, mean, kib) in (files or {}).items():
                w(f"| {name} | {k} | {per:.3f} | {mean:.3f} | {kib:.1f} |")
    if "contention" in extra:
        w("\nUnder load (HTTP, 16 connections, wrk under `perf stat -e syscalls:sys_enter_*` on the server), per request:\n")
        w("| scenario | req/s | p50 ms | p99 ms | max ms | " + " | ".join(CONTENTION) + " |")
        w("|---|---:|---:|---:|---:|" + "---:|" * len(CONTENTION))
        for r in extra["contention"]:
            w(f"| {r['scenario']} | {r['rps']:.0f} | {ms(r['p50_us'])} | {ms(r['p99_us'])} | "
              f"{ms(r['max_us'])} | " + " | ".join(f"{r['counts'].get(x, 0):.3f}" for x in CONTENTION) + " |")
        b = extra.get("busy")
        if b:
            w(f"\nWho sleeps (`strace -f -k -e trace=clock_nanosleep -p <server>` during a "
              f"3 s client_credentials run, 16 connections, "
              f"{b['run']['requests']} requests): {b['sleeps']} sleeps, {b['busy']} of them in "
              f"`sqlite3InvokeBusyHandler` called from "
              + ", ".join(f"`{k}` ({v})" for k, v in b["callers"]) + "; sleep lengths ms: "
              + ", ".join(f"{k}: {v}" for k, v in b["hist"].items()) + ".")
    if extra.get("threads"):
        w("\nThe same server restarted on the same data dir with another `[server] threads` "
          "(`GRANTD_SERVER_THREADS`; the default 0 means one per CPU = 2), HTTP, 16 connections; "
          "server = durations from the access log:\n")
        w("| scenario | threads | req/s | p50 ms | p99 ms | max ms | server p50/p99/max ms |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        base = {r["scenario"]: r for r in rows if r["transport"] == "http" and r["conns"] == 16}
        for scn_name in [r["scenario"] for r in next(iter(extra["threads"].values()))]:
            cand = [(2, base.get(scn_name))] + [
                (nt, next(t for t in v if t["scenario"] == scn_name))
                for nt, v in sorted(extra["threads"].items())]
            for nt, t in sorted(cand, key=lambda x: x[0]):
                if t:
                    w(f"| {scn_name} | {nt} | {t['rps']:.0f} | {ms(t['p50_us'])} | "
                      f"{ms(t['p99_us'])} | {ms(t['max_us'])} | {srvlat(t)} |")
    if tmpfs:
        w(f"\nSame requests with the data dir on tmpfs (fdatasync mean {tmpfs['fsync'][0]:.3f} ms), HTTP, 16 connections:\n")
        w("| scenario | disk req/s | tmpfs req/s | disk p50/p99 ms | tmpfs p50/p99 ms |")
        w("|---|---:|---:|---:|---:|")
        disk = {(r["scenario"]): r for r in rows if r["transport"] == "http" and r["conns"] == 16}
        disk[jti["scenario"]] = jti
        for t in tmpfs["rows"]:
            d = disk.get(t["scenario"])
            if d:
                w(f"| {t['scenario']} | {d['rps']:.0f} | {t['rps']:.0f} | {ms(d['p50_us'])} / "
                  f"{ms(d['p99_us'])} | {ms(t['p50_us'])} / {ms(t['p99_us'])} |")
    if cg:
        w(f"\n## Instructions per request (callgrind, {cg['n']} requests per scenario, one keep-alive connection, all server threads)\n")
        w("| scenario | transport | total | " + " | ".join(k for k, _ in LIBS) + " | other |")
        w("|---|---|---:|" + "---:|" * (len(LIBS) + 1))
        for r in cg["rows"]:
            if r.get("ir_per_req"):
                w(f"| {r['scenario']} | {'https' if r['tls'] else 'http'} | {r['ir_per_req']:,.0f} | "
                  + " | ".join(f"{r['by_lib'].get(k, 0):,.0f}" for k, _ in LIBS + [("other", 0)]) + " |")
        w("\nBy component (inclusive instructions per request; components overlap: "
          "'all JWT checks' contains 'signature verify' and 'JWS/JSON parse'):\n")
        w("| scenario | transport | " + " | ".join(c for c, _ in COMPONENTS) + " |")
        w("|---|---|" + "---:|" * len(COMPONENTS))
        for r in cg["rows"]:
            if r.get("ir_per_req"):
                w(f"| {r['scenario']} | {'https' if r['tls'] else 'http'} | "
                  + " | ".join(f"{r['by_comp'].get(c, 0):,.0f}" for c, _ in COMPONENTS) + " |")
        w("\ncallgrind counts user-space instructions only (no kernel: syscalls, page-cache "
          "copies, fsync) and counts each byte of a `rep stosb`/`rep movsb` as one instruction.")
    for k, v in extra.items():
        if not k.startswith("perf "):
            continue
        r = v["run"]
        w(f"\n## CPU profile: {k[5:]}, 16 connections (`perf record -e cpu-clock -p <server>`; "
          f"{r['rps']:.0f} req/s while profiled)\n")
        w("| % of server CPU samples | library |")
        w("|---:|---|")
        for pct, dso in v["dso"][:12]:
            w(f"| {pct:.1f} | {dso} |")
        w("\n| % | symbol |")
        w("|---:|---|")
        for pct, sym in v["sym"][:20]:
            w(f"| {pct:.1f} | {sym} |")
    if "soak" in extra:
        w("\n## Repeated identical runs (RSS should level off)\n")
        w("| run | req/s | p99 ms | other processes CPU % | VmRSS MiB | VmHWM MiB |")
        w("|---|---:|---:|---:|---:|---:|")
        for r in extra["soak"]:
            w(f"| {r['label']} | {r['rps']:.0f} | {ms(r['p99_us'])} | {r['others_cpu_pct']:.0f} | "
              f"{r['VmRSS'] / 1024:.1f} | {r['VmHWM'] / 1024:.1f} |")
    if srv.problems:
        w("\n## Server warnings and errors during the run\n\n```")
        md.extend(srv.problems[:50])
        w("```")
    w(f"\nRaw outputs: `{res.out}`; total bench time {time.monotonic() - T0:.0f} s.")
    text = "\n".join(md) + "\n"
    with open(os.path.join(res.out, "results.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
