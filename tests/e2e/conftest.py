"""End-to-end harness: runs the real grantd binary on loopback.

Each `server` is a fresh process with a temporary data dir and an ephemeral
port. Readiness is read from the server's own log ("ready"), never from a
sleep. Requests verify TLS against the certificate the server generated.
"""
import os
import re
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


def free_port():
    """A currently free loopback port (for the optional plain-HTTP listener,
    whose 0 means "off" rather than "ephemeral")."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running grantd. Use .get/.post/... with paths; TLS is verified."""

    def __init__(self, tmp_path, extra_toml="", env=None, admin_password=ADMIN_PASSWORD,
                 http_port=False, config_text=None):
        self.data_dir = str(tmp_path / "data")
        self.config_path = str(tmp_path / "deployment.toml")
        if config_text is None:
            config_text = (
                "[server]\n"
                f'data_dir = "{self.data_dir}"\n'
                'bind = ["127.0.0.1"]\n'
                "port = 0\n"
                + (f"http_port = {free_port()}\n" if http_port else "")
                + extra_toml)
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
        self.proc = subprocess.Popen(
            [GRANTD, "serve", "-c", self.config_path], env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1)
        threading.Thread(target=self._pump, daemon=True).start()
        with self._cond:
            # Event-driven wait: the reader thread notifies on every line.
            ok = self._cond.wait_for(lambda: self._ready or self._eof, timeout=60)
        if not ok or not self._ready:
            self.stop()
            raise RuntimeError("grantd did not start:\n" + self.log())
        return self

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


def run_grantd(*args, env=None, timeout=60):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([GRANTD, *args], capture_output=True, text=True, env=e,
                          timeout=timeout)
