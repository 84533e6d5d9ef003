"""Issue 7: what the token endpoint promises about durability and atomicity,
checked against the real binary from outside.

- kill -9 under load loses nothing that was answered with 200: after a restart
  every such assertion is a replay, every such refresh token works and every
  such token's keyed hash is in the database;
- of N concurrent uses of one assertion or one refresh token exactly one
  succeeds, and reusing a rotated refresh token revokes its chain;
- a 500 burns nothing: a store write made to fail from outside (a SQLite
  trigger added to the live database) leaves the assertion's jti and the
  refresh token usable.

No sleeps: the load is stopped by SIGKILL once a counter says enough 200s were
seen, the concurrent requests are released by a barrier, and every loop is
bounded by a list of inputs or a thread count.
"""
import concurrent.futures
import contextlib
import os
import re
import signal
import sqlite3
import threading
import uuid

import jwt
import pytest
import requests

import util_certs as uc
import util_jwt as uj

ISS = "https://idp.example"
# The port is ephemeral and changes on restart: an alias that does not name it.
AUD = "https://grantd.test/oauth2/token"


class Keys:
    idp = uc.rsa_key()
    idp_cert = uc.self_signed(idp, "idp.example")


def assertion(jti=None):
    """An RS256 assertion with a fresh (or the given) jti."""
    c = uj.claims(AUD, jti=jti or str(uuid.uuid4()))
    return c["jti"], jwt.encode(c, Keys.idp, algorithm="RS256")


def setup_tenant(srv, name="durable-app"):
    """The IdP (RS256 certificate) and an application with jwt-bearer and
    refresh_token (rotation on: the default). Returns the client's Basic auth."""
    uj.create_idp(srv, uj.cert_idp("jwtIDP", Keys.idp_cert, ISS, AUD))
    cid, secret = uj.create_app(srv, name, grants=(uj.JWT_BEARER, "refresh_token"))
    return cid, secret


def session(srv):
    """A keep-alive session that trusts only the server's certificate (and no
    proxy or CA bundle from the environment)."""
    s = requests.Session()
    s.trust_env = False
    s.verify = srv.cert
    return s


def post_token(sess, srv, data, auth, timeout=30):
    # verify passed per request as well: a request-level value always wins.
    return sess.post(srv.url("/oauth2/token"), data=data, auth=auth, verify=srv.cert,
                     headers=uj.FORM, timeout=timeout)


def jwt_data(a):
    return {"grant_type": uj.JWT_BEARER, "assertion": a}


def refresh_data(rt):
    return {"grant_type": "refresh_token", "refresh_token": rt}


def db_path(srv):
    return os.path.join(srv.data_dir, "grantd.db")


def db_ro(srv):
    """A read-only connection to the live database, closed on leaving `with`."""
    return contextlib.closing(
        sqlite3.connect(f"file:{db_path(srv)}?mode=ro", uri=True, timeout=10))


def server_secret(srv):
    """data_dir/server-secret: 32 raw bytes (src/app/bootstrap.c)."""
    with open(os.path.join(srv.data_dir, "server-secret"), "rb") as f:
        key = f.read()
    assert len(key) == 32
    return key


def keyed_hash(key, tok):
    """What the store keeps of a token (util_jwt.token_key)."""
    return uj.token_key(key, tok)


def tokens_columns(srv):
    with db_ro(srv) as db:
        return {row[1] for row in db.execute("PRAGMA table_info(tokens)")}


BAD_LOG = re.compile(r"corrupt|malformed|disk image|not a database", re.I)


# -- 1. kill -9 under load -------------------------------------------------------

N_ASSERTIONS = 3000
N_CLIENTS = 16
KILL_AFTER = 300


