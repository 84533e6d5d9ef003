"""Issue 8: RFC 7662 introspection and RFC 7009 revocation, called as an
independent client would (requests, form bodies, HTTP Basic or
client_secret_post): what an active token reports, and that every way a
token dies - revocation, rotation and reuse, secret regeneration, application
deletion, IdP disabling - makes it exactly {"active": false}.
"""
import jwt
import requests

import util_certs as uc
import util_jwt as uj

ISS = "https://idp.example"
API = uj.API


class Keys:
    idp = uc.rsa_key()
    idp_cert = uc.self_signed(idp, "idp.example")


def make_apps(srv, prefix="", tenant=None, name="rs-app", idp_name="intrIDP", **app):
    """An IdP, a client app (jwt-bearer + refresh) and a resource-server app
    (client_credentials) in the tenant."""
    aud = uj.alias(srv, tenant)
    idp = uj.create_idp(srv, uj.cert_idp(idp_name, Keys.idp_cert, ISS, aud), prefix=prefix)
    cid, secret = uj.create_app(srv, name, prefix=prefix,
                                grants=(uj.JWT_BEARER, "refresh_token", "client_credentials"),
                                **app)
    rs = uj.create_app(srv, name + "-rs", prefix=prefix, grants=("client_credentials",))
    return idp, (cid, secret), rs, aud


def grant(srv, client, aud, prefix="", **extra):
    a = uj.mint(Keys.idp, uj.claims(aud, sub="alice@example.com"))
    return uj.assert_tokens(uj.jwt_grant(srv, a, client, prefix=prefix, **extra))


def introspect(srv, auth, tok, prefix="", **extra):
    data = {"token": tok}
    data.update(extra)
    r = srv.post(prefix + "/oauth2/introspect", data=data, auth=auth, headers=uj.FORM)
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    return r.json()


def inactive(srv, auth, tok, prefix=""):
    body = introspect(srv, auth, tok, prefix)
    assert body == {"active": False}
    return body


def revoke(srv, auth, tok, prefix="", **extra):
    data = {"token": tok}
    data.update(extra)
    r = srv.post(prefix + "/oauth2/revoke", data=data, auth=auth, headers=uj.FORM)
    assert r.status_code == 200, r.text
    assert r.content == b""
    return r


def test_active_opaque_and_refresh(server):
    _, client, rs, aud = make_apps(server, allowedScopes=["read", "write"])
    body = grant(server, client, aud, scope="read")
    got = introspect(server, rs, body["access_token"], token_type_hint="access_token")
    assert got["active"] is True
    assert got["scope"] == "read"
    assert got["client_id"] == client[0]
    assert got["sub"] == "alice@example.com"
    assert got["aud"] == client[0]
    assert got["iss"] == f"https://localhost:{server.port}/oauth2/token"
    assert got["token_type"] == "Bearer"
    assert got["exp"] - got["iat"] == body["expires_in"] == 3600
    assert got["nbf"] == got["iat"]
    assert "jti" not in got  # opaque tokens have none
    # the client may introspect its own token with client_secret_post
    r = server.post("/oauth2/introspect", headers=uj.FORM,
                    data={"token": body["access_token"], "client_id": client[0],
                          "client_secret": client[1]})
    assert r.status_code == 200 and r.json()["active"] is True
    rt = introspect(server, rs, body["refresh_token"])
    assert rt["active"] is True and rt["token_type"] == "refresh_token"
    assert rt["client_id"] == client[0]


def test_jwt_access_token_and_tampering(server):
    _, client, rs, aud = make_apps(server, accessToken={"type": "JWT"},
                               idToken={"audience": ["https://api.example"]})
    body = grant(server, client, aud)
    tok = body["access_token"]
    claims = jwt.decode(tok, options={"verify_signature": False})
    got = introspect(server, rs, tok)
    assert got["active"] is True
    assert got["jti"] == claims["jti"]
    assert got["aud"] == ["https://api.example"] == [claims["aud"]] or \
        got["aud"] == claims["aud"]
    for k in ("iss", "sub", "client_id", "exp", "iat", "nbf"):
        assert got[k] == claims[k], k
    head, payload, sig = tok.split(".")
    flipped = sig[:-2] + ("AA" if not sig.endswith("AA") else "BB")
    inactive(server, rs, ".".join((head, payload, flipped)))
    # a re-signed payload with another key: unknown kid, inactive
    other = jwt.encode(claims, uj.private_pem(uc.rsa_key()), algorithm="RS256",
                       headers={"kid": "nope", "typ": "at+jwt"})
    inactive(server, rs, other)


