"""Issue 9 abuse limits: [oauth.rate_limit] per client and per source
address on the token endpoint; 429 with Retry-After and an OAuth error body;
the per-source limit runs before client authentication (docs/security.md,
"Rate limits")."""
import http.client
import json
import re
import ssl
from base64 import b64encode
from urllib.parse import urlencode

import util_jwt as uj

CC = {"grant_type": "client_credentials"}


def cc(srv, auth):
    return uj.token(srv, CC, auth=auth)


def assert_limited(r, who):
    assert r.status_code == 429, r.text
    wait = int(r.headers["Retry-After"])
    assert wait >= 1
    assert r.json() == {"error": "invalid_request",
                        "error_description": f"too many requests from this {who}; "
                                             f"retry after {wait} s"}
    assert r.headers["Cache-Control"] == "no-store"


def limited_total(srv, kind):
    text = srv.get("/metrics").text
    m = re.search(r'^grantd_rate_limited_total\{limit="%s"\} (\d+)$' % kind, text, re.M)
    assert m
    return int(m.group(1))


def test_per_client(make_server):
    # 1/s with a burst of 3: the four requests below take far less than the
    # second a refill needs.
    s = make_server(extra_toml="[oauth.rate_limit]\nper_client = 1\nper_client_burst = 3\n"
                    ).start()
    a = uj.create_app(s, "limited", grants=("client_credentials",))
    b = uj.create_app(s, "other", grants=("client_credentials",))
    for _ in range(3):
        uj.assert_tokens(cc(s, a), refresh=False)
    assert_limited(cc(s, a), "client")
    # Another client has its own budget.
    uj.assert_tokens(cc(s, b), refresh=False)
    # Wrong credentials for the limited client are a 401, not a 429: the
    # per-client limit counts authenticated requests only.
    r = cc(s, (a[0], "x" * 43))
    assert r.status_code == 401
    assert limited_total(s, "client") == 1


def test_per_source_runs_before_authentication(make_server):
    s = make_server(extra_toml="[oauth.rate_limit]\nper_source = 1\nper_source_burst = 2\n"
                    ).start()
    cid, secret = uj.create_app(s, "src", grants=("client_credentials",))
    uj.assert_tokens(cc(s, (cid, secret)), refresh=False)
    assert cc(s, (cid, "wrong" * 9)).status_code == 401
    # The budget of 127.0.0.1 is spent: refused before the credentials are
    # looked at, right or wrong.
    assert_limited(cc(s, (cid, "wrong" * 9)), "address")
    assert_limited(cc(s, (cid, secret)), "address")
    # Another address is not limited.
    ctx = ssl.create_default_context(cafile=s.cert)
    c = http.client.HTTPSConnection("127.0.0.1", s.port, context=ctx, timeout=30,
                                    source_address=("127.0.0.2", 0))
    c.request("POST", "/oauth2/token", body=urlencode(CC), headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": "Basic " + b64encode(f"{cid}:{secret}".encode()).decode()})
    r = c.getresponse()
    assert r.status == 200, r.read()
    assert "access_token" in json.loads(r.read())
    c.close()
    assert limited_total(s, "source") == 2
    # Other endpoints are not limited.
    assert s.get("/healthz").status_code == 200


def test_off_by_default(server):
    cid, secret = uj.create_app(server, "unlimited", grants=("client_credentials",))
    for _ in range(30):
        uj.assert_tokens(cc(server, (cid, secret)), refresh=False)
    assert limited_total(server, "client") == 0
