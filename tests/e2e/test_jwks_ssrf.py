"""Issue 9 finding 3: a jwksUri cannot make grantd connect to internal
addresses (loopback, private, link-local, CGNAT, multicast, unspecified and
their IPv4-mapped forms) unless [oauth.jwks_endpoint] allowed_hosts names the
host; the check runs on the URI's IP literal at the admin API and on every
resolved address at connect time; fetch failures shown to clients and tenant
admins are a few stable texts (docs/security.md, "JWKS hosts").
"""
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import util_certs as uc
import util_jwt as uj

IDPS = uj.API + "/identity-providers"
INSECURE = "[oauth.jwks_endpoint]\nallow_insecure_http = true\n"

INTERNAL = [
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://127.0.0.1:22/", "loopback"),
    ("https://127.1.2.3/jwks", "loopback"),
    ("https://10.0.0.1/jwks", "private"),
    ("https://172.20.1.1/jwks", "private"),
    ("https://192.168.0.10/jwks", "private"),
    ("https://100.100.100.200/jwks", "shared (CGNAT)"),
    ("https://0.0.0.0:8443/jwks", "unspecified"),
    ("https://224.0.0.1/jwks", "multicast"),
    ("https://[::1]/jwks", "loopback"),
    ("https://[::ffff:127.0.0.1]/jwks", "loopback"),
    ("https://[::ffff:169.254.169.254]/jwks", "link-local"),
    ("https://[64:ff9b::10.0.0.1]/jwks", "private"),
    ("https://[fd12:3456::1]/jwks", "private"),
    ("https://[fe80::1]/jwks", "link-local"),
    ("https://2130706433/jwks", "loopback"),
    ("https://0x7f.0.0.1/jwks", "loopback"),
    ("http://127.0.0.1:6379/", "loopback"),
]


