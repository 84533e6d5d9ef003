"""Issue 4: the JWT bearer grant with identity providers whose keys come from a
JWKS URI, served by a local http.server thread: the seed flow, key rotation,
and an endpoint that is down, slow (a timeout), oversized or returns garbage.

Synchronisation is by events only: the "slow" endpoint blocks on an Event that
the test sets after grantd has answered.
"""
import json
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import util_certs as uc
import util_jwt as uj
from conftest import Server

EXTRA_TOML = """
[oauth.jwks_endpoint]
allow_insecure_http = true
allowed_hosts = ["127.0.0.1"]
min_refetch_interval = "0s"
"""


class Keys:
    a = uc.rsa_key()
    b = uc.rsa_key()


class Endpoint:
    """What one path of the JWKS server answers."""

    def __init__(self):
        self.mode = "ok"        # ok | garbage | oversized | slow | error
        self.keys = []
        self.release = threading.Event()
        self.hits = 0


class JwksServer:
    def __init__(self):
        self.endpoints = {}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with outer.lock:
                    ep = outer.endpoints.get(self.path)
                    if ep is not None:
                        ep.hits += 1
                        mode, keys = ep.mode, list(ep.keys)
                if ep is None:
                    self.send_error(404)
                    return
                if mode == "slow":
                    # Held until the test has seen grantd give up.
                    ep.release.wait(timeout=60)
                    body = json.dumps({"keys": keys}).encode()
                elif mode == "garbage":
                    body = b"<html>this is not a JWKS</html>"
                elif mode == "oversized":
                    body = json.dumps({"keys": keys, "pad": "x" * 200000}).encode()
                elif mode == "error":
                    self.send_error(500)
                    return
                else:
                    body = json.dumps({"keys": keys}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # grantd gave up (slow, oversized)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def endpoint(self, path):
        ep = Endpoint()
        with self.lock:
            self.endpoints[path] = ep
        return ep

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Ctx:
    pass


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    c = Ctx()
    c.jwks = JwksServer()
    c.srv = Server(tmp_path_factory.mktemp("jwks"), extra_toml=EXTRA_TOML).start()
    c.aud = uj.alias(c.srv)
    c.cid, c.secret = uj.create_app(c.srv, "jwks-app")
    c.auth = (c.cid, c.secret)
    yield c
    for ep in list(c.jwks.endpoints.values()):
        ep.release.set()
    c.srv.stop()
    c.jwks.stop()


def idp(ctx, name, keys=(), mode="ok"):
    """An IdP whose jwksUri is its own path on the JWKS server."""
    path = f"/{name}/jwks.json"
    ep = ctx.jwks.endpoint(path)
    ep.keys = list(keys)
    ep.mode = mode
    iss = f"https://{name}.example"
    uj.create_idp(ctx.srv, {"name": name, "idpIssuerName": iss, "alias": ctx.aud,
                            "certificate": {"jwksUri": ctx.jwks.url(path)}})
    return ep, iss


def assertion(ctx, key, iss, kid=None):
    return uj.mint(key, uj.claims(ctx.aud, iss=iss), kid=kid)


def test_jwks_flow_and_rotation(ctx):
    ep, iss = idp(ctx, "rotating", [uj.public_jwk(Keys.a, "key-a")])
    uj.assert_tokens(uj.jwt_grant(ctx.srv, assertion(ctx, Keys.a, iss, "key-a"), ctx.auth))
    uj.assert_tokens(uj.jwt_grant(ctx.srv, assertion(ctx, Keys.a, iss), ctx.auth))
    hits = ep.hits
    # Cached: no fetch for a known kid.
    uj.assert_tokens(uj.jwt_grant(ctx.srv, assertion(ctx, Keys.a, iss, "key-a"), ctx.auth))
    assert ep.hits == hits
    # The IdP rotates to key B: an unknown kid makes grantd refetch.
    with ctx.jwks.lock:
        ep.keys = [uj.public_jwk(Keys.b, "key-b")]
    uj.assert_tokens(uj.jwt_grant(ctx.srv, assertion(ctx, Keys.b, iss, "key-b"), ctx.auth))
    assert ep.hits == hits + 1
    # Key A is gone for good.
    r = uj.jwt_grant(ctx.srv, assertion(ctx, Keys.a, iss, "key-a"), ctx.auth)
    uj.assert_oauth_error(r, 400, "invalid_grant", "no key with kid 'key-a'")
    # A token without kid is tried with each fitting key.
    uj.assert_tokens(uj.jwt_grant(ctx.srv, assertion(ctx, Keys.b, iss), ctx.auth))
    r = uj.jwt_grant(ctx.srv, assertion(ctx, Keys.a, iss), ctx.auth)
    uj.assert_oauth_error(r, 400, "invalid_grant", "signature")


def test_jwks_endpoint_down(ctx):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens on `port` any more.
    iss = "https://down.example"
    uj.create_idp(ctx.srv, {"name": "down", "idpIssuerName": iss, "alias": ctx.aud,
                            "certificate": {"jwksUri": f"http://127.0.0.1:{port}/jwks"}})
    r = uj.jwt_grant(ctx.srv, assertion(ctx, Keys.a, iss, "key-a"), ctx.auth)
    uj.assert_oauth_error(r, 400, "invalid_grant",
                          "cannot get the keys of identity provider 'down'")
    assert "unreachable" in r.json()["error_description"]


def test_jwks_endpoint_slow(ctx):
    """A slow endpoint holds a fetch thread, not the request: the request is
    told to retry at once, the fetch goes on, and once it is done the same
    kind of assertion is accepted from the cache (issue 9 finding 2)."""
    ep, iss = idp(ctx, "slow", [uj.public_jwk(Keys.a, "key-a")], mode="slow")
    r = uj.jwt_grant(ctx.srv, assertion(ctx, Keys.a, iss, "key-a"), ctx.auth)
    # grantd answered while the endpoint was still holding the response.
    assert not ep.release.is_set()
    uj.assert_oauth_error(r, 400, "invalid_grant",
                          "cannot get the keys of identity provider 'slow' from its jwksUri: "
                          "its keys are being fetched")
    assert "retry shortly" in r.json()["error_description"]
    # Other work is not held up meanwhile.
    assert ctx.srv.get("/healthz").status_code == 200
    ep.release.set()
    assert ctx.srv.wait_log(r"JWKS of identity provider \S+ fetched from .*/slow/jwks.json "
                            r"after callers were told to retry")
    hits = ep.hits
    uj.assert_tokens(uj.jwt_grant(ctx.srv, assertion(ctx, Keys.a, iss, "key-a"), ctx.auth))
    assert ep.hits == hits  # from the cache


def test_jwks_endpoint_oversized(ctx):
    _, iss = idp(ctx, "big", [uj.public_jwk(Keys.a, "key-a")], mode="oversized")
    r = uj.jwt_grant(ctx.srv, assertion(ctx, Keys.a, iss, "key-a"), ctx.auth)
    uj.assert_oauth_error(r, 400, "invalid_grant", "JWKS document too large")


def test_jwks_endpoint_garbage(ctx):
    _, iss = idp(ctx, "garbage", [uj.public_jwk(Keys.a, "key-a")], mode="garbage")
    r = uj.jwt_grant(ctx.srv, assertion(ctx, Keys.a, iss, "key-a"), ctx.auth)
    uj.assert_oauth_error(r, 400, "invalid_grant", "not a JWKS")


def test_jwks_stale_copy_kept(ctx):
    ep, iss = idp(ctx, "flaky", [uj.public_jwk(Keys.a, "key-a")])
    uj.assert_tokens(uj.jwt_grant(ctx.srv, assertion(ctx, Keys.a, iss, "key-a"), ctx.auth))
    with ctx.jwks.lock:
        ep.mode = "error"
    hits = ep.hits
    # An unknown kid makes grantd refetch, which fails ...
    r = uj.jwt_grant(ctx.srv, assertion(ctx, Keys.b, iss, "key-b"), ctx.auth)
    uj.assert_oauth_error(r, 400, "invalid_grant", "key-b")
    assert ep.hits == hits + 1
    # ... but the copy it had is kept.
    uj.assert_tokens(uj.jwt_grant(ctx.srv, assertion(ctx, Keys.a, iss, "key-a"), ctx.auth))


def test_jwks_uri_change_takes_effect(ctx):
    """Changing an IdP through the admin API is seen by the next request."""
    ep_a, iss = idp(ctx, "moving", [uj.public_jwk(Keys.a, "key-a")])
    uj.assert_tokens(uj.jwt_grant(ctx.srv, assertion(ctx, Keys.a, iss, "key-a"), ctx.auth))
    ep_b = ctx.jwks.endpoint("/moving-new/jwks.json")
    ep_b.keys = [uj.public_jwk(Keys.b, "key-b")]
    lst = ctx.srv.get(uj.API + "/identity-providers?limit=1000", auth=ctx.srv.admin).json()
    idp_id = [i["id"] for i in lst["identityProviders"] if i["name"] == "moving"][0]
    r = ctx.srv.patch(f"{uj.API}/identity-providers/{idp_id}", auth=ctx.srv.admin,
                      json=[{"operation": "REPLACE", "path": "/certificate",
                             "value": {"jwksUri": ctx.jwks.url("/moving-new/jwks.json")}}])
    assert r.status_code == 200, r.text
    r = uj.jwt_grant(ctx.srv, assertion(ctx, Keys.a, iss, "key-a"), ctx.auth)
    uj.assert_oauth_error(r, 400, "invalid_grant", "key-a")
    uj.assert_tokens(uj.jwt_grant(ctx.srv, assertion(ctx, Keys.b, iss, "key-b"), ctx.auth))


class Tarpit:
    """Accepts connections and never answers until released; counts how
    many it holds at once."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.open = 0
        self.most = 0
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.open += 1
                self.accepted += 1
                self.most = max(self.most, self.open)
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn):
        # Reads whatever comes and never answers; the connection counts as
        # held until grantd closes it (its fetch gave up).
        with conn:
            while True:
                try:
                    if not conn.recv(4096):
                        break
                except OSError:
                    break
        with self.lock:
            self.open -= 1

    def stop(self):
        self.release.set()
        self.sock.close()


def test_tarpit_jwks_cannot_stall_the_server(make_server):
    """Issue 9 finding 2: requests with unknown kids for identity providers
    whose JWKS endpoint is a tarpit get a bounded answer ("retry"), fetches
    run on the fetch pool with at most max_fetches_per_tenant (2) of this
    tenant's at once, and /healthz and other identity providers are served
    meanwhile."""
    # 40 concurrent requests from 127.0.0.1: more than the default 32 per address.
    srv = make_server(extra_toml="max_connections_per_address = 64\n" + EXTRA_TOML +
                      'read_timeout = "60s"\n').start()
    aud = uj.alias(srv)
    cid, secret = uj.create_app(srv, "tarpit-app")
    pit = Tarpit()
    try:
        names = [f"tarpit-{i}" for i in range(5)]
        for n in names:
            uj.create_idp(srv, {"name": n, "idpIssuerName": f"https://{n}.example",
                                "alias": aud, "certificate": {
                                    "jwksUri": f"http://127.0.0.1:{pit.port}/{n}"}})
        inline_iss = "https://inline-beside-tarpit.example"
        uj.create_idp(srv, uj.jwks_idp("inline-beside-tarpit", [uj.public_jwk(Keys.b, "kb")],
                                       inline_iss, alias_url=aud))
        results = []
        lock = threading.Lock()

        def one(i):
            n = names[i % len(names)]
            a = uj.mint(Keys.a, uj.claims(aud, iss=f"https://{n}.example"), kid=f"unknown-{i}")
            r = uj.jwt_grant(srv, a, (cid, secret))
            with lock:
                results.append(r)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 40
        for r in results:
            uj.assert_oauth_error(r, 400, "invalid_grant", "its keys are being fetched")
        # No fetch can have ended (read_timeout 60 s): the pool held exactly
        # this tenant's budget of connections, never one per IdP.
        assert pit.most == 2, pit.most
        assert pit.accepted == 2
        assert srv.get("/healthz").status_code == 200
        uj.assert_tokens(uj.jwt_grant(srv, uj.mint(Keys.b, uj.claims(aud, iss=inline_iss),
                                                   kid="kb"), (cid, secret)))
    finally:
        srv.stop()  # aborts the fetches held by the tarpit
        pit.stop()
