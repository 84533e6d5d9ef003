"""Issue 3 (applications): /api/server/v1/applications against the real binary.

The super admin and a tenant admin create applications and read the client
key and secret once; the secret never shows again (GET, list, PUT, audit
events, server log) and is stored only as a keyed hash; regenerating it
revokes the application's tokens; tenants are isolated; every validation
error is a 400 with the documented shape and changes nothing; concurrent
creates of one name give one 201 and one 409.
"""
import base64
import hashlib
import json
import os
import re
import sqlite3
import threading
import uuid

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import Server

API = "/api/server/v1"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_]{28}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{43,}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ALICE_PASSWORD = "alice-Passw0rd-e2e"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    """One server for the module: the tests use distinct names and tenants."""
    s = Server(tmp_path_factory.mktemp("apps")).start()
    r = s.post(API + "/tenants", auth=s.admin, json={
        "domain": "acme.com", "owners": [{"username": "alice", "password": ALICE_PASSWORD}]})
    assert r.status_code == 201, r.text
    r = s.post(API + "/tenants", auth=s.admin, json={
        "domain": "beta.org", "owners": [{"username": "bob", "password": ALICE_PASSWORD}]})
    assert r.status_code == 201, r.text
    yield s
    s.stop()


ALICE = ("alice@acme.com", ALICE_PASSWORD)
ACME = "/t/acme.com"


def app_body(name, **oidc):
    o = {"grantTypes": [JWT_BEARER, "refresh_token"],
         "callbackURLs": ["https://app.example/cb"]}
    o.update(oidc)
    return {"name": name, "description": "e2e " + name,
            "inboundProtocolConfiguration": {"oidc": o}}


def create(srv, body, auth=None, prefix=""):
    return srv.post(prefix + API + "/applications", auth=auth or srv.admin, json=body)


def created(srv, name, auth=None, prefix="", **oidc):
    r = create(srv, app_body(name, **oidc), auth, prefix)
    assert r.status_code == 201, r.text
    return r.json()


def assert_error(r, status, code=None, desc=None):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "message", "description", "traceId"}, body
    if code is not None:
        assert body["code"] == code, body
    if desc is not None:
        assert desc in body["description"], body
    return body


def oidc(app):
    return app["inboundProtocolConfiguration"]["oidc"]


def db(srv):
    return sqlite3.connect(os.path.join(srv.data_dir, "grantd.db"), timeout=30)


def db_bytes(srv):
    out = b""
    for suffix in ("", "-wal"):
        p = os.path.join(srv.data_dir, "grantd.db" + suffix)
        if os.path.exists(p):
            with open(p, "rb") as f:
                out += f.read()
    return out


def audit_events(srv, auth=None, prefix=""):
    r = srv.get(prefix + API + "/audit-events?limit=1000", auth=auth or srv.admin)
    assert r.status_code == 200, r.text
    return r


def app_count(srv, auth=None, prefix=""):
    r = srv.get(prefix + API + "/applications", auth=auth or srv.admin)
    assert r.status_code == 200, r.text
    return r.json()["totalResults"]


def put_token(srv, app):
    """Records an issued access token for `app` directly in the store, as the
    token endpoint would, so revocation can be observed."""
    h = os.urandom(32)
    with db(srv) as c:
        tenant_id = c.execute("SELECT tenant_id FROM applications WHERE id = ?",
                              (app["id"],)).fetchone()[0]
        c.execute("INSERT INTO tokens (hash, kind, tenant_id, app_id, client_id, subject, "
                  "grant_type, issued_at, expires_at) VALUES (?, 1, ?, ?, ?, 'sub', ?, "
                  "strftime('%s','now'), strftime('%s','now') + 3600)",
                  (h, tenant_id, app["id"], oidc(app)["clientId"], JWT_BEARER))
    return h


def token_revoked(srv, h):
    with db(srv) as c:
        return c.execute("SELECT revoked FROM tokens WHERE hash = ?", (h,)).fetchone()[0] == 1


def assert_secret_hidden(srv, secret, *texts):
    for t in texts:
        assert secret not in t
    assert secret not in srv.log()
    assert secret.encode() not in db_bytes(srv)


# -- create, read once -------------------------------------------------------------

