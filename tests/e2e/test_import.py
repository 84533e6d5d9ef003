"""`grantd import` and POST /api/server/v1/import (docs/import.md): WSO2 IS 7
export files (tests/data/wso2: XML, YAML and JSON written after WSO2's
serialisers) become identity providers and applications of a tenant, through
the admin API's own create path. Each test runs the real binary: the CLI on a
stopped server's data dir, then the server, which issues tokens with the
imported IdP (its certificate) and application (its exported secret).
"""
import os
import re
import sqlite3

import pytest
from cryptography.hazmat.primitives import serialization

import util_jwt as uj
from conftest import run_grantd

API = uj.API
DATA = os.path.join(os.path.dirname(__file__), "..", "data", "wso2")
CLIENT_ID = "partner_app_client_0123456789abc"
SECRET = "partnerSecret-0123456789abcdefXYZ"
ISSUER = "https://partner.example.com"
AUDIENCE = "https://grantd.example/oauth2/token"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

with open(os.path.join(DATA, "keys", "partner-idp.key"), "rb") as f:
    PARTNER_KEY = serialization.load_pem_private_key(f.read(), password=None)


def sample(name):
    return os.path.join(DATA, name)


def read(name):
    with open(sample(name), "rb") as f:
        return f.read()


def stopped(make_server):
    """A server that has created its data dir once and is stopped again."""
    srv = make_server().start()
    srv.stop()
    return srv


def cli_import(srv, *files, extra=()):
    return run_grantd("import", "-c", srv.config_path, *extra, *[sample(f) for f in files])


def db_bytes(srv):
    out = b""
    for suffix in ("", "-wal"):
        p = os.path.join(srv.data_dir, "grantd.db" + suffix)
        if os.path.exists(p):
            with open(p, "rb") as f:
                out += f.read()
    return out


def names(srv, kind, prefix=""):
    r = srv.get(prefix + API + "/" + kind + "?limit=100", auth=srv.admin)
    assert r.status_code == 200, r.text
    key = "identityProviders" if kind == "identity-providers" else "applications"
    return sorted(x["name"] for x in r.json()[key])


def token_with_partner(srv, prefix=""):
    assertion = uj.mint(PARTNER_KEY, uj.claims(AUDIENCE, iss=ISSUER))
    return uj.jwt_grant(srv, assertion, (CLIENT_ID, SECRET), prefix=prefix)


# -- the command line ------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["xml", "yaml", "json"])
def test_cli_import_then_token(make_server, fmt):
    srv = stopped(make_server)
    r = cli_import(srv, f"idp-cert.{fmt}", f"idp-jwks.{fmt}", f"app-jwt-bearer.{fmt}")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert re.search(rf'^imported identity provider "Partner IdP" \(id {UUID}\)$', out, re.M), out
    assert re.search(rf'^imported identity provider "Keyed IdP" \(id {UUID}\)$', out, re.M), out
    assert re.search(rf'^imported application "Partner App" \(id {UUID}\)$', out, re.M), out
    # what grantd has no setting for is named, member by member
    dropped = [line for line in out.splitlines() if line.startswith("  dropped members: ")]
    assert any(re.search("federatedAuthenticatorConfigs", d, re.I) for d in dropped), out
    assert any("oAuthAppDO.grantTypes: authorization_code" in d for d in dropped), out
    assert any("oAuthAppDO.pkceMandatory" in d for d in dropped), out
    # the exported consumer secret is kept, never printed or stored in clear
    assert SECRET not in out + r.stderr
    assert SECRET.encode() not in db_bytes(srv)

    srv.start()
    assert names(srv, "identity-providers") == ["Keyed IdP", "Partner IdP"]
    r = srv.get(API + "/identity-providers?filter=name eq \"Keyed IdP\"", auth=srv.admin)
    keyed = r.json()["identityProviders"][0]
    idp = srv.get(API + "/identity-providers/" + keyed["id"], auth=srv.admin).json()
    assert idp["certificate"]["jwksUri"] == "https://keys.example.com/oauth2/jwks"
    assert idp["idpIssuerName"] == "https://keys.example.com"
    # the imported IdP's certificate verifies, the imported secret authenticates
    r = token_with_partner(srv)
    uj.assert_tokens(r, refresh=True)
    # the import wrote the same audit records as the API does
    r = srv.get(API + "/audit-events?limit=100", auth=srv.admin)
    creates = [e for e in r.json()["events"] if e["action"] == "create"]
    assert {e["actor"] for e in creates} == {"grantd import"}
    assert {e["objectType"] for e in creates} == {"identity-provider", "application"}
    assert len(creates) == 3


