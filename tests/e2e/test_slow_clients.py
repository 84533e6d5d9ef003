"""Issue 9 finding 1: one client cannot take the server with slow or idle
connections. Per-address connection cap, a reserve for addresses that hold
few connections, and whole-head / whole-body deadlines that trickled bytes
do not extend (docs/security.md, "Slow clients").

Other clients are other loopback source addresses (127.0.0.2, 127.0.0.3):
Linux routes all of 127/8 to lo.
"""
import http.client
import re
import socket
import ssl
import time

import pytest

LOCAL = "127.0.0.1"


def tls_ctx(srv):
    return ssl.create_default_context(cafile=srv.cert)


def open_tls(srv, source=LOCAL):
    """A TLS connection that sends nothing after the handshake; None when the
    server refused it."""
    raw = socket.create_connection((LOCAL, srv.port), timeout=30, source_address=(source, 0))
    try:
        return tls_ctx(srv).wrap_socket(raw, server_hostname=LOCAL)
    except (ssl.SSLError, ConnectionError, OSError):
        raw.close()
        return None


def get_from(srv, path, source):
    c = http.client.HTTPSConnection(LOCAL, srv.port, timeout=30, context=tls_ctx(srv),
                                    source_address=(source, 0))
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def metric(srv, name, labels="", source="127.0.0.3"):
    status, text = get_from(srv, "/metrics", source)
    assert status == 200
    m = re.search(r"^" + re.escape(name + labels) + r" (\d+)$", text, re.M)
    assert m, (name, labels)
    return int(m.group(1))


def closed_by_server(sock):
    """Reads until the server closes; True on EOF or reset, False if the
    socket's own timeout ran out first."""
    try:
        while True:
            if not sock.recv(4096):
                return True
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError, BrokenPipeError):
        return True
    except ssl.SSLError:
        return True
    except socket.timeout:
        return False


def test_per_address_cap_keeps_others_served(make_server):
    s = make_server(extra_toml='max_connections_per_address = 6\nheader_timeout = "60s"\n'
                               'connection_timeout = "60s"\nthreads = 2\n').start()
    held = []
    try:
        for _ in range(6):
            c = open_tls(s)
            assert c is not None
            held.append(c)
        # The seventh from the same address is closed at accept.
        assert open_tls(s) is None
        # Another address is served, /healthz included.
        assert get_from(s, "/healthz", "127.0.0.2")[0] == 200
        assert metric(s, "grantd_http_connections_refused_total",
                      '{reason="per_address"}') >= 1
    finally:
        for c in held:
            c.close()
    # The count goes down with the connections: the address is served again
    # once the server has seen them close (its own gauge says when).
    for _ in range(500):
        if metric(s, "grantd_http_connections") <= 1:
            break
    assert metric(s, "grantd_http_connections") <= 1
    assert s.get("/healthz").status_code == 200


def test_reserve_for_addresses_with_few_connections(make_server):
    s = make_server(extra_toml='max_connections = 16\nmax_connections_per_address = 100\n'
                               'header_timeout = "60s"\nconnection_timeout = "60s"\n'
                               'threads = 2\n').start()
    held = []
    try:
        while len(held) < 20:
            c = open_tls(s)
            if c is None:
                break
            held.append(c)
        # 16 - 16/8: the last two are for addresses holding fewer than 4.
        assert len(held) == 14
        assert get_from(s, "/healthz", "127.0.0.2")[0] == 200
        assert metric(s, "grantd_http_connections_refused_total", '{reason="reserve"}') >= 1
    finally:
        for c in held:
            c.close()


@pytest.fixture
def deadlines(make_server):
    return make_server(extra_toml='header_timeout = "1s"\nbody_timeout = "1s"\n'
                                  'connection_timeout = "60s"\n').start()


def test_incomplete_head_is_closed_at_header_timeout(deadlines):
    """connection_timeout (60 s, idle) would keep it; header_timeout (1 s,
    whole head) closes it."""
    c = open_tls(deadlines)
    c.settimeout(30)
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert closed_by_server(c)
    c.close()
    assert metric(deadlines, "grantd_http_deadline_closed_total", '{phase="head"}') >= 1


def test_trickled_head_is_not_extended_by_each_byte(deadlines):
    c = open_tls(deadlines)
    c.settimeout(0.25)
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 400
    closed = False
    # The attacker's pacing: one byte, then up to 0.25 s for the server to
    # hang up; 400 bytes would take 100 s. The server closes after 1 s.
    for b in head:
        try:
            c.sendall(bytes([b]))
        except (OSError, ssl.SSLError):
            closed = True
            break
        if closed_by_server(c):
            closed = True
            break
    c.close()
    assert closed


def test_incomplete_body_is_closed_at_body_timeout(deadlines):
    c = open_tls(deadlines)
    c.settimeout(30)
    c.sendall(b"POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Type: application/x-www-form-urlencoded\r\n"
              b"Content-Length: 1000\r\n\r\ngrant_type=")
    assert closed_by_server(c)
    c.close()
    assert metric(deadlines, "grantd_http_deadline_closed_total", '{phase="body"}') >= 1
    # The server is fine afterwards.
    assert deadlines.get("/healthz").status_code == 200