def test_unknown_malformed_and_no_auth(server):
    _, client, rs, aud = make_apps(server)
    for tok in ("x", "a" * 43, "not.a.jwt", "é", "a" * 70000):
        if len(tok) > 60000:
            r = server.post("/oauth2/introspect", data={"token": tok}, auth=rs, headers=uj.FORM)
            assert r.status_code in (200, 413), r.status_code
            if r.status_code == 200:
                assert r.json() == {"active": False}
            continue
        inactive(server, rs, tok)
    body = grant(server, client, aud)
    tok = body["access_token"]
    # no client authentication, a wrong secret, an unknown client: 401
    r = server.post("/oauth2/introspect", data={"token": tok}, headers=uj.FORM)
    uj.assert_oauth_error(r, 401, "invalid_client", secrets=(tok,))
    r = server.post("/oauth2/introspect", data={"token": tok}, headers=uj.FORM,
                    auth=(rs[0], "wrong-secret"))
    uj.assert_oauth_error(r, 401, "invalid_client", secrets=(tok,))
    r = server.post("/oauth2/introspect", data={"token": tok}, headers=uj.FORM,
                    auth=("no-such-client", "x"))
    uj.assert_oauth_error(r, 401, "invalid_client", secrets=(tok,))
    # a public client cannot introspect
    pub, _ = uj.create_app(server, "pub", grants=(uj.JWT_BEARER,), publicClient=True)
    r = server.post("/oauth2/introspect", data={"token": tok, "client_id": pub},
                    headers=uj.FORM)
    uj.assert_oauth_error(r, 401, "invalid_client", secrets=(tok,))
    # bad requests: missing token, repeated token, token in the query, wrong type
    uj.assert_oauth_error(server.post("/oauth2/introspect", data={}, auth=rs, headers=uj.FORM),
                          400, "invalid_request", "token")
    r = server.post("/oauth2/introspect", data=f"token={tok}&token={tok}", auth=rs,
                    headers=uj.FORM)
    uj.assert_oauth_error(r, 400, "invalid_request", "repeated", secrets=(tok,))
    r = server.post("/oauth2/introspect", params={"token": tok}, data={}, auth=rs,
                    headers=uj.FORM)
    uj.assert_oauth_error(r, 400, "invalid_request", "query", secrets=(tok,))
    r = server.post("/oauth2/introspect", json={"token": tok}, auth=rs)
    uj.assert_oauth_error(r, 400, "invalid_request", "Content-Type", secrets=(tok,))
    assert introspect(server, rs, tok)["active"] is True  # none of that changed anything


def test_another_tenant(server):
    r = server.post(API + "/tenants", auth=server.admin, json={
        "domain": "acme.com", "owners": [{"username": "acme-admin", "password": "Acme-Pass-1"}]})
    assert r.status_code == 201, r.text
    _, client, rs, aud = make_apps(server)
    _, aclient, ars, aaud = make_apps(server, prefix="/t/acme.com", tenant="acme.com")
    body = grant(server, client, aud)
    abody = grant(server, aclient, aaud, prefix="/t/acme.com")
    # each tenant's resource server sees only its tenant's tokens
    inactive(server, ars, body["access_token"], prefix="/t/acme.com")
    inactive(server, ars, body["refresh_token"], prefix="/t/acme.com")
    got = introspect(server, ars, abody["access_token"], prefix="/t/acme.com")
    assert got["active"] is True
    assert got["iss"] == f"https://localhost:{server.port}/t/acme.com/oauth2/token"
    inactive(server, rs, abody["access_token"])
    # an app of acme authenticating at the super tenant's endpoint is unknown there
    r = server.post("/oauth2/introspect", data={"token": abody["access_token"]}, auth=ars,
                    headers=uj.FORM)
    uj.assert_oauth_error(r, 401, "invalid_client")


