"""Issue 10: `grantd admin set-password` changes an admin's password on the
data dir, beside a running server or not; the new password is read from
stdin or a file, never argv; GRANTD_ADMIN_PASSWORD set on a later start is
reported as ignored."""
import os
import subprocess

from conftest import GRANTD

API = "/api/server/v1/applications"
NEW = "n3w-Admin-passw0rd"


def set_password(srv, password, *args, stdin=True):
    env = dict(os.environ)
    env.pop("GRANTD_ADMIN_PASSWORD", None)
    return subprocess.run([GRANTD, "admin", "set-password", "-c", srv.config_path, *args],
                          input=(password + "\n") if stdin else "", capture_output=True,
                          text=True, env=env, timeout=60)


def status_with(srv, password, user="admin"):
    return srv.get(API, auth=(user, password)).status_code


def test_set_password_on_a_running_server(make_server):
    s = make_server().start()
    old = s.admin_password
    assert status_with(s, old) == 200  # now in the verification cache
    r = set_password(s, NEW)
    assert r.returncode == 0, r.stderr
    assert "password of admin 'admin' in tenant carbon.super changed" in r.stdout
    assert NEW not in r.stdout + r.stderr
    # At once: the cached success of the old password no longer counts.
    assert status_with(s, old) == 401
    assert status_with(s, NEW) == 200


def test_set_password_on_a_stopped_server_and_restart(make_server, tmp_path):
    s = make_server().start()
    s.stop()
    pw_file = tmp_path / "pw"
    pw_file.write_text(NEW + "\n")
    r = set_password(s, "", "--password-file", str(pw_file), stdin=False)
    assert r.returncode == 0, r.stderr
    s.start()
    assert status_with(s, s.admin_password) == 401
    assert status_with(s, NEW) == 200
    # The harness sets GRANTD_ADMIN_PASSWORD on every start: reported as ignored.
    assert s.wait_log(r"GRANTD_ADMIN_PASSWORD is set but ignored: the super admin already "
                      r"exists")


def test_set_password_refusals_change_nothing(make_server):
    s = make_server().start()
    old = s.admin_password
    r = set_password(s, "short")
    assert r.returncode == 2 and "8 to 1024 characters" in r.stderr
    r = set_password(s, NEW, "nobody")
    assert r.returncode == 2 and "no admin 'nobody' in tenant 'carbon.super'" in r.stderr
    r = set_password(s, NEW, "--tenant", "no-such.example")
    assert r.returncode == 2 and "no admin 'admin' in tenant 'no-such.example'" in r.stderr
    # A password on the command line is not an option.
    r = set_password(s, NEW, "admin", NEW)
    assert r.returncode == 2 and "unexpected argument" in r.stderr
    r = set_password(s, "", stdin=False)
    assert r.returncode == 2 and "no password read" in r.stderr
    assert status_with(s, old) == 200
    assert status_with(s, NEW) == 401


def test_set_password_of_a_tenant_admin(make_server):
    s = make_server().start()
    r = s.post("/api/server/v1/tenants", auth=s.admin, json={
        "domain": "pw.example", "owners": [{"username": "owner", "password": "0wner-Passw0rd"}]})
    assert r.status_code == 201, r.text
    r = set_password(s, NEW, "--tenant", "pw.example", "owner")
    assert r.returncode == 0, r.stderr
    assert s.get("/t/pw.example" + API, auth=("owner@pw.example", NEW)).status_code == 200
    assert s.get("/t/pw.example" + API,
                 auth=("owner@pw.example", "0wner-Passw0rd")).status_code == 401


ME = "/api/server/v1/me/change-password"


def test_logged_in_admin_changes_its_password(make_server):
    s = make_server().start()
    old = s.admin_password
    r = s.post(ME, auth=s.admin, json={"currentPassword": "not-it-at-all", "newPassword": NEW})
    assert r.status_code == 400 and "currentPassword is not" in r.json()["description"]
    r = s.post(ME, auth=s.admin, json={"currentPassword": old, "newPassword": "short"})
    assert r.status_code == 400 and "newPassword" in r.json()["description"]
    r = s.post(ME, auth=s.admin, json={"currentPassword": old, "newPassword": NEW, "x": 1})
    assert r.status_code == 400 and "x: unknown field" in r.json()["description"]
    assert status_with(s, old) == 200  # nothing changed so far
    r = s.post(ME, auth=s.admin, json={"currentPassword": old, "newPassword": NEW})
    assert r.status_code == 204, r.text
    assert status_with(s, old) == 401
    assert status_with(s, NEW) == 200
    assert s.post(ME, json={"currentPassword": NEW, "newPassword": old}).status_code == 401


def test_tenant_admin_changes_only_its_own_password(make_server):
    s = make_server().start()
    r = s.post("/api/server/v1/tenants", auth=s.admin, json={
        "domain": "me.example", "owners": [{"username": "owner", "password": "0wner-Passw0rd"}]})
    assert r.status_code == 201, r.text
    owner = ("owner@me.example", "0wner-Passw0rd")
    r = s.post("/t/me.example" + ME, auth=owner,
               json={"currentPassword": "0wner-Passw0rd", "newPassword": NEW})
    assert r.status_code == 204, r.text
    assert s.get("/t/me.example" + API, auth=("owner@me.example", NEW)).status_code == 200
    # The super admin's password is untouched.
    assert status_with(s, s.admin_password) == 200
