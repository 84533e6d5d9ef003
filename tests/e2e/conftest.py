"""End-to-end harness: runs the real grantd binary on loopback.

Each `server` is a fresh process with a temporary data dir and an ephemeral
port. Readiness is read from the server's own log ("ready"), never from a
sleep. Requests verify TLS against the certificate the server generated.

The store backend: env GRANTD_TEST_BACKEND=postgres makes every Server use
PostgreSQL - one private PgServer (tests/e2e/pgserver.py) for the whole
session, started when the first Server needs it and destroyed at the end,
and a fresh database for each Server (appended to its config as
`[database] type = "postgres"`, unless the test's config has its own
`[database]`). A Server stopped and started again keeps its database.
Unset (or "sqlite"), every Server uses its own SQLite file in its data dir.

Fixtures for PostgreSQL in either mode: `pg` (the session's PgServer; skips
when the PostgreSQL binaries are missing, or when this grantd has no
PostgreSQL backend) and `make_node` (a second Server on the database of a
first one, with its server secret: see Server.__init__ `peer`).
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import threading

import pytest
import requests

GRANTD = os.environ.get("GRANTD_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "grantd")
ADMIN_PASSWORD = "e2e-Admin-Passw0rd!"

# Loopback traffic must never go through a proxy from the environment.
os.environ["NO_PROXY"] = "127.0.0.1,localhost,::1"
os.environ["no_proxy"] = os.environ["NO_PROXY"]

LISTEN_RE = re.compile(r"listening (https?)://(\S+):(\d+)")

BACKEND = (os.environ.get("GRANTD_TEST_BACKEND") or "sqlite").strip().lower()
if BACKEND not in ("sqlite", "postgres"):
    raise RuntimeError(f"GRANTD_TEST_BACKEND={BACKEND!r}: use sqlite or postgres")
POSTGRES = BACKEND == "postgres"

# What a grantd without the PostgreSQL backend says (src/store/store.c): the
# PostgreSQL tests of a SQLite run skip then; a PostgreSQL run fails.
NO_POSTGRES_BACKEND = 'database.type "postgres" is not supported by this version'

DATABASE_TABLE_RE = re.compile(r"^[ \t]*\[[ \t]*database[ \t]*\]", re.M)


# -- the session's PostgreSQL ---------------------------------------------------

_pg = None
_pg_lock = threading.Lock()


def session_pg():
    """The session's private PgServer, started on first use. Raises
    RuntimeError when the PostgreSQL binaries are missing."""
    global _pg
    with _pg_lock:
        if _pg is None:
            from pgserver import PgServer
            pg = PgServer()
            try:
                pg.start()
            except BaseException:
                pg.destroy()
                raise
            _pg = pg
            atexit.register(_destroy_session_pg)  # also when pytest is interrupted
        return _pg


def _destroy_session_pg():
    global _pg
    with _pg_lock:
        pg, _pg = _pg, None
    if pg is not None:
        pg.destroy()


@pytest.fixture(scope="session", autouse=True)
def _session_postgres():
    """Destroys the session's PgServer, if a test started one, at the end."""
    yield
    _destroy_session_pg()


def postgres_config(url):
    return f'\n[database]\ntype = "postgres"\nurl = "{url}"\n'


def sqlite_only(reason):
    """Marks a test that inspects or alters the SQLite file itself: skipped
    when the suite runs on PostgreSQL."""
    return pytest.mark.skipif(POSTGRES, reason="SQLite only: " + reason)