def test_kill9_under_load_loses_no_answered_grant(make_server):
    srv = make_server().start()
    auth = setup_tenant(srv)
    todo = [assertion() for _ in range(N_ASSERTIONS)]
    assert len({j for j, _ in todo}) == N_ASSERTIONS

    lock = threading.Lock()
    enough = threading.Event()
    next_i = [0]
    answered = []    # (jti, assertion, access_token, refresh_token): a complete 200
    unanswered = []  # (jti, assertion, exception): in flight at the kill, or sent after it
    unexpected = []  # any other HTTP answer before the kill

    sessions = [session(srv) for _ in range(N_CLIENTS)]
    for s in sessions:  # TLS handshakes and keep-alive connections up front
        assert s.get(srv.url("/healthz"), verify=srv.cert, timeout=30).status_code == 200

    def client(sess):
        while True:
            with lock:
                i = next_i[0]
                if i >= len(todo):
                    return
                next_i[0] = i + 1
            jti, a = todo[i]
            try:
                r = post_token(sess, srv, jwt_data(a), auth)
                body = r.json() if r.status_code == 200 else None
            except (requests.RequestException, ValueError) as ex:
                with lock:
                    unanswered.append((jti, a, repr(ex)))
                return  # stop at the first connection error
            with lock:
                if body is None or not body.get("access_token") or not body.get("refresh_token"):
                    unexpected.append((r.status_code, r.text[:300]))
                    enough.set()  # nothing to wait for: fail below
                    return
                answered.append((jti, a, body["access_token"], body["refresh_token"]))
                if len(answered) >= KILL_AFTER:
                    enough.set()

    threads = [threading.Thread(target=client, args=(s,), daemon=True) for s in sessions]
    for t in threads:
        t.start()
    try:
        reached = enough.wait(timeout=60)
        running = sum(t.is_alive() for t in threads)
        rc = srv.kill9()
    finally:
        for t in threads:
            t.join(timeout=60)
        for s in sessions:
            s.close()
    assert not any(t.is_alive() for t in threads), "a client thread did not stop"
    assert reached, f"only {len(answered)} answers in 60 s"
    assert not unexpected, unexpected[:5]
    assert rc == -signal.SIGKILL, rc
    assert running == N_CLIENTS, "the load ended before the kill"
    n_before = len(answered)
    assert n_before >= KILL_AFTER
    assert n_before + len(unanswered) <= N_ASSERTIONS

    srv.start()
    # (c) The rows are in the database: the keyed hash of every answered
    # access and refresh token, computed independently from the server secret.
    key = server_secret(srv)
    assert {"hash", "kind"} <= tokens_columns(srv)
    with db_ro(srv) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = dict(db.execute("SELECT hash, kind FROM tokens"))
    missing_at = [j for j, _, at, _ in answered if stored.get(keyed_hash(key, at)) != 1]
    missing_rt = [j for j, _, _, rt in answered if stored.get(keyed_hash(key, rt)) != 2]
    assert not missing_at, f"{len(missing_at)}/{n_before} answered access tokens lost"
    assert not missing_rt, f"{len(missing_rt)}/{n_before} answered refresh tokens lost"

    local = threading.local()

    def sess():
        if not hasattr(local, "s"):
            local.s = session(srv)
        return local.s

    def check(item):
        jti, a, _, rt = item
        # (a) the jti record survived: the same assertion is a replay ...
        r = post_token(sess(), srv, jwt_data(a), auth)
        body = uj.assert_oauth_error(r, 400, "invalid_grant", "assertion replayed")
        assert "jti" in body["error_description"], body
        # (b) ... and the refresh token row survived: it still works.
        uj.assert_tokens(post_token(sess(), srv, refresh_data(rt), auth))
        return jti

    def probe(item):
        """An assertion the client never saw answered: either its jti was
        recorded (the answer was lost with the process) or nothing was."""
        jti, a, _ = item
        r = post_token(sess(), srv, jwt_data(a), auth)
        if r.status_code == 200:
            uj.assert_tokens(r)
            return "nothing recorded"
        uj.assert_oauth_error(r, 400, "invalid_grant", "assertion replayed")
        return "jti recorded"

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        assert sorted(ex.map(check, answered)) == sorted(j for j, *_ in answered)
        fates = list(ex.map(probe, unanswered))

    log = srv.log()
    assert not BAD_LOG.search(log), log
    assert " ERROR " not in log, log
    print(f"\nkill -9 after {n_before} answered grants (threshold {KILL_AFTER}, "
          f"{N_CLIENTS} clients); {len(unanswered)} requests unanswered: "
          f"{fates.count('jti recorded')} with the jti recorded, "
          f"{fates.count('nothing recorded')} with nothing recorded; "
          f"all {n_before} answered grants survived")


