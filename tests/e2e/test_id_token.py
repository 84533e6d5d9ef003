"""Issue 8: an id_token (OpenID Connect Core) when the granted scope holds
"openid", verified by python3-jwt against the server's /oauth2/jwks only (the
server's certificate passed explicitly as `verify=`): RS256, ES256, EdDSA,
across a key rotation, on the refresh grant (same auth_time), and none for
client_credentials or without "openid".
"""
import base64
import hashlib
import time

import jwt
import pytest

import util_jwt as uj
from conftest import run_grantd
from test_jwt_access_tokens import ALG_ENV, Keys, fetch_jwks, make_app


def verify_id_token(srv, body, audience, prefix="", tenant_path=""):
    """Checks body["id_token"] as an OpenID Connect client would. Returns
    (header, claims)."""
    tok = body["id_token"]
    header = jwt.get_unverified_header(tok)
    assert header["typ"] == "JWT"
    keys = {k.key_id: k for k in fetch_jwks(srv, prefix).keys}
    assert header["kid"] in keys, (header, list(keys))
    claims = jwt.decode(tok, keys[header["kid"]].key, algorithms=[header["alg"]],
                        audience=audience,
                        issuer=f"https://localhost:{srv.port}{tenant_path}/oauth2/token",
                        options={"require": ["iss", "sub", "aud", "iat", "exp", "auth_time"]})
    return header, claims


def at_hash(access_token):
    d = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(d[:16]).rstrip(b"=").decode()


def grant(srv, cid, secret, aud, prefix="", **extra):
    a = uj.mint(Keys.idp, uj.claims(aud, sub="alice@example.com"))
    return uj.assert_tokens(uj.jwt_grant(srv, a, (cid, secret), prefix=prefix, **extra))


def test_openid_scope_gives_an_id_token(server):
    # an opaque-token app whose allowedScopes do not list openid: openid is
    # always allowed, it only asks for the id_token
    cid, secret, aud = make_app(server, accessToken={"type": "Default"},
                                allowedScopes=["read"])
    body = grant(server, cid, secret, aud, scope="openid read")
    assert body["scope"] == "openid read"
    header, claims = verify_id_token(server, body, cid)
    assert header["alg"] == "RS256"
    assert claims["sub"] == "alice@example.com"
    assert claims["aud"] == cid and claims["azp"] == cid
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["auth_time"] == claims["iat"] and abs(claims["iat"] - time.time()) < 120
    assert claims["at_hash"] == at_hash(body["access_token"])
    # the id_token is not a credential: introspection does not know it
    r = server.post("/oauth2/introspect", data={"token": body["id_token"]}, auth=(cid, secret))
    assert r.status_code == 200 and r.json() == {"active": False}
    # other scopes are still checked
    uj.assert_oauth_error(uj.jwt_grant(server, uj.mint(Keys.idp, uj.claims(aud)), (cid, secret),
                                       scope="openid write"), 400, "invalid_scope", "'write'")


def test_no_openid_no_id_token(server):
    cid, secret, aud = make_app(server)
    assert "id_token" not in grant(server, cid, secret, aud)
    assert "id_token" not in grant(server, cid, secret, aud, scope="read")
    assert "id_token" not in grant(server, cid, secret, aud, scope="openidx")
    # client_credentials has no end user: no id_token even with openid
    r = uj.token(server, {"grant_type": "client_credentials", "scope": "openid"},
                 auth=(cid, secret))
    body = uj.assert_tokens(r, refresh=False)
    assert body["scope"] == "openid" and "id_token" not in body


def test_audience_and_lifetime(server):
    cid, secret, aud = make_app(server, idToken={"audience": ["https://api.example"],
                                                 "expiryInSeconds": 600})
    body = grant(server, cid, secret, aud, scope="openid")
    _, claims = verify_id_token(server, body, cid)
    assert claims["aud"] == [cid, "https://api.example"]
    assert claims["exp"] - claims["iat"] == 600
    # the JWT access token's at_hash covers the JWT text
    assert claims["at_hash"] == at_hash(body["access_token"])
    r = server.get(uj.API + "/applications", auth=server.admin)
    app_id = r.json()["applications"][0]["id"]
    r = server.get(uj.API + f"/applications/{app_id}/inbound-protocols/oidc", auth=server.admin)
    assert r.json()["idToken"] == {"audience": ["https://api.example"], "expiryInSeconds": 600}


def test_bad_id_token_expiry_is_refused(server):
    for bad in (0, -1, "600", 1.5):
        r = server.post(uj.API + "/applications", auth=server.admin, json={
            "name": "x", "inboundProtocolConfiguration": {"oidc": {
                "grantTypes": [uj.JWT_BEARER], "idToken": {"expiryInSeconds": bad}}}})
        assert r.status_code == 400, (bad, r.text)
        assert "idToken.expiryInSeconds" in r.json()["description"]


def test_refresh_keeps_auth_time(server):
    cid, secret, aud = make_app(server)
    first = grant(server, cid, secret, aud, scope="openid read")
    _, c1 = verify_id_token(server, first, cid)
    r = uj.token(server, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
                 auth=(cid, secret))
    second = uj.assert_tokens(r)
    _, c2 = verify_id_token(server, second, cid)
    assert c2["sub"] == c1["sub"] and c2["auth_time"] == c1["auth_time"]
    assert c2["at_hash"] == at_hash(second["access_token"])
    # narrowing the scope away from openid: no id_token
    r = uj.token(server, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"],
                          "scope": "read"}, auth=(cid, secret))
    third = uj.assert_tokens(r)
    assert third["scope"] == "read" and "id_token" not in third


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_other_algorithms(make_server, alg):
    s = make_server(env={ALG_ENV: alg}).start()
    cid, secret, aud = make_app(s)
    body = grant(s, cid, secret, aud, scope="openid")
    header, claims = verify_id_token(s, body, cid)
    assert header["alg"] == alg
    # at_hash only where the algorithm's hash is SHA-256
    assert (claims.get("at_hash") == at_hash(body["access_token"])) == (alg == "ES256")
    assert ("at_hash" in claims) == (alg == "ES256")
    meta = s.get("/oauth2/token/.well-known/openid-configuration").json()
    assert meta["id_token_signing_alg_values_supported"] == [alg]


def test_across_rotation(server):
    cid, secret, aud = make_app(server)
    old = grant(server, cid, secret, aud, scope="openid")
    old_kid = verify_id_token(server, old, cid)[0]["kid"]
    server.stop()
    r = run_grantd("keys", "rotate", "-c", server.config_path, env=server.env)
    assert r.returncode == 0, r.stderr
    server.start()
    new = grant(server, cid, secret, aud, scope="openid")
    new_kid = verify_id_token(server, new, cid)[0]["kid"]
    assert new_kid != old_kid
    # the access token and the id_token of one response share the key
    assert jwt.get_unverified_header(new["access_token"])["kid"] == new_kid
    # the old id_token's key is still published
    assert old_kid in {k.key_id for k in fetch_jwks(server).keys}


def test_tenant_id_token(server):
    r = server.post(uj.API + "/tenants", auth=server.admin, json={
        "domain": "acme.com", "owners": [{"username": "owner", "password": "Owner-passw0rd-1"}]})
    assert r.status_code == 201, r.text
    cid, secret, aud = make_app(server, prefix="/t/acme.com", tenant="acme.com")
    body = grant(server, cid, secret, aud, prefix="/t/acme.com", scope="openid")
    _, claims = verify_id_token(server, body, cid, prefix="/t/acme.com",
                                tenant_path="/t/acme.com")
    assert claims["sub"] == "alice@example.com"
