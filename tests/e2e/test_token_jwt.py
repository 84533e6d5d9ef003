"""Issue 4: the JWT bearer grant at /oauth2/token against the real binary.

The seed flow verbatim (requests and the literal curl command), tenants,
refresh rotation with reuse detection, client_credentials, python3-authlib's
assertion client, the dry run, and every bad input of the issue: each is
refused with the documented error and a description that names the failed
check and never echoes the assertion, its signature or a secret.
"""
import base64
import json
import subprocess
import time
import uuid

import jwt
import pytest
import requests

import util_certs as uc
import util_jwt as uj
from conftest import Server

ISS = "https://idp.example"


class Keys:
    """Made once per module: RSA key generation is slow-ish."""
    idp = uc.rsa_key()
    idp_cert = uc.self_signed(idp, "idp.example")
    other = uc.rsa_key()
    ec = uc.ec_key()


class Ctx:
    pass


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """One server: the seed IdP and application plus a few special IdPs."""
    s = Server(tmp_path_factory.mktemp("token")).start()
    c = Ctx()
    c.srv = s
    c.aud = uj.alias(s)
    c.idp = uj.create_idp(s, uj.cert_idp("jwtIDP", Keys.idp_cert, ISS, c.aud))
    uj.create_idp(s, uj.cert_idp("rs256only", Keys.idp_cert, "https://rs256only.example", c.aud,
                                 jwtGrant={"allowedAlgorithms": ["RS256"]}))
    uj.create_idp(s, uj.jwks_idp("jwks-idp", [uj.public_jwk(Keys.idp, "k1")],
                                 "https://jwks.example", c.aud))
    uj.create_idp(s, uj.cert_idp("disabled-idp", Keys.idp_cert, "https://disabled.example",
                                 c.aud, isEnabled=False))
    c.cid, c.secret = uj.create_app(s, "seed-app")
    c.auth = (c.cid, c.secret)
    yield c
    s.stop()


def good(ctx, **over):
    return uj.mint(Keys.idp, uj.claims(ctx.aud, **over))


# -- the seed flow -------------------------------------------------------------

def test_seed_flow_requests(ctx):
    a = good(ctx)
    r = uj.jwt_grant(ctx.srv, a, ctx.auth)
    body = uj.assert_tokens(r)
    assert body["expires_in"] == 3600
    assert "scope" not in body
    assert r.headers["Content-Type"].startswith("application/json")
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["access_token"] != body["refresh_token"]
    # Every request mints a new token.
    body2 = uj.assert_tokens(uj.jwt_grant(ctx.srv, good(ctx), ctx.auth))
    assert body2["access_token"] != body["access_token"]


