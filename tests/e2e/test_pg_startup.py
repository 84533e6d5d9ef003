"""Start-up on PostgreSQL (docs/operations.md, "Several nodes (PostgreSQL)"):

- `grantd check-config` refuses a malformed `[database] url` (exit 2, the
  message names the key) and prints a good one with its password masked;
- `grantd serve` with a wrong password, a closed port or a missing database
  exits 1 (not a signal) within a bounded time, says why on stderr and never
  shows the password;
- two nodes started at the same moment on one empty database both come up
  and serve, and the schema is migrated once;
- a node whose server secret is not the one that sealed the database's
  signing keys refuses to start.

Runs in both suites: the database tests use the session's private
PostgreSQL (`pg` fixture, skipped when its binaries are missing); the
check-config and closed-port tests need no PostgreSQL server.
"""
import os
import re
import subprocess
import threading

import pytest

from conftest import (ADMIN_PASSWORD, NO_POSTGRES_BACKEND, POSTGRES, Server, free_port,
                      run_grantd)

SECRET_LEN = 32  # SERVER_SECRET_LEN: <data_dir>/server-secret, mode 0600


def write_config(tmp_path, url=None, extra=""):
    data = tmp_path / "data"
    text = ("[server]\n"
            f'data_dir = "{data}"\n'
            'bind = ["127.0.0.1"]\n'
            "port = 0\n"
            "[database]\n"
            'type = "postgres"\n'
            + (f'url = "{url}"\n' if url is not None else "")
            + extra)
    path = tmp_path / "deployment.toml"
    path.write_text(text)
    return str(path)


def write_secret(data_dir, secret):
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(data_dir, "server-secret"),
                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secret)


def schema_version():
    r = run_grantd("version")
    assert r.returncode == 0, r.stderr
    return int(re.search(r"^schema (\d+)$", r.stdout, re.M).group(1))


def dbname(url):
    return url.rsplit("/", 1)[1]


# -- check-config -----------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "mysql://x",                                  # not a PostgreSQL URL
    "postgresql://grantd:pw@127.0.0.1/db?nosuch=1",  # libpq rejects the parameter
    "host='unterminated",                         # conninfo with an open quote
    "just some words",                            # neither form
    None,                                         # type postgres without url
])
def test_check_config_refuses_a_malformed_url(tmp_path, url):
    r = run_grantd("check-config", "-c", write_config(tmp_path, url), timeout=30)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "configuration error" in r.stderr, r.stderr
    assert "[database] url" in r.stderr or "database.url" in r.stderr, r.stderr
    assert "configuration OK" not in r.stderr