def test_super_admin_creates_and_reads_secret_once(srv):
    r = create(srv, app_body("super-app-1"))
    assert r.status_code == 201, r.text
    app = r.json()
    assert UUID_RE.match(app["id"])
    assert r.headers["Location"] == f"{API}/applications/{app['id']}"
    o = oidc(app)
    assert CLIENT_ID_RE.match(o["clientId"]), o["clientId"]
    secret = o["clientSecret"]
    assert SECRET_RE.match(secret), secret
    assert list(o)[:2] == ["clientId", "clientSecret"]
    assert app["name"] == "super-app-1" and app["description"] == "e2e super-app-1"
    # Canonical document with the server's defaults filled in.
    assert o["grantTypes"] == [JWT_BEARER, "refresh_token"]
    assert o["callbackURLs"] == ["https://app.example/cb"]
    assert o["publicClient"] is False
    assert o["accessToken"] == {"type": "Default", "userAccessTokenExpiryInSeconds": 3600,
                                "applicationAccessTokenExpiryInSeconds": 3600}
    assert o["refreshToken"] == {"expiryInSeconds": 86400, "renewRefreshToken": True}
    assert o["idToken"] == {"audience": [], "expiryInSeconds": 3600}
    assert o["allowedScopes"] == [] and o["allowedIdentityProviders"] == []
    assert o["clientAuthentication"] == {"tokenEndpointAuthMethod": "client_secret_basic",
                                         "jwksUri": None, "jwks": None}

    got = srv.get(f"{API}/applications/{app['id']}", auth=srv.admin)
    assert got.status_code == 200
    expect = json.loads(r.text)
    del expect["inboundProtocolConfiguration"]["oidc"]["clientSecret"]
    assert got.json() == expect
    got_oidc = srv.get(f"{API}/applications/{app['id']}/inbound-protocols/oidc", auth=srv.admin)
    assert got_oidc.status_code == 200 and got_oidc.json() == oidc(expect)
    lst = srv.get(API + "/applications?limit=1000", auth=srv.admin)
    assert lst.status_code == 200
    body = lst.json()
    assert set(body) == {"totalResults", "startIndex", "count", "links", "applications"}
    mine = [a for a in body["applications"] if a["id"] == app["id"]]
    assert mine == [{"id": app["id"], "name": "super-app-1", "description": "e2e super-app-1",
                     "clientId": o["clientId"], "self": f"{API}/applications/{app['id']}"}]
    put = srv.put(f"{API}/applications/{app['id']}/inbound-protocols/oidc", auth=srv.admin,
                  json=got_oidc.json())
    assert put.status_code == 200, put.text
    assert "clientSecret" not in put.json()
    events = audit_events(srv)
    create_events = [e for e in events.json()["events"]
                     if e["objectId"] == app["id"] and e["action"] == "create"]
    assert len(create_events) == 1
    ev = create_events[0]
    assert ev["actor"] == "admin" and ev["objectType"] == "application"
    assert ev["summary"]["clientId"] == o["clientId"]
    assert_secret_hidden(srv, secret, got.text, got_oidc.text, lst.text, put.text, events.text)

    # Stored: a 32-byte keyed hash, neither the secret nor its plain SHA-256.
    with db(srv) as c:
        h, doc, cid = c.execute("SELECT secret_hash, doc, client_id FROM applications "
                                "WHERE id = ?", (app["id"],)).fetchone()
    assert cid == o["clientId"]
    assert isinstance(h, bytes) and len(h) == 32
    assert h != secret.encode()
    assert h != hashlib.sha256(secret.encode()).digest()
    assert "clientSecret" not in doc


