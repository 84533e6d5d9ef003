"""Issue 8: GET /metrics in the Prometheus text format 0.0.4. Checked by a
strict parser here and, when Debian's `prometheus` package is installed, by
`promtool check metrics` (make test does not install it: the package starts a
Prometheus server where systemd runs); grants, replays, tokens,
introspections and JWKS fetches move their counters, and a histogram per
endpoint counts the requests.
"""
import math
import re
import shutil
import subprocess

import pytest

import util_certs as uc
import util_jwt as uj

ISS = "https://idp.example"
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? (\S+)$")


class Keys:
    idp = uc.rsa_key()
    idp_cert = uc.self_signed(idp, "idp.example")


def parse(text):
    """Parses an exposition strictly: HELP then TYPE before a family's
    samples, samples of a family together, no duplicate series, valid
    numbers, histogram buckets cumulative and ending in +Inf == _count.
    Returns {(name, frozenset(labels.items())): value} and {family: type}."""
    assert text.endswith("\n") and "\r" not in text
    types, helps, series, seen_families = {}, set(), {}, []
    current = None
    for line in text.splitlines():
        assert line == line.strip() and line, repr(line)
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert re.fullmatch(NAME, name) and name not in helps, line
            helps.add(name)
            current = name
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name == current and name not in types, line
            assert kind in ("counter", "gauge", "histogram"), line
            types[name] = kind
            seen_families.append(name)
            continue
        assert not line.startswith("#"), line
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, value = m.group(1), m.group(m.lastindex)
        labels = dict(re.findall(LABEL, m.group(2) or ""))
        family = current
        if types[family] == "histogram":
            assert name in (family + "_bucket", family + "_sum", family + "_count"), line
        else:
            assert name == family, line
        if types[family] == "counter":
            assert family.endswith("_total"), family
        v = float(value)
        assert not math.isnan(v) and v >= 0, line
        key = (name, frozenset(labels.items()))
        assert key not in series, f"duplicate series {line!r}"
        series[key] = v
    for name, kind in types.items():
        if kind != "histogram":
            continue
        groups = {}
        for (n, labels), v in series.items():
            if n == name + "_bucket":
                rest = frozenset((k, x) for k, x in labels if k != "le")
                le = dict(labels)["le"]
                groups.setdefault(rest, []).append((math.inf if le == "+Inf" else float(le), v))
        for rest, buckets in groups.items():
            buckets.sort()
            assert buckets[-1][0] == math.inf
            counts = [v for _, v in buckets]
            assert counts == sorted(counts), (name, rest, buckets)
            assert series[(name + "_count", rest)] == counts[-1]
            assert (name + "_sum", rest) in series
    return series, types


def scrape(srv):
    r = srv.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    if shutil.which("promtool"):
        p = subprocess.run(["promtool", "check", "metrics"], input=r.text, text=True,
                           capture_output=True, timeout=60)
        # promtool exits 0 when the text parses; its lint notes go to stdout
        assert p.returncode == 0, p.stdout + p.stderr
    return parse(r.text)


def value(series, name, **labels):
    return series.get((name, frozenset(labels.items())), 0)


def test_parser_rejects_what_it_should():
    good = "# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v\"} 1\n"
    parse(good)
    for bad in (good + 'a_total{k="v"} 2\n',            # duplicate series
                good.replace("# TYPE a_total counter\n", ""),
                good.replace("1\n", "NaN\n"),
                good.replace('k="v"', 'k="v'),
                "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
                "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"):
        with pytest.raises((AssertionError, KeyError, ValueError)):
            parse(bad)


