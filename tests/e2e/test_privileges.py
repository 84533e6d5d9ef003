"""Issues 9 and 10: least privilege and the systemd unit, against the real binary.

Started as root with [server] user, grantd switches to that user before any
thread exists (all four uids and gids, every thread, no supplementary group,
no_new_privs); the data dir and the files it creates are the user's, 0700 and
0600; the server still writes after the switch. An unknown user, a non-root
start as another user, a TLS key or data dir others may write: exit 1 with a
message. Root without [server] user: a warning. The unit passes
systemd-analyze verify. Tests that need root skip without it (CI runs as root).
"""
import os
import pwd
import re
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

import util_certs as uc
import util_jwt as uj
from conftest import GRANTD, Server

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="needs root: starts grantd as root to "
                                "switch users (CI runs the e2e suite as root)")
UNIT_IN = os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "grantd.service.in")


@pytest.fixture
def base():
    """A directory every user may search: pytest's tmp_path lives under a 0700
    directory of root's, which the switched user could not reach."""
    d = tempfile.mkdtemp(prefix="grantd-priv-")
    os.chmod(d, 0o755)
    n = [0]

    def sub():
        n[0] += 1
        p = os.path.join(d, f"s{n[0]}")
        os.mkdir(p, 0o755)
        return Path(p)

    yield sub
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def servers():
    started = []
    yield started
    for s in started:
        s.stop()


def nobody():
    return pwd.getpwnam("nobody")


def status_ids(pid, task=None):
    path = f"/proc/{pid}/status" if task is None else f"/proc/{pid}/task/{task}/status"
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def serve_rc(s, **kw):
    """Runs `grantd serve` on s's config until it exits (it must: these starts
    fail before listening); `kw` as for subprocess.run (user=, group=)."""
    return subprocess.run([GRANTD, "serve", "-c", s.config_path], env=s.env,
                          capture_output=True, text=True, timeout=60, **kw)


def assert_owned(path, uid, gid, mode):
    st = os.lstat(path)
    assert (st.st_uid, st.st_gid) == (uid, gid), path
    assert stat.S_IMODE(st.st_mode) == mode, f"{path}: {oct(stat.S_IMODE(st.st_mode))}"


def token_works(s):
    """Writes after the switch: an IdP, an application, a token (replay record,
    token rows)."""
    key = uc.rsa_key()
    aud = uj.alias(s)
    uj.create_idp(s, uj.cert_idp("priv-idp", uc.self_signed(key, "idp.example"),
                                 "https://idp.example", aud))
    cid, secret = uj.create_app(s, "priv-app")
    uj.assert_tokens(uj.jwt_grant(s, uj.mint(key, uj.claims(aud)), (cid, secret)))


# -- the switch ----------------------------------------------------------------

@needs_root
def test_root_switches_to_user(base, servers):
    pw = nobody()
    # A data dir two levels below an existing directory: grantd creates all three.
    top = base()
    data_dir = str(top / "a" / "b" / "data")
    s = Server(top, config_text=f'[server]\ndata_dir = "{data_dir}"\nbind = ["127.0.0.1"]\n'
               'port = 0\nuser = "nobody"\n')
    s.data_dir = data_dir
    servers.append(s)
    s.start()
    pid = s.proc.pid
    ids = status_ids(pid)
    assert ids["Uid"] == [str(pw.pw_uid)] * 4
    assert ids["Gid"] == [str(pw.pw_gid)] * 4
    assert ids["Groups"] == []
    assert ids["NoNewPrivs"] == ["1"]
    # Every thread (HTTP pool, store writer, key refresh) runs as the user.
    for task in os.listdir(f"/proc/{pid}/task"):
        t = status_ids(pid, task)
        assert t["Uid"] == [str(pw.pw_uid)] * 4 and t["Gid"] == [str(pw.pw_gid)] * 4, task
    assert f"switched to user nobody (uid {pw.pw_uid}, gid {pw.pw_gid})" in s.log()
    assert "running as root" not in s.log()

    token_works(s)

    u, g = pw.pw_uid, pw.pw_gid
    for d in (top / "a", top / "a" / "b", s.data_dir, os.path.join(s.data_dir, "tls")):
        assert_owned(d, u, g, 0o700)
    for name in ("grantd.db", "grantd.db-wal", "grantd.db-shm", "server-secret",
                 "grantd.lock", "tls/key.pem"):
        assert_owned(os.path.join(s.data_dir, name), u, g, 0o600)
    assert_owned(os.path.join(s.data_dir, "tls", "cert.pem"), u, g, 0o644)

    # A second start on the user's data dir, and it still writes.
    assert s.stop() == 0
    s.start()
    assert status_ids(s.proc.pid)["Uid"] == [str(u)] * 4
    r = s.post("/api/server/v1/applications", auth=s.admin,
               json={"name": "after-restart",
                     "inboundProtocolConfiguration": {"oidc": {"grantTypes": [uj.JWT_BEARER]}}})
    assert r.status_code == 201, r.text