def test_tenant_admin_creates_in_own_tenant(srv):
    r = create(srv, app_body("acme-app"), auth=ALICE, prefix=ACME)
    assert r.status_code == 201, r.text
    app = r.json()
    assert r.headers["Location"] == f"{ACME}{API}/applications/{app['id']}"
    o = oidc(app)
    assert CLIENT_ID_RE.match(o["clientId"])
    secret = o["clientSecret"]
    assert SECRET_RE.match(secret)

    got = srv.get(f"{ACME}{API}/applications/{app['id']}", auth=ALICE)
    assert got.status_code == 200 and "clientSecret" not in oidc(got.json())
    lst = srv.get(f"{ACME}{API}/applications", auth=ALICE)
    assert lst.status_code == 200
    assert [a["self"] for a in lst.json()["applications"] if a["id"] == app["id"]] == \
        [f"{ACME}{API}/applications/{app['id']}"]
    events = audit_events(srv, ALICE, ACME)
    ev = [e for e in events.json()["events"] if e["objectId"] == app["id"]]
    assert [e["action"] for e in ev] == ["create"] and ev[0]["actor"] == "alice@acme.com"
    # The super admin sees it through the tenant prefix, not in its own tenant.
    assert srv.get(f"{ACME}{API}/applications/{app['id']}", auth=srv.admin).status_code == 200
    assert_error(srv.get(f"{API}/applications/{app['id']}", auth=srv.admin), 404, "APP-60404")
    assert_secret_hidden(srv, secret, got.text, lst.text, events.text)

    # The same name may exist in another tenant.
    created(srv, "acme-app")


def test_cross_tenant_access_denied(srv):
    mine = created(srv, "acme-private", auth=ALICE, prefix=ACME)
    theirs = created(srv, "super-private")
    beta = created(srv, "beta-app", prefix="/t/beta.org")
    # Another tenant's API: 403, whatever the method.
    assert_error(srv.get(API + "/applications", auth=ALICE), 403)
    assert_error(srv.get(f"{API}/applications/{theirs['id']}", auth=ALICE), 403)
    assert_error(srv.post(API + "/applications", auth=ALICE, json=app_body("x")), 403)
    assert_error(srv.get(f"/t/beta.org{API}/applications/{beta['id']}", auth=ALICE), 403)
    assert_error(srv.delete(f"/t/beta.org{API}/applications/{beta['id']}", auth=ALICE), 403)
    assert_error(srv.post(f"/t/beta.org{API}/applications/{beta['id']}/inbound-protocols/oidc/"
                          "regenerate-secret", auth=ALICE), 403)
    # Another tenant's application id inside one's own tenant: not found.
    assert_error(srv.get(f"{ACME}{API}/applications/{beta['id']}", auth=ALICE), 404, "APP-60404")
    assert_error(srv.delete(f"{ACME}{API}/applications/{theirs['id']}", auth=ALICE), 404)
    assert srv.get(f"{API}/applications/{theirs['id']}", auth=srv.admin).status_code == 200
    assert srv.get(f"{ACME}{API}/applications/{mine['id']}", auth=ALICE).status_code == 200
    # Wrong password: 401.
    assert_error(srv.get(f"{ACME}{API}/applications", auth=("alice@acme.com", "nope-nope")), 401)


# -- secrets ------------------------------------------------------------------------------

def test_regenerate_secret(srv):
    app = created(srv, "regen-app")
    old = oidc(app)["clientSecret"]
    with db(srv) as c:
        old_hash = c.execute("SELECT secret_hash FROM applications WHERE id = ?",
                             (app["id"],)).fetchone()[0]
    tok = put_token(srv, app)
    assert not token_revoked(srv, tok)
    r = srv.post(f"{API}/applications/{app['id']}/inbound-protocols/oidc/regenerate-secret",
                 auth=srv.admin)
    assert r.status_code == 200, r.text
    o = r.json()
    new = o["clientSecret"]
    assert SECRET_RE.match(new) and new != old
    assert o["clientId"] == oidc(app)["clientId"]
    expect = dict(oidc(app))
    expect["clientSecret"] = new
    assert o == expect
    with db(srv) as c:
        new_hash = c.execute("SELECT secret_hash FROM applications WHERE id = ?",
                             (app["id"],)).fetchone()[0]
    assert len(new_hash) == 32 and new_hash != old_hash
    assert token_revoked(srv, tok)
    got = srv.get(f"{API}/applications/{app['id']}/inbound-protocols/oidc", auth=srv.admin)
    events = audit_events(srv)
    ev = [e for e in events.json()["events"] if e["objectId"] == app["id"]]
    assert sorted(e["action"] for e in ev) == ["create", "regenerate-secret"]
    assert_secret_hidden(srv, new, got.text, events.text)
    assert_secret_hidden(srv, old, got.text, events.text)
    # An empty JSON object is accepted as the body too; anything else is not.
    r = srv.post(f"{API}/applications/{app['id']}/inbound-protocols/oidc/regenerate-secret",
                 auth=srv.admin, json={})
    assert r.status_code == 200 and r.json()["clientSecret"] != new
    assert_error(srv.post(f"{API}/applications/{app['id']}/inbound-protocols/oidc/"
                          "regenerate-secret", auth=srv.admin, json={"clientSecret": "x" * 50}),
                 400, "APP-60400")


