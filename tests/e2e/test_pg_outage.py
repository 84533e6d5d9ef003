"""A PostgreSQL outage at run time (docs/operations.md, "Several nodes
(PostgreSQL)"): while the database is down the node answers at once instead
of hanging - the token endpoint 503 `temporarily_unavailable` with
Retry-After, /healthz 503 `"database": "unreachable"`, the admin API 503 -
and when the database is back the node recovers by itself: /healthz 200, a
fresh grant works, and a token issued before the outage still introspects
active.

Runs in both suites on its own private PostgreSQL (not the session's: this
module stops it), created for the module and destroyed at its end; skipped
in a SQLite run when the PostgreSQL binaries are missing. Waiting is always
a loop of real requests up to a deadline, never a sleep.
"""
import time
import uuid

import jwt
import pytest

import util_certs as uc
import util_jwt as uj
from conftest import POSTGRES
from pgserver import PgServer

ISS = "https://idp.outage.example"
AUD = "https://grantd.test/oauth2/token"
KEY = uc.rsa_key()
CERT = uc.self_signed(KEY, "idp.outage.example")
TIMEOUT = 20  # per request: a request during the outage must not hang


@pytest.fixture(scope="module")
def own_pg():
    try:
        srv = PgServer().start()
    except (RuntimeError, FileNotFoundError) as ex:
        if POSTGRES:
            raise
        pytest.skip(f"PostgreSQL is not available: {ex}")
    try:
        yield srv
    finally:
        srv.destroy()


def assertion():
    c = uj.claims(AUD, jti=str(uuid.uuid4()), iss=ISS, sub="alice@example.com")
    return jwt.encode(c, KEY, algorithm="RS256")


def grant(srv, client):
    return srv.post("/oauth2/token", auth=client, headers=uj.FORM, timeout=TIMEOUT,
                    data={"grant_type": uj.JWT_BEARER, "assertion": assertion()})


def introspect(srv, auth, tok):
    r = srv.post("/oauth2/introspect", data={"token": tok}, auth=auth, headers=uj.FORM,
                 timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def poll(fn, deadline_s):
    """Calls fn() (a real request each time) until it returns a true value or
    the deadline has passed; returns the last value."""
    end = time.monotonic() + deadline_s
    while True:
        got = fn()
        if got or time.monotonic() > end:
            return got


def test_outage_answers_503_and_the_node_recovers(own_pg, make_server):
    node = make_server(database_url=own_pg.create_database(),
                       env={"GRANTD_DATABASE_CONNECT_TIMEOUT": "2s"}).start()
    uj.create_idp(node, uj.cert_idp("outageIDP", CERT, ISS, AUD))
    client = uj.create_app(node, "outage-app")
    rs = uj.create_app(node, "outage-rs", grants=("client_credentials",))
    before = uj.assert_tokens(grant(node, client))
    assert introspect(node, rs, before["access_token"])["active"] is True
    assert node.get("/healthz", timeout=TIMEOUT).status_code == 200

    own_pg.stop()
    try:
        # the token endpoint: 503 at once, every time, with Retry-After
        for _ in range(3):
            r = grant(node, client)
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "temporarily_unavailable", r.text
            assert r.headers.get("Retry-After") == "1", r.headers
            assert r.headers["Cache-Control"] == "no-store"
        # /healthz: 503 once its cached ping (1 s) has run out
        health = []
        down = poll(lambda: health.append(node.get("/healthz", timeout=TIMEOUT))
                    or health[-1].status_code == 503, 15)
        assert down, "/healthz did not report the database down within 15 s"
        assert health[-1].json() == {"status": "unavailable", "database": "unreachable"}
        # the admin API: credentials verified before (cached), and ones that
        # cannot be checked now (not a 401: the server cannot know)
        r = node.get(f"{uj.API}/applications", auth=node.admin, timeout=TIMEOUT)
        assert r.status_code == 503, r.text
        r = node.get(f"{uj.API}/applications", auth=("admin", "not-the-password"),
                     timeout=TIMEOUT)
        assert r.status_code == 503, r.text
        r = node.post(f"{uj.API}/applications", auth=node.admin, timeout=TIMEOUT,
                      json={"name": "during-outage", "inboundProtocolConfiguration": {
                          "oidc": {"grantTypes": ["client_credentials"]}}})
        assert r.status_code == 503, r.text
        # introspection needs the database as well
        r = node.post("/oauth2/introspect", data={"token": before["access_token"]},
                      auth=rs, headers=uj.FORM, timeout=TIMEOUT)
        assert r.status_code == 503, r.text
        assert node.proc.poll() is None, "the node exited during the outage"
    finally:
        own_pg.restart()

    health = []
    up = poll(lambda: health.append(node.get("/healthz", timeout=TIMEOUT))
              or health[-1].status_code == 200, 30)
    assert up, "/healthz did not recover within 30 s of the database's restart"
    assert health[-1].json() == {"status": "ok", "database": "ok"}
    uj.assert_tokens(grant(node, client))
    assert introspect(node, rs, before["access_token"])["active"] is True
    r = node.get(f"{uj.API}/applications", auth=node.admin, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert "during-outage" not in r.text and "outage-app" in r.text
    # the refresh token from before the outage still works, once
    r = uj.token(node, {"grant_type": "refresh_token",
                        "refresh_token": before["refresh_token"]}, auth=client)
    uj.assert_tokens(r)
