"""Issue 3: admin API — identity providers (docs/api/openapi.yaml).

Super admin and tenant admins create, read, list, replace, patch and delete
identity providers; certificates are parsed on save and shown with their
subject and thumbprints; every bad input is refused with the documented
error shape and changes nothing; changes are audited; disabling or deleting
an IdP revokes its tokens.
"""
import json
import os
import re
import sqlite3
import threading

import pytest

import util_certs as uc
from conftest import Server

API = "/api/server/v1"
IDPS = API + "/identity-providers"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ALL_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
            "EdDSA"]
TENANT_PASSWORD = "tenant-Passw0rd-e2e"
ALICE = ("alice@acme.com", TENANT_PASSWORD)
BOB = ("bob@beta.org", TENANT_PASSWORD)
ACME = "/t/acme.com"
BETA = "/t/beta.org"


class Keys:
    """Made once per module: RSA key generation is slow-ish."""
    rsa = uc.rsa_key()
    rsa_cert = uc.self_signed(rsa, "idp.example")
    ec = uc.ec_key()
    ec_cert = uc.self_signed(ec, "ec.idp.example", org="EC Org")
    ed = uc.ed_key()
    rsa2 = uc.rsa_key()
    rsa2_cert = uc.self_signed(rsa2, "second.idp.example")
    weak = uc.rsa_key(1024)
    weak_cert = uc.self_signed(weak, "weak.idp.example")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    """One server for the module; tests use distinct names or their own tenant."""
    s = Server(tmp_path_factory.mktemp("idp")).start()
    for domain, user in (("acme.com", "alice"), ("beta.org", "bob")):
        r = s.post(API + "/tenants", auth=s.admin, json={
            "domain": domain, "owners": [{"username": user, "password": TENANT_PASSWORD}]})
        assert r.status_code == 201, r.text
    yield s
    s.stop()


def new_tenant(srv, domain):
    r = srv.post(API + "/tenants", auth=srv.admin, json={
        "domain": domain, "owners": [{"username": "owner", "password": TENANT_PASSWORD}]})
    assert r.status_code == 201, r.text
    return "/t/" + domain


def jwks_body(name, uri="https://idp.example/.well-known/jwks.json", **extra):
    body = {"name": name, "certificate": {"jwksUri": uri}}
    body.update(extra)
    return body


def certs_body(name, *certs, **extra):
    body = {"name": name, "certificate": {"certificates": list(certs)}}
    body.update(extra)
    return body


def create(srv, body, auth=None, prefix=""):
    return srv.post(prefix + IDPS, auth=auth or srv.admin, json=body)


def created(srv, body, auth=None, prefix=""):
    r = create(srv, body, auth, prefix)
    assert r.status_code == 201, r.text
    return r.json()


def get(srv, idp_id, auth=None, prefix=""):
    r = srv.get(f"{prefix}{IDPS}/{idp_id}", auth=auth or srv.admin)
    assert r.status_code == 200, r.text
    return r.json()


def assert_error(r, status, code=None, desc=None):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"code", "message", "description", "traceId"}, body
    assert body["description"] and body["traceId"]
    if code is not None:
        assert body["code"] == code, body
    if desc is not None:
        assert desc in body["description"], body
    return body


def listing(srv, auth=None, prefix="", query="?limit=1000"):
    r = srv.get(prefix + IDPS + query, auth=auth or srv.admin)
    assert r.status_code == 200, r.text
    return r.json()


def audit(srv, auth=None, prefix=""):
    r = srv.get(prefix + API + "/audit-events?limit=1000", auth=auth or srv.admin)
    assert r.status_code == 200, r.text
    return [e for e in r.json()["events"] if e["objectType"] == "identity-provider"]


def db(srv):
    return sqlite3.connect(os.path.join(srv.data_dir, "grantd.db"), timeout=30)


def put_token(srv, idp):
    """Records a token issued through `idp` directly in the store, as the token
    endpoint would, so that revocation can be observed."""
    h = os.urandom(32)
    with db(srv) as c:
        tenant_id = c.execute("SELECT tenant_id FROM identity_providers WHERE id = ?",
                              (idp["id"],)).fetchone()[0]
        c.execute("INSERT INTO tokens (hash, kind, tenant_id, app_id, client_id, idp_id, subject, "
                  "grant_type, issued_at, expires_at) VALUES (?, 1, ?, 'app', 'client', ?, 'sub', "
                  "'urn:ietf:params:oauth:grant-type:jwt-bearer', strftime('%s','now'), "
                  "strftime('%s','now') + 3600)", (h, tenant_id, idp["id"]))
    return h


