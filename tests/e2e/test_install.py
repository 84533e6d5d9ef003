"""Issue 10: `meson install` installs the binary, the man pages grantd(8) and
deployment.toml(5), the systemd unit and its sysusers entry; the installed
binary runs from PATH. Issue 11: and the Management Console's files
(<datadir>/grantd/console), which a server serves from there."""
import os
import shutil
import subprocess

import pytest

from conftest import GRANTD

BUILD = os.path.dirname(os.path.abspath(GRANTD))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if not os.path.exists(os.path.join(BUILD, "build.ninja")):
        pytest.skip("GRANTD_BIN is not in a meson build dir")
    dest = tmp_path_factory.mktemp("destdir")
    r = subprocess.run(["meson", "install", "-C", BUILD, "--destdir", str(dest), "--quiet",
                        "--no-rebuild"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    prefix = subprocess.run(["meson", "introspect", BUILD, "--buildoptions"],
                            capture_output=True, text=True, timeout=60).stdout
    import json
    opts = {o["name"]: o["value"] for o in json.loads(prefix)}
    return str(dest) + opts["prefix"], opts


def test_installed_files(installed):
    root, opts = installed
    for rel in ("bin/grantd", "share/man/man8/grantd.8", "share/man/man5/deployment.toml.5",
                "lib/systemd/system/grantd.service", "lib/sysusers.d/grantd.conf"):
        assert os.path.isfile(os.path.join(root, rel)), rel
    unit = open(os.path.join(root, "lib/systemd/system/grantd.service")).read()
    assert f"ExecStart={opts['prefix']}/bin/grantd serve" in unit


def test_installed_console(installed, make_server):
    root, _ = installed
    src = os.path.join(os.path.dirname(BUILD), "console")
    src = src if os.path.isdir(src) else os.path.join(os.path.dirname(__file__), "..", "..",
                                                      "console")
    dest = os.path.join(root, "share", "grantd", "console")
    shipped = sorted(f for f in os.listdir(src) if f != "meson.build")
    assert sorted(os.listdir(dest)) == shipped
    for f in shipped:
        with open(os.path.join(src, f), "rb") as a, open(os.path.join(dest, f), "rb") as b:
            assert a.read() == b.read(), f
    srv = make_server(extra_toml=f'[console]\ndir = "{dest}"\n').start()
    r = srv.get("/console/")
    assert r.status_code == 200
    with open(os.path.join(dest, "index.html"), encoding="utf-8") as f:
        assert r.text == f.read()


def test_installed_binary_runs_from_path(installed):
    root, _ = installed
    env = dict(os.environ, PATH=os.path.join(root, "bin") + os.pathsep + os.environ["PATH"])
    assert shutil.which("grantd", path=env["PATH"]) == os.path.join(root, "bin", "grantd")
    r = subprocess.run(["grantd", "version"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("grantd 0.1.0"), r.stdout + r.stderr
    r = subprocess.run(["grantd", "check-config"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
@pytest.mark.parametrize("page,section", [("grantd.8", "man8"), ("deployment.toml.5", "man5")])
def test_man_pages_render_cleanly(installed, page, section):
    root, _ = installed
    r = subprocess.run(["man", "--warnings", "-l", os.path.join(root, "share/man", section, page)],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MANPAGER="cat", MANWIDTH="80"))
    assert r.returncode == 0
    assert r.stderr == "", r.stderr
    assert "grantd" in r.stdout