def test_public_client_has_no_secret(srv):
    r = create(srv, app_body("public-app", publicClient=True))
    assert r.status_code == 201, r.text
    o = oidc(r.json())
    assert "clientSecret" not in o
    assert o["publicClient"] is True
    assert o["clientAuthentication"]["tokenEndpointAuthMethod"] == "none"
    with db(srv) as c:
        h = c.execute("SELECT secret_hash FROM applications WHERE id = ?",
                      (r.json()["id"],)).fetchone()[0]
    assert h is None
    assert_error(srv.post(f"{API}/applications/{r.json()['id']}/inbound-protocols/oidc/"
                          "regenerate-secret", auth=srv.admin), 400, "APP-60400", "public client")
    # publicClient cannot be switched by PUT.
    o2 = dict(o)
    o2["publicClient"] = False
    o2["clientAuthentication"] = {"tokenEndpointAuthMethod": "client_secret_basic"}
    assert_error(srv.put(f"{API}/applications/{r.json()['id']}/inbound-protocols/oidc",
                         auth=srv.admin, json=o2), 400, "APP-60400", "publicClient: cannot change")


def test_client_supplied_client_id(srv):
    cid = "migrated-client_" + uuid.uuid4().hex[:16]
    app = created(srv, "supplied-id", clientId=cid)
    assert oidc(app)["clientId"] == cid and SECRET_RE.match(oidc(app)["clientSecret"])
    # Client ids are unique across tenants.
    r = create(srv, app_body("supplied-id-2", clientId=cid), auth=ALICE, prefix=ACME)
    assert_error(r, 409, "APP-60409")
    for bad in ("short_id", "x" * 65, "has.dot." + "x" * 24, 12345):
        assert_error(create(srv, app_body("supplied-bad", clientId=bad)), 400, "APP-60400",
                     "inboundProtocolConfiguration.oidc.clientId: must be 28 to 64")
    # A migrated client keeps its secret (issue 10): accepted when it looks
    # like a secret, stored only as a keyed hash, not repeated; it works at
    # the token endpoint.
    wso2_id, wso2_secret = "Wso2MigratedClient_" + "x" * 12, "1ytw5fP6yvcWsU4z0jrHzNYy9ksa"
    app = created(srv, "supplied-secret", clientId=wso2_id, clientSecret=wso2_secret,
                  grantTypes=["client_credentials"])
    assert "clientSecret" not in oidc(app)
    assert wso2_secret not in json.dumps(app)
    r = srv.post("/oauth2/token", data={"grant_type": "client_credentials"},
                 auth=(wso2_id, wso2_secret))
    assert r.status_code == 200, r.text
    assert srv.post("/oauth2/token", data={"grant_type": "client_credentials"},
                    auth=(wso2_id, wso2_secret + "x")).status_code == 401
    for bad in ("s" * 19, "s" * 129, "has space" + "s" * 20, "colon:" + "s" * 20, 12345):
        assert_error(create(srv, app_body("supplied-bad-secret", clientSecret=bad)), 400,
                     "APP-60400", "inboundProtocolConfiguration.oidc.clientSecret: when given")
    assert_error(create(srv, app_body("supplied-public", clientSecret="s" * 32,
                                      publicClient=True)), 400, "APP-60400",
                 "does not authenticate with a secret")


# -- validation -------------------------------------------------------------------------------

OIDC = "inboundProtocolConfiguration.oidc"

