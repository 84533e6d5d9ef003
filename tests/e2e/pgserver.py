"""A private PostgreSQL server for the tests: initdb + pg_ctl in a temporary
directory, listening on a free loopback port, never a system service.

As root the server runs as Debian's dedicated `postgres` user (initdb
refuses root); as anyone else it runs as that user. Readiness comes from
`pg_ctl -w` (it waits until the server accepts connections), never a sleep.

    from pgserver import PgServer
    pg = PgServer().start()
    url = pg.create_database()      # a fresh, empty database
    ...
    pg.stop()

CLI, for scripts/test.sh:
    pgserver.py start DIR    prints the URL of the `postgres` database
    pgserver.py stop DIR
"""
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile

USER = "grantd"  # the database superuser the tests connect as


def _bindir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "pg_ctl")):
            return d
    raise RuntimeError("PostgreSQL server binaries not found (Debian package postgresql)")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, base_dir=None):
        self.bindir = _bindir()
        self.own_dir = base_dir is None
        self.dir = base_dir or tempfile.mkdtemp(prefix="grantd-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = None
        self.password = None
        self._n = 0
        self.as_user = None
        if os.getuid() == 0:
            self.as_user = pwd.getpwnam("postgres")

    # -- running commands as the server's user ---------------------------
    def _run(self, args, check=True, **kw):
        if self.as_user is not None:
            args = ["runuser", "-u", "postgres", "--"] + args
        return subprocess.run(args, check=check, capture_output=True, text=True,
                              timeout=120, **kw)

    def _state_file(self):
        return os.path.join(self.dir, "server.txt")

    # -- life cycle -------------------------------------------------------
    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        if self.as_user is not None:
            os.chown(self.dir, self.as_user.pw_uid, self.as_user.pw_gid)
        os.chmod(self.dir, 0o700)
        self.password = secrets.token_urlsafe(18)
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        if self.as_user is not None:
            os.chown(pwfile, self.as_user.pw_uid, self.as_user.pw_gid)
        self._run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", USER,
                   "--pwfile", pwfile, "--auth=scram-sha-256", "-E", "UTF8",
                   "--locale=C.UTF-8", "--no-instructions"])
        os.unlink(pwfile)
        self.port = _free_port()
        self._start_server()
        with open(self._state_file(), "w") as f:
            f.write(f"{self.port}\n{self.password}\n")
        return self

    def _start_server(self):
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                f"-c unix_socket_directories={self.dir} -c max_connections=300 "
                "-c shared_buffers=64MB")
        self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-w", "-t", "60",
                   "-o", opts, "-l", os.path.join(self.dir, "log"), "start"])

    def restart(self):
        """Starts a stopped server again on the same port and data."""
        self._start_server()

    def stop(self, mode="fast"):
        self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-w", "-m", mode,
                   "stop"], check=False)

    def destroy(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    @classmethod
    def attach(cls, base_dir):
        """The server a `start DIR` left running."""
        pg = cls(base_dir)
        with open(pg._state_file()) as f:
            port, password = f.read().split()
        pg.port, pg.password = int(port), password
        return pg

    # -- databases --------------------------------------------------------
    def url(self, dbname="postgres", password=None):
        pw = self.password if password is None else password
        return f"postgresql://{USER}:{pw}@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql, dbname="postgres"):
        env = dict(os.environ, PGPASSWORD=self.password)
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-h", "127.0.0.1", "-p", str(self.port), "-U", USER,
                            "-d", dbname, "-c", sql],
                           check=True, capture_output=True, text=True, env=env, timeout=60)
        return r.stdout.strip()

    def create_database(self, name=None):
        """A new empty database; returns its URL."""
        if name is None:
            self._n += 1
            name = f"t{os.getpid()}_{self._n}_{secrets.token_hex(3)}"
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print("usage: pgserver.py start|stop DIR", file=sys.stderr)
        return 2
    if argv[1] == "start":
        pg = PgServer(os.path.abspath(argv[2])).start()
        print(pg.url())
    else:
        pg = PgServer.attach(os.path.abspath(argv[2]))
        pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
