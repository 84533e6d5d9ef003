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

    /usr/bin/python3 bench/soak.py          # GRANTD_BIN, BENCH_SOAK
"""
import os
import sqlite3
import subprocess
import sys
import tempfile
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


def main():
    duration = int(os.environ.get("BENCH_SOAK") or 600)
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
        t0 = time.monotonic()
        print(f"t=0s {vm(srv.pid)}", flush=True)
        while True:
            try:
                wrk.wait(timeout=30)
                break
            except subprocess.TimeoutExpired:
                print(f"t={time.monotonic() - t0:.0f}s {vm(srv.pid)}", flush=True)
        print(f"t={time.monotonic() - t0:.0f}s {vm(srv.pid)} (end)")
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
