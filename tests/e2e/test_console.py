"""Issue 11: the Management Console (docs/console.md).

Two halves:

* In a real browser (tests/console/console_flow.mjs: playwright-core from
  npm driving Debian's Chromium headless, /usr/bin/chromium, no browser
  download) against the real server: log in; add an IdP by uploading a
  certificate file; add a service provider with jwt-bearer and read its
  client key and secret from the page; this test then obtains a token with
  them (after regenerating the secret in the console: the old one is
  refused) through the real token endpoint, with an assertion signed by the
  uploaded certificate's key; an expired assertion pasted into the tester
  fails the `exp` check; an IdP named like markup renders as text; a
  cross-site POST with the session cookie is refused. Missing Chromium or
  node is a failure, never a skip.
* Over HTTP (requests): the session API (cookie flags and lifetimes from the
  config, CSRF and Origin checks that change nothing, logout, the shared
  login throttle, sessions ended by a password change, tenant admins) and
  the static files (security headers, ETag, redirects, names refused).
"""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import util_certs as uc
import util_jwt as uj

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CONSOLE_TESTS = os.path.join(ROOT, "tests", "console")
API = "/api/server/v1"
SESSION = API + "/session"
COOKIE = "__Host-grantd_session"


def spki_pin(cert_path):
    """base64 SHA-256 of the server certificate's public key: what Chromium's
    --ignore-certificate-errors-spki-list trusts (exactly this server)."""
    with open(cert_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    der = cert.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def run_node(script, env, tmp_path):
    assert shutil.which("node"), "node is missing: scripts/deps.sh test installs nodejs"
    assert os.access("/usr/bin/chromium", os.X_OK), \
        "/usr/bin/chromium is missing: scripts/deps.sh test installs Debian's chromium"
    assert os.path.isdir(os.path.join(CONSOLE_TESTS, "node_modules", "playwright-core")), \
        "playwright-core is missing: scripts/deps.sh test runs npm ci in tests/console"
    e = dict(os.environ)
    e.update(env)
    e["FAILURE_SCREENSHOT"] = str(tmp_path / "failure.png")
    p = subprocess.run(["node", os.path.join(CONSOLE_TESTS, script)], cwd=CONSOLE_TESTS,
                       env=e, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"{script} failed:\n{p.stdout}\n{p.stderr}"
    return p.stdout


def test_console_in_a_browser(make_server, tmp_path):
    srv = make_server().start()
    base = f"https://localhost:{srv.port}"
    key = uc.rsa_key()
    name = "consoleIDP"
    cert = uc.self_signed(key, name)
    cert_file = tmp_path / "idp.crt"
    cert_file.write_text(uc.cert_pem(cert))
    aud = uj.alias(srv)
    now = int(time.time())
    expired = uj.mint(key, uj.claims(aud, iss=name, now=now - 7200, lifetime=3600))

    r = srv.post(API + "/applications", auth=srv.admin, json={"name": "two-step-app"})
    assert r.status_code == 201, r.text
    out = run_node("console_flow.mjs", {
        "GRANTD_BASE": base, "GRANTD_SPKI": spki_pin(srv.cert), "GRANTD_ADMIN": "admin",
        "GRANTD_PASSWORD": srv.admin_password, "IDP_CERT_FILE": str(cert_file),
        "IDP_NAME": name, "EXPIRED_JWT": expired,
    }, tmp_path)
    result = json.loads(out.strip().splitlines()[-1])

    # The page showed the certificate's real SHA-256 thumbprint before saving.
    assert result["thumbprint"] == uc.sha256_hex(cert)
    # The dry run's exp verdict, as the page showed it.
    failed = [c for c in result["checks"] if c[1] == "fail"]
    assert len(failed) == 1 and "exp" in failed[0][2], result["checks"]
    assert result["crossSiteStatus"] == 401

    # The client key and secret read from the page work at the real token
    # endpoint, with an assertion signed by the uploaded certificate's key.
    assertion = uj.mint(key, uj.claims(aud, iss=name))
    r = uj.jwt_grant(srv, assertion, (result["clientId"], result["clientSecret"]))
    uj.assert_tokens(r, refresh=True)
    # The secret shown at registration was regenerated in the console.
    r = uj.jwt_grant(srv, uj.mint(key, uj.claims(aud, iss=name)),
                     (result["clientId"], result["oldSecret"]))
    uj.assert_oauth_error(r, 401, "invalid_client")

    # What the browser did is what the API holds: the IdP with its
    # certificate and alias, the app with its audience; the refused
    # cross-site and no-CSRF calls created nothing; the deleted one is gone.
    idps = srv.get(API + "/identity-providers", auth=srv.admin).json()["identityProviders"]
    assert [p["name"] for p in idps] == [name]
    idp = srv.get(API + f"/identity-providers/{idps[0]['id']}", auth=srv.admin).json()
    assert idp["alias"] == aud
    assert idp["description"] == "edited in the console"
    assert idp["certificate"]["certificateInfo"][0]["sha256Thumbprint"] == uc.sha256_hex(cert)
    apps = srv.get(API + "/applications", auth=srv.admin).json()["applications"]
    assert sorted(a["name"] for a in apps) == ["console-app", "two-step-app"]
    assert all(a["clientId"] for a in apps)
    app_id = [a["id"] for a in apps if a["name"] == "console-app"][0]
    app = srv.get(API + f"/applications/{app_id}", auth=srv.admin).json()
    oidc = app["inboundProtocolConfiguration"]["oidc"]
    assert oidc["idToken"]["audience"] == ["https://api.example"]
    assert set(oidc["grantTypes"]) == {uj.JWT_BEARER, "refresh_token"}


# ----------------------------------------------------------- session API

def origin(srv):
    return {"Origin": srv.base}


def login(srv, user="admin", password=None, headers=None):
    h = origin(srv) if headers is None else headers
    return srv.post(SESSION, json={"username": user,
                                   "password": password or srv.admin_password}, headers=h)


def session_of(r):
    assert r.status_code == 200, r.text
    return {COOKIE: r.cookies[COOKIE]}, r.json()["csrfToken"]


def idp_names(srv):
    r = srv.get(API + "/identity-providers", auth=srv.admin)
    return sorted(p["name"] for p in r.json()["identityProviders"])


def test_login_sets_a_strict_cookie_with_the_configured_lifetimes(make_server):
    srv = make_server(extra_toml='[console]\nsession_idle_timeout = "5m"\n'
                                 'session_lifetime = "2h"\n').start()
    before = int(time.time())
    r = login(srv)
    after = int(time.time())
    assert r.status_code == 200, r.text
    sc = r.headers["Set-Cookie"]
    m = re.fullmatch(COOKIE + r"=([A-Za-z0-9_-]{43}); Path=/; Secure; HttpOnly; "
                     r"SameSite=Strict; Max-Age=7200", sc)
    assert m, sc
    body = r.json()
    assert set(body) == {"username", "tenant", "superAdmin", "csrfToken", "idleTimeout",
                         "expiresAt"}
    assert body["username"] == "admin" and body["tenant"] == "carbon.super"
    assert body["superAdmin"] is True and body["idleTimeout"] == 300
    assert before + 7200 <= body["expiresAt"] <= after + 7200
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", body["csrfToken"])
    assert body["csrfToken"] != m.group(1)
    assert r.headers["Cache-Control"] == "no-store"
    # The session id appears nowhere but in the cookie, and never in the log.
    assert m.group(1) not in r.text
    assert not any(m.group(1) in line for line in srv.lines)
    # GET describes it, with the same CSRF token.
    g = srv.get(SESSION, cookies={COOKIE: m.group(1)})
    assert g.status_code == 200 and g.json()["csrfToken"] == body["csrfToken"]


def test_the_session_authenticates_the_admin_api_and_csrf_guards_changes(server):
    cookies, csrf = session_of(login(server))
    assert server.get(API + "/identity-providers", cookies=cookies).status_code == 200
    body = {"name": "via-session"}
    # Without the CSRF token, with a wrong one, cross-site: 403, nothing made.
    for headers in ({**origin(server)},
                    {**origin(server), "X-CSRF-Token": csrf[:-1] + ("A" if csrf[-1] != "A" else "B")},
                    {"Origin": "https://evil.example", "X-CSRF-Token": csrf},
                    {"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": csrf},
                    {"Origin": "null", "X-CSRF-Token": csrf},
                    {"X-CSRF-Token": csrf}):
        r = server.post(API + "/identity-providers", cookies=cookies, json=body, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert r.json()["code"] == "AUTH-60005"
    assert idp_names(server) == []
    # Same origin with the token: created, and audited under the admin.
    r = server.post(API + "/identity-providers", cookies=cookies, json=body,
                    headers={**origin(server), "X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    r = server.post(API + "/identity-providers", cookies=cookies, json={"name": "b"},
                    headers={"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    assert idp_names(server) == ["b", "via-session"]
    ev = server.get(API + "/audit-events", auth=server.admin).json()["events"]
    assert {e["actor"] for e in ev} == {"admin"}
    # A made-up or foreign cookie is no session.
    r = server.get(API + "/identity-providers", cookies={COOKIE: "x" * 43},
                   headers={"Sec-Fetch-Mode": "cors"})
    assert r.status_code == 401 and "WWW-Authenticate" not in r.headers
    r = server.get(API + "/identity-providers", cookies={COOKIE: "x" * 43})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")


def test_login_is_same_origin_only_and_throttled_like_basic(make_server):
    srv = make_server(extra_toml="[admin_api]\nmax_failed_logins = 3\n").start()
    for headers in ({}, {"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site", "Origin": srv.base}):
        r = login(srv, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert "Set-Cookie" not in r.headers
    assert login(srv, password="wrong-password").status_code == 401
    assert login(srv, user="nobody").status_code == 401
    # Failures by Basic and by the console count in the same throttle.
    assert srv.get(API + "/identity-providers", auth=("admin", "wrong")).status_code == 401
    r = login(srv)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "Set-Cookie" not in r.headers
    # Malformed bodies are 400 and set nothing.
    for body in ({"username": "admin"}, {"username": "admin", "password": 1},
                 {"username": "admin", "password": "x", "extra": 1}):
        r = srv.post(SESSION, json=body, headers=origin(srv))
        assert r.status_code == 400 and "Set-Cookie" not in r.headers, r.text


def test_logout_and_password_change_end_the_session(server):
    cookies, csrf = session_of(login(server))
    h = {**origin(server), "X-CSRF-Token": csrf}
    # Logout needs the CSRF token too.
    assert server.delete(SESSION, cookies=cookies, headers=origin(server)).status_code == 403
    r = server.delete(SESSION, cookies=cookies, headers=h)
    assert r.status_code == 204
    assert re.search(COOKIE + r"=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
                     r.headers["Set-Cookie"])
    assert server.get(SESSION, cookies=cookies).status_code == 401
    assert server.get(API + "/identity-providers", cookies=cookies).status_code == 401
    # A password change (here by the admin itself) ends every session of it.
    cookies, csrf = session_of(login(server))
    other, _ = session_of(login(server))
    new = "another-Passw0rd-long"
    r = server.post(API + "/me/change-password", cookies=cookies,
                    headers={**origin(server), "X-CSRF-Token": csrf},
                    json={"currentPassword": server.admin_password, "newPassword": new})
    assert r.status_code == 204, r.text
    assert server.get(SESSION, cookies=cookies).status_code == 401
    assert server.get(SESSION, cookies=other).status_code == 401
    assert login(server, password=new).status_code == 200
    # Basic has no session to describe.
    assert server.get(SESSION, auth=("admin", new)).status_code == 401


def test_tenant_admin_session_acts_in_its_tenant_only(server):
    r = server.post(API + "/tenants", auth=server.admin,
                    json={"domain": "acme", "owners": [{"username": "bob",
                                                        "password": "bob-Passw0rd-long"}]})
    assert r.status_code == 201, r.text
    r = login(server, user="bob@acme", password="bob-Passw0rd-long")
    cookies, csrf = session_of(r)
    assert r.json()["tenant"] == "acme" and r.json()["superAdmin"] is False
    assert r.json()["username"] == "bob@acme"
    assert server.get("/t/acme" + API + "/identity-providers", cookies=cookies).status_code == 200
    assert server.get(API + "/identity-providers", cookies=cookies).status_code == 403
    assert server.get(API + "/tenants", cookies=cookies).status_code == 403
    # GET /session answers wherever the console asks.
    assert server.get(SESSION, cookies=cookies).json()["tenant"] == "acme"
    # A deactivated tenant ends its admins' sessions.
    tid = [t for t in server.get(API + "/tenants", auth=server.admin).json()["tenants"]
           if t["domain"] == "acme"][0]["id"]
    assert server.patch(API + f"/tenants/{tid}", auth=server.admin,
                        json={"isActive": False}).status_code == 200
    assert server.get(SESSION, cookies=cookies).status_code == 401


# ----------------------------------------------------------- static files

def test_console_files_carry_the_security_headers(server):
    for path in ("/console/", "/console/index.html", "/console/app.js", "/console/console.css",
                 "/t/carbon.super/console/", "/console/nope.js", "/console/meson.build"):
        r = server.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["X-Frame-Options"] == "DENY", path
    r = server.get("/console/")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="app.js"></script>' in r.text
    assert r.headers["Cache-Control"] == "no-cache"
    etag = r.headers["ETag"]
    r2 = server.get("/console/", headers={"If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b""
    js = server.get("/console/app.js")
    assert js.headers["Content-Type"] == "text/javascript; charset=utf-8"
    # No inline script or style anywhere, and no HTML built from strings.
    folder = os.path.join(ROOT, "console")
    for f in os.listdir(folder):
        text = open(os.path.join(folder, f)).read()
        assert "innerHTML" not in text and "outerHTML" not in text, f
        assert "insertAdjacentHTML" not in text and "document.write" not in text, f
        assert "localStorage" not in text.replace("localStorage.length", "") or f == "api.js", f
        if f.endswith(".html"):
            assert re.search(r"<script(?![^>]*\bsrc=)", text) is None, f
            assert "style=" not in text and "<style" not in text, f
    r = server.get("/console", allow_redirects=False)
    assert r.status_code == 301 and r.headers["Location"] == "/console/"
    r = server.get("/t/carbon.super/console", allow_redirects=False)
    assert r.status_code == 301 and r.headers["Location"] == "/t/carbon.super/console/"
    for path in ("/console/meson.build", "/console/nope.js", "/console/a/app.js",
                 "/console/.hidden.js", "/console/%2e%2e/meson.build", "/console/..%2fREADME.md"):
        assert server.get(path).status_code in (400, 404), path
    assert server.post("/console/", data="x").status_code == 405


def test_console_dir_symlinks_are_not_followed(make_server, tmp_path):
    d = tmp_path / "console"
    d.mkdir()
    (d / "index.html").write_text("<!doctype html><title>t</title>")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside-the-console")
    os.symlink(secret, d / "leak.js")
    os.symlink(tmp_path, d / "up")
    srv = make_server(extra_toml=f'[console]\ndir = "{d}"\n').start()
    assert srv.get("/console/").text.startswith("<!doctype html><title>t</title>")
    for path in ("/console/leak.js", "/console/up/secret.txt", "/console/up/s0/deployment.toml"):
        r = srv.get(path)
        assert r.status_code == 404 and "outside-the-console" not in r.text, path


def test_a_missing_console_dir_is_a_configuration_error(make_server, tmp_path):
    srv = make_server(extra_toml=f'[console]\ndir = "{tmp_path}/none"\n')
    r = subprocess.run([os.environ.get("GRANTD_BIN") or os.path.join(ROOT, "build", "grantd"),
                        "serve", "-c", srv.config_path], capture_output=True, text=True,
                       timeout=60, env=srv.env)
    assert r.returncode != 0
    assert f"{tmp_path}/none" in r.stderr