def test_seed_flow_curl(ctx):
    a = good(ctx)
    cmd = ["curl", "-sS", "-i", "-X", "POST", "-u", f"{ctx.cid}:{ctx.secret}",
           "--cacert", ctx.srv.cert,
           "-d", f"grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion={a}",
           "-H", "Content-Type: application/x-www-form-urlencoded",
           f"https://localhost:{ctx.srv.port}/oauth2/token"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    # text mode turns CRLF into LF
    head, _, body = out.stdout.partition("\n\n")
    assert head.split("\n")[0].split()[1] == "200", out.stdout
    assert "cache-control: no-store" in head.lower()
    tok = json.loads(body)
    assert tok["token_type"] == "Bearer"
    assert tok["access_token"] and tok["refresh_token"] and tok["expires_in"] == 3600


def test_client_secret_post_and_charset(ctx):
    r = uj.token(ctx.srv, {"grant_type": uj.JWT_BEARER, "assertion": good(ctx),
                           "client_id": ctx.cid, "client_secret": ctx.secret},
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    uj.assert_tokens(r)


def test_tenant_forms(ctx):
    s = ctx.srv
    r = s.post(uj.API + "/tenants", auth=s.admin, json={
        "domain": "acme.com", "owners": [{"username": "owner", "password": "Owner-passw0rd-1"}]})
    assert r.status_code == 201, r.text
    # No alias: the audience is the tenant's token endpoint URL.
    uj.create_idp(s, uj.cert_idp("jwtIDP", Keys.idp_cert, ISS), prefix="/t/acme.com")
    cid, secret = uj.create_app(s, "acme-app", prefix="/t/acme.com")
    aud = uj.alias(s, "acme.com")
    r = uj.jwt_grant(s, uj.mint(Keys.idp, uj.claims(aud)), (cid, secret), prefix="/t/acme.com")
    uj.assert_tokens(r)
    r = uj.token(s, {"grant_type": uj.JWT_BEARER, "assertion": uj.mint(Keys.idp, uj.claims(aud))},
                 auth=(cid, secret), params={"tenantDomain": "acme.com"})
    uj.assert_tokens(r)
    # The super tenant's URL is not acme's audience ...
    r = uj.jwt_grant(s, good(ctx), (cid, secret), prefix="/t/acme.com")
    uj.assert_oauth_error(r, 400, "invalid_grant",
                          f"expected '{aud}' (the tenant's token endpoint URL), received "
                          f"'{ctx.aud}'")
    # ... and acme's client is unknown in the super tenant.
    r = uj.jwt_grant(s, uj.mint(Keys.idp, uj.claims(aud)), (cid, secret))
    uj.assert_oauth_error(r, 401, "invalid_client", "unknown client", secrets=[secret])
    # An unknown tenant.
    r = uj.jwt_grant(s, good(ctx), ctx.auth, prefix="/t/nowhere.example")
    uj.assert_oauth_error(r, 400, "invalid_request")


def test_authlib_assertion_session(ctx):
    from authlib.integrations.requests_client import AssertionSession
    sess = AssertionSession(
        token_endpoint=ctx.srv.url("/oauth2/token"), issuer=ISS, subject="authlib-user",
        audience=ctx.aud, grant_type=uj.JWT_BEARER, key=uj.private_pem(Keys.idp),
        header={"alg": "RS256"}, claims={"jti": str(uuid.uuid4())})
    sess.auth = requests.auth.HTTPBasicAuth(ctx.cid, ctx.secret)
    sess.verify = ctx.srv.cert
    sess.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment wins
    tok = sess.refresh_token()  # authlib: obtain a token with a fresh assertion
    assert tok["token_type"] == "Bearer" and tok["access_token"]
    assert tok.get("refresh_token")


# -- refresh_token and client_credentials --------------------------------------

def test_refresh_rotation_and_reuse(ctx):
    s = ctx.srv
    first = uj.assert_tokens(uj.jwt_grant(s, good(ctx), ctx.auth))
    rt1 = first["refresh_token"]
    second = uj.assert_tokens(uj.token(s, {"grant_type": "refresh_token", "refresh_token": rt1},
                                       auth=ctx.auth))
    rt2 = second["refresh_token"]
    assert rt2 != rt1
    # Reusing the rotated token revokes the chain: rt2 dies with it.
    r = uj.token(s, {"grant_type": "refresh_token", "refresh_token": rt1}, auth=ctx.auth)
    uj.assert_oauth_error(r, 400, "invalid_grant", "already used", secrets=[rt1])
    r = uj.token(s, {"grant_type": "refresh_token", "refresh_token": rt2}, auth=ctx.auth)
    uj.assert_oauth_error(r, 400, "invalid_grant", "revoked", secrets=[rt2])
    # A refresh token of another client.
    other_cid, other_secret = uj.create_app(s, "refresh-other")
    third = uj.assert_tokens(uj.jwt_grant(s, good(ctx), ctx.auth))
    r = uj.token(s, {"grant_type": "refresh_token", "refresh_token": third["refresh_token"]},
                 auth=(other_cid, other_secret))
    uj.assert_oauth_error(r, 400, "invalid_grant", "issued to another client")
    uj.assert_tokens(uj.token(s, {"grant_type": "refresh_token",
                                  "refresh_token": third["refresh_token"]}, auth=ctx.auth))


def test_no_refresh_token_without_the_grant(ctx):
    cid, secret = uj.create_app(ctx.srv, "no-refresh", grants=[uj.JWT_BEARER])
    uj.assert_tokens(uj.jwt_grant(ctx.srv, good(ctx), (cid, secret)), refresh=False)


def test_client_credentials(ctx):
    cid, secret = uj.create_app(ctx.srv, "cc-app", grants=["client_credentials"],
                                allowedScopes=["svc"],
                                accessToken={"applicationAccessTokenExpiryInSeconds": 120})
    body = uj.assert_tokens(uj.token(ctx.srv, {"grant_type": "client_credentials",
                                               "scope": "svc"}, auth=(cid, secret)),
                            refresh=False)
    assert body["expires_in"] == 120 and body["scope"] == "svc"
    r = uj.token(ctx.srv, {"grant_type": "client_credentials", "scope": "admin"},
                 auth=(cid, secret))
    uj.assert_oauth_error(r, 400, "invalid_scope", "scope 'admin' is not allowed")


# -- bad input -----------------------------------------------------------------

def _payload(ctx, **over):
    return uj.claims(ctx.aud, **over)


BAD = {
    "alg none": (
        lambda c: uj.b64u(json.dumps({"alg": "none"})) + "." + uj.b64u(json.dumps(_payload(c)))
        + ".c2ln", 400, "invalid_grant", "alg none is not accepted"),
    "HS256 with the IdP's public key": (
        lambda c: uj.hs256({"alg": "HS256", "typ": "JWT"}, _payload(c),
                           uc.cert_pem(Keys.idp_cert).encode()),
        400, "invalid_grant", "HS256"),
    "RS256 by another key": (
        lambda c: uj.mint(Keys.other, _payload(c)), 400, "invalid_grant",
        "signature not verified with the keys of identity provider 'jwtIDP'"),
    "PS256 when only RS256 is allowed": (
        lambda c: uj.mint(Keys.idp, _payload(c, iss="https://rs256only.example"), alg="PS256"),
        400, "invalid_grant",
        "alg PS256 is not allowed by identity provider 'rs256only' (allowed: RS256)"),
    "kid pointing to nothing": (
        lambda c: uj.mint(Keys.idp, _payload(c, iss="https://jwks.example"), kid="nope"),
        400, "invalid_grant", "no key with kid 'nope'"),
    "expired": (
        lambda c: good(c, now=int(time.time()) - 1000, lifetime=100), 400, "invalid_grant",
        "assertion expired: exp is"),
    "exp in the year 9999, no jti, no iat (default max_assertion_lifetime 24h)": (
        lambda c: good(c, jti=None, iat=None, exp=253402300799), 400, "invalid_grant",
        "assertion lifetime too long: exp - now is"),
    "not yet valid": (
        lambda c: good(c, nbf=int(time.time()) + 3600), 400, "invalid_grant",
        "assertion not yet valid: nbf is"),
    "iat in the future": (
        lambda c: good(c, iat=int(time.time()) + 3600), 400, "invalid_grant",
        "assertion issued in the future"),
    "iat too old": (
        lambda c: good(c, iat=int(time.time()) - 7200), 400, "invalid_grant",
        "assertion too old: iat is"),
    "missing iss": (lambda c: good(c, iss=None), 400, "invalid_grant", "claim 'iss' is missing"),
    "missing sub": (lambda c: good(c, sub=None), 400, "invalid_grant", "claim 'sub' is missing"),
    "missing aud": (lambda c: good(c, aud=None), 400, "invalid_grant", "claim 'aud' is missing"),
    "missing exp": (lambda c: good(c, exp=None), 400, "invalid_grant", "claim 'exp' is missing"),
    "exp is a string": (
        lambda c: good(c, exp=str(int(time.time()) + 300)), 400, "invalid_grant",
        "claim 'exp' must be a number, got string"),
    "sub is a number": (
        lambda c: good(c, sub=42), 400, "invalid_grant", "claim 'sub' must be a string, got number"),
    "aud is an object": (
        lambda c: good(c, aud={"x": 1}), 400, "invalid_grant", "claim 'aud'"),
    "iss is an array": (
        lambda c: good(c, iss=[ISS]), 400, "invalid_grant", "claim 'iss' must be a string"),
    "wrong audience": (
        lambda c: good(c, aud="https://wrong.example/token"), 400, "invalid_grant",
        "audience mismatch: expected 'https://localhost:"),
    "unknown issuer": (
        lambda c: good(c, iss="https://unknown.example"), 400, "invalid_grant",
        "unknown issuer: no identity provider in tenant 'carbon.super'"),
    "disabled issuer": (
        lambda c: good(c, iss="https://disabled.example"), 400, "invalid_grant",
        "identity provider 'disabled-idp' is disabled"),
    "oversized": (
        lambda c: good(c, pad="x" * 20000), 400, "invalid_request", "more than the limit"),
    "two parts": (lambda c: "abc.def", 400, "invalid_grant", "malformed assertion"),
    "bad base64url": (
        lambda c: good(c).replace(".", "=.", 1), 400, "invalid_grant", "malformed assertion"),
    "JWE": (lambda c: "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", 400, "invalid_grant",
            "encrypted assertions are not accepted"),
    "duplicate JSON keys": (
        lambda c: uj.raw_jws('{"alg":"RS256"}',
                             '{"iss":"%s","sub":"alice","sub":"root","aud":"%s","exp":%d}'
                             % (ISS, c.aud, int(time.time()) + 300), Keys.idp),
        400, "invalid_grant", "malformed assertion"),
    "payload not an object": (
        lambda c: uj.raw_jws('{"alg":"RS256"}', '["a"]', Keys.idp), 400, "invalid_grant",
        "malformed assertion"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_assertion(ctx, case):
    make, status, error, desc = BAD[case]
    a = make(ctx)
    r = uj.jwt_grant(ctx.srv, a, ctx.auth)
    body = uj.assert_oauth_error(r, status, error, desc, secrets=[ctx.secret])
    # Never the assertion, nor its signature.
    assert a not in body["error_description"]
    sig = a.rsplit(".", 1)[-1]
    if len(sig) > 8:
        assert sig not in r.text


def test_replayed_jti(ctx):
    a = good(ctx)
    uj.assert_tokens(uj.jwt_grant(ctx.srv, a, ctx.auth))
    r = uj.jwt_grant(ctx.srv, a, ctx.auth)
    uj.assert_oauth_error(r, 400, "invalid_grant", "assertion replayed (jti already used)")


def test_rejected_assertion_records_no_jti(ctx):
    c = uj.claims(ctx.aud)
    a = uj.mint(Keys.idp, c)
    # Refused for its scope (the last check before replay): nothing recorded ...
    cid, secret = uj.create_app(ctx.srv, "scoped", allowedScopes=["read"])
    r = uj.jwt_grant(ctx.srv, a, (cid, secret), scope="write")
    uj.assert_oauth_error(r, 400, "invalid_scope", "scope 'write' is not allowed")
    # ... so the same assertion is accepted once afterwards.
    body = uj.assert_tokens(uj.jwt_grant(ctx.srv, a, (cid, secret), scope="read"))
    assert body["scope"] == "read"


def test_request_errors(ctx):
    s, a = ctx.srv, good(ctx)
    data = {"grant_type": uj.JWT_BEARER, "assertion": a}
    r = s.post("/oauth2/token", data=json.dumps(data), auth=ctx.auth,
               headers={"Content-Type": "application/json"})
    uj.assert_oauth_error(r, 400, "invalid_request", "application/x-www-form-urlencoded")
    r = s.post("/oauth2/token", data=f"grant_type=client_credentials&grant_type={uj.JWT_BEARER}"
               f"&assertion={a}", auth=ctx.auth, headers=uj.FORM)
    uj.assert_oauth_error(r, 400, "invalid_request", "repeated parameter 'grant_type'")
    r = uj.token(s, data, params={"client_secret": ctx.secret, "client_id": ctx.cid})
    uj.assert_oauth_error(r, 400, "invalid_request",
                          "'client_secret' must not be sent in the query string",
                          secrets=[ctx.secret])
    r = uj.token(s, {"assertion": a}, auth=ctx.auth)
    uj.assert_oauth_error(r, 400, "invalid_request", "missing parameter 'grant_type'")
    r = uj.token(s, {"grant_type": "password", "username": "u", "password": "p"}, auth=ctx.auth)
    uj.assert_oauth_error(r, 400, "unsupported_grant_type", "unsupported grant type 'password'")
    r = uj.token(s, {"grant_type": "client_credentials"}, auth=ctx.auth)
    uj.assert_oauth_error(r, 400, "unauthorized_client",
                          "grant type 'client_credentials' is not allowed for application "
                          "'seed-app'")
    r = s.get("/oauth2/token")
    assert r.status_code == 405


def test_client_secret_off_by_one(ctx):
    wrong = ctx.secret[:-1] + ("A" if ctx.secret[-1] != "A" else "B")
    r = uj.jwt_grant(ctx.srv, good(ctx), (ctx.cid, wrong))
    uj.assert_oauth_error(r, 401, "invalid_client", "wrong client secret",
                          secrets=[wrong, ctx.secret])
    r = uj.jwt_grant(ctx.srv, good(ctx), (ctx.cid, ctx.secret[:-1]))
    uj.assert_oauth_error(r, 401, "invalid_client", "wrong client secret")
    r = uj.jwt_grant(ctx.srv, good(ctx), ("x" * 28, ctx.secret))
    uj.assert_oauth_error(r, 401, "invalid_client", "unknown client")
    r = uj.token(ctx.srv, {"grant_type": uj.JWT_BEARER, "assertion": good(ctx)})
    uj.assert_oauth_error(r, 401, "invalid_client", "client authentication required")
    r = uj.token(ctx.srv, {"grant_type": uj.JWT_BEARER, "assertion": good(ctx),
                           "client_secret": ctx.secret, "client_id": ctx.cid}, auth=ctx.auth)
    uj.assert_oauth_error(r, 400, "invalid_request", "more than one client authentication")


def test_secrets_sent_in_the_wrong_place_are_not_echoed(ctx):
    """Issue 9, finding 7: id and secret swapped, the base64 of id:secret as
    the user name, a refresh token inside grant_type: the value is neither
    reflected in the answer nor written to the log."""
    import base64
    both = base64.b64encode(f"{ctx.cid}:{ctx.secret}".encode()).decode()
    for auth in ((ctx.secret, ctx.cid), (both, "x")):
        r = uj.jwt_grant(ctx.srv, good(ctx), auth)
        uj.assert_oauth_error(r, 401, "invalid_client",
                              "unknown client or wrong client secret",
                              secrets=[ctx.secret, both])
    fake_rt = "kP2x" + "S3cr3t" * 8
    r = uj.token(ctx.srv, {"grant_type": "refresh_token;refresh_token=" + fake_rt},
                 auth=ctx.auth)
    uj.assert_oauth_error(r, 400, "unsupported_grant_type", "not a grant type name",
                          secrets=[fake_rt])
    r = uj.token(ctx.srv, {"grant_type": "password"}, auth=ctx.auth)
    uj.assert_oauth_error(r, 400, "unsupported_grant_type", "unsupported grant type 'password'")
    log = ctx.srv.log()
    assert ctx.secret not in log and both not in log and fake_rt not in log
    assert "client=(unknown)" in log


# -- dry run -------------------------------------------------------------------

def test_dry_run(ctx):
    s = ctx.srv
    a = good(ctx)
    r = s.post(uj.API + "/jwt-grant/validate", auth=s.admin,
               json={"assertion": a, "clientId": ctx.cid})
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["valid"] is True and rep["error"] is None
    assert rep["header"]["alg"] == "RS256"
    assert rep["claims"]["sub"] == "alice"
    assert rep["identityProvider"]["name"] == "jwtIDP"
    assert rep["client"]["clientId"] == ctx.cid
    assert rep["tokenEndpoint"] == ctx.aud
    assert [c["name"] for c in rep["checks"]] == [
        "assertion", "header", "claims", "issuer", "signature", "audience", "times",
        "subject_and_scope", "replay"]
    assert all(c["result"] == "pass" for c in rep["checks"])
    assert "would be recorded" in rep["checks"][8]["detail"]
    # Nothing was recorded: the assertion still works at the token endpoint.
    uj.assert_tokens(uj.jwt_grant(s, a, ctx.auth))
    # Now its jti is used: the dry run says so (and still records nothing).
    r = s.post(uj.API + "/jwt-grant/validate", auth=s.admin,
               json={"assertion": a, "clientId": ctx.cid})
    rep = r.json()
    assert r.status_code == 200 and rep["valid"] is False
    assert rep["checks"][8]["result"] == "fail"
    assert "assertion replayed" in rep["checks"][8]["detail"]
    # A failing one: the failed check, and nothing after it ran.
    r = s.post(uj.API + "/jwt-grant/validate", auth=s.admin,
               json={"assertion": good(ctx, aud="https://wrong")})
    rep = r.json()
    assert rep["valid"] is False and rep["error"] == "invalid_grant"
    assert "audience mismatch" in rep["errorDescription"]
    assert [c["result"] for c in rep["checks"]] == ["pass"] * 5 + ["fail"] + ["not_run"] * 3
    # Malformed input still gets a report.
    r = s.post(uj.API + "/jwt-grant/validate", auth=s.admin, json={"assertion": "x.y"})
    rep = r.json()
    assert r.status_code == 200 and rep["valid"] is False and rep["header"] is None
    # Admin authentication and body shape.
    assert s.post(uj.API + "/jwt-grant/validate", json={"assertion": a}).status_code == 401
    r = s.post(uj.API + "/jwt-grant/validate", auth=s.admin, json={"assertion": a, "x": 1})
    assert r.status_code == 400
    r = s.post(uj.API + "/jwt-grant/validate", auth=s.admin,
               json={"assertion": a, "clientId": "nobody"})
    assert r.status_code == 400 and "clientId" in r.json()["description"]


def test_client_faults_are_not_logged_as_errors(ctx):
    """Run last in this module: everything above was a client fault or a success."""
    uj.jwt_grant(ctx.srv, "garbage", ctx.auth)
    log = ctx.srv.log()
    assert " ERROR " not in log, log
    assert ctx.secret not in log


# -- durability ----------------------------------------------------------------

def test_replay_survives_restart(make_server):
    s = make_server().start()
    # The port is ephemeral and changes on restart: use an alias that does
    # not name it.
    aud = "https://grantd.test/oauth2/token"
    uj.create_idp(s, uj.cert_idp("jwtIDP", Keys.idp_cert, ISS, aud))
    cid, secret = uj.create_app(s, "restart-app")
    a = uj.mint(Keys.idp, uj.claims(aud))
    uj.assert_tokens(uj.jwt_grant(s, a, (cid, secret)))
    s.stop()
    s.start()
    r = uj.jwt_grant(s, a, (cid, secret))
    uj.assert_oauth_error(r, 400, "invalid_grant", "assertion replayed")
    # A fresh assertion still works after the restart.
    uj.assert_tokens(uj.jwt_grant(s, uj.mint(Keys.idp, uj.claims(aud)), (cid, secret)))