def test_cli_conflict_skips_only_that_object(make_server):
    srv = stopped(make_server)
    r = cli_import(srv, "idp-cert.xml")
    assert r.returncode == 0, r.stderr
    r = cli_import(srv, "idp-cert.json", "app-jwt-bearer.yaml")
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r'^skipped identity provider "Partner IdP" \(conflict\): .*already exists',
                     r.stdout, re.M), r.stdout
    assert re.search(r'^imported application "Partner App"', r.stdout, re.M), r.stdout
    srv.start()
    assert names(srv, "identity-providers") == ["Partner IdP"]
    assert names(srv, "applications") == ["Partner App"]


def test_cli_dry_run_writes_nothing(make_server):
    srv = stopped(make_server)
    before = db_bytes(srv)
    r = cli_import(srv, "idp-cert.yaml", "app-jwt-bearer.json", extra=("--dry-run",))
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'would import identity provider "Partner IdP" (dry run: nothing written)' in r.stdout
    assert 'would import application "Partner App"' in r.stdout
    srv.start()
    assert names(srv, "identity-providers") == []
    assert names(srv, "applications") == []
    assert before  # the data dir existed


@pytest.mark.parametrize("hostile, why", [
    ("hostile/billion-laughs.xml", "document type declaration"),
    ("hostile/xxe.xml", "document type declaration"),
    ("hostile/alias-bomb.yaml", "aliases"),
    ("hostile/deep.json", "depth"),
    ("hostile/deep.xml", "deeper than 32"),
    ("broken/truncated.xml", "XML: line"),
    ("broken/dup-keys.json", "duplicate"),
    ("broken/not-an-export.yaml", "not a WSO2 identity provider or application export"),
    ("hostile/escapes.yaml", "duplicate key 'alias?]0;pwned?'"),
])
def test_cli_hostile_file_refused_nothing_written(make_server, hostile, why):
    srv = stopped(make_server)
    r = cli_import(srv, hostile)
    assert r.returncode == 1, r.stdout + r.stderr
    assert why in r.stderr and "nothing imported from it" in r.stderr, r.stderr
    assert "imported" not in r.stdout
    assert "\x1b" not in r.stdout + r.stderr  # no terminal escapes from the file
    with sqlite3.connect(os.path.join(srv.data_dir, "grantd.db")) as c:
        assert c.execute("SELECT count(*) FROM identity_providers").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM applications").fetchone()[0] == 0


def test_cli_too_many_nodes_refused(make_server, tmp_path):
    srv = stopped(make_server)
    wide = tmp_path / "wide.yaml"
    wide.write_text("identityProviderName: Wide IdP\nclaimConfig:\n" +
                    "".join(f"  - {i}\n" for i in range(30000)))
    r = run_grantd("import", "-c", srv.config_path, str(wide))
    assert r.returncode == 1 and "more than 20000 nodes" in r.stderr, r.stderr
    r = run_grantd("import", "-c", srv.config_path, "--dry-run", sample("idp-jwks.yaml"))
    assert r.returncode == 0  # the data dir is still usable, nothing was written
    assert "would import" in r.stdout


