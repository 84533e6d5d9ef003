"""Issue 8: the server's token-signing keys - GET [/t/T]/oauth2/jwks, keys
created per tenant at first use and stored encrypted, the algorithm chosen by
[oauth.access_token] jwt_signing_algorithm, `grantd keys rotate`.

python3-jwt reads the JWKS independently of grantd's own JOSE code.
"""
import base64
import hashlib
import json
import sqlite3

import jwt
import pytest

from conftest import run_grantd

V1 = "/api/server/v1"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def jwks(server, prefix=""):
    r = server.get(f"{prefix}/oauth2/jwks")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    cc = r.headers["Cache-Control"]
    assert "max-age=" in cc and int(cc.split("max-age=")[1].split(",")[0]) <= 300
    doc = r.json()
    assert set(doc) == {"keys"}
    for k in doc["keys"]:
        assert not PRIVATE_MEMBERS & set(k), k
        assert k["use"] == "sig"
        assert k["kid"] == thumbprint(k)
        jwt.PyJWK(k)  # python3-jwt accepts it as a public key
    return doc["keys"]


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def thumbprint(k):
    """RFC 7638 (RFC 8037 for OKP), computed here, not by grantd."""
    req = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
    members = {m: k[m] for m in req[k["kty"]]}
    text = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64(hashlib.sha256(text.encode()).digest())


def rotate(server, *extra):
    r = run_grantd("keys", "rotate", "-c", server.config_path, *extra, env=server.env)
    return r


def test_jwks_rs256_by_default_and_stable(server):
    keys = jwks(server)
    assert len(keys) == 1
    k = keys[0]
    assert (k["kty"], k["alg"]) == ("RSA", "RS256")
    assert set(k) == {"kty", "alg", "use", "kid", "n", "e"}
    assert len(base64.urlsafe_b64decode(k["n"] + "==")) * 8 == 2048
    # the same key on every request, the tenant form and after a restart
    assert jwks(server) == keys
    assert jwks(server, "/t/carbon.super") == keys
    server.stop()
    server.start()
    assert jwks(server) == keys


def test_unknown_tenant_is_404(server):
    r = server.get("/t/no-such-tenant.example/oauth2/jwks")
    assert r.status_code == 404
    r = server.post("/oauth2/jwks")
    assert r.status_code in (404, 405)


def test_each_tenant_has_its_own_keys(server):
    r = server.post(f"{V1}/tenants", auth=server.admin,
                    json={"domain": "keys.example",
                          "owners": [{"username": "alice", "password": "Alice-Passw0rd"}]})
    assert r.status_code == 201, r.text
    mine = jwks(server, "/t/keys.example")
    assert len(mine) == 1
    assert mine[0]["kid"] != jwks(server)[0]["kid"]


def test_private_keys_are_stored_encrypted(server):
    jwks(server)
    server.stop()
    db = sqlite3.connect(server.data_dir + "/grantd.db")
    rows = db.execute("SELECT kid, private_enc, public_jwk FROM signing_keys").fetchall()
    db.close()
    assert len(rows) == 1
    kid, enc, pub = rows[0]
    assert b"PRIVATE" not in enc and b"-----" not in enc
    assert not PRIVATE_MEMBERS & set(json.loads(pub))
    # and never in the log
    assert "PRIVATE" not in server.log()


@pytest.mark.parametrize("alg,kty,members", [
    ("ES256", "EC", {"crv": "P-256"}),
    ("EdDSA", "OKP", {"crv": "Ed25519"}),
])
def test_configured_algorithm(make_server, alg, kty, members):
    s = make_server(env={"GRANTD_OAUTH_ACCESS_TOKEN_JWT_SIGNING_ALGORITHM": alg}).start()
    keys = jwks(s)
    assert len(keys) == 1
    assert (keys[0]["kty"], keys[0]["alg"]) == (kty, alg)
    for m, v in members.items():
        assert keys[0][m] == v


def test_changing_the_algorithm_rotates(make_server):
    s = make_server().start()
    rsa = jwks(s)
    s.stop()
    s.env["GRANTD_OAUTH_ACCESS_TOKEN_JWT_SIGNING_ALGORITHM"] = "ES256"
    s.start()
    keys = jwks(s)
    assert [k["alg"] for k in keys] == ["ES256", "RS256"]
    assert keys[1] == rsa[0]  # still published: tokens it signed are valid


def test_rotate_while_stopped(server):
    old = jwks(server)
    # refused while the server holds the data dir
    r = rotate(server)
    assert r.returncode == 1
    assert "in use by another grantd" in r.stderr
    server.stop()
    r = rotate(server)
    assert r.returncode == 0, r.stderr
    server.start()
    keys = jwks(server)
    assert len(keys) == 2
    assert keys[1] == old[0]
    assert keys[0]["kid"] in r.stdout
    assert "PRIVATE" not in r.stdout + r.stderr


def test_rotate_other_tenant_and_usage(server):
    r = server.post(f"{V1}/tenants", auth=server.admin,
                    json={"domain": "rot.example",
                          "owners": [{"username": "alice", "password": "Alice-Passw0rd"}]})
    assert r.status_code == 201, r.text
    super_keys = jwks(server)
    before = jwks(server, "/t/rot.example")
    server.stop()
    r = rotate(server, "--tenant", "rot.example")
    assert r.returncode == 0, r.stderr
    r = rotate(server, "--tenant", "missing.example")
    assert r.returncode == 2
    assert "missing.example" in r.stderr
    assert run_grantd("keys").returncode == 2
    assert run_grantd("keys", "spin").returncode == 2
    assert run_grantd("keys", "rotate", "--bogus").returncode == 2
    h = run_grantd("keys", "rotate", "--help")
    assert h.returncode == 0 and "--tenant" in h.stdout
    server.start()
    after = jwks(server, "/t/rot.example")
    assert len(after) == 2 and after[1] == before[0]
    assert jwks(server) == super_keys


def test_first_start_creates_the_key_and_a_foreign_secret_stops_start_up(make_server):
    import os
    s = make_server().start()
    db = sqlite3.connect(s.data_dir + "/grantd.db")
    assert db.execute("SELECT count(*) FROM signing_keys").fetchone()[0] == 1
    db.close()
    s.stop()
    path = os.path.join(s.data_dir, "server-secret")
    with open(path, "wb") as f:
        f.write(os.urandom(32))
    with pytest.raises(RuntimeError):
        s.start()
    assert "does not decrypt: was the server secret replaced?" in s.log()
    assert "PRIVATE" not in s.log()


def test_key_files_with_wrong_permissions_stop_start_up(make_server):
    import os
    s = make_server().start()
    s.stop()
    secret = os.path.join(s.data_dir, "server-secret")
    key = os.path.join(s.data_dir, "tls", "key.pem")
    os.chmod(secret, 0o644)
    with pytest.raises(RuntimeError):
        s.start()
    assert "the server secret is open to group or others (mode 0644): chmod 600 it" in s.log()
    os.chmod(secret, 0o600)
    os.chmod(key, 0o604)
    with pytest.raises(RuntimeError):
        s.start()
    assert "a private key that every user may read (mode 0604)" in s.log()
    # a group may read a TLS key (ssl-cert); then the server starts
    os.chmod(key, 0o640)
    s.start()
    assert s.get("/healthz").status_code == 200