class Plain:
    """A plain-HTTP JWKS endpoint on 127.0.0.1 that counts its requests."""

    def __init__(self, keys):
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.hits += 1
                body = ('{"keys":[%s]}' % ",".join(keys)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


KEY = uc.rsa_key()


@pytest.fixture
def plain():
    import json
    p = Plain([json.dumps(uj.public_jwk(KEY, "k1"))])
    yield p
    p.stop()


def idp_body(name, uri, iss="https://idp.example", alias=None):
    b = {"name": name, "idpIssuerName": iss, "certificate": {"jwksUri": uri}}
    if alias is not None:
        b["alias"] = alias
    return b


def count_idps(s):
    r = s.get(IDPS, auth=s.admin)
    assert r.status_code == 200, r.text
    return r.json()["totalResults"]


def test_internal_literals_refused_by_default(make_server):
    s = make_server(extra_toml=INSECURE).start()
    before = count_idps(s)
    for i, (uri, cls) in enumerate(INTERNAL):
        r = s.post(IDPS, auth=s.admin, json=idp_body(f"ssrf-{i}", uri))
        assert r.status_code == 400, (uri, r.text)
        body = r.json()
        assert body["code"] == "IDP-60400", body
        article = "an" if cls[0] in "aeiou" else "a"
        assert f"is {article} {cls} address" in body["description"], (uri, body)
        assert "allowed_hosts" in body["description"]
    assert count_idps(s) == before
    # A public literal and a DNS name pass the URI rules (names are checked
    # once resolved, at connect time).
    for i, uri in enumerate(["https://8.8.8.8/jwks", "https://[2606:4700::1111]/jwks",
                             "https://idp.example/jwks"]):
        r = s.post(IDPS, auth=s.admin, json=idp_body(f"public-{i}", uri))
        assert r.status_code == 201, (uri, r.text)


def test_allowed_hosts_names_an_internal_host(make_server):
    s = make_server(extra_toml=INSECURE + 'allowed_hosts = ["127.0.0.1", "[::1]:8443"]\n').start()
    for i, uri in enumerate(["http://127.0.0.1:8080/jwks", "https://[::1]:8443/jwks"]):
        r = s.post(IDPS, auth=s.admin, json=idp_body(f"named-{i}", uri))
        assert r.status_code == 201, (uri, r.text)
    # Named with a port: another port of the same host is not named.
    r = s.post(IDPS, auth=s.admin, json=idp_body("other-port", "https://[::1]:22/jwks"))
    assert r.status_code == 400 and "allowed_hosts" in r.json()["description"]


def test_name_resolving_to_loopback_refused_at_connect(make_server, plain):
    """localhost passes the URI rules; the address it resolves to does not:
    no request reaches the endpoint. Named in allowed_hosts, it works."""
    s = make_server(extra_toml=INSECURE).start()
    aud = uj.alias(s)
    cid, secret = uj.create_app(s, "ssrf-app")
    iss = "https://rebind.example"
    uj.create_idp(s, idp_body("rebind", f"http://localhost:{plain.port}/jwks", iss, aud))
    a = uj.mint(KEY, uj.claims(aud, iss=iss), kid="k1")
    r = uj.jwt_grant(s, a, (cid, secret))
    uj.assert_oauth_error(r, 400, "invalid_grant",
                          "JWKS endpoint refused: its host resolves to a loopback address")
    assert plain.hits == 0
    # The dry run tells the tenant admin the same, and no more.
    r = s.post(uj.API + "/jwt-grant/validate", auth=s.admin, json={"assertion": a})
    rep = r.json()
    assert rep["valid"] is False
    assert "resolves to a loopback address" in rep["errorDescription"]
    assert plain.hits == 0

    ok = make_server(extra_toml=INSECURE + 'allowed_hosts = ["localhost"]\n').start()
    aud = uj.alias(ok)
    cid, secret = uj.create_app(ok, "named-app")
    uj.create_idp(ok, idp_body("named", f"http://localhost:{plain.port}/jwks", iss, aud))
    uj.assert_tokens(uj.jwt_grant(ok, uj.mint(KEY, uj.claims(aud, iss=iss), kid="k1"),
                                  (cid, secret)))
    assert plain.hits == 1


def test_fetch_errors_do_not_tell_services_apart(make_server, plain):
    """A closed port, a plain-HTTP service reached over https and a service
    that is not HTTP at all get the same description (the detail is in the
    server log only)."""
    # A failed fetch is remembered for min_refetch_interval: a request that
    # came while the fetch was still running (slow under ASan) is answered
    # "being fetched", and the next one the remembered failure.
    s = make_server(extra_toml='[oauth.jwks_endpoint]\nallowed_hosts = ["127.0.0.1"]\n'
                               'min_refetch_interval = "60s"\n').start()
    aud = uj.alias(s)
    cid, secret = uj.create_app(s, "scan-app")
    with socket.socket() as c:
        c.bind(("127.0.0.1", 0))
        closed = c.getsockname()[1]
    # Not HTTP: accepts, says something, closes.
    banner = socket.socket()
    banner.bind(("127.0.0.1", 0))
    banner.listen(8)
    stop = threading.Event()

    def serve_banner():
        while not stop.is_set():
            try:
                conn, _ = banner.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
                except OSError:
                    pass

    t = threading.Thread(target=serve_banner, daemon=True)
    t.start()
    descs = []
    try:
        for name, port in (("closed", closed), ("plain", plain.port),
                           ("banner", banner.getsockname()[1])):
            iss = f"https://{name}.example"
            uj.create_idp(s, idp_body(name, f"https://127.0.0.1:{port}/jwks", iss, aud))
            for _ in range(100):  # each try waits at most the server's 300 ms
                r = uj.jwt_grant(s, uj.mint(KEY, uj.claims(aud, iss=iss), kid="k1"),
                                 (cid, secret))
                body = uj.assert_oauth_error(r, 400, "invalid_grant")
                if "being fetched" not in body["error_description"]:
                    break
            descs.append(body["error_description"].replace(f"'{name}'", "'X'"))
    finally:
        stop.set()
        banner.close()
    assert descs[0] == descs[1] == descs[2], descs
    assert "JWKS endpoint unreachable" in descs[0]
    assert "OpenSSL" not in descs[0] and "SSL routines" not in descs[0]
    # The server log has each reason.
    assert s.wait_log(r"JWKS fetch failed for identity provider .*wrong version number|"
                      r"JWKS fetch failed for identity provider .*SSL")