BAD_BODIES = [
    ("unknown grant", app_body("v", grantTypes=[JWT_BEARER, "password"]),
     f"{OIDC}.grantTypes[1]: unknown grant type 'password'"),
    ("near-miss grant", app_body("v", grantTypes=["jwt-bearer"]),
     f"{OIDC}.grantTypes[0]: unknown grant type 'jwt-bearer'"),
    ("duplicate grant", app_body("v", grantTypes=["refresh_token", "refresh_token"]),
     f"{OIDC}.grantTypes[1]: duplicate value"),
    ("no grants", app_body("v", grantTypes=[]), f"{OIDC}.grantTypes: must list at least one"),
    ("missing grants", {"name": "v", "inboundProtocolConfiguration": {"oidc": {}}},
     f"{OIDC}.grantTypes: required"),
    ("relative callback", app_body("v", callbackURLs=["/cb"]),
     f"{OIDC}.callbackURLs[0]: must be an absolute URL"),
    ("fragment callback", app_body("v", callbackURLs=["https://a.example/cb#x"]),
     f"{OIDC}.callbackURLs[0]: a callback URL must not contain a fragment"),
    ("javascript callback", app_body("v", callbackURLs=["javascript:alert(1)"]),
     f"{OIDC}.callbackURLs[0]: the scheme 'javascript' is not allowed"),
    ("bad regexp", app_body("v", callbackURLs=["regexp=(https://a\\.example/cb"]),
     f"{OIDC}.callbackURLs[0]: invalid regular expression"),
    ("empty audience", app_body("v", idToken={"audience": ["https://api.example", ""]}),
     f"{OIDC}.idToken.audience[1]: an audience must be a non-empty string"),
    ("lifetime 0", app_body("v", accessToken={"userAccessTokenExpiryInSeconds": 0}),
     f"{OIDC}.accessToken.userAccessTokenExpiryInSeconds: must be an integer from 1 to 315360000"),
    ("lifetime too large", app_body("v", refreshToken={"expiryInSeconds": 315360001}),
     f"{OIDC}.refreshToken.expiryInSeconds: must be an integer from 1 to 315360000"),
    ("lifetime not integer", app_body("v", accessToken={"applicationAccessTokenExpiryInSeconds": "60"}),
     f"{OIDC}.accessToken.applicationAccessTokenExpiryInSeconds: must be an integer"),
    ("token type", app_body("v", accessToken={"type": "jwt"}),
     f"{OIDC}.accessToken.type: must be \"Default\" or \"JWT\""),
    ("scope with space", app_body("v", allowedScopes=["read write"]),
     f"{OIDC}.allowedScopes[0]: a scope token may not contain spaces"),
    ("unknown idp", app_body("v", allowedIdentityProviders=["no-such-idp"]),
     f"{OIDC}.allowedIdentityProviders[0]: no identity provider 'no-such-idp' in this tenant"),
    ("private_key_jwt without keys",
     app_body("v", clientAuthentication={"tokenEndpointAuthMethod": "private_key_jwt"}),
     f"{OIDC}.clientAuthentication: private_key_jwt needs exactly one of jwksUri and jwks"),
    ("unknown auth method",
     app_body("v", clientAuthentication={"tokenEndpointAuthMethod": "tls_client_auth"}),
     f"{OIDC}.clientAuthentication.tokenEndpointAuthMethod: must be one of"),
    ("none without publicClient",
     app_body("v", clientAuthentication={"tokenEndpointAuthMethod": "none"}),
     f"{OIDC}.clientAuthentication.tokenEndpointAuthMethod: \"none\" requires publicClient: true"),
    ("public client_credentials",
     app_body("v", publicClient=True, grantTypes=["client_credentials"]),
     f"{OIDC}.grantTypes: a public client cannot use client_credentials"),
    ("unknown top-level field", dict(app_body("v"), imageURL="https://x"),
     "imageURL: unknown field"),
    ("unknown oidc field", app_body("v", pkcee={"mandatory": True}),
     f"{OIDC}.pkcee: unknown field"),
    ("unknown nested field", app_body("v", accessToken={"bindingTyp": "None"}),
     f"{OIDC}.accessToken.bindingTyp: unknown field"),
    ("WSO2 member of the wrong type", app_body("v", allowedOrigins="https://a.example"),
     f"{OIDC}.allowedOrigins: must be an array"),
    ("no name", {"inboundProtocolConfiguration": app_body("v")["inboundProtocolConfiguration"]},
     "name: required"),
    ("long name", dict(app_body("v"), name="n" * 256), "name: required, a string of 1 to 255"),
    ("long description", dict(app_body("v"), description="d" * 1025),
     "description: must be a string of at most 1024"),
    ("oidc not an object", {"name": "v", "inboundProtocolConfiguration": {"oidc": []}},
     f"{OIDC}: must be an object"),
    ("id member", dict(app_body("v"), id=str(uuid.uuid4())), "id: unknown field"),
]