@pytest.mark.parametrize("form", ["url", "query", "conninfo", "env"])
def test_check_config_masks_the_password(tmp_path, form):
    pw = "Sekr1t-pg-Pw-" + os.urandom(4).hex()
    env = None
    if form == "url":
        cfg = write_config(tmp_path, f"postgresql://grantd:{pw}@127.0.0.1:5432/grantd")
    elif form == "query":
        cfg = write_config(tmp_path, f"postgres://grantd@127.0.0.1/grantd?password={pw}"
                                     "&sslmode=disable")
    elif form == "conninfo":
        cfg = write_config(tmp_path, f"host=127.0.0.1 dbname=grantd password={pw} user=g")
    else:
        cfg = write_config(tmp_path, "postgresql://grantd@127.0.0.1/nope")
        env = {"GRANTD_DATABASE_URL": f"postgresql://grantd:{pw}@127.0.0.1/grantd"}
    r = run_grantd("check-config", "-c", cfg, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stderr
    assert pw not in r.stdout + r.stderr
    url_line = [x for x in r.stdout.splitlines() if x.startswith("url = ")]
    assert len(url_line) == 1 and "****" in url_line[0], r.stdout


# -- serve: a database it cannot use ---------------------------------------------

def serve_fails(cfg, secret_word):
    """Runs `grantd serve` to its exit (bounded): returns its stderr."""
    try:
        r = run_grantd("serve", "-c", cfg, env={"GRANTD_ADMIN_PASSWORD": ADMIN_PASSWORD},
                       timeout=30)
    except subprocess.TimeoutExpired:  # run() has killed it
        pytest.fail("grantd serve did not exit within 30 s on an unusable database")
    out = r.stdout + r.stderr
    if not POSTGRES and NO_POSTGRES_BACKEND in out:
        pytest.skip("this grantd build has no PostgreSQL backend")
    assert r.returncode == 1, (r.returncode, out)  # not a signal (negative)
    assert secret_word not in out
    assert "database unavailable: cannot connect to postgresql://grantd:****@" in r.stderr, \
        r.stderr
    return r.stderr


def test_serve_with_a_wrong_password_exits_1(tmp_path, pg):
    wrong = "Wrong-Pw-" + os.urandom(4).hex()
    cfg = write_config(tmp_path, pg.url(dbname(pg.create_database()), password=wrong),
                       'connect_timeout = "2s"\n')
    err = serve_fails(cfg, wrong)
    assert "password authentication failed" in err
    assert pg.password not in err


def test_serve_on_a_closed_port_exits_1(tmp_path):
    pw = "Closed-Pw-" + os.urandom(4).hex()
    port = free_port()  # nothing listens there
    cfg = write_config(tmp_path, f"postgresql://grantd:{pw}@127.0.0.1:{port}/grantd",
                       'connect_timeout = "2s"\n')
    err = serve_fails(cfg, pw)
    assert "Connection refused" in err


def test_serve_on_a_missing_database_exits_1(tmp_path, pg):
    cfg = write_config(tmp_path, pg.url("no_such_database_here"), 'connect_timeout = "2s"\n')
    err = serve_fails(cfg, pg.password)
    assert 'database "no_such_database_here" does not exist' in err


# -- two nodes at once on an empty database ----------------------------------------

def test_two_nodes_start_at_once_on_an_empty_database(tmp_path, pg):
    url = pg.create_database()
    secret = os.urandom(SECRET_LEN)
    nodes = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        s = Server(tmp_path / name, database_url=url)
        write_secret(s.data_dir, secret)  # as operators do: one secret, every node
        nodes.append(s)
    barrier = threading.Barrier(2)
    errors = []

    def start(s):
        try:
            barrier.wait(timeout=30)
            s.start()
        except BaseException as ex:  # noqa: BLE001 - reported below
            errors.append(f"{ex}")

    threads = [threading.Thread(target=start, args=(s,)) for s in nodes]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        assert not errors, "\n".join(errors)
        a, b = nodes
        for s in nodes:
            r = s.get("/healthz")
            assert r.status_code == 200, r.text
        # an admin call on each: an application made on A is listed on B
        r = a.post("/api/server/v1/applications", auth=a.admin,
                   json={"name": "both-nodes",
                         "inboundProtocolConfiguration": {"oidc": {
                             "grantTypes": ["client_credentials"]}}})
        assert r.status_code == 201, r.text
        r = b.get("/api/server/v1/applications", auth=b.admin)
        assert r.status_code == 200, r.text
        assert "both-nodes" in r.text
        # the same signing key on both
        ja, jb = a.get("/oauth2/jwks"), b.get("/oauth2/jwks")
        assert ja.status_code == jb.status_code == 200
        assert ja.json() == jb.json() and len(ja.json()["keys"]) == 1
        # migrated once: one version row, and one node says it migrated
        db = dbname(url)
        assert pg.psql("SELECT count(*) || ' ' || max(version) FROM schema_version",
                       db) == f"1 {schema_version()}"
        assert pg.psql("SELECT count(*) FROM tenants", db) == "1"
        migrated = [s for s in nodes if "migrated from schema version 0" in s.log()]
        assert len(migrated) == 1, [s.log() for s in nodes]
    finally:
        for s in nodes:
            s.stop()


# -- a foreign server secret -----------------------------------------------------

def test_a_foreign_server_secret_stops_start_up(tmp_path, pg):
    url = pg.create_database()
    (tmp_path / "first").mkdir()
    first = Server(tmp_path / "first", database_url=url).start()
    try:
        assert first.get("/oauth2/jwks").status_code == 200
    finally:
        first.stop()
    (tmp_path / "other").mkdir()
    other = Server(tmp_path / "other", database_url=url)
    write_secret(other.data_dir, os.urandom(SECRET_LEN))  # not first's
    try:
        r = run_grantd("serve", "-c", other.config_path, env=other.env, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("a node with a foreign server secret did not exit within 60 s")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "does not decrypt: was the server secret replaced?" in r.stderr, r.stderr
    assert " ready" not in r.stderr
    assert "PRIVATE" not in r.stderr and pg.password not in r.stdout + r.stderr
    # the right secret still opens it
    first.start()
    try:
        assert first.get("/healthz").status_code == 200
    finally:
        first.stop()