def test_cli_objects_grantd_cannot_take_are_skipped(make_server):
    srv = stopped(make_server)
    r = cli_import(srv, "broken/app-no-oauth.xml", "broken/idp-bad-cert.yaml",
                   "broken/app-masked-secret.json", "broken/app-legacy-inbound.xml")
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r'^imported application "SAML Only App"', r.stdout, re.M), r.stdout
    assert "no OAuth inbound" in r.stdout and "samlsso" in r.stdout
    assert re.search(r'^skipped identity provider "Bad Cert IdP": certificate\.certificates\[0\]',
                     r.stdout, re.M), r.stdout
    assert re.search(r'^imported application "Masked App"', r.stdout, re.M), r.stdout
    assert "masked in the export" in r.stdout and "regenerate-secret" in r.stdout
    assert re.search(r'^imported application "Legacy App"', r.stdout, re.M), r.stdout


def test_cli_import_into_tenant(make_server):
    srv = make_server().start()
    r = srv.post(API + "/tenants", auth=srv.admin, json={
        "domain": "acme.com", "owners": [{"username": "alice", "password": "alice-Passw0rd-e2e"}]})
    assert r.status_code == 201, r.text
    srv.stop()
    r = cli_import(srv, "idp-cert.json", "app-jwt-bearer.json", extra=("--tenant", "acme.com"))
    assert r.returncode == 0, r.stdout + r.stderr
    srv.start()
    assert names(srv, "identity-providers") == []
    assert names(srv, "identity-providers", prefix="/t/acme.com") == ["Partner IdP"]
    uj.assert_tokens(token_with_partner(srv, prefix="/t/acme.com"), refresh=True)
    # the super tenant has neither: the client is unknown there
    assert token_with_partner(srv).status_code in (400, 401)


def test_cli_usage_and_running_server(make_server):
    srv = stopped(make_server)
    r = run_grantd("import", "-c", srv.config_path)
    assert r.returncode == 2 and "no export file" in r.stderr
    r = run_grantd("import", "--bogus", sample("idp-cert.xml"))
    assert r.returncode == 2
    r = cli_import(srv, "idp-cert.xml", extra=("--tenant", "no-such.example"))
    assert r.returncode == 2 and "no tenant" in r.stderr
    r = run_grantd("import", "--help")
    assert r.returncode == 0 and "usage: grantd import" in r.stdout
    srv.start()
    r = cli_import(srv, "idp-cert.xml")
    assert r.returncode == 1
    assert "stop the server first" in r.stderr and "/api/server/v1/import" in r.stderr
    assert names(srv, "identity-providers") == []


# -- the API -------------------------------------------------------------------------