# -- 2. exactly one of N concurrent uses wins ------------------------------------

N_RACERS = 32
# Every racer connects from 127.0.0.1: more than the default 32 per address.
PER_ADDRESS = "max_connections_per_address = 64\n"
ROUNDS = 3


@pytest.fixture
def racers(make_server):
    """A server, its client and N_RACERS keep-alive sessions with their TLS
    connections already open, so the barrier releases requests, not handshakes."""
    srv = make_server(extra_toml=PER_ADDRESS).start()
    auth = setup_tenant(srv)
    sessions = [session(srv) for _ in range(N_RACERS)]
    for s in sessions:
        assert s.get(srv.url("/healthz"), verify=srv.cert, timeout=30).status_code == 200
    yield srv, auth, sessions
    for s in sessions:
        s.close()


def race(srv, auth, sessions, data):
    """Posts `data` from every session at once; returns the responses."""
    barrier = threading.Barrier(len(sessions), timeout=30)
    out = [None] * len(sessions)

    def go(i):
        barrier.wait()
        try:
            out[i] = post_token(sessions[i], srv, data, auth)
        except requests.RequestException as ex:
            out[i] = ex

    threads = [threading.Thread(target=go, args=(i,), daemon=True)
               for i in range(len(sessions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    errors = [r for r in out if not isinstance(r, requests.Response)]
    assert not errors, errors[:3]
    return out


def test_concurrent_uses_of_one_assertion_one_wins(racers):
    srv, auth, sessions = racers
    for _ in range(ROUNDS):
        _, a = assertion()
        out = race(srv, auth, sessions, jwt_data(a))
        wins = [r for r in out if r.status_code == 200]
        assert len(wins) == 1, [(r.status_code, r.text[:200]) for r in out]
        body = uj.assert_tokens(wins[0])
        for r in out:
            if r is not wins[0]:
                uj.assert_oauth_error(r, 400, "invalid_grant", "assertion replayed")
        # The winner's tokens are real.
        uj.assert_tokens(post_token(sessions[0], srv, refresh_data(body["refresh_token"]), auth))
    assert " ERROR " not in srv.log()


def test_concurrent_uses_of_one_refresh_token_one_wins(racers):
    srv, auth, sessions = racers
    key = server_secret(srv)
    for _ in range(ROUNDS):
        _, a = assertion()
        first = uj.assert_tokens(post_token(sessions[0], srv, jwt_data(a), auth))
        rt0 = first["refresh_token"]
        out = race(srv, auth, sessions, refresh_data(rt0))
        wins = [r for r in out if r.status_code == 200]
        assert len(wins) == 1, [(r.status_code, r.text[:200]) for r in out]
        win = uj.assert_tokens(wins[0])
        assert win["refresh_token"] != rt0
        for r in out:
            if r is not wins[0]:
                # "already used ... chain is now revoked", or "has been
                # revoked" when another loser revoked the chain first.
                body = uj.assert_oauth_error(r, 400, "invalid_grant", secrets=[rt0])
                assert re.search(r"already used|revoked", body["error_description"]), body
        # docs/jwt-grant.md section 6: presenting a
        # rotated refresh token revokes every token of its chain. The losers
        # did, so the winner's new tokens are revoked too.
        with db_ro(srv) as db:
            revoked = dict(db.execute("SELECT hash, revoked FROM tokens"))
        assert revoked.get(keyed_hash(key, win["access_token"])) == 1, \
            "the winner's access token survived the losers' reuse"
        r = post_token(sessions[0], srv, refresh_data(win["refresh_token"]), auth)
        uj.assert_oauth_error(r, 400, "invalid_grant", "revoked", secrets=[win["refresh_token"]])
        # Once more, sequentially: a reuse is refused, and the chain stays dead.
        r = post_token(sessions[0], srv, refresh_data(rt0), auth)
        uj.assert_oauth_error(r, 400, "invalid_grant")
        r = post_token(sessions[0], srv, refresh_data(win["refresh_token"]), auth)
        uj.assert_oauth_error(r, 400, "invalid_grant", "revoked")
    assert " ERROR " not in srv.log()


# -- 3. a 5xx burns nothing -----------------------------------------------------

KIND = {"access": 1, "refresh": 2}


class Burned(AssertionError):
    """The input of a request answered 500 was used up anyway."""


def inject(srv, kind):
    """Makes every insert of a token of `kind` fail, from outside the process."""
    assert {"kind"} <= tokens_columns(srv)
    db = sqlite3.connect(db_path(srv), timeout=10, isolation_level=None)
    try:
        db.execute(f"CREATE TRIGGER e2e_inject BEFORE INSERT ON tokens WHEN NEW.kind = {kind} "
                   "BEGIN SELECT RAISE(ABORT, 'injected'); END")
    finally:
        db.close()


def heal(srv):
    db = sqlite3.connect(db_path(srv), timeout=10, isolation_level=None)
    try:
        db.execute("DROP TRIGGER e2e_inject")
    finally:
        db.close()


def assert_server_error(srv, r, secrets=()):
    body = uj.assert_oauth_error(r, 500, "server_error", secrets=secrets)
    assert "access_token" not in r.text and "refresh_token" not in body
    assert srv.wait_log(r" ERROR ", timeout=10), srv.log()  # logged as an error
    return body


@pytest.fixture
def srv5xx(make_server):
    srv = make_server().start()
    return srv, setup_tenant(srv)


@pytest.mark.parametrize("kind", ["access", "refresh"])
def test_failed_jwt_grant_leaves_the_assertion_usable(srv5xx, kind):
    srv, auth = srv5xx
    with requests.Session() as s:
        s.trust_env = False
        jti, a = assertion()
        inject(srv, KIND[kind])
        try:
            r = post_token(s, srv, jwt_data(a), auth)
            assert_server_error(srv, r, secrets=[a])
        finally:
            heal(srv)
        r = post_token(s, srv, jwt_data(a), auth)
        if r.status_code != 200:
            raise Burned(f"jti {jti} used up by a request answered 500: {r.status_code} {r.text}")
        uj.assert_tokens(r)
        # And now it is used.
        uj.assert_oauth_error(post_token(s, srv, jwt_data(a), auth), 400, "invalid_grant",
                              "assertion replayed")


def test_failed_refresh_leaves_the_refresh_token_usable(srv5xx):
    srv, auth = srv5xx
    key = server_secret(srv)
    with requests.Session() as s:
        s.trust_env = False
        _, a = assertion()
        first = uj.assert_tokens(post_token(s, srv, jwt_data(a), auth))
        rt0 = first["refresh_token"]
        inject(srv, KIND["refresh"])
        try:
            r = post_token(s, srv, refresh_data(rt0), auth)
            assert_server_error(srv, r, secrets=[rt0])
        finally:
            heal(srv)
        r = post_token(s, srv, refresh_data(rt0), auth)
        if r.status_code != 200:
            raise Burned(f"refresh token used up by a request answered 500: "
                         f"{r.status_code} {r.text}")
        second = uj.assert_tokens(r)
        # The first grant's tokens were not revoked by the retry.
        with db_ro(srv) as db:
            revoked = dict(db.execute("SELECT hash, revoked FROM tokens"))
        assert revoked.get(keyed_hash(key, first["access_token"])) == 0
        uj.assert_tokens(post_token(s, srv, refresh_data(second["refresh_token"]), auth))