def token_revoked(srv, h):
    with db(srv) as c:
        return c.execute("SELECT revoked FROM tokens WHERE hash = ?", (h,)).fetchone()[0] == 1


# -- create and read --------------------------------------------------------------

def test_super_admin_creates_jwks_uri_idp(srv):
    r = create(srv, jwks_body("jwks-idp", idpIssuerName="https://idp.example",
                              alias="https://localhost:9443/oauth2/token"))
    assert r.status_code == 201, r.text
    idp = r.json()
    assert UUID_RE.match(idp["id"])
    assert r.headers["Location"] == f"{IDPS}/{idp['id']}"
    assert idp == {
        "id": idp["id"], "name": "jwks-idp", "description": "", "isEnabled": True,
        "idpIssuerName": "https://idp.example", "alias": "https://localhost:9443/oauth2/token",
        "certificate": {"jwksUri": "https://idp.example/.well-known/jwks.json"},
        "jwtGrant": {"allowedAlgorithms": ALL_ALGS, "additionalAudiences": [],
                     "allowedSubjects": [], "allowedScopes": [], "requireJti": False,
                     "requireIat": False, "maxAssertionLifetimeSeconds": 0,
                     "clockSkewSeconds": None, "expiresAt": None}}
    assert get(srv, idp["id"]) == idp
    # The same IdP through the explicit super-tenant prefix.
    assert get(srv, idp["id"], prefix="/t/carbon.super") == idp


def test_create_with_certificates_pem_and_base64(srv):
    body = certs_body("cert-idp", uc.cert_pem(Keys.rsa_cert), uc.cert_b64_pem(Keys.ec_cert),
                      jwtGrant={"allowedAlgorithms": ["ES256", "RS256"],
                                "allowedScopes": ["read", "write"], "requireJti": True,
                                "maxAssertionLifetimeSeconds": 600, "clockSkewSeconds": 30,
                                "expiresAt": "2031-05-06T07:08:09Z"})
    idp = created(srv, body)
    cert = idp["certificate"]
    # Both stored as PEM: the base64-of-PEM upload is normalised.
    assert cert["certificates"] == [uc.cert_pem(Keys.rsa_cert), uc.cert_pem(Keys.ec_cert)]
    info = cert["certificateInfo"]
    assert len(info) == 2
    for got, c, kty, bits in ((info[0], Keys.rsa_cert, "RSA", 2048),
                              (info[1], Keys.ec_cert, "EC P-256", 256)):
        assert got["subject"] == c.subject.rfc4514_string()
        assert got["issuer"] == c.issuer.rfc4514_string()
        assert got["sha256Thumbprint"] == uc.sha256_hex(c)
        assert got["x5tS256"] == uc.x5t_s256(c)
        assert got["notBefore"] == uc.rfc3339(uc.validity(c)[0]) == "2024-01-01T00:00:00Z"
        assert got["notAfter"] == uc.rfc3339(uc.validity(c)[1]) == "2034-01-01T00:00:00Z"
        assert got["keyType"] == kty and got["keySize"] == bits
    assert info[1]["subject"] == "CN=ec.idp.example,O=EC Org"
    assert idp["jwtGrant"] == {"allowedAlgorithms": ["RS256", "ES256"],
                               "additionalAudiences": [], "allowedSubjects": [],
                               "allowedScopes": ["read", "write"], "requireJti": True,
                               "requireIat": False, "maxAssertionLifetimeSeconds": 600,
                               "clockSkewSeconds": 30, "expiresAt": "2031-05-06T07:08:09Z"}
    assert get(srv, idp["id"]) == idp


def test_inline_jwks_shows_key_info(srv):
    jwks = {"keys": [uc.public_jwk(Keys.ec, "ec-key", "ES256"), uc.public_jwk(Keys.ed, "ed-key")]}
    idp = created(srv, {"name": "inline-jwks-idp", "certificate": {"jwks": jwks}})
    assert idp["certificate"]["jwks"] == jwks
    assert idp["certificate"]["keyInfo"] == [
        {"kid": "ec-key", "kty": "EC", "crv": "P-256", "alg": "ES256", "use": None},
        {"kid": "ed-key", "kty": "OKP", "crv": "Ed25519", "alg": None, "use": None}]


