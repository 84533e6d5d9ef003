#!/usr/bin/env python3
"""bench/soak.py - memory of one grantd under a long, bounded load.

Starts grantd with its defaults on a fresh data dir (bench.py's Server),
registers an RS256 identity provider and an application with jwt-bearer and
refresh_token, then runs wrk for BENCH_SOAK seconds (default 600) at 32
keep-alive connections with one assertion without `jti` (require_jti is off
by default, so every request is a full grant that stores an access and a
refresh token). Prints VmRSS/VmHWM from /proc/<pid>/status every 30 s, the
request count and the token rows at the end (docs/performance.md, "Memory
over ten minutes").

With BENCH_SOAK_HOSTILE=1 (or `--hostile`) two more clients run beside wrk
for the same bounded time, sending the hostile mix of HOSTILE below
(bad signatures, replays, expired and oversized assertions, unknown
clients and kids, malformed HTTP, trickled and abandoned requests) over
raw sockets. Every hostile request must get a 4xx (505 for an unknown
HTTP version): a 5xx, a 200, a close without an answer or a hang is an
error; 2% of them are cut off half-way (not answered, by design). The
report adds the hostile requests by kind and answer, and the errors
(docs/performance.md, "Soak with hostile traffic").

    /usr/bin/python3 bench/soak.py [--hostile]  # GRANTD_BIN, BENCH_SOAK
"""
import base64
import collections
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402


def vm(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, v = line.split(":", 1)
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) // 1024
    return out


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def hostile_requests(key, auth, client_id):
    """(kind, raw request bytes, expected status class) triples: every
    request here must be refused with a 4xx and change nothing."""
    now = int(time.time())

    def assertion(**over):
        claims = {"iss": B.issuer("RS256"), "sub": "soak-user", "aud": B.ALIAS, "iat": now,
                  "exp": now + 300, "jti": "h-%d" % random.getrandbits(60)}
        claims.update(over)
        claims = {k: v for k, v in claims.items() if v is not None}
        return B.jwt.encode(claims, key, algorithm="RS256")

    def post(body, authz=auth, ctype="application/x-www-form-urlencoded", extra=""):
        if isinstance(body, str):
            body = body.encode()
        head = ("POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n")
        if authz:
            head += f"Authorization: {authz}\r\n"
        return (head + extra + "\r\n").encode() + body

    good = assertion()
    h, p, sig = good.split(".")
    replayed = assertion(jti="soak-replayed")
    forged = f"{h}.{b64u(json.dumps({'iss': B.issuer('RS256'), 'sub': 'admin', 'aud': B.ALIAS, 'exp': now + 300}).encode())}.{sig}"
    none_alg = b64u(b'{"alg":"none"}') + "." + p + "."
    kid = b64u(b'{"alg":"RS256","kid":"no-such-kid"}') + "." + p + "." + sig
    bad_secret = B.basic(client_id, "x" * 43)
    reqs = [
        ("bad signature", post(B.jwt_body(f"{h}.{p}.{sig[:-4]}AAAA"))),
        ("forged claims", post(B.jwt_body(forged))),
        ("alg none", post(B.jwt_body(none_alg))),
        ("unknown kid", post(B.jwt_body(kid))),
        ("replayed jti", post(B.jwt_body(replayed))),
        ("expired", post(B.jwt_body(assertion(exp=now - 3600, iat=now - 4000)))),
        ("lifetime 9999", post(B.jwt_body(assertion(exp=253402300799)))),
        ("wrong audience", post(B.jwt_body(assertion(aud="https://elsewhere")))),
        ("not a JWT", post(B.jwt_body("x" * 2000))),
        ("huge assertion", post(B.jwt_body("a." + "b" * 60000 + ".c"))),
        ("body over 64 KiB", post("assertion=" + "A" * 70000)),
        ("unknown client", post(B.jwt_body(good), authz=B.basic("no-such-client", "s"))),
        ("wrong secret", post(B.jwt_body(good), authz=bad_secret)),
        ("no client auth", post(B.jwt_body(good), authz=None)),
        ("bad grant_type", post("grant_type=" + "%00" * 50)),
        ("duplicate params", post(B.jwt_body(good) + "&grant_type=password")),
        ("bad content type", post(B.jwt_body(good), ctype="application/json")),
        ("bad percent", post("grant_type=%zz&assertion=%")),
        ("bad basic", post(B.jwt_body(good), authz="Basic !!!!")),
        ("bad HTTP version", b"POST /oauth2/token HTTP/9.9\r\nHost: x\r\n\r\n"),
        ("header no colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"),
        ("huge header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 40000
         + b"\r\n\r\n"),
        ("bad length", b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\n"
         b"Content-Length: -5\r\n\r\n"),
        ("unknown tenant", post(B.jwt_body(good)).replace(b"/oauth2/token",
                                                          b"/t/no-such/oauth2/token", 1)),
        ("admin no auth", b"GET /api/server/v1/applications HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("admin bad login", b"GET /api/server/v1/applications HTTP/1.1\r\nHost: x\r\n"
         b"Authorization: " + B.basic("soak-nobody", "wrong").encode() + b"\r\n\r\n"),
    ]
    # One request per connection: the answer ends with the server's close.
    return [(k, r.replace(b"\r\nHost:", b"\r\nConnection: close\r\nHost:", 1))
            for k, r in reqs]


