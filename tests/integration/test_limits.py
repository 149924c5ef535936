"""Limits that keep gralarm serving: 10,000 client connections at once, a connection limit
that refuses and counts the extra ones, and slow-loris clients that neither exhaust memory
nor keep other clients out: any number on ingest, and on the API fewer than its 32 threads
(each slow request is cut off after 5 s)."""

import resource
import socket
import time
import urllib.request

from harness import Gralarm, LineSink, metric, wait_until


def raise_file_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(n, soft)), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def one_point(port, name):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"{name} 1 1700000000\n".encode())


def test_ten_thousand_connections_and_the_connection_limit(tmp_path):
    assert raise_file_limit(12000) >= 12000, "the test needs 12,000 file descriptors"
    sink = LineSink()
    g = Gralarm(str(tmp_path), [sink.address], extra="max_connections = 10050").start()
    idle = []
    for i in range(10000):
        s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
        if i % 10 == 0:
            s.sendall(b"partial.line.without.newline 1")  # held, bounded
        idle.append(s)
    wait_until(lambda: metric(g.metrics(), "gralarm_connections", proto="tcp") == 10000, 30,
               what="10,000 connections open")
    one_point(g.port, "after.ten.thousand")
    wait_until(lambda: b"after.ten.thousand 1 1700000000" in sink.snapshot(), 10,
               what="a point from another client")
    # Up to the limit, then one more: refused (closed at once) and counted.
    for _ in range(50):
        idle.append(socket.create_connection(("127.0.0.1", g.port), timeout=10))
    wait_until(lambda: metric(g.metrics(), "gralarm_connections", proto="tcp") == 10050, 30,
               what="the limit reached")
    extra = socket.create_connection(("127.0.0.1", g.port), timeout=10)
    extra.settimeout(10)
    assert extra.recv(1) == b"", "the connection past the limit is closed"
    extra.close()
    assert metric(g.metrics(), "gralarm_connections_refused_total") == 1
    # Room again once some leave.
    for s in idle[:100]:
        s.close()
    wait_until(lambda: metric(g.metrics(), "gralarm_connections", proto="tcp") == 9950, 30,
               what="connections closed")
    one_point(g.port, "after.the.limit")
    wait_until(lambda: b"after.the.limit 1 1700000000" in sink.snapshot(), 10,
               what="a point after the limit")
    for s in idle[100:]:
        s.close()
    wait_until(lambda: metric(g.metrics(), "gralarm_connections", proto="tcp") == 0, 30,
               what="every connection closed")
    assert g.stop()[0] == 0


def test_slow_loris_clients_neither_exhaust_memory_nor_keep_others_out(tmp_path):
    raise_file_limit(4000)
    sink = LineSink()
    g = Gralarm(str(tmp_path), [sink.address],
                extra="idle_timeout_s = 3\nmax_line_bytes = 1024").start()
    before = rss_kb(g.proc.pid)
    # 1,000 ingest clients trickle an endless line, 10 bytes at a time; 500 say nothing.
    trickle = [socket.create_connection(("127.0.0.1", g.port)) for _ in range(1000)]
    silent = [socket.create_connection(("127.0.0.1", g.port)) for _ in range(500)]
    # 24 API clients send a request header a byte at a time, never finishing it.
    api = []
    for _ in range(24):
        s = socket.create_connection(("127.0.0.1", g.api_port))
        s.sendall(b"GET /api/v1/summary HTTP/1.1\r\nHost: x\r\n")
        api.append(s)
    start = time.monotonic()
    served = 0
    while time.monotonic() - start < 8:
        for s in trickle:
            try:
                s.sendall(b"aaaaaaaaaa")
            except OSError:
                pass
        for s in api:
            try:
                s.sendall(b"X")
            except OSError:
                pass
        # Others are served all along: a point, and the API answers quickly.
        one_point(g.port, f"served.{served}")
        t = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{g.api_port}/healthz", timeout=3) as r:
            assert r.status == 200
        assert time.monotonic() - t < 2
        served += 1
        time.sleep(0.2)
    wait_until(lambda: len(sink.snapshot()) == served, 10, what="every point from others")
    # The API cut the slow requests off (a request must arrive within 5 s).
    for s in api:
        s.settimeout(5)
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, TimeoutError) as e:
            assert isinstance(e, ConnectionResetError), "a slow API client was not cut off"
    m = g.metrics()
    # Each trickled 8 s x 10 bytes / 0.2 s ~ 400+ bytes... kept under max_line_bytes, or
    # dropped as too_long past it; the silent ones were closed after idle_timeout_s.
    assert metric(m, "gralarm_connections", proto="tcp") <= 1000 + 1
    grown_mb = (rss_kb(g.proc.pid) - before) / 1024
    assert grown_mb < 200, f"RSS grew by {grown_mb:.0f} MB"
    for s in trickle + silent + api:
        s.close()
    assert g.stop()[0] == 0