def test_get_unknown_or_malformed_id_is_404(srv):
    assert_error(srv.get(f"{IDPS}/5b0c1d52-8f5e-4e6b-9a39-2f3d8c1b7a10", auth=srv.admin), 404,
                 "IDP-60404")
    for bad in ("not-a-uuid", "5B0C1D52-8F5E-4E6B-9A39-2F3D8C1B7A10", "1%27%20OR%201%3D1",
                "5b0c1d52-8f5e-4e6b-9a39-2f3d8c1b7a1", "x" * 36):
        assert_error(srv.get(f"{IDPS}/{bad}", auth=srv.admin), 404, "IDP-60404")
        assert_error(srv.delete(f"{IDPS}/{bad}", auth=srv.admin), 404, "IDP-60404")


def test_requires_authentication(srv):
    assert_error(srv.get(IDPS), 401)
    assert_error(srv.post(IDPS, json=jwks_body("anon")), 401)
    assert_error(srv.get(IDPS, auth=("admin", "wrong-password-idp")), 401)


# -- list -------------------------------------------------------------------------

def test_list_with_paging(srv):
    prefix = new_tenant(srv, "paging.example")
    ids = [created(srv, jwks_body(f"page-{i}", description=f"number {i}"), prefix=prefix)["id"]
           for i in range(5)]
    full = listing(srv, prefix=prefix)
    assert full["totalResults"] == 5 and full["count"] == 5 and full["startIndex"] == 1
    # Ordered by creation time, then id (creations within one second tie).
    order = [i["id"] for i in full["identityProviders"]]
    assert sorted(order) == sorted(ids)
    by_id = {i["id"]: i for i in full["identityProviders"]}
    assert by_id[ids[1]] == {
        "id": ids[1], "name": "page-1", "description": "number 1", "isEnabled": True,
        "idpIssuerName": None, "alias": None, "self": f"{prefix}{IDPS}/{ids[1]}"}
    page = listing(srv, prefix=prefix, query="?limit=2&offset=1")
    assert page["totalResults"] == 5 and page["startIndex"] == 2 and page["count"] == 2
    assert [i["id"] for i in page["identityProviders"]] == order[1:3]
    last = listing(srv, prefix=prefix, query="?limit=2&offset=4")
    assert [i["id"] for i in last["identityProviders"]] == order[4:]
    past = listing(srv, prefix=prefix, query="?offset=10")
    assert past["totalResults"] == 5 and past["count"] == 0 and past["identityProviders"] == []
    # Other tenants' IdPs are not listed.
    assert all(i["name"].startswith("page-") for i in full["identityProviders"])
    for q in ("?limit=0", "?limit=1001", "?limit=abc", "?offset=-1", "?limit=1&limit=2",
              "?offset=9223372036854775807", "?offset=1000000001",
              "?offset=99999999999999999999"):
        assert_error(srv.get(prefix + IDPS + q, auth=srv.admin), 400)
    # the largest offset: an empty page whose startIndex did not overflow
    top = listing(srv, prefix=prefix, query="?offset=1000000000")
    assert top["startIndex"] == 1000000001 and top["count"] == 0


# -- PUT --------------------------------------------------------------------------

