"""Issue 10: the tutorial (docs/jwt-grant.md) is run as written, so it
cannot drift: its shell blocks of steps 1 to 5, 7 and 8, in order, in one bash
process, against a real server whose data dir is ./var of the script's
directory. Only the server start and its port are the harness's."""
import os
import re
import shlex
import subprocess

import pytest

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "jwt-grant.md")
STEPS = ("1.", "2.", "3.", "4.", "5.", "7.", "8.")


def blocks():
    """(section title, code) of every ```sh block, in document order."""
    out, section = [], ""
    text = open(DOC).read()
    for m in re.finditer(r"^## ([^\n]*)$|^```sh\n(.*?)^```$", text, re.M | re.S):
        if m.group(1) is not None:
            section = m.group(1)
        else:
            out.append((section, m.group(2)))
    return out


def test_tutorial_runs_as_written(make_server, tmp_path):
    all_blocks = blocks()
    intro = [code for section, code in all_blocks if section == ""]
    assert len(intro) == 1 and "grantd serve &" in intro[0]
    password = re.search(r"export ADMIN_PASSWORD='([^']+)'", intro[0]).group(1)
    work = tmp_path / "work"
    work.mkdir()
    srv = make_server(config_text=(
        "[server]\n"
        f'data_dir = "{work}/var"\n'
        'bind = ["127.0.0.1"]\n'
        "port = 0\n"), admin_password=password).start()
    # The intro as written, but the harness started the server (on its port).
    script = ["set -euo pipefail"]
    for line in intro[0].splitlines():
        if "grantd serve &" in line:
            continue
        script.append(line.replace("https://localhost:9443", f"https://localhost:{srv.port}"))
    steps = [(s, c) for s, c in all_blocks if s.startswith(STEPS)]
    assert list(dict.fromkeys(s.split()[0] for s, _ in steps))[:5] == \
        ["1.", "2.", "3.", "4.", "5."]
    for section, code in steps:
        script.append("echo " + shlex.quote("=== " + section))
        script.append(code)
    r = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, capture_output=True,
                       text=True, timeout=120)
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    token_part = out.split("=== 5.")[1].split("=== 8.")[0]
    assert "HTTP/1.1 200 OK" in token_part, out
    assert '"access_token":"' in token_part and '"refresh_token":"' in token_part
    assert '"token_type":"Bearer"' in token_part
    assert '"domain":"acme.com"' in out.split("=== 7.")[1].split("=== 8.")[0], out
    # The dry run answers after the grant: the jti is now used.
    dry = out.split("=== 8.")[1]
    assert '"valid":false' in dry and "assertion replayed" in dry, dry