@pytest.mark.parametrize("what,body,desc", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_validation_errors(srv, what, body, desc):
    before_apps = app_count(srv)
    before_audit = audit_events(srv).json()["totalResults"]
    r = create(srv, body)
    assert_error(r, 400, "APP-60400", desc)
    assert app_count(srv) == before_apps
    assert audit_events(srv).json()["totalResults"] == before_audit


def test_bad_requests(srv):
    before_apps = app_count(srv)
    url = srv.url(API + "/applications")
    text = json.dumps(app_body("raw-app"))
    # Duplicate keys.
    dup = '{"name":"a","name":"b",' + text[1:]
    r = requests.post(url, data=dup, headers={"Content-Type": "application/json"},
                      auth=srv.admin, verify=srv.cert, timeout=30)
    assert_error(r, 400, None, "duplicate")
    # Not JSON, not an object.
    r = requests.post(url, data="{", headers={"Content-Type": "application/json"},
                      auth=srv.admin, verify=srv.cert, timeout=30)
    assert_error(r, 400)
    r = requests.post(url, data="[]", headers={"Content-Type": "application/json"},
                      auth=srv.admin, verify=srv.cert, timeout=30)
    assert_error(r, 400)
    # Wrong Content-Type.
    r = requests.post(url, data=text, headers={"Content-Type": "text/plain"},
                      auth=srv.admin, verify=srv.cert, timeout=30)
    assert_error(r, 415)
    # Oversize: just over the 1 MiB admin body limit.
    big = json.dumps(dict(app_body("big-app"), description="d" * (1024 * 1024)))
    assert 1024 * 1024 < len(big) < 1024 * 1024 + 4096
    r = requests.post(url, data=big, headers={"Content-Type": "application/json"},
                      auth=srv.admin, verify=srv.cert, timeout=30)
    assert_error(r, 413)
    # Malformed ids are 404 without reaching the store.
    for bad in ("not-a-uuid", "1", "x" * 36, str(uuid.uuid4()).upper()):
        assert_error(srv.get(f"{API}/applications/{bad}", auth=srv.admin), 404, "APP-60404")
        assert_error(srv.delete(f"{API}/applications/{bad}", auth=srv.admin), 404, "APP-60404")
    assert_error(srv.get(f"{API}/applications/{uuid.uuid4()}", auth=srv.admin), 404, "APP-60404")
    # Paging parameters.
    assert_error(srv.get(API + "/applications?limit=0", auth=srv.admin), 400)
    assert app_count(srv) == before_apps


def test_concurrent_creates_of_one_name(srv):
    for round_ in range(5):
        name = f"race-{round_}-{uuid.uuid4().hex[:8]}"
        barrier = threading.Barrier(2)
        results = [None, None]

        def go(i):
            barrier.wait()
            results[i] = create(srv, app_body(name))

        threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results)
        assert codes == [201, 409], [r.text for r in results]
        loser = [r for r in results if r.status_code == 409][0]
        assert_error(loser, 409, "APP-60409", name)
        lst = srv.get(API + "/applications?limit=1000", auth=srv.admin).json()
        assert sum(a["name"] == name for a in lst["applications"]) == 1


# -- PATCH, PUT, DELETE ------------------------------------------------------------------