def test_metrics_parse_and_counters_move(server):
    before, types = scrape(server)
    assert types["grantd_token_requests_total"] == "counter"
    assert types["grantd_http_request_duration_seconds"] == "histogram"
    info = [labels for (n, labels) in before if n == "grantd_build_info"]
    assert len(info) == 1 and dict(info[0])["version"]
    assert value(before, "grantd_build_info", **dict(info[0])) == 1

    aud = uj.alias(server)
    uj.create_idp(server, uj.cert_idp("jwtIDP", Keys.idp_cert, ISS, aud))
    cid, secret = uj.create_app(server, "m-app", accessToken={"type": "JWT"})
    a = uj.mint(Keys.idp, uj.claims(aud))
    body = uj.assert_tokens(uj.jwt_grant(server, a, (cid, secret), scope="openid"))
    # the same assertion again: a replay
    uj.assert_oauth_error(uj.jwt_grant(server, a, (cid, secret)), 400, "invalid_grant",
                          "replayed")
    # a bad signature
    other = uc.rsa_key()
    uj.assert_oauth_error(uj.jwt_grant(server, uj.mint(other, uj.claims(aud)), (cid, secret)),
                          400, "invalid_grant")
    # wrong client secret
    uj.assert_oauth_error(uj.jwt_grant(server, uj.mint(Keys.idp, uj.claims(aud)),
                                       (cid, "wrong")), 401, "invalid_client")
    # a refresh, then the rotated refresh token again
    r = uj.token(server, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
                 auth=(cid, secret))
    uj.assert_tokens(r)
    r = uj.token(server, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
                 auth=(cid, secret))
    uj.assert_oauth_error(r, 400, "invalid_grant", "already used")
    r = server.post("/oauth2/introspect", data={"token": "nope"}, auth=(cid, secret))
    assert r.json() == {"active": False}

    after, _ = scrape(server)
    sup = "carbon.super"

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    req = "grantd_token_requests_total"
    assert moved(req, tenant=sup, grant_type="jwt-bearer", outcome="ok", check="none") == 1
    assert moved(req, tenant=sup, grant_type="jwt-bearer", outcome="invalid_grant",
                 check="replay") == 1
    assert moved(req, tenant=sup, grant_type="jwt-bearer", outcome="invalid_grant",
                 check="signature") == 1
    assert moved(req, tenant=sup, grant_type="unsupported", outcome="invalid_client",
                 check="none") == 1
    assert moved(req, tenant=sup, grant_type="refresh_token", outcome="ok", check="none") == 1
    assert moved(req, tenant=sup, grant_type="refresh_token", outcome="invalid_grant",
                 check="refresh_token_reuse") == 1
    rep = "grantd_replays_rejected_total"
    assert moved(rep, tenant=sup, kind="assertion") == 1
    assert moved(rep, tenant=sup, kind="refresh_token") == 1
    iss = "grantd_tokens_issued_total"
    assert moved(iss, tenant=sup, token="jwt_access_token") == 2
    assert moved(iss, tenant=sup, token="refresh_token") == 2
    assert moved(iss, tenant=sup, token="id_token") == 2  # the refresh keeps "openid"
    assert moved(iss, tenant=sup, token="access_token") == 0
    assert moved("grantd_introspections_total", tenant=sup, active="false") == 1
    # the latency histogram counted the token requests, by status class
    h = "grantd_http_request_duration_seconds_count"
    assert moved(h, endpoint="/oauth2/token", code="2xx") == 2
    assert moved(h, endpoint="/oauth2/token", code="4xx") == 4
    # the write path: commits carry at least the two grants' transactions
    assert moved("grantd_store_write_transactions_total") >= 2
    assert 1 <= moved("grantd_store_commits_total") <= moved(
        "grantd_store_write_transactions_total")
    # no secret, token or assertion in the metrics
    text = server.get("/metrics").text
    for s in (secret, body["access_token"], body["refresh_token"], a):
        assert s not in text


def test_jwks_fetch_results(make_server):
    from test_token_jwks import EXTRA_TOML, JwksServer
    jwks = JwksServer()
    try:
        srv = make_server(extra_toml=EXTRA_TOML).start()
        before, _ = scrape(srv)
        aud = uj.alias(srv)
        key = uc.rsa_key()
        cid, secret = uj.create_app(srv, "j-app")
        for name, mode in (("good", "ok"), ("garbage", "garbage"), ("broken", "error")):
            ep = jwks.endpoint(f"/{name}")
            ep.keys, ep.mode = [uj.public_jwk(key, "k1")], mode
            uj.create_idp(srv, {"name": name, "idpIssuerName": f"https://{name}.example",
                                "alias": aud, "certificate": {"jwksUri": jwks.url(f"/{name}")}})
            r = uj.jwt_grant(srv, uj.mint(key, uj.claims(aud, iss=f"https://{name}.example"),
                                          kid="k1"), (cid, secret))
            assert r.status_code == (200 if mode == "ok" else 400), r.text
        after, _ = scrape(srv)
    finally:
        jwks.stop()
    f = "grantd_jwks_fetches_total"

    def moved(res):
        return value(after, f, result=res) - value(before, f, result=res)

    assert moved("ok") == 1 and moved("not_jwks") == 1 and moved("http_status") == 1
    assert value(after, "grantd_jwks_fetch_duration_seconds_count") >= 3
    # every result category is always present (0 or more)
    for res in ("ok", "refused", "unreachable", "timeout", "tls", "http_status", "too_large",
                "not_jwks", "cancelled", "error"):
        assert (f, frozenset({("result", res)})) in after
    # the failed check is the signature step (keys are fetched there)
    req = "grantd_token_requests_total"
    assert value(after, req, tenant="carbon.super", grant_type="jwt-bearer",
                 outcome="invalid_grant", check="signature") == 2


def test_tenant_label_and_unmatched(server):
    r = server.post(uj.API + "/tenants", auth=server.admin, json={
        "domain": "acme.com", "owners": [{"username": "owner", "password": "Owner-passw0rd-1"}]})
    assert r.status_code == 201, r.text
    r = uj.token(server, {"grant_type": "client_credentials"}, auth=("x" * 20, "y"),
                 prefix="/t/ACME.com")
    uj.assert_oauth_error(r, 401, "invalid_client")
    # an unknown tenant never becomes a label; an unknown path is "(unmatched)"
    uj.token(server, {"grant_type": "client_credentials"}, prefix="/t/nope.example")
    assert server.get("/no/such/path").status_code == 404
    series, _ = scrape(server)
    tenants = {dict(labels).get("tenant") for (n, labels) in series
               if n == "grantd_token_requests_total"}
    assert "acme.com" in tenants and "nope.example" not in tenants and "ACME.com" not in tenants
    assert value(series, "grantd_http_request_duration_seconds_count",
                 endpoint="(unmatched)", code="4xx") >= 1


def test_metrics_can_be_disabled(make_server):
    s = make_server(env={"GRANTD_METRICS_ENABLED": "false"}).start()
    assert s.get("/metrics").status_code == 404
    assert s.get("/healthz").status_code == 200
