"""Issue 8: RFC 8414 metadata at [/t/T]/.well-known/oauth-authorization-server
and WSO2's [/t/T]/oauth2/token/.well-known/openid-configuration: the
documents parse, every URL in them is absolute with this server's host, port
and tenant prefix, and every endpoint answers as written (GET jwks 200,
POST introspect/revoke without auth 401, the token endpoint 400 on an empty
form).
"""
import json

import pytest
import requests

import util_jwt as uj

PATHS = ("/.well-known/oauth-authorization-server",
         "/oauth2/token/.well-known/openid-configuration")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def fetch(srv, prefix, path):
    r = srv.get(prefix + path)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    return json.loads(r.text)


def check_endpoints(srv, md, prefix):
    # The server names itself https://localhost:<port>; the test connects to
    # 127.0.0.1 with the server's certificate, so only the origin is mapped.
    origin = f"https://localhost:{srv.port}"
    for k in ("issuer", "token_endpoint", "jwks_uri", "introspection_endpoint",
              "revocation_endpoint"):
        assert md[k].startswith(origin + prefix + "/"), (k, md[k])

    def local(url):
        return srv.base + url[len(origin):]

    assert md["issuer"] == md["token_endpoint"] == origin + prefix + "/oauth2/token"
    r = requests.get(local(md["jwks_uri"]), verify=srv.cert, timeout=30)
    assert r.status_code == 200 and r.json()["keys"], r.text
    for k in ("introspection_endpoint", "revocation_endpoint"):
        r = requests.post(local(md[k]), data={"token": "x"}, headers=FORM, verify=srv.cert,
                          timeout=30)
        uj.assert_oauth_error(r, 401, "invalid_client")
    r = requests.post(local(md["token_endpoint"]), data={}, headers=FORM, verify=srv.cert,
                      timeout=30)
    uj.assert_oauth_error(r, 400, "invalid_request")


@pytest.mark.parametrize("path", PATHS)
def test_super_tenant_metadata(server, path):
    uj.create_app(server, "scoped", grants=("client_credentials",),
                  allowedScopes=["read", "write"])
    uj.create_app(server, "scoped2", grants=("client_credentials",),
                  allowedScopes=["write", "admin"])
    md = fetch(server, "", path)
    check_endpoints(server, md, "")
    assert md["grant_types_supported"] == [uj.JWT_BEARER, "refresh_token",
                                           "client_credentials"]
    assert md["response_types_supported"] == []
    assert set(md["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
    assert "none" not in md["introspection_endpoint_auth_methods_supported"]
    assert "none" in md["revocation_endpoint_auth_methods_supported"]
    for k in ("token_endpoint_auth_signing_alg_values_supported",
              "introspection_endpoint_auth_signing_alg_values_supported",
              "revocation_endpoint_auth_signing_alg_values_supported"):
        assert "RS256" in md[k] and "ES256" in md[k] and "EdDSA" in md[k]
        assert not any(a.startswith("HS") or a == "none" for a in md[k])
    # openid first (it asks for an id_token), then the applications' scopes
    assert md["scopes_supported"][0] == "openid"
    assert sorted(md["scopes_supported"][1:]) == ["admin", "read", "write"]
    assert md["subject_types_supported"] == ["public"]
    assert md["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"iss", "sub", "aud", "exp", "iat", "auth_time"} <= set(md["claims_supported"])
    # /t/carbon.super names the super tenant: the same document
    assert fetch(server, "/t/carbon.super", path) == md


@pytest.mark.parametrize("path", PATHS)
def test_tenant_metadata(server, path):
    r = server.post(uj.API + "/tenants", auth=server.admin, json={
        "domain": "acme.com", "owners": [{"username": "owner", "password": "Owner-passw0rd-1"}]})
    assert r.status_code == 201, r.text
    uj.create_app(server, "acme-app", grants=("client_credentials",), prefix="/t/acme.com",
                  allowedScopes=["acme:read"])
    md = fetch(server, "/t/acme.com", path)
    check_endpoints(server, md, "/t/acme.com")
    assert md["scopes_supported"] == ["openid", "acme:read"]
    assert "acme:read" not in fetch(server, "", path)["scopes_supported"]
    # an unknown tenant: 404
    assert server.get("/t/nope.example" + path).status_code == 404


def test_metadata_is_get_only(server):
    for path in PATHS:
        assert server.post(path, data={}).status_code in (404, 405)