def test_refresh_rotation_and_reuse(server):
    _, client, rs, aud = make_apps(server, refreshToken={"renewRefreshToken": True})
    first = grant(server, client, aud)
    r = uj.token(server, {"grant_type": "refresh_token",
                          "refresh_token": first["refresh_token"]}, auth=client)
    second = uj.assert_tokens(r)
    inactive(server, rs, first["refresh_token"])  # used (rotated)
    assert introspect(server, rs, first["access_token"])["active"] is True
    assert introspect(server, rs, second["refresh_token"])["active"] is True
    assert introspect(server, rs, second["access_token"])["active"] is True
    # reuse of the rotated token revokes the whole chain
    r = uj.token(server, {"grant_type": "refresh_token",
                          "refresh_token": first["refresh_token"]}, auth=client)
    uj.assert_oauth_error(r, 400, "invalid_grant")
    for t in (first["access_token"], second["access_token"], second["refresh_token"]):
        inactive(server, rs, t)


def test_secret_regeneration_app_deletion_idp_disabling(server):
    idp, client, rs, aud = make_apps(server)
    body = grant(server, client, aud)
    apps = server.get(API + "/applications", auth=server.admin, params={"limit": 100}).json()
    app_id = next(a["id"] for a in apps["applications"] if a["name"] == "rs-app")
    r = server.post(f"{API}/applications/{app_id}/inbound-protocols/oidc/regenerate-secret",
                    auth=server.admin)
    assert r.status_code == 200, r.text
    client = (client[0], r.json()["clientSecret"])
    inactive(server, rs, body["access_token"])
    inactive(server, rs, body["refresh_token"])

    body = grant(server, client, aud)
    assert introspect(server, rs, body["access_token"])["active"] is True
    r = server.patch(f"{API}/identity-providers/{idp['id']}", auth=server.admin,
                     json=[{"operation": "REPLACE", "path": "/isEnabled", "value": False}])
    assert r.status_code == 200, r.text
    inactive(server, rs, body["access_token"])
    inactive(server, rs, body["refresh_token"])
    r = server.patch(f"{API}/identity-providers/{idp['id']}", auth=server.admin,
                     json=[{"operation": "REPLACE", "path": "/isEnabled", "value": True}])
    assert r.status_code == 200, r.text

    body = grant(server, client, aud)
    r = uj.token(server, {"grant_type": "client_credentials"}, auth=client)
    cc = uj.assert_tokens(r, refresh="refresh_token" in r.json())
    assert introspect(server, rs, cc["access_token"])["sub"] == client[0]
    assert server.delete(f"{API}/applications/{app_id}", auth=server.admin).status_code == 204
    for t in (body["access_token"], body["refresh_token"], cc["access_token"]):
        inactive(server, rs, t)


def test_short_lifetime_exp(server):
    """Expiry itself is unit-tested with an injected clock
    (tests/unit/oauth/test_introspect.c); here the reported exp follows
    the application's shortest lifetime."""
    _, client, rs, aud = make_apps(server, accessToken={"applicationAccessTokenExpiryInSeconds": 1,
                                                    "userAccessTokenExpiryInSeconds": 1},
                               refreshToken={"expiryInSeconds": 2})
    body = grant(server, client, aud)
    assert body["expires_in"] == 1
    got = introspect(server, rs, body["access_token"])
    if got["active"]:  # the second may already have passed: then it is inactive
        assert got["exp"] - got["iat"] == 1
    else:
        assert got == {"active": False}
    rt = introspect(server, rs, body["refresh_token"])
    assert rt == {"active": False} or rt["exp"] - rt["iat"] == 2


def test_expired_tokens_are_inactive(server):
    """Time passing, without waiting: the stored expiry of the grant's
    tokens is moved into the past while the server is stopped (the token
    hashes stay), then the restarted server must call them inactive and
    refuse the refresh token as expired. A JWT access token too: its own
    exp still lies ahead, the server's record decides."""
    import sqlite3
    _, client, rs, aud = make_apps(server, accessToken={"type": "JWT"})
    body = grant(server, client, aud)
    assert introspect(server, rs, body["access_token"])["active"] is True
    assert introspect(server, rs, body["refresh_token"])["active"] is True
    server.stop()
    db = sqlite3.connect(server.data_dir + "/grantd.db")
    with db:
        n = db.execute("UPDATE tokens SET issued_at = issued_at - 100000, "
                       "expires_at = strftime('%s','now') - 10").rowcount
    db.close()
    assert n == 2
    server.start()
    inactive(server, rs, body["access_token"])
    inactive(server, rs, body["refresh_token"])
    r = uj.token(server, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
                 auth=client)
    uj.assert_oauth_error(r, 400, "invalid_grant", "expired")


