"""Issue 8: RFC 9068 JWT access tokens for applications with accessToken.type
"JWT", verified by python3-jwt against the server's /oauth2/jwks only (the
server's certificate passed explicitly as `verify=`): RS256, ES256, EdDSA, a
key rotation, tenants, all three grants; an opaque-token app stays opaque.
"""
import time

import jwt
import pytest
import requests

import util_certs as uc
import util_jwt as uj
from conftest import run_grantd

ISS = "https://idp.example"
ALG_ENV = "GRANTD_OAUTH_ACCESS_TOKEN_JWT_SIGNING_ALGORITHM"


class Keys:
    idp = uc.rsa_key()
    idp_cert = uc.self_signed(idp, "idp.example")


def make_app(srv, prefix="", tenant=None, **app):
    """An IdP and a JWT-token app in the tenant; returns (client id, secret)."""
    aud = uj.alias(srv, tenant)
    uj.create_idp(srv, uj.cert_idp("jwtIDP", Keys.idp_cert, ISS, aud), prefix=prefix)
    app.setdefault("accessToken", {"type": "JWT"})
    cid, secret = uj.create_app(srv, "jwt-app", prefix=prefix,
                                grants=(uj.JWT_BEARER, "refresh_token", "client_credentials"),
                                **app)
    return cid, secret, aud


def fetch_jwks(srv, prefix=""):
    # The server's own certificate, passed explicitly: TLS is verified.
    r = requests.get(f"{srv.base}{prefix}/oauth2/jwks", verify=srv.cert, timeout=30)
    assert r.status_code == 200, r.text
    return jwt.PyJWKSet.from_dict(r.json())


def verify(srv, token, audience, prefix="", tenant_path="", issuer=None):
    """Checks the token as a resource server would: the key by kid from the
    JWKS, signature, typ, iss, aud, exp. Returns (header, claims)."""
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    keys = {k.key_id: k for k in fetch_jwks(srv, prefix).keys}
    assert header["kid"] in keys, (header, list(keys))
    key = keys[header["kid"]]
    claims = jwt.decode(token, key.key, algorithms=[header["alg"]], audience=audience,
                        issuer=issuer or f"https://localhost:{srv.port}{tenant_path}/oauth2/token",
                        options={"require": ["exp", "iat", "nbf", "iss", "sub", "aud", "jti"]})
    return header, claims


def grant(srv, cid, secret, aud, prefix="", **extra):
    a = uj.mint(Keys.idp, uj.claims(aud, sub="alice@example.com"))
    return uj.assert_tokens(uj.jwt_grant(srv, a, (cid, secret), prefix=prefix, **extra))


def test_rs256_jwt_access_token(server):
    cid, secret, aud = make_app(server, allowedScopes=["read", "write"])
    body = grant(server, cid, secret, aud, scope="read write")
    header, claims = verify(server, body["access_token"], cid)
    assert header["alg"] == "RS256"
    assert claims["sub"] == "alice@example.com"
    assert claims["aud"] == cid
    assert claims["client_id"] == cid
    assert claims["scope"] == "read write"
    assert claims["exp"] - claims["iat"] == body["expires_in"] == 3600
    assert claims["nbf"] == claims["iat"] and abs(claims["iat"] - time.time()) < 120
    # a new jti every time; refresh tokens stay opaque
    body2 = grant(server, cid, secret, aud)
    _, claims2 = verify(server, body2["access_token"], cid)
    assert claims2["jti"] != claims["jti"] and "scope" not in claims2
    assert body["refresh_token"].count(".") == 0
    # a tampered token does not verify
    t = body["access_token"]
    bad = t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB")
    with pytest.raises(jwt.InvalidSignatureError):
        verify(server, bad, cid)


def test_refresh_and_client_credentials_give_jwts(server):
    cid, secret, aud = make_app(server, allowedScopes=["svc"])
    first = grant(server, cid, secret, aud)
    r = uj.token(server, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
                 auth=(cid, secret))
    body = uj.assert_tokens(r)
    _, claims = verify(server, body["access_token"], cid)
    assert claims["sub"] == "alice@example.com"
    r = uj.token(server, {"grant_type": "client_credentials", "scope": "svc"}, auth=(cid, secret))
    body = uj.assert_tokens(r, refresh=False)
    _, claims = verify(server, body["access_token"], cid)
    assert claims["sub"] == cid and claims["scope"] == "svc"


def test_audience_list(server):
    cid, secret, aud = make_app(server, idToken={"audience": ["https://api.example", "billing"]})
    body = grant(server, cid, secret, aud)
    _, claims = verify(server, body["access_token"], "https://api.example")
    assert claims["aud"] == ["https://api.example", "billing"]
    with pytest.raises(jwt.InvalidAudienceError):
        verify(server, body["access_token"], cid)


def test_opaque_app_stays_opaque(server):
    cid, secret, aud = make_app(server)
    ocid, osecret = uj.create_app(server, "opaque-app")
    a = uj.mint(Keys.idp, uj.claims(aud))
    body = uj.assert_tokens(uj.jwt_grant(server, a, (ocid, osecret)))
    assert body["access_token"].count(".") == 0 and len(body["access_token"]) == 51


def test_jwt_tokens_are_stored_by_hash_and_jti(server):
    import sqlite3
    cid, secret, aud = make_app(server)
    body = grant(server, cid, secret, aud)
    _, claims = verify(server, body["access_token"], cid)
    server.stop()
    db = sqlite3.connect(server.data_dir + "/grantd.db")
    rows = db.execute("SELECT jti, kind FROM tokens WHERE jti IS NOT NULL").fetchall()
    db.close()
    assert rows == [(claims["jti"], 1)]
    assert body["access_token"] not in server.log()


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_other_algorithms(make_server, alg):
    s = make_server(env={ALG_ENV: alg}).start()
    cid, secret, aud = make_app(s)
    body = grant(s, cid, secret, aud)
    header, _ = verify(s, body["access_token"], cid)
    assert header["alg"] == alg


def test_tenant_tokens_and_keys(server):
    r = server.post(uj.API + "/tenants", auth=server.admin, json={
        "domain": "acme.com", "owners": [{"username": "owner", "password": "Owner-passw0rd-1"}]})
    assert r.status_code == 201, r.text
    cid, secret, aud = make_app(server, prefix="/t/acme.com", tenant="acme.com")
    body = grant(server, cid, secret, aud, prefix="/t/acme.com")
    header, claims = verify(server, body["access_token"], cid, prefix="/t/acme.com",
                            tenant_path="/t/acme.com")
    # the super tenant's JWKS does not hold acme's key
    assert header["kid"] not in {k.key_id for k in fetch_jwks(server).keys}


def test_rotation(server):
    cid, secret, aud = make_app(server)
    old = grant(server, cid, secret, aud)
    old_kid = verify(server, old["access_token"], cid)[0]["kid"]
    old_iss = f"https://localhost:{server.port}/oauth2/token"  # the port is ephemeral
    server.stop()
    r = run_grantd("keys", "rotate", "-c", server.config_path, env=server.env)
    assert r.returncode == 0, r.stderr
    server.start()
    # the old token still verifies against the JWKS; new tokens use the new kid
    assert verify(server, old["access_token"], cid, issuer=old_iss)[0]["kid"] == old_kid
    new = grant(server, cid, secret, aud)
    new_kid = verify(server, new["access_token"], cid)[0]["kid"]
    assert new_kid != old_kid and new_kid in r.stdout