def test_put_replaces_everything(srv):
    idp = created(srv, jwks_body("put-idp", description="before", alias="aud-before",
                                 jwtGrant={"requireIat": True}))
    url = f"{IDPS}/{idp['id']}"
    r = srv.put(url, auth=srv.admin, json=certs_body("put-idp-renamed",
                                                      uc.cert_pem(Keys.rsa_cert),
                                                      alias="aud-after"))
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["id"] == idp["id"] and after["name"] == "put-idp-renamed"
    assert after["alias"] == "aud-after"
    assert after["description"] == ""                    # full replacement: defaults again
    assert after["jwtGrant"]["requireIat"] is False
    assert after["certificate"]["certificates"] == [uc.cert_pem(Keys.rsa_cert)]
    assert after["certificate"]["certificateInfo"][0]["sha256Thumbprint"] == \
        uc.sha256_hex(Keys.rsa_cert)
    assert get(srv, idp["id"]) == after

    # GET -> edit -> PUT round trip: id (matching) and certificateInfo are accepted.
    edited = dict(after, description="edited")
    r = srv.put(url, auth=srv.admin, json=edited)
    assert r.status_code == 200, r.text
    assert r.json() == edited

    before = get(srv, idp["id"])
    assert_error(srv.put(url, auth=srv.admin, json=dict(edited, id=str(idp["id"])[::-1])), 400,
                 "IDP-60400", "id")
    assert_error(srv.put(url, auth=srv.admin, json={"name": "no-cert", "certificate": []}), 400,
                 "IDP-60400", "certificate: must be an object")
    assert_error(srv.put(f"{IDPS}/6f1c0d52-8f5e-4e6b-9a39-2f3d8c1b7a10", auth=srv.admin,
                         json=jwks_body("ghost")), 404, "IDP-60404")
    assert get(srv, idp["id"]) == before


def test_put_to_a_taken_name_is_409(srv):
    created(srv, jwks_body("put-taken-a"))
    b = created(srv, jwks_body("put-taken-b"))
    assert_error(srv.put(f"{IDPS}/{b['id']}", auth=srv.admin, json=jwks_body("put-taken-a")), 409,
                 "IDP-60409")
    assert get(srv, b["id"])["name"] == "put-taken-b"


# -- PATCH ------------------------------------------------------------------------

def patch(srv, idp, ops, auth=None, prefix=""):
    return srv.patch(f"{prefix}{IDPS}/{idp['id']}", auth=auth or srv.admin, json=ops)


def test_patch_operations(srv):
    idp = created(srv, certs_body("patch-idp", uc.cert_pem(Keys.rsa_cert), description="d",
                                  alias="old-alias"))
    r = patch(srv, idp, [
        {"operation": "REPLACE", "path": "/alias", "value": "new-alias"},
        {"operation": "ADD", "path": "/certificate/certificates/-",
         "value": uc.cert_b64_pem(Keys.ec_cert)},
        {"operation": "REMOVE", "path": "/description"},
        {"operation": "ADD", "path": "/jwtGrant/allowedScopes/-", "value": "read"},
        {"operation": "REPLACE", "path": "/jwtGrant/requireJti", "value": True},
        {"operation": "ADD", "path": "/idpIssuerName", "value": "https://patched.example"},
    ])
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["alias"] == "new-alias" and p["description"] == ""
    assert p["idpIssuerName"] == "https://patched.example"
    assert p["certificate"]["certificates"] == [uc.cert_pem(Keys.rsa_cert),
                                                uc.cert_pem(Keys.ec_cert)]
    assert [i["sha256Thumbprint"] for i in p["certificate"]["certificateInfo"]] == \
        [uc.sha256_hex(Keys.rsa_cert), uc.sha256_hex(Keys.ec_cert)]
    assert p["jwtGrant"]["allowedScopes"] == ["read"] and p["jwtGrant"]["requireJti"] is True
    assert get(srv, idp["id"]) == p

    # Remove a certificate by index; replace the key source.
    r = patch(srv, idp, [{"operation": "REMOVE", "path": "/certificate/certificates/0"}])
    assert r.status_code == 200, r.text
    assert r.json()["certificate"]["certificates"] == [uc.cert_pem(Keys.ec_cert)]
    r = patch(srv, idp, [{"operation": "REPLACE", "path": "/certificate/jwksUri",
                          "value": "https://idp.example/keys"}])
    assert r.status_code == 200, r.text
    assert r.json()["certificate"] == {"jwksUri": "https://idp.example/keys"}
    r = patch(srv, idp, [{"operation": "REPLACE", "path": "/certificate",
                          "value": {"certificates": [uc.cert_pem(Keys.rsa2_cert)]}}])
    assert r.status_code == 200, r.text
    assert r.json()["certificate"]["certificateInfo"][0]["subject"] == \
        Keys.rsa2_cert.subject.rfc4514_string()
    r = patch(srv, idp, [{"operation": "REPLACE", "path": "/name", "value": "patch-idp-2"}])
    assert r.status_code == 200 and r.json()["name"] == "patch-idp-2"