def test_tokens_issued_before_time_ordered_keys_still_work(server):
    """Tokens of 43 characters (256 random bits, no time) were issued before
    the store's keys became time-ordered; they are stored under their plain
    HMAC and must keep working: one is planted in place of a grant's refresh
    token while the server is stopped."""
    import os
    import secrets
    import sqlite3
    _, client, rs, aud = make_apps(server)
    body = grant(server, client, aud)
    with open(os.path.join(server.data_dir, "server-secret"), "rb") as f:
        key = f.read()
    new_key = uj.token_key(key, body["refresh_token"])
    assert new_key[:6] != uj.sha256(key, body["refresh_token"])[:6]  # led by the time
    legacy = uj.b64u(secrets.token_bytes(32))
    assert len(legacy) == 43 and uj.token_key(key, legacy) == uj.sha256(key, legacy)
    server.stop()
    db = sqlite3.connect(server.data_dir + "/grantd.db")
    with db:
        n = db.execute("UPDATE tokens SET hash = ? WHERE hash = ?",
                       (uj.sha256(key, legacy), new_key)).rowcount
    db.close()
    assert n == 1
    server.start()
    assert introspect(server, rs, legacy)["active"] is True
    inactive(server, rs, body["refresh_token"])
    r = uj.token(server, {"grant_type": "refresh_token", "refresh_token": legacy}, auth=client)
    uj.assert_tokens(r)


def test_requests_session_independent_client(server):
    """The same through a plain requests.Session with TLS verification."""
    _, client, rs, aud = make_apps(server)
    body = grant(server, client, aud)
    with requests.Session() as s:
        s.auth = rs
        r = s.post(server.url("/oauth2/introspect"), data={"token": body["access_token"]},
                   verify=server.cert, timeout=30)
        assert r.status_code == 200 and r.json()["active"] is True


# -- revocation (RFC 7009) --------------------------------------------------

def test_revoke_access_token(server):
    _, client, rs, aud = make_apps(server, accessToken={"type": "JWT"})
    body = grant(server, client, aud)
    other = grant(server, client, aud)
    revoke(server, client, body["access_token"], token_type_hint="access_token")
    inactive(server, rs, body["access_token"])
    # only that token: its refresh token and the other grant's stay active
    assert introspect(server, rs, body["refresh_token"])["active"] is True
    assert introspect(server, rs, other["access_token"])["active"] is True
    # again, and with a wrong hint: still 200
    revoke(server, client, body["access_token"], token_type_hint="refresh_token")
    revoke(server, client, other["access_token"], token_type_hint="no-such-hint")
    inactive(server, rs, other["access_token"])


def test_revoke_refresh_token_takes_its_chain(server):
    _, client, rs, aud = make_apps(server, refreshToken={"renewRefreshToken": True})
    first = grant(server, client, aud)
    r = uj.token(server, {"grant_type": "refresh_token",
                          "refresh_token": first["refresh_token"]}, auth=client)
    second = uj.assert_tokens(r)
    unrelated = grant(server, client, aud)
    # client_secret_post this time; the hint says access_token, wrongly
    r = server.post("/oauth2/revoke", headers=uj.FORM,
                    data={"token": second["refresh_token"], "token_type_hint": "access_token",
                          "client_id": client[0], "client_secret": client[1]})
    assert r.status_code == 200 and r.content == b""
    for t in (first["access_token"], second["access_token"], second["refresh_token"]):
        inactive(server, rs, t)
    r = uj.token(server, {"grant_type": "refresh_token",
                          "refresh_token": second["refresh_token"]}, auth=client)
    uj.assert_oauth_error(r, 400, "invalid_grant")
    assert introspect(server, rs, unrelated["access_token"])["active"] is True
    assert introspect(server, rs, unrelated["refresh_token"])["active"] is True


