"""Issue 12: `grantd migrate` - the schema on its own, and an SQLite data set
moved into PostgreSQL (docs/operations.md, "Moving from SQLite to
PostgreSQL"), checked by serving the copy: the IdP, application, tokens,
replay records, signing keys and audit events are all there and behave as
before.

The SQLite server runs first with its own data dir; the PostgreSQL server
(a private one, tests/e2e/pgserver.py) then gets a copy of that data dir's
server secret, as the documentation tells operators to do.
"""
import os
import shutil

import pytest

import util_certs as uc
import util_jwt as uj
from conftest import Server, run_grantd
from pgserver import PgServer

ISS = "https://idp.example"
AUD = "https://grantd.test/oauth2/token"
KEY = uc.rsa_key()
CERT = uc.self_signed(KEY, "idp.example")


@pytest.fixture(scope="module")
def pg():
    try:
        srv = PgServer().start()
    except (RuntimeError, FileNotFoundError) as e:
        pytest.skip(f"no PostgreSQL server binaries: {e}")
    yield srv
    srv.destroy()


def pg_config(data_dir, url):
    return ("[server]\n"
            f'data_dir = "{data_dir}"\n'
            'bind = ["127.0.0.1"]\n'
            "port = 0\n"
            "[database]\n"
            'type = "postgres"\n'
            f'url = "{url}"\n')


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def introspect(srv, auth, tok):
    r = srv.post("/oauth2/introspect", data={"token": tok}, auth=auth, headers=uj.FORM)
    assert r.status_code == 200, r.text
    return r.json()


def jwks(srv):
    r = srv.get("/oauth2/jwks")
    assert r.status_code == 200, r.text
    return r.json()


def audit(srv):
    r = srv.get("/api/server/v1/audit-events?limit=100", auth=srv.admin)
    assert r.status_code == 200, r.text
    return r.json()


def test_sqlite_data_set_moves_to_postgres(tmp_path, pg):
    # 1. An SQLite server with an IdP, an application, tokens, a used
    #    assertion and a signing key (made by the first JWKS request).
    (tmp_path / "sqlite").mkdir()
    src = Server(tmp_path / "sqlite", extra_toml="[database]\ntype = \"sqlite\"\n").start()
    uj.create_idp(src, uj.cert_idp("jwtIDP", CERT, ISS, AUD))
    client = uj.create_app(src, "migrated-app", grants=(uj.JWT_BEARER, "refresh_token"))
    rs = uj.create_app(src, "migrated-rs", grants=("client_credentials",))
    used = uj.mint(KEY, uj.claims(AUD, sub="alice@example.com"))
    body = uj.assert_tokens(uj.jwt_grant(src, used, client))
    revoked = uj.assert_tokens(uj.jwt_grant(src, uj.mint(KEY, uj.claims(AUD)), client))
    r = src.post("/oauth2/revoke", data={"token": revoked["access_token"]}, auth=client,
                 headers=uj.FORM)
    assert r.status_code == 200, r.text
    keys_before = jwks(src)
    audit_before = audit(src)
    assert audit_before["totalResults"] >= 3
    src.stop()

    # 2. The copy: schema first, then the rows; the SQLite file is read only.
    url = pg.create_database()
    node = tmp_path / "node"
    (node / "data").mkdir(parents=True)
    shutil.copy2(os.path.join(src.data_dir, "server-secret"), node / "data" / "server-secret")
    cfg = write(node / "deployment.toml", pg_config(node / "data", url))
    db = os.path.join(src.data_dir, "grantd.db")
    r = run_grantd("migrate", "-c", cfg, "--from-sqlite", db)
    assert r.returncode == 0, r.stderr
    assert "copied tokens" in r.stdout and "copied identity_providers" in r.stdout
    assert "server-secret" in r.stdout
    assert pg.password not in r.stdout + r.stderr

    # 3. A server on PostgreSQL serves the same data set.
    dst = Server(node, config_text=open(cfg).read())
    dst.start()
    assert introspect(dst, rs, body["access_token"])["active"] is True
    assert introspect(dst, rs, revoked["access_token"]) == {"active": False}
    # the used assertion is a replay on the copy
    r = uj.jwt_grant(dst, used, client)
    uj.assert_oauth_error(r, 400, "invalid_grant", "assertion replayed")
    # the refresh token still works, once
    r = uj.token(dst, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
                 auth=client)
    uj.assert_tokens(r)
    # a fresh assertion through the copied IdP and application
    uj.assert_tokens(uj.jwt_grant(dst, uj.mint(KEY, uj.claims(AUD)), client))
    assert jwks(dst) == keys_before
    after = audit(dst)
    assert after["totalResults"] == audit_before["totalResults"]
    assert [e["id"] for e in after["events"]] == [e["id"] for e in audit_before["events"]]
    dst.stop()


def test_a_target_with_data_is_refused_and_left_unchanged(tmp_path, pg):
    (tmp_path / "a").mkdir()
    src = Server(tmp_path / "a", extra_toml="[database]\ntype = \"sqlite\"\n").start()
    src.stop()
    url = pg.create_database()
    node = tmp_path / "node"
    (node / "data").mkdir(parents=True)
    cfg = write(node / "deployment.toml", pg_config(node / "data", url))
    # a server has served this database: it holds the super tenant
    first = Server(node, config_text=open(cfg).read()).start()
    first.stop()
    dbname = url.rsplit("/", 1)[1]
    before = pg.psql("SELECT count(*) FROM tenants", dbname)
    r = run_grantd("migrate", "-c", cfg, "--from-sqlite", os.path.join(src.data_dir, "grantd.db"))
    assert r.returncode == 1
    assert "already holds data" in r.stderr
    assert pg.psql("SELECT count(*) FROM tenants", dbname) == before


def test_migrate_alone_creates_the_schema(tmp_path, pg):
    url = pg.create_database()
    cfg = write(tmp_path / "deployment.toml", pg_config(tmp_path / "data", url))
    r = run_grantd("migrate", "-c", cfg)
    assert r.returncode == 0, r.stderr
    assert "version 0 found" in r.stdout
    r = run_grantd("migrate", "-c", cfg)
    assert r.returncode == 0, r.stderr
    assert "0 migrations applied" in r.stdout
    assert pg.password not in r.stdout + r.stderr


def test_usage_errors(tmp_path):
    cfg = write(tmp_path / "deployment.toml",
                f'[server]\ndata_dir = "{tmp_path / "data"}"\n')
    r = run_grantd("migrate", "-c", cfg, "--from-sqlite", str(tmp_path / "x.db"))
    assert r.returncode == 2
    assert "type = \"postgres\"" in r.stderr
    r = run_grantd("migrate", "--bogus")
    assert r.returncode == 2


def test_a_file_that_is_not_grantd_s_is_refused(tmp_path, pg):
    url = pg.create_database()
    cfg = write(tmp_path / "deployment.toml", pg_config(tmp_path / "data", url))
    junk = write(tmp_path / "junk.db", "not a database\n" * 100)
    r = run_grantd("migrate", "-c", cfg, "--from-sqlite", junk)
    assert r.returncode == 1
    assert "nothing copied" in r.stderr
    dbname = url.rsplit("/", 1)[1]
    assert pg.psql("SELECT count(*) FROM tenants", dbname) == "0"