def free_port():
    """A currently free loopback port (for the optional plain-HTTP listener,
    whose 0 means "off" rather than "ephemeral")."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running grantd. Use .get/.post/... with paths; TLS is verified."""

    def __init__(self, tmp_path, extra_toml="", env=None, admin_password=ADMIN_PASSWORD,
                 http_port=False, config_text=None, database_url=None, peer=None):
        """`database_url`: this PostgreSQL database, whatever the backend of
        the run. `peer`: another Server whose database this one shares (a
        second node), and whose server secret it gets before its first start
        (the secret is a file in the data dir; tokens' keyed hashes and the
        signing keys' encryption depend on it, so all nodes need the same)."""
        self.data_dir = str(tmp_path / "data")
        self.config_path = str(tmp_path / "deployment.toml")
        self.peer = peer
        if peer is not None:
            if database_url is None:
                database_url = peer.database_url
            assert database_url, "the peer Server has no PostgreSQL database"
        if config_text is None:
            config_text = (
                "[server]\n"
                f'data_dir = "{self.data_dir}"\n'
                'bind = ["127.0.0.1"]\n'
                "port = 0\n"
                + (f"http_port = {free_port()}\n" if http_port else "")
                + extra_toml)
        self.database_url = None
        if DATABASE_TABLE_RE.search(config_text):
            assert database_url is None, "the config has its own [database]"
        elif database_url is not None or POSTGRES:
            if database_url is None:
                database_url = session_pg().create_database()
            self.database_url = database_url
            config_text = config_text.rstrip("\n") + "\n" + postgres_config(database_url)
        self.config_text = config_text
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.env = dict(os.environ)
        self.env.pop("GRANTD_ADMIN_PASSWORD", None)
        self.env.pop("GRANTD_BIN", None)  # the harness's, not a config key
        if admin_password is not None:
            self.env["GRANTD_ADMIN_PASSWORD"] = admin_password
        self.env.update(env or {})
        self.admin_password = admin_password
        self.proc = None
        self.lines = []
        self.port = None
        self.http_port = None
        self._cond = threading.Condition()
        self._ready = False
        self._eof = False

    # -- process control -------------------------------------------------
    def start(self):
        self.lines = []
        self._ready = self._eof = False
        if self.peer is not None:
            self._copy_peer_secret()
        self.proc = subprocess.Popen(
            [GRANTD, "serve", "-c", self.config_path], env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1)
        threading.Thread(target=self._pump, daemon=True).start()
        with self._cond:
            # Event-driven wait: the reader thread notifies on every line.
            ok = self._cond.wait_for(lambda: self._ready or self._eof, timeout=60)
        if not ok or not self._ready:
            self.stop()
            if (not POSTGRES and self.database_url
                    and NO_POSTGRES_BACKEND in self.log()):
                pytest.skip("this grantd build has no PostgreSQL backend")
            raise RuntimeError("grantd did not start:\n" + self.log())
        return self

    def _copy_peer_secret(self):
        dst = os.path.join(self.data_dir, "server-secret")
        if os.path.exists(dst):
            return
        src = os.path.join(self.peer.data_dir, "server-secret")
        assert os.path.exists(src), "start the first node before its peer"
        os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
        tmp = dst + ".e2e"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f, open(src, "rb") as g:
            shutil.copyfileobj(g, f)
        os.rename(tmp, dst)

    def _pump(self):
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                m = LISTEN_RE.search(line)
                if m and m.group(2) in ("127.0.0.1", "[127.0.0.1]"):
                    if m.group(1) == "https":
                        self.port = int(m.group(3))
                    else:
                        self.http_port = int(m.group(3))
                if " ready " in line or line.rstrip().endswith(" ready"):
                    self._ready = True
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the server; returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        with self._cond:
            self._cond.wait_for(lambda: self._eof, timeout=10)
        self.proc = None
        return rc

    def kill9(self, timeout=30):
        """A crash: SIGKILL, no shutdown, no store close. Waits for the exit and
        the end of its log; returns the exit code (-9). start() restarts the
        server on the same data dir."""
        return self.stop(sig=signal.SIGKILL, timeout=timeout)

    def log(self):
        with self._cond:
            return "\n".join(self.lines)

    def wait_log(self, pattern, timeout=30):
        """Waits until a log line matches `pattern` (an event, not a sleep)."""
        rx = re.compile(pattern)
        with self._cond:
            ok = self._cond.wait_for(
                lambda: any(rx.search(x) for x in self.lines) or self._eof, timeout=timeout)
            return ok and any(rx.search(x) for x in self.lines)

    # -- HTTP --------------------------------------------------------------
    @property
    def cert(self):
        return os.path.join(self.data_dir, "tls", "cert.pem")

    @property
    def base(self):
        return f"https://127.0.0.1:{self.port}"

    def url(self, path):
        return self.base + path

    def request(self, method, path, **kw):
        kw.setdefault("verify", self.cert)
        kw.setdefault("timeout", 30)
        return requests.request(method, self.url(path), **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    @property
    def admin(self):
        return ("admin", self.admin_password)


@pytest.fixture
def make_server(tmp_path):
    servers = []

    def make(**kw):
        sub = tmp_path / f"s{len(servers)}"
        sub.mkdir()
        s = Server(sub, **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def server(make_server):
    return make_server().start()


@pytest.fixture
def pg():
    """The session's private PostgreSQL server (started on first use), in
    either mode. Skips when the PostgreSQL binaries are missing."""
    try:
        return session_pg()
    except RuntimeError as ex:
        if POSTGRES:
            raise
        pytest.skip(f"PostgreSQL is not available: {ex}")


@pytest.fixture
def make_node(make_server):
    """make_node(first, **kw): a Server on `first`'s PostgreSQL database with
    `first`'s server secret (start `first` before the node)."""
    def make(first, **kw):
        return make_server(peer=first, **kw)
    return make


def run_grantd(*args, env=None, timeout=60):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([GRANTD, *args], capture_output=True, text=True, env=e,
                          timeout=timeout)


# Tests that open, inspect or alter the SQLite file in the data dir itself
# (a trigger to force a 500, the stored hash bytes, the file's mode). On
# PostgreSQL there is no such file: they are skipped there; every other test
# runs on both backends. Their PostgreSQL counterparts are the store unit
# tests (tests/unit/store, the same suite on both backends) and
# test_nodes.py.
SQLITE_FILE_TESTS = {
    "test_admin_apps.py": ("test_super_admin_creates_and_reads_secret_once",
                           "test_regenerate_secret", "test_public_client_has_no_secret",
                           "test_private_key_jwt_client", "test_delete_revokes_tokens"),
    "test_admin_idp.py": ("test_disable_and_delete_revoke_tokens",),
    "test_durability.py": ("test_kill9_under_load_loses_no_answered_grant",
                           "test_concurrent_uses_of_one_refresh_token_one_wins",
                           "test_failed_jwt_grant_leaves_the_assertion_usable",
                           "test_failed_refresh_leaves_the_refresh_token_usable"),
    "test_foundation.py": ("test_data_dir_files_and_modes",
                           "test_super_tenant_and_argon2id_admin"),
    "test_import.py": ("test_cli_dry_run_writes_nothing",
                       "test_cli_hostile_file_refused_nothing_written"),
    "test_introspect_revoke.py": ("test_expired_tokens_are_inactive",
                                  "test_tokens_issued_before_time_ordered_keys_still_work"),
    "test_jwt_access_tokens.py": ("test_jwt_tokens_are_stored_by_hash_and_jti",),
    "test_privileges.py": ("test_root_switches_to_user",),
    "test_server_keys.py": ("test_private_keys_are_stored_encrypted",
                            "test_first_start_creates_the_key_and_a_foreign_secret_stops_start_up"),
}


def pytest_collection_modifyitems(config, items):
    if not POSTGRES:
        return
    for item in items:
        names = SQLITE_FILE_TESTS.get(os.path.basename(str(item.fspath)), ())
        if item.originalname in names:
            item.add_marker(pytest.mark.skip(
                reason="SQLite only: reads or alters the SQLite database file"))