@needs_root
def test_root_refuses_data_dir_of_another_user(base):
    top = base()
    s = Server(top, extra_toml='user = "nobody"\n')
    os.mkdir(s.data_dir, 0o700)  # root's
    r = serve_rc(s)
    assert r.returncode == 1, r.stderr
    assert f"{s.data_dir} belongs to uid 0, not to [server] user 'nobody'" in r.stderr
    assert "chown -R nobody" in r.stderr


@needs_root
@pytest.mark.parametrize("name", ["grantd.db", "tls"])
def test_root_refuses_root_owned_state_file(base, name):
    """A database or TLS dir a root start left behind is not taken over silently."""
    pw = nobody()
    top = base()
    s = Server(top, extra_toml='user = "nobody"\n')
    os.mkdir(s.data_dir, 0o700)
    os.chown(s.data_dir, pw.pw_uid, pw.pw_gid)
    path = os.path.join(s.data_dir, name)
    if name == "tls":
        os.mkdir(path, 0o700)
    else:
        open(path, "w").close()
    r = serve_rc(s)
    assert r.returncode == 1, r.stderr
    assert (f"{path} belongs to uid 0, not to [server] user 'nobody' (uid {pw.pw_uid}): "
            "chown -R nobody") in r.stderr


@needs_root
def test_root_reads_configured_tls_key_before_switch(base, servers):
    """A key only root may read (as in /etc/ssl/private) works: it is read first."""
    private = tempfile.mkdtemp(prefix="grantd-priv-key-")  # 0700, root's
    s = None
    try:
        extra, kp = configured_tls(private, 0o600)
        s = Server(base(), extra_toml=extra + 'user = "nobody"\n')
        servers.append(s)
        s.start()
        assert "switched to user nobody" in s.log()
        assert not os.path.exists(os.path.join(s.data_dir, "tls"))
        # The configured certificate is the one served (it names localhost only).
        with open(os.path.join(private, "cert.pem")) as f:
            want = ssl.PEM_cert_to_DER_cert(f.read())
        got = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", s.port)))
        assert got == want
    finally:
        if s is not None:
            s.stop()
        shutil.rmtree(private, ignore_errors=True)


@pytest.mark.parametrize("user,message", [
    ("no-such-user", "[server] user: no user named 'no-such-user' on this system"),
    ("root", "[server] user: 'root' is uid 0; name an unprivileged user"),
])
def test_bad_user_exits_1(base, user, message):
    s = Server(base(), extra_toml=f'user = "{user}"\n')
    r = serve_rc(s)
    assert r.returncode == 1, r.stderr
    assert message in r.stderr
    assert " ready " not in r.stderr


@needs_root
def test_non_root_as_another_user_exits_1(base):
    """Started as nobody with user = "daemon": only root can switch."""
    pw = nobody()
    top = base()
    os.chown(top, pw.pw_uid, pw.pw_gid)
    s = Server(top, extra_toml='user = "daemon"\n')
    r = serve_rc(s, user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
    assert r.returncode == 1, r.stderr
    d = pwd.getpwnam("daemon")
    assert (f"[server] user is 'daemon' (uid {d.pw_uid}) but grantd was started as uid "
            f"{pw.pw_uid}: only root can switch users") in r.stderr


@needs_root
def test_non_root_as_that_user_starts(base, servers):
    pw = nobody()
    top = base()
    os.chown(top, pw.pw_uid, pw.pw_gid)
    s = Server(top, extra_toml='user = "nobody"\n')
    os.chown(s.config_path, pw.pw_uid, pw.pw_gid)
    # Started as nobody by the harness itself: the same process control as start().
    env = s.env
    s.proc = subprocess.Popen([GRANTD, "serve", "-c", s.config_path], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              bufsize=1, user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
    servers.append(s)
    threading.Thread(target=s._pump, daemon=True).start()
    assert s.wait_log(r" ready "), s.log()
    assert "switched to user" not in s.log()
    assert status_ids(s.proc.pid)["Uid"] == [str(pw.pw_uid)] * 4


@needs_root
def test_root_without_user_warns(make_server):
    s = make_server().start()
    assert ("running as root; set [server] user to an unprivileged user" in s.log())
    assert s.log().count("running as root") == 1


# -- file modes ----------------------------------------------------------------

def configured_tls(tmp, mode):
    key = uc.ec_key()
    cert = uc.self_signed(key, "localhost")
    cp, kp = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    with open(cp, "w") as f:
        f.write(uc.cert_pem(cert))
    with open(kp, "w") as f:
        f.write(uc.private_pem(key))
    os.chmod(kp, mode)
    return f'tls_cert = "{cp}"\ntls_key = "{kp}"\n', kp


@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602], ids=lambda m: f"{m:04o}")
def test_tls_key_writable_by_others_exits_1(base, mode):
    top = base()
    extra, kp = configured_tls(str(top), mode)
    s = Server(top, extra_toml=extra)
    r = serve_rc(s)
    assert r.returncode == 1, r.stderr
    assert (f"{kp}: the TLS private key is writable by group or others (mode {mode:04o}): "
            "chmod 600 it") in r.stderr