@pytest.mark.parametrize("ops,desc", [
    ([{"operation": "REPLACE", "path": "/alias", "value": "ok"},
      {"operation": "REPLACE", "path": "/alias", "value": 5}], "alias: must be a string"),
    ([{"operation": "MOVE", "path": "/alias", "value": "x"}], "operations[0].operation"),
    ([{"operation": "replace", "path": "/alias", "value": "x"}], "operations[0].operation"),
    ([{"operation": "REPLACE", "path": "/id", "value": "x"}], "read-only"),
    ([{"operation": "REPLACE", "path": "alias", "value": "x"}], "operations[0].path"),
    ([{"operation": "REPLACE", "path": "/alias"}], "operations[0].value: required"),
    ([{"operation": "REPLACE", "path": "/alias", "value": "x", "from": "/name"}],
     "operations[0]: unknown field"),
    ([{"operation": "REPLACE", "path": "/jwtGrant/requireJTI", "value": True}],
     "jwtGrant.requireJTI: unknown field"),
    ([{"operation": "REMOVE", "path": "/jwtGrant/nothing"}], "nothing to remove"),
    ([{"operation": "REMOVE", "path": "/name"}], "name: required"),
    ([{"operation": "REMOVE", "path": "/certificate/certificates/7"}], "no such array element"),
    ([{"operation": "ADD", "path": "/certificate/certificates/-", "value": "garbage"}],
     "certificate.certificates[1]: not a PEM certificate"),
    ([{"operation": "ADD", "path": "/jwtGrant/allowedAlgorithms/-", "value": "HS256"}],
     "jwtGrant.allowedAlgorithms[10]"),
    ([{"operation": "REPLACE", "path": "/isEnabled", "value": "false"}],
     "isEnabled: must be true or false"),
    ([{"operation": "REPLACE", "path": "/alias/x", "value": "y"}], "not an object or array"),
    ([], "array of 1 to 64 operations"),
    ({"operation": "REPLACE", "path": "/alias", "value": "x"}, "array of 1 to 64 operations"),
])
def test_patch_rejects_and_changes_nothing(srv, ops, desc):
    idp = srv.get(IDPS + "?limit=1000", auth=srv.admin).json()["identityProviders"]
    target = next((i for i in idp if i["name"] == "patch-victim"), None)
    if target is None:
        target = created(srv, certs_body("patch-victim", uc.cert_pem(Keys.rsa_cert),
                                         alias="victim-alias"))
    before = get(srv, target["id"])
    events = len(audit(srv))
    assert_error(patch(srv, target, ops), 400, "IDP-60400", desc)
    assert get(srv, target["id"]) == before
    assert len(audit(srv)) == events


def test_patch_needs_json(srv):
    idp = created(srv, jwks_body("patch-json"))
    url = f"{IDPS}/{idp['id']}"
    assert_error(srv.patch(url, auth=srv.admin, data="[]",
                           headers={"Content-Type": "text/plain"}), 415)
    assert_error(srv.patch(url, auth=srv.admin, data="[{",
                           headers={"Content-Type": "application/json"}), 400)
    dup = '[{"operation":"REPLACE","path":"/alias","value":"a","value":"b"}]'
    assert_error(srv.patch(url, auth=srv.admin, data=dup,
                           headers={"Content-Type": "application/json"}), 400)
    assert get(srv, idp["id"])["alias"] is None


# -- DELETE and token revocation --------------------------------------------------

def test_delete(srv):
    idp = created(srv, jwks_body("delete-me"))
    url = f"{IDPS}/{idp['id']}"
    r = srv.delete(url, auth=srv.admin)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_error(srv.get(url, auth=srv.admin), 404, "IDP-60404")
    assert_error(srv.delete(url, auth=srv.admin), 404, "IDP-60404")
    assert "delete-me" not in [i["name"] for i in listing(srv)["identityProviders"]]
    # The name is free again.
    created(srv, jwks_body("delete-me"))