def test_revoke_unknown_foreign_and_bad_auth(server):
    _, client, rs, aud = make_apps(server)
    body = grant(server, client, aud)
    revoke(server, client, "no-such-token")
    revoke(server, client, "a" * 43, token_type_hint="refresh_token")
    # another client of the tenant cannot revoke it: 200, nothing revoked
    revoke(server, rs, body["access_token"])
    revoke(server, rs, body["refresh_token"])
    assert introspect(server, rs, body["access_token"])["active"] is True
    assert introspect(server, rs, body["refresh_token"])["active"] is True
    # no or bad client authentication: 401, nothing revoked
    r = server.post("/oauth2/revoke", data={"token": body["access_token"]}, headers=uj.FORM)
    uj.assert_oauth_error(r, 401, "invalid_client", secrets=(body["access_token"],))
    r = server.post("/oauth2/revoke", data={"token": body["access_token"]}, headers=uj.FORM,
                    auth=(client[0], "wrong"))
    uj.assert_oauth_error(r, 401, "invalid_client", secrets=(body["access_token"],))
    uj.assert_oauth_error(server.post("/oauth2/revoke", data={}, auth=client, headers=uj.FORM),
                          400, "invalid_request", "token")
    r = server.post("/oauth2/revoke", params={"token": body["access_token"]}, data={},
                    auth=client, headers=uj.FORM)
    uj.assert_oauth_error(r, 400, "invalid_request", "query", secrets=(body["access_token"],))
    assert introspect(server, rs, body["access_token"])["active"] is True


def test_revoke_across_tenants(server):
    r = server.post(API + "/tenants", auth=server.admin, json={
        "domain": "acme.com", "owners": [{"username": "acme-admin", "password": "Acme-Pass-1"}]})
    assert r.status_code == 201, r.text
    _, client, rs, aud = make_apps(server)
    _, aclient, ars, aaud = make_apps(server, prefix="/t/acme.com", tenant="acme.com")
    abody = grant(server, aclient, aaud, prefix="/t/acme.com")
    revoke(server, client, abody["access_token"])
    assert introspect(server, ars, abody["access_token"], prefix="/t/acme.com")["active"]
    revoke(server, aclient, abody["access_token"], prefix="/t/acme.com")
    inactive(server, ars, abody["access_token"], prefix="/t/acme.com")


def test_public_client_revokes_its_own(server):
    aud = uj.alias(server)
    uj.create_idp(server, uj.cert_idp("pubIDP", Keys.idp_cert, ISS, aud))
    pub, _ = uj.create_app(server, "pub", grants=(uj.JWT_BEARER, "refresh_token"),
                           publicClient=True)
    rs = uj.create_app(server, "pub-rs", grants=("client_credentials",))
    a = uj.mint(Keys.idp, uj.claims(aud, sub="bob"))
    body = uj.assert_tokens(uj.jwt_grant(server, a, None, client_id=pub))
    r = server.post("/oauth2/revoke", data={"token": body["refresh_token"], "client_id": pub},
                    headers=uj.FORM)
    assert r.status_code == 200, r.text
    inactive(server, rs, body["refresh_token"])
    inactive(server, rs, body["access_token"])


def test_private_key_jwt_resource_server(server):
    """A resource server that authenticates with a client assertion (aud: the
    token endpoint URL); a replayed assertion is invalid_client."""
    _, client, _, aud = make_apps(server)
    key = uc.rsa_key()
    rs_id, _ = uj.create_app(server, "pk-rs", grants=("client_credentials",),
                             clientAuthentication={"tokenEndpointAuthMethod": "private_key_jwt",
                                                   "jwks": {"keys": [uj.public_jwk(key, "k1")]}})
    body = grant(server, client, aud)

    def call(assertion, path="/oauth2/introspect"):
        return server.post(path, headers=uj.FORM, data={
            "token": body["access_token"], "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})

    a = uj.mint(key, uj.claims(aud, iss=rs_id, sub=rs_id), kid="k1")
    r = call(a)
    assert r.status_code == 200 and r.json()["active"] is True, r.text
    uj.assert_oauth_error(call(a), 401, "invalid_client", "replayed", secrets=(a,))
    # revocation by another client (this one): nothing revoked
    a2 = uj.mint(key, uj.claims(aud, iss=rs_id, sub=rs_id), kid="k1")
    assert call(a2, "/oauth2/revoke").status_code == 200
    assert introspect(server, client, body["access_token"])["active"] is True