def hostile_client(port, reqs, stop, counts, errors, seed):
    rng = random.Random(seed)
    while not stop.is_set():
        kind, raw = rng.choice(reqs)
        abandon = rng.random() < 0.02  # a request cut off half-way
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            try:
                if abandon:
                    s.sendall(raw[:len(raw) // 2])
                    counts[("abandoned", "closed")] += 1
                    continue
                s.sendall(raw)
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            finally:
                s.close()
        except (ConnectionResetError, BrokenPipeError):
            counts[(kind, "reset")] += 1
            continue
        except OSError as e:
            errors.append(f"{kind}: {e}")
            continue
        status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.") else "closed"
        counts[(kind, status)] += 1
        if not (status.startswith("4") or (kind == "bad HTTP version" and status == "505")):
            errors.append(f"{kind}: HTTP {status}")


def main():
    duration = int(os.environ.get("BENCH_SOAK") or 600)
    hostile = os.environ.get("BENCH_SOAK_HOSTILE") == "1" or "--hostile" in sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="grantd-soak-")
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    srv = B.Server(data, os.path.join(tmp, "grantd.log"),
                   env={"GRANTD_SERVER_ACCESS_LOG": "false"}).start()
    try:
        key = B.make_keys()["RS256"]
        cl = B.Client(srv)
        pem = B.self_signed(key, "soak").public_bytes(B.serialization.Encoding.PEM).decode()
        B.admin_post(cl, "/identity-providers", {
            "name": "soak", "idpIssuerName": B.issuer("RS256"), "alias": B.ALIAS,
            "certificate": {"certificates": [pem]}})
        app = B.admin_post(cl, "/applications", {"name": "soak", "inboundProtocolConfiguration": {
            "oidc": {"grantTypes": [B.JWT_BEARER, "refresh_token"]}}})
        cl.close()
        o = app["inboundProtocolConfiguration"]["oidc"]
        auth = B.basic(o["clientId"], o["clientSecret"])
        scn = B.Scenario("soak", "/oauth2/token", B.jwt_body(B.assertion({"RS256": key}, "RS256")),
                         auth)
        B.verify(srv, scn)
        body = os.path.join(tmp, "body")
        with open(body, "w") as f:
            f.write(scn.body)
        env = dict(os.environ, BENCH_BODY_FILE=body, BENCH_AUTH=auth)
        wrk = subprocess.Popen(["wrk", "-t2", "-c32", f"-d{duration}s", "--timeout", "10s",
                                "-s", B.WRK_LUA,
                                f"http://127.0.0.1:{srv.http_port}/oauth2/token"],
                               env=env, stdout=subprocess.PIPE, text=True)
        stop, counts, errors, threads = threading.Event(), collections.Counter(), [], []
        if hostile:
            reqs = hostile_requests(key, auth, o["clientId"])
            # The replayed kind is used once here so that each of its sends
            # is a replay.
            B.verify(srv, B.Scenario("replay seed", "/oauth2/token",
                                     reqs[4][1].split(b"\r\n\r\n", 1)[1].decode(), auth))
            for i in range(2):
                t = threading.Thread(target=hostile_client, daemon=True,
                                     args=(srv.http_port, reqs, stop, counts, errors, i))
                t.start()
                threads.append(t)
        t0 = time.monotonic()
        print(f"t=0s {vm(srv.pid)}", flush=True)
        while True:
            try:
                wrk.wait(timeout=30)
                break
            except subprocess.TimeoutExpired:
                print(f"t={time.monotonic() - t0:.0f}s {vm(srv.pid)}", flush=True)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        print(f"t={time.monotonic() - t0:.0f}s {vm(srv.pid)} (end)")
        if hostile:
            print("hostile requests by kind and answer:")
            for (kind, status), n in sorted(counts.items()):
                print(f"  {kind:20} {status:7} {n}")
            print(f"hostile requests: {sum(counts.values())}, errors: {len(errors)}")
            for e, n in collections.Counter(errors).most_common(20):
                print(f"  error: {e} (x{n})")
        for line in wrk.stdout.read().splitlines():
            if "requests in" in line or "Requests/sec" in line or "Non-2xx" in line:
                print(line.strip())
        db = sqlite3.connect(os.path.join(data, "grantd.db"))
        print("token rows:", db.execute("SELECT count(*) FROM tokens").fetchone()[0])
        db.close()
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