def test_disable_and_delete_revoke_tokens(srv):
    a = created(srv, jwks_body("revoke-a"))
    b = created(srv, jwks_body("revoke-b"))
    c = created(srv, jwks_body("revoke-c"))
    ta, tb, tc = put_token(srv, a), put_token(srv, b), put_token(srv, c)
    r = patch(srv, a, [{"operation": "REPLACE", "path": "/alias", "value": "still-enabled"}])
    assert r.status_code == 200
    assert not token_revoked(srv, ta)
    r = patch(srv, a, [{"operation": "REPLACE", "path": "/isEnabled", "value": False}])
    assert r.status_code == 200 and r.json()["isEnabled"] is False
    assert token_revoked(srv, ta)
    r = srv.put(f"{IDPS}/{b['id']}", auth=srv.admin, json=jwks_body("revoke-b", isEnabled=False))
    assert r.status_code == 200
    assert token_revoked(srv, tb)
    assert not token_revoked(srv, tc)
    assert srv.delete(f"{IDPS}/{c['id']}", auth=srv.admin).status_code == 204
    assert token_revoked(srv, tc)


# -- tenants ----------------------------------------------------------------------

def test_tenant_admin_manages_own_tenant(srv):
    jw = created(srv, jwks_body("acme-jwks"), auth=ALICE, prefix=ACME)
    r = create(srv, certs_body("acme-certs", uc.cert_b64_pem(Keys.rsa_cert)), auth=ALICE,
               prefix=ACME)
    assert r.status_code == 201, r.text
    ce = r.json()
    assert r.headers["Location"] == f"{ACME}{IDPS}/{ce['id']}"
    assert ce["certificate"]["certificateInfo"][0]["x5tS256"] == uc.x5t_s256(Keys.rsa_cert)
    names = [i["name"] for i in listing(srv, auth=ALICE, prefix=ACME)["identityProviders"]]
    assert "acme-jwks" in names and "acme-certs" in names
    assert all(i["self"].startswith(f"{ACME}{IDPS}/")
               for i in listing(srv, auth=ALICE, prefix=ACME)["identityProviders"])
    r = srv.put(f"{ACME}{IDPS}/{jw['id']}", auth=ALICE, json=jwks_body("acme-jwks", alias="a"))
    assert r.status_code == 200 and r.json()["alias"] == "a"
    r = patch(srv, jw, [{"operation": "REPLACE", "path": "/alias", "value": "b"}], auth=ALICE,
              prefix=ACME)
    assert r.status_code == 200 and r.json()["alias"] == "b"
    # The super admin may act in the tenant too.
    assert get(srv, jw["id"], prefix=ACME)["alias"] == "b"
    assert srv.delete(f"{ACME}{IDPS}/{jw['id']}", auth=ALICE).status_code == 204

    # Audit events of the tenant name the tenant admin.
    events = audit(srv, auth=ALICE, prefix=ACME)
    mine = [e for e in events if e["objectId"] == jw["id"]]
    assert [e["action"] for e in mine] == ["delete", "update", "update", "create"]  # newest first
    assert all(e["actor"] == "alice@acme.com" for e in mine)


def test_cross_tenant_access_denied(srv):
    beta_idp = created(srv, jwks_body("beta-only"), auth=BOB, prefix=BETA)
    super_idp = created(srv, jwks_body("super-only"))
    # Alice may not act in another tenant, nor in the super tenant.
    assert_error(srv.get(BETA + IDPS, auth=ALICE), 403)
    assert_error(create(srv, jwks_body("intruder"), auth=ALICE, prefix=BETA), 403)
    assert_error(srv.get(f"{BETA}{IDPS}/{beta_idp['id']}", auth=ALICE), 403)
    assert_error(srv.delete(f"{BETA}{IDPS}/{beta_idp['id']}", auth=ALICE), 403)
    assert_error(srv.get(IDPS, auth=ALICE), 403)
    assert_error(create(srv, jwks_body("intruder"), auth=ALICE), 403)
    # Ids of other tenants do not resolve in one's own tenant.
    assert_error(srv.get(f"{ACME}{IDPS}/{beta_idp['id']}", auth=ALICE), 404)
    assert_error(srv.delete(f"{ACME}{IDPS}/{super_idp['id']}", auth=ALICE), 404)
    assert_error(patch(srv, beta_idp, [{"operation": "REPLACE", "path": "/alias", "value": "x"}],
                       auth=ALICE, prefix=ACME), 404)
    assert get(srv, beta_idp["id"], prefix=BETA)["alias"] is None
    assert "intruder" not in [i["name"] for i in listing(srv, prefix=BETA)["identityProviders"]]