def test_api_import_each_content_type_then_token(server):
    r = server.post(API + "/import", auth=server.admin, data=read("idp-cert.xml"),
                    headers={"Content-Type": "application/xml"})
    assert r.status_code == 200, r.text
    obj = r.json()["objects"][0]
    assert obj["status"] == "imported" and obj["type"] == "identity-provider"
    assert obj["name"] == "Partner IdP" and re.fullmatch(UUID, obj["id"])
    assert "IdpProperties.idpIssuerName" in obj["mapped"]
    assert "FederatedAuthenticatorConfigs" in obj["dropped"]
    r = server.post(API + "/import", auth=server.admin, data=read("app-jwt-bearer.yaml"),
                    headers={"Content-Type": "application/yaml"})
    assert r.status_code == 200, r.text
    obj = r.json()["objects"][0]
    assert obj["status"] == "imported" and obj["format"] == "yaml"
    assert SECRET not in r.text
    r = server.post(API + "/import", auth=server.admin, data=read("idp-jwks.json"),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["objects"][0]["status"] == "imported"
    uj.assert_tokens(token_with_partner(server), refresh=True)
    assert SECRET not in server.log()
    assert SECRET.encode() not in db_bytes(server)


def test_api_conflict_dry_run_and_refusals(server):
    def post(data, ct="application/xml", q=""):
        return server.post(API + "/import" + q, auth=server.admin, data=data,
                           headers={"Content-Type": ct})

    r = post(read("idp-cert.xml"), q="?dryRun=true")
    assert r.status_code == 200 and r.json()["objects"][0]["status"] == "valid"
    assert names(server, "identity-providers") == []
    assert post(read("idp-cert.xml")).json()["objects"][0]["status"] == "imported"
    obj = post(read("idp-cert.json"), ct="application/json").json()["objects"][0]
    assert obj["status"] == "skipped" and obj["conflict"] is True
    assert "already exists" in obj["reason"]
    # hostile and malformed files: a clear 4xx, nothing written
    r = post(read("hostile/billion-laughs.xml"))
    assert r.status_code == 400 and "document type declaration" in r.json()["description"]
    r = post(read("hostile/alias-bomb.yaml"), ct="application/yaml")
    assert r.status_code == 400 and "aliases" in r.json()["description"]
    r = post(read("hostile/deep.json"), ct="application/json")
    assert r.status_code == 400
    r = post(read("idp-jwks.xml"), ct="text/plain")
    assert r.status_code == 415
    r = post(b" " * (1024 * 1024 + 1), ct="application/json")
    assert r.status_code == 413
    assert names(server, "identity-providers") == ["Partner IdP"]
    # the same privilege as creating IdPs and applications
    r = server.post(API + "/import", data=read("idp-jwks.xml"),
                    headers={"Content-Type": "application/xml"})
    assert r.status_code == 401


def test_wso2_import_paths_take_multipart(server):
    files = {"file": ("Partner IdP.xml", read("idp-cert.xml"), "application/octet-stream")}
    r = server.post(API + "/identity-providers/import", auth=server.admin, files=files)
    assert r.status_code == 201, r.text
    m = re.fullmatch(rf"{API}/identity-providers/({UUID})", r.headers["Location"])
    assert m, r.headers["Location"]
    assert server.get(r.headers["Location"], auth=server.admin).json()["name"] == "Partner IdP"
    r = server.post(API + "/identity-providers/import", auth=server.admin, files=files)
    assert r.status_code == 409 and r.json()["code"] == "IDP-60409"
    files = {"file": ("app.yaml", read("app-jwt-bearer.yaml"), "application/x-yaml")}
    r = server.post(API + "/identity-providers/import", auth=server.admin, files=files)
    assert r.status_code == 400 and "holds an application, not an identity provider" in r.json()["description"]
    r = server.post(API + "/applications/import", auth=server.admin, files=files)
    assert r.status_code == 201, r.text
    assert re.fullmatch(rf"{API}/applications/{UUID}", r.headers["Location"])
    uj.assert_tokens(token_with_partner(server), refresh=True)
    r = server.post(API + "/applications/import", auth=server.admin,
                    files={"other": ("x.xml", b"<a/>", "application/xml")})
    assert r.status_code == 400 and "no part named 'file'" in r.json()["description"]


def test_api_import_into_tenant(server):
    r = server.post(API + "/tenants", auth=server.admin, json={
        "domain": "acme.com", "owners": [{"username": "alice", "password": "alice-Passw0rd-e2e"}]})
    assert r.status_code == 201, r.text
    alice = ("alice@acme.com", "alice-Passw0rd-e2e")
    for name, ct in (("idp-cert.yaml", "application/yaml"), ("app-jwt-bearer.xml", "text/xml")):
        r = server.post("/t/acme.com" + API + "/import", auth=alice, data=read(name),
                        headers={"Content-Type": ct})
        assert r.status_code == 200 and r.json()["objects"][0]["status"] == "imported", r.text
    # a tenant admin may not import into another tenant
    r = server.post(API + "/import", auth=alice, data=read("idp-jwks.xml"),
                    headers={"Content-Type": "application/xml"})
    assert r.status_code == 403
    assert names(server, "identity-providers") == []
    uj.assert_tokens(token_with_partner(server, prefix="/t/acme.com"), refresh=True)
