"""Issue: foundation — CLI, config errors, HTTPS, bootstrap, bad input."""
import os
import socket
import ssl
import sqlite3
import stat

import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import ADMIN_PASSWORD, run_grantd


# -- CLI ----------------------------------------------------------------------

def test_version_and_help():
    r = run_grantd("version")
    assert r.returncode == 0
    assert r.stdout.startswith("grantd ")
    assert "OpenSSL 3" in r.stdout
    for args in (["--help"], ["serve", "--help"], ["check-config", "--help"], ["version", "--help"]):
        r = run_grantd(*args)
        assert r.returncode == 0, args
        assert "usage: grantd" in r.stdout


def test_usage_errors_exit_2():
    assert run_grantd().returncode == 2
    r = run_grantd("frobnicate")
    assert r.returncode == 2 and "unknown command" in r.stderr
    r = run_grantd("serve", "--bogus")
    assert r.returncode == 2 and "unexpected argument" in r.stderr


def test_check_config_defaults():
    r = run_grantd("check-config")
    assert r.returncode == 0, r.stderr
    assert "port = 9443" in r.stdout
    assert 'iat_validity_period = "30m"' in r.stdout
    assert "[oauth.grant_type.jwt]" in r.stdout


def test_check_config_names_file_and_line(tmp_path):
    p = tmp_path / "deployment.toml"
    p.write_text('[server]\nport = 9443\nhostnme = "x"\n')
    r = run_grantd("check-config", "-c", str(p))
    assert r.returncode == 2
    assert f"{p}:3" in r.stderr
    assert "hostnme" in r.stderr


def test_check_config_wrong_type_and_duplicate(tmp_path):
    p = tmp_path / "a.toml"
    p.write_text('[server]\nport = "94x3"\n')
    r = run_grantd("check-config", "-c", str(p))
    assert r.returncode == 2 and f"{p}:2" in r.stderr
    p.write_text('[server]\nport = 1\nport = 2\n')
    r = run_grantd("check-config", "-c", str(p))
    assert r.returncode == 2 and f"{p}:3" in r.stderr


def test_check_config_wso2_spellings(tmp_path):
    # WSO2's own snippet, quoted values and all, is accepted and shown normalised.
    p = tmp_path / "wso2.toml"
    p.write_text('[oauth.grant_type.jwt]\nenable_iat_validation = "true"\n'
                 'iat_validity_period = "30"\n')
    r = run_grantd("check-config", "-c", str(p))
    assert r.returncode == 0, r.stderr
    assert "\nenable_iat_validation = true\n" in r.stdout
    assert '\niat_validity_period = "30m"\n' in r.stdout
    # A WSO2 setting grantd does not implement is named as one, with its line.
    p.write_text('[server]\nhostname = "localhost"\nnode_ip = "127.0.0.1"\n')
    r = run_grantd("check-config", "-c", str(p))
    assert r.returncode == 2
    assert (f"{p}:3: [server] node_ip: a WSO2 Identity Server setting that grantd does not "
            "support") in r.stderr


def test_check_config_env_override(tmp_path):
    r = run_grantd("check-config", env={"GRANTD_OAUTH_GRANT_TYPE_JWT_IAT_VALIDITY_PERIOD": "45"})
    assert r.returncode == 0, r.stderr
    assert 'iat_validity_period = "45m"' in r.stdout
    r = run_grantd("check-config", env={"GRANTD_SERVER_PORT": "not-a-port"})
    assert r.returncode == 2
    assert "GRANTD_SERVER_PORT" in r.stderr


def test_example_config_is_valid():
    here = os.path.dirname(__file__)
    r = run_grantd("check-config", "-c", os.path.join(here, "..", "..", "deployment.toml.example"))
    assert r.returncode == 0, r.stderr


def test_bad_config_never_starts_server(tmp_path):
    p = tmp_path / "d.toml"
    data = tmp_path / "data"
    p.write_text(f'[server]\ndata_dir = "{data}"\nport = 0\n[oauth]\ntimestamp_skew = "soon"\n')
    r = run_grantd("serve", "-c", str(p))
    assert r.returncode == 2
    assert f"{p}:5" in r.stderr
    assert not data.exists(), "a bad config must not create state"


# -- first start, HTTPS ---------------------------------------------------------

def test_healthz_over_https_with_generated_p256_cert(server):
    r = server.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}
    assert r.headers["Content-Type"].startswith("application/json")
    cert = x509.load_pem_x509_certificate(open(server.cert, "rb").read())
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    ips = {str(i) for i in san.get_values_for_type(x509.IPAddress)}
    assert {"127.0.0.1", "::1"} <= ips


def test_tls_versions(server):
    ctx = ssl.create_default_context(cafile=server.cert)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        try:
            with ctx.wrap_socket(s, server_hostname="localhost"):
                refused = False
        except (ssl.SSLError, OSError):
            refused = True
    assert refused, "TLS 1.1 must be refused"
    ctx = ssl.create_default_context(cafile=server.cert)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            assert t.version() == "TLSv1.3"


def test_data_dir_files_and_modes(server):
    d = server.data_dir
    for name in ("server-secret", "tls/key.pem", "grantd.db"):
        assert os.path.exists(os.path.join(d, name)), name
    for name in ("server-secret", "tls/key.pem"):
        mode = stat.S_IMODE(os.stat(os.path.join(d, name)).st_mode)
        assert mode == 0o600, (name, oct(mode))
    assert os.path.getsize(os.path.join(d, "server-secret")) == 32
    # Password came from the environment: not written, not printed.
    assert not os.path.exists(os.path.join(d, "admin-password"))
    assert ADMIN_PASSWORD not in server.log()