def test_same_name_in_two_tenants(srv):
    a = created(srv, jwks_body("shared-name"), auth=ALICE, prefix=ACME)
    b = created(srv, jwks_body("shared-name"), auth=BOB, prefix=BETA)
    s = created(srv, jwks_body("shared-name"))
    assert len({a["id"], b["id"], s["id"]}) == 3
    assert_error(create(srv, jwks_body("shared-name"), auth=ALICE, prefix=ACME), 409, "IDP-60409")
    assert_error(create(srv, jwks_body("shared-name")), 409, "IDP-60409")


# -- bad input --------------------------------------------------------------------

BAD_BODIES = [
    (certs_body("bad-private", uc.cert_pem(Keys.rsa_cert), uc.private_pem(Keys.ec)),
     "certificate.certificates[1]: a private key, not a certificate"),
    (certs_body("bad-garbage", "this is not a certificate"),
     "certificate.certificates[0]: not a PEM certificate"),
    (certs_body("bad-weak", uc.cert_pem(Keys.weak_cert)), "certificate.certificates[0]: "),
    (certs_body("bad-dup", uc.cert_pem(Keys.rsa_cert), uc.cert_b64_pem(Keys.rsa_cert)),
     "certificate.certificates[1]: the same certificate as certificates[0]"),
    (certs_body("bad-empty"), "certificate.certificates: must hold 1 to 16"),
    (jwks_body("bad-alg", jwtGrant={"allowedAlgorithms": ["RS256", "RS1024"]}),
     "jwtGrant.allowedAlgorithms[1]: "),
    (jwks_body("bad-hs", jwtGrant={"allowedAlgorithms": ["HS256"]}),
     "jwtGrant.allowedAlgorithms[0]: "),
    (jwks_body("bad-none", jwtGrant={"allowedAlgorithms": ["none"]}),
     "jwtGrant.allowedAlgorithms[0]: "),
    (jwks_body("bad-http", uri="http://idp.example/jwks"), "certificate.jwksUri: "),
    (jwks_body("bad-field", extra=1), "extra: unknown field"),
    (jwks_body("bad-nested", jwtGrant={"requireJTI": True}), "jwtGrant.requireJTI: unknown field"),
    ({"certificate": {"jwksUri": "https://idp.example/jwks"}}, "name: required"),
    (jwks_body(""), "name: must not be empty"),
    (jwks_body("x" * 256), "name: longer than 255"),
    (jwks_body("ctl\u0001name"), "name: contains a control character"),
    ({"name": "bad-two", "certificate": {"jwksUri": "https://idp.example/jwks",
                                         "jwks": {"keys": []}}},
     "certificate: jwks cannot be combined"),
    ({"name": "bad-jwks", "certificate": {"jwks": {"keys": [{"kty": "oct", "k": "AAAA"}]}}},
     "certificate.jwks: "),
    (jwks_body("bad-skew", jwtGrant={"clockSkewSeconds": 3601}), "jwtGrant.clockSkewSeconds"),
    (jwks_body("bad-exp", jwtGrant={"expiresAt": "2030-02-30T00:00:00Z"}), "jwtGrant.expiresAt"),
    (jwks_body("bad-scope", jwtGrant={"allowedScopes": ["read write"]}),
     "jwtGrant.allowedScopes[0]"),
    (certs_body("bad-fit", uc.cert_pem(Keys.ec_cert), jwtGrant={"allowedAlgorithms": ["RS256"]}),
     "certificate.certificates[0]: its EC P-256 key fits none"),
    (dict(jwks_body("bad-id"), id="5b0c1d52-8f5e-4e6b-9a39-2f3d8c1b7a10"), "id: read-only"),
]


def state_of(srv):
    return listing(srv)["totalResults"], len(audit(srv))


@pytest.mark.parametrize("body,desc", BAD_BODIES,
                         ids=[(b[0].get("name") or f"case{i}")[:16] for i, b in enumerate(BAD_BODIES)])
def test_validation_errors(srv, body, desc):
    before = state_of(srv)
    err = assert_error(create(srv, body), 400, None, desc)
    assert err["code"] in ("IDP-60400", "API-60400"), err
    assert state_of(srv) == before


def test_weak_rsa_names_the_size(srv):
    err = assert_error(create(srv, certs_body("weak-rsa", uc.cert_pem(Keys.weak_cert))), 400)
    assert "1024" in err["description"]