def test_generated_tls_key_made_writable_exits_1(make_server):
    s = make_server().start()
    assert s.stop() == 0
    kp = os.path.join(s.data_dir, "tls", "key.pem")
    os.chmod(kp, 0o666)
    r = serve_rc(s)
    assert r.returncode == 1, r.stderr
    assert f"{kp}: the TLS private key is writable by group or others (mode 0666)" in r.stderr


def test_tls_key_readable_by_group_warns(base, servers):
    top = base()
    extra, kp = configured_tls(str(top), 0o640)
    s = Server(top, extra_toml=extra)
    servers.append(s)
    s.start()
    assert (f"{kp}: the TLS private key is readable by group or others (mode 0640); "
            "0600 is safer") in s.log()


def test_data_dir_writable_by_others_exits_1(make_server):
    s = make_server()
    os.mkdir(s.data_dir, 0o700)
    os.chmod(s.data_dir, 0o770)
    r = serve_rc(s)
    assert r.returncode == 1, r.stderr
    assert (f"data dir {s.data_dir} is writable by group or others (mode 0770): chmod 700 it"
            in r.stderr)


# -- the service manager ---------------------------------------------------------

def test_sd_notify_ready_and_stopping(base, servers):
    """Type=notify: READY=1 once listening, STOPPING=1 at SIGTERM, on the socket
    $NOTIFY_SOCKET names (connected before any user switch)."""
    top = base()
    path = str(top / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(60)  # a bound on a hang, not a synchronisation
    try:
        extra = 'user = "nobody"\n' if ROOT else ""
        s = Server(top, extra_toml=extra, env={"NOTIFY_SOCKET": path})
        servers.append(s)
        s.start()
        assert sock.recv(4096) == b"READY=1"
        assert s.stop() == 0
        assert sock.recv(4096) == b"STOPPING=1"
    finally:
        sock.close()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_unit_verifies(tmp_path):
    with open(UNIT_IN) as f:
        text = f.read()
    text = (text.replace("@bindir@", os.path.dirname(os.path.abspath(GRANTD)))
            .replace("@sysconfdir@", "/etc"))
    unit = tmp_path / "grantd.service"
    unit.write_text(text)
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                       timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    # Unknown or misspelt settings are only warnings (naming the unit): none.
    assert "grantd.service" not in out, out
    for key in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/grantd",
                "PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet=\n",
                "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes",
                "LockPersonality=yes", "Type=notify", "User=grantd", "StateDirectoryMode=0700",
                "UMask=0077"):
        assert key in text, key


@needs_root
def test_root_refuses_unreachable_data_dir(base):
    """The data dir below a directory only root may search: named after the switch."""
    top = base()
    os.chmod(top, 0o700)
    s = Server(top, extra_toml='user = "nobody"\n')
    r = serve_rc(s)
    assert r.returncode == 1, r.stderr
    assert (f"data dir {s.data_dir} is not accessible to [server] user 'nobody': Permission "
            "denied (each parent directory must be searchable by it)") in r.stderr


@needs_root
@pytest.mark.parametrize("key", ["port", "http_port"])
def test_root_refuses_privileged_port(base, key):
    """No capability is left after the switch: a port below 1024 is refused at once."""
    port = 80 if key == "http_port" else 443
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        start = int(f.read())
    if start <= port:
        pytest.skip(f"net.ipv4.ip_unprivileged_port_start is {start}: port {port} is allowed")
    top = base()
    ports = f"port = 0\nhttp_port = {port}\n" if key == "http_port" else f"port = {port}\n"
    s = Server(top, config_text=f'[server]\ndata_dir = "{top}/data"\nbind = ["127.0.0.1"]\n'
               + ports + 'user = "nobody"\n')
    r = serve_rc(s)
    assert r.returncode == 1, r.stderr
    assert (f"[server] {key} {port} is below {start}: after the switch to [server] user "
            "'nobody' it cannot be bound") in r.stderr
    assert not os.path.exists(os.path.join(str(top), "data"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_unit_exposure(tmp_path):
    """systemd-analyze security rates the sandbox: 'OK' (below 2.0 of 10)."""
    with open(UNIT_IN) as f:
        text = f.read().replace("@bindir@", os.path.dirname(os.path.abspath(GRANTD)))
    unit = tmp_path / "grantd.service"
    unit.write_text(text.replace("@sysconfdir@", "/etc"))
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0 and "offline" in r.stderr:
        pytest.skip("systemd-analyze security --offline needs systemd 250 or later")
    m = re.search(r"Overall exposure level for grantd\.service: (\d+\.\d+)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) < 2.0, r.stdout