def test_patch_name_and_description(srv):
    app = created(srv, "patch-me")
    url = f"{API}/applications/{app['id']}"
    r = srv.patch(url, auth=srv.admin, json={"description": "new words"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "patch-me" and r.json()["description"] == "new words"
    assert "clientSecret" not in oidc(r.json())
    r = srv.patch(url, auth=srv.admin, json={"name": "patched", "description": None})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "patched" and r.json()["description"] == ""
    # The OIDC configuration is untouched by PATCH.
    expect = dict(oidc(app))
    del expect["clientSecret"]
    assert oidc(r.json()) == expect
    got = srv.get(url, auth=srv.admin).json()
    assert got == r.json()
    # Refusals change nothing.
    for body, desc in ((
            {"inboundProtocolConfiguration": {}}, "inboundProtocolConfiguration"),
            ({"name": ""}, "name: required"),
            ({"name": None}, "name: required"),
            ({}, "nothing to change"),
            ({"isEnabled": True}, "isEnabled")):
        assert_error(srv.patch(url, auth=srv.admin, json=body), 400, "APP-60400", desc)
    created(srv, "patch-taken")
    assert_error(srv.patch(url, auth=srv.admin, json={"name": "patch-taken"}), 409, "APP-60409")
    assert srv.get(url, auth=srv.admin).json() == got
    ev = [e for e in audit_events(srv).json()["events"]
          if e["objectId"] == app["id"] and e["action"] == "update"]
    assert len(ev) == 2
    assert {"before": {"name": "patch-me", "description": "new words"},
            "after": {"name": "patched", "description": ""}} in [e["summary"]["changes"] for e in ev]
    assert_error(srv.patch(f"{API}/applications/{uuid.uuid4()}", auth=srv.admin,
                           json={"name": "x"}), 404, "APP-60404")


def test_put_oidc_replaces_wholly(srv):
    app = created(srv, "put-me", allowedScopes=["a", "b"],
                  idToken={"audience": ["https://api.example"]})
    url = f"{API}/applications/{app['id']}/inbound-protocols/oidc"
    before = srv.get(url, auth=srv.admin).json()
    # Members left out take their defaults; clientId may be omitted.
    r = srv.put(url, auth=srv.admin, json={
        "grantTypes": ["client_credentials", JWT_BEARER],
        "accessToken": {"type": "JWT", "userAccessTokenExpiryInSeconds": 600}})
    assert r.status_code == 200, r.text
    o = r.json()
    assert "clientSecret" not in o
    assert o["clientId"] == before["clientId"]
    assert o["grantTypes"] == [JWT_BEARER, "client_credentials"]
    assert o["callbackURLs"] == [] and o["allowedScopes"] == []
    assert o["idToken"] == {"audience": [], "expiryInSeconds": 3600}
    assert o["accessToken"] == {"type": "JWT", "userAccessTokenExpiryInSeconds": 600,
                                "applicationAccessTokenExpiryInSeconds": 3600}
    assert srv.get(url, auth=srv.admin).json() == o
    # Errors name the member relative to the oidc object and change nothing.
    for body, status, desc in (
            (dict(o, grantTypes=["password"]), 400, "grantTypes[0]: unknown grant type 'password'"),
            (dict(o, clientId="A" * 28), 400, "clientId: cannot change"),
            (dict(o, clientSecret="B" * 43), 400, "clientSecret: cannot be set"),
            (dict(o, callbackURLs=["app/cb"]), 400, "callbackURLs[0]: must be an absolute URL"),
            (dict(o, allowedIdentityProviders=["ghost"]), 400,
             "allowedIdentityProviders[0]: no identity provider 'ghost' in this tenant"),
            (dict(o, name="x"), 400, "name: unknown field")):
        r = srv.put(url, auth=srv.admin, json=body)
        err = assert_error(r, status, "APP-60400", desc)
        assert not err["description"].startswith("inboundProtocolConfiguration")
    assert srv.get(url, auth=srv.admin).json() == o
    ev = [e for e in audit_events(srv).json()["events"]
          if e["objectId"] == app["id"] and e["action"] == "update"]
    assert len(ev) == 1
    changes = ev[0]["summary"]["changes"]
    assert changes["before"]["grantTypes"] == [JWT_BEARER, "refresh_token"]
    assert changes["after"]["grantTypes"] == [JWT_BEARER, "client_credentials"]
    assert "clientId" not in changes["after"]


def test_private_key_jwt_client(srv):
    key = ec.generate_private_key(ec.SECP256R1())
    nums = key.public_key().public_numbers()

    def b64(n):
        return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()

    jwk = {"kty": "EC", "crv": "P-256", "x": b64(nums.x), "y": b64(nums.y), "kid": "c1"}
    app = created(srv, "pkjwt-inline", clientAuthentication={
        "tokenEndpointAuthMethod": "private_key_jwt", "jwks": {"keys": [jwk]}})
    ca = oidc(app)["clientAuthentication"]
    assert ca == {"tokenEndpointAuthMethod": "private_key_jwt", "jwksUri": None,
                  "jwks": {"keys": [jwk]}}
    # A private_key_jwt client gets no secret it could not use: none shown,
    # none stored, none to regenerate until its method takes one.
    assert "clientSecret" not in oidc(app)
    with db(srv) as c:
        h = c.execute("SELECT secret_hash FROM applications WHERE id = ?",
                      (app["id"],)).fetchone()[0]
    assert h is None
    regen = f"{API}/applications/{app['id']}/inbound-protocols/oidc/regenerate-secret"
    assert_error(srv.post(regen, auth=srv.admin), 400, "APP-60400",
                 "this application authenticates with private_key_jwt, which takes no "
                 "client secret")
    o = dict(oidc(app))
    o["clientAuthentication"] = {"tokenEndpointAuthMethod": "client_secret_basic"}
    r = srv.put(f"{API}/applications/{app['id']}/inbound-protocols/oidc", auth=srv.admin, json=o)
    assert r.status_code == 200, r.text
    assert "clientSecret" not in r.json()
    r = srv.post(regen, auth=srv.admin)
    assert r.status_code == 200, r.text
    assert SECRET_RE.match(r.json()["clientSecret"])
    app = created(srv, "pkjwt-inline-2", clientAuthentication={
        "tokenEndpointAuthMethod": "private_key_jwt", "jwks": {"keys": [jwk]}})
    app = created(srv, "pkjwt-uri", clientAuthentication={
        "tokenEndpointAuthMethod": "private_key_jwt", "jwksUri": "https://client.example/jwks"})
    assert oidc(app)["clientAuthentication"]["jwksUri"] == "https://client.example/jwks"
    for ca, desc in (
            ({"tokenEndpointAuthMethod": "private_key_jwt",
              "jwksUri": "http://client.example/jwks"}, "clientAuthentication.jwksUri: "),
            ({"tokenEndpointAuthMethod": "private_key_jwt",
              "jwks": {"keys": [dict(jwk, d="AAAA")]}}, "clientAuthentication.jwks: "),
            ({"tokenEndpointAuthMethod": "private_key_jwt", "jwks": {"keys": [jwk]},
              "jwksUri": "https://client.example/jwks"}, "exactly one of jwksUri and jwks"),
            ({"tokenEndpointAuthMethod": "client_secret_post", "jwks": {"keys": [jwk]}},
             "client keys are used only with private_key_jwt")):
        assert_error(create(srv, app_body("pkjwt-bad", clientAuthentication=ca)), 400,
                     "APP-60400", desc)


def test_allowed_identity_providers_must_exist_in_tenant(srv):
    idp = {"name": "jwtIDP-apps", "idpIssuerName": "https://idp.example",
           "certificate": {"jwksUri": "https://idp.example/jwks"}}
    r = srv.post(f"{ACME}{API}/identity-providers", auth=ALICE, json=idp)
    assert r.status_code == 201, r.text
    app = created(srv, "with-idp", auth=ALICE, prefix=ACME,
                  allowedIdentityProviders=["jwtIDP-apps"])
    assert oidc(app)["allowedIdentityProviders"] == ["jwtIDP-apps"]
    # The IdP of another tenant does not count.
    assert_error(create(srv, app_body("with-idp", allowedIdentityProviders=["jwtIDP-apps"])),
                 400, "APP-60400",
                 f"{OIDC}.allowedIdentityProviders[0]: no identity provider 'jwtIDP-apps' "
                 "in this tenant")


def test_delete_revokes_tokens(srv):
    app = created(srv, "delete-me")
    secret = oidc(app)["clientSecret"]
    tok = put_token(srv, app)
    url = f"{API}/applications/{app['id']}"
    r = srv.delete(url, auth=srv.admin)
    assert r.status_code == 204 and r.content == b""
    assert token_revoked(srv, tok)
    assert_error(srv.get(url, auth=srv.admin), 404, "APP-60404")
    assert_error(srv.get(url + "/inbound-protocols/oidc", auth=srv.admin), 404, "APP-60404")
    assert_error(srv.delete(url, auth=srv.admin), 404, "APP-60404")
    ev = [e for e in audit_events(srv).json()["events"] if e["objectId"] == app["id"]]
    assert sorted(e["action"] for e in ev) == ["create", "delete"]
    # The name is free again.
    created(srv, "delete-me")
    assert secret not in srv.log()