def test_super_tenant_and_argon2id_admin(server):
    server.stop()
    db = sqlite3.connect(os.path.join(server.data_dir, "grantd.db"))
    domains = [r[0] for r in db.execute("SELECT domain FROM tenants")]
    assert domains == ["carbon.super"]
    (h,) = db.execute("SELECT pw_hash FROM admin_users WHERE username = 'admin'").fetchone()
    assert h.startswith("$argon2id$")
    assert ADMIN_PASSWORD not in h


def test_generated_admin_password_printed_once(make_server):
    s = make_server(admin_password=None).start()
    pw_file = os.path.join(s.data_dir, "admin-password")
    assert stat.S_IMODE(os.stat(pw_file).st_mode) == 0o600
    pw = open(pw_file).read().strip()
    assert len(pw) >= 20
    assert s.log().count(pw) == 1
    assert s.stop() == 0
    s.start()
    assert pw not in s.log(), "the password is printed on first start only"
    assert open(pw_file).read().strip() == pw


def test_second_serve_on_same_data_dir_fails(server):
    r = run_grantd("serve", "-c", server.config_path, env={"GRANTD_ADMIN_PASSWORD": "x"})
    assert r.returncode == 1
    assert "in use by another grantd" in r.stderr
    assert server.get("/healthz").status_code == 200


def test_sigterm_and_sigint_stop_cleanly(make_server):
    import signal
    s = make_server().start()
    assert s.stop(signal.SIGTERM) == 0
    assert "shutting down" in s.log()
    s.start()
    assert s.stop(signal.SIGINT) == 0


def test_plain_http_listener(make_server):
    s = make_server(http_port=True).start()
    assert s.http_port
    r = requests.get(f"http://127.0.0.1:{s.http_port}/healthz", timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok"}
    assert s.get("/healthz").status_code == 200


# -- bad input ------------------------------------------------------------------

def _error_shape(r):
    body = r.json()
    assert set(body) >= {"code", "message", "description", "traceId"}, body
    return body


def test_unknown_path_is_404_json(server):
    r = server.get("/nope")
    assert r.status_code == 404
    _error_shape(r)


def test_unknown_tenant_is_404(server):
    r = server.get("/t/no-such-tenant/api/server/v1/applications", auth=server.admin)
    assert r.status_code == 404
    _error_shape(r)
    r = server.get("/t/carbon.super/nope")
    assert r.status_code == 404


def test_bad_paths(server):
    for path in ("/t/", "/t//x", "/a/../healthz", "/healthz/./"):
        # requests normalises some paths; send raw bytes instead
        raw = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
        resp = _raw(server, raw)
        assert resp.startswith(b"HTTP/1.1 4"), (path, resp[:80])


def test_method_not_allowed(server):
    r = server.post("/healthz")
    assert r.status_code == 405
    assert "GET" in r.headers.get("Allow", "")


def test_body_too_large_is_413(server):
    r = server.post("/healthz", data=b"x" * (2 * 1024 * 1024))
    assert r.status_code in (405, 413)
    r = server.request("GET", "/healthz", data=b"x" * 100)
    assert r.status_code == 413


def test_admin_body_limit_is_max_body_size(make_server):
    """[server] max_body_size bounds every admin body; the token endpoint
    keeps its own 64 KiB limit."""
    srv = make_server(extra_toml="max_body_size = 2048\n").start()
    api = "/api/server/v1/applications"
    small = {"name": "fits", "description": "d" * 1000}
    big = {"name": "too-big", "description": "d" * 1020,
           "inboundProtocolConfiguration": {"oidc": {
               "grantTypes": ["client_credentials"],
               "callbackURLs": ["https://app.example/" + "c" * 1100]}}}
    assert srv.post(api, auth=srv.admin, json=small).status_code == 201
    r = srv.post(api, auth=srv.admin, json=big)
    assert r.status_code == 413, r.text
    assert r.json()["description"] == "request body too large"
    names = [a["name"] for a in srv.get(api, auth=srv.admin).json()["applications"]]
    assert names == ["fits"]
    # A token request larger than 2 KiB is still within its own limit.
    r = srv.post("/oauth2/token", data={"grant_type": "client_credentials", "pad": "p" * 4000})
    assert r.status_code != 413, r.text


def test_header_too_large(server):
    r = server.get("/healthz", headers={"X-Big": "a" * 100000})
    assert 400 <= r.status_code < 500


def _raw(server, data):
    ctx = ssl.create_default_context(cafile=server.cert)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(data)
            out = b""
            while True:
                chunk = t.recv(65536)
                if not chunk:
                    break
                out += chunk
            return out


def test_malformed_http_is_400(server):
    resp = _raw(server, b"GARBAGE\r\n\r\n")
    assert resp == b"" or resp.startswith(b"HTTP/1.1 400"), resp[:100]
    assert server.get("/healthz").status_code == 200


def test_access_log_has_no_query(server):
    server.get("/healthz?client_secret=hunter2")
    assert server.wait_log(r"GET /healthz")
    assert "hunter2" not in server.log()