def test_raw_body_errors(srv):
    before = state_of(srv)
    jtype = {"Content-Type": "application/json"}
    good = json.dumps(jwks_body("raw-body"))
    assert_error(srv.post(IDPS, auth=srv.admin, data=good,
                          headers={"Content-Type": "text/plain"}), 415)
    assert_error(srv.post(IDPS, auth=srv.admin, data=good), 415)           # no Content-Type
    assert_error(srv.post(IDPS, auth=srv.admin, data='{"name": ', headers=jtype), 400)
    assert_error(srv.post(IDPS, auth=srv.admin, data="[]", headers=jtype), 400)
    dup = ('{"name":"raw-dup","name":"raw-dup2","certificate":'
           '{"jwksUri":"https://idp.example/jwks"}}')
    assert_error(srv.post(IDPS, auth=srv.admin, data=dup, headers=jtype), 400)
    big = json.dumps(jwks_body("raw-big", description="x" * (1024 * 1024 + 16)))
    r = srv.post(IDPS, auth=srv.admin, data=big, headers=jtype)
    assert r.status_code == 413, r.text
    assert set(r.json()) == {"code", "message", "description", "traceId"}
    assert state_of(srv) == before
    # The server still works after the rejected bodies.
    created(srv, jwks_body("raw-body"))


def test_jwks_uri_rules_follow_config(make_server):
    s = make_server(extra_toml='[oauth.jwks_endpoint]\nallowed_hosts = ["idp.example"]\n').start()
    before = state_of(s)
    assert_error(create(s, jwks_body("other-host", uri="https://evil.example/jwks")), 400,
                 "IDP-60400", "certificate.jwksUri: ")
    assert_error(create(s, jwks_body("plain-http", uri="http://idp.example/jwks")), 400,
                 "IDP-60400", "certificate.jwksUri: ")
    assert state_of(s) == before
    created(s, jwks_body("allowed-host", uri="https://idp.example/jwks"))

    lab = make_server(extra_toml="[oauth.jwks_endpoint]\nallow_insecure_http = true\n"
                                 'allowed_hosts = ["127.0.0.1"]\n').start()
    idp = created(lab, jwks_body("lab-http", uri="http://127.0.0.1:8080/jwks"))
    assert idp["certificate"]["jwksUri"] == "http://127.0.0.1:8080/jwks"


# -- concurrency ------------------------------------------------------------------

@pytest.mark.parametrize("round_", range(3))
def test_concurrent_creates_one_wins(srv, round_):
    name = f"race-{round_}"
    start = threading.Barrier(2)
    results = [None, None]

    def worker(i):
        start.wait()
        results[i] = create(srv, jwks_body(name))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409)
    assert_error(loser, 409, "IDP-60409")
    assert [i["name"] for i in listing(srv)["identityProviders"]].count(name) == 1
    creates = [e for e in audit(srv) if e["action"] == "create" and e["summary"]["name"] == name]
    assert len(creates) == 1


# -- audit ------------------------------------------------------------------------

def test_audit_events_for_each_change(srv):
    idp = created(srv, certs_body("audited", uc.cert_pem(Keys.rsa_cert)))
    r = patch(srv, idp, [{"operation": "REPLACE", "path": "/alias", "value": "audited-alias"}])
    assert r.status_code == 200
    assert srv.delete(f"{IDPS}/{idp['id']}", auth=srv.admin).status_code == 204
    events = [e for e in audit(srv) if e["objectId"] == idp["id"]]
    assert [e["action"] for e in events] == ["delete", "update", "create"]  # newest first
    assert all(e["actor"] == "admin" for e in events)
    create_ev, update_ev, delete_ev = events
    assert create_ev["summary"]["name"] == "audited"
    assert create_ev["summary"]["keySource"] == "certificates"
    assert create_ev["summary"]["certificateThumbprints"] == [uc.sha256_hex(Keys.rsa_cert)]
    assert update_ev["summary"]["changed"] == ["alias"]
    assert update_ev["summary"]["before"]["name"] == "audited"
    assert delete_ev["summary"]["name"] == "audited"
    # Never whole certificates.
    text = json.dumps(events)
    assert "BEGIN CERTIFICATE" not in text
    assert uc.cert_pem(Keys.rsa_cert).splitlines()[1] not in text
