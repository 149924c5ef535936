"""Faults, bounded in time: 8 clients stream 2,000,000 valid points (and 1% invalid lines)
for about 90 s while carbon-cache is stopped for 30 s and restarted, twice, and gralarm is
SIGTERMed and restarted once in the middle of the first outage. gralarm's memory queue holds
100,000 points, a fraction of an outage: the rest must go through its disk spool. Every valid point must be in whisper, and the two
gralarm runs' /metrics must account for every line sent. Also: the disk spool survives a
SIGKILL of gralarm and delivers everything, in order per series, once the destination is up."""

import os
import socket
import threading
import time

import whisper

from harness import CarbonCache, Gralarm, LineSink, free_port, metric, wait_until

CLIENTS = 8
SERIES_PER_CLIENT = 250          # 2,000 whisper files
STEPS = 1000                     # timestamps per series
POINTS = CLIENTS * SERIES_PER_CLIENT * STEPS   # 2,000,000 valid points
BATCHES = 45                     # one every 2 s: about 90 s of streaming

INVALID = [(b"only.two.fields 1\n", "fields"), (b"bad.value x 1700000000\n", "value"),
           (b"bad..path 1 1700000000\n", "path")]


def series(client, k):
    return f"gralarm.fault.c{client}.s{k}"


def value(client, k, j):
    return client * 1000000 + k * 1000 + j + 0.5


def client_batches(client, base_ts):
    lines, invalid, n = [], {}, 0
    for j in range(STEPS):
        for k in range(SERIES_PER_CLIENT):
            lines.append(f"{series(client, k)} {value(client, k, j)} {base_ts + j}\n".encode())
            n += 1
            if n % 99 == 0:
                bad, reason = INVALID[n // 99 % len(INVALID)]
                lines.append(bad)
                invalid[reason] = invalid.get(reason, 0) + 1
    per = -(-len(lines) // BATCHES)
    return [b"".join(lines[i:i + per]) for i in range(0, len(lines), per)], invalid


class Client(threading.Thread):
    """Sends its batches one every 2 s; pauses (closing its connection) on request."""

    def __init__(self, batches, port_of):
        super().__init__(daemon=True)
        self.batches, self.port_of = batches, port_of
        self.run_allowed = threading.Event()
        self.run_allowed.set()
        self.idle = threading.Event()
        self.error = None

    def run(self):
        sock = None
        try:
            for b in self.batches:
                if not self.run_allowed.is_set():
                    if sock:
                        sock.close()
                        sock = None
                    self.idle.set()
                    self.run_allowed.wait()
                    self.idle.clear()
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", self.port_of()))
                sock.sendall(b)
                time.sleep(2)
        except OSError as e:
            self.error = e
        finally:
            if sock:
                sock.close()
            self.idle.set()


def test_nothing_is_lost_across_carbon_cache_outages_and_a_gralarm_restart(tmp_path):
    carbon = CarbonCache(str(tmp_path)).start()
    g = Gralarm(str(tmp_path), [f"127.0.0.1:{carbon.port}"],
                forward_extra="queue_points = 100000").start()
    base_ts = int(time.time()) - 3000  # inside the 1-hour retention
    streams = [client_batches(c, base_ts) for c in range(CLIENTS)]
    invalid = {}
    for _, inv in streams:
        for reason, n in inv.items():
            invalid[reason] = invalid.get(reason, 0) + n
    clients = [Client(b, lambda: g.port) for b, _ in streams]
    t0 = time.monotonic()
    for c in clients:
        c.start()

    # Outage 1: carbon-cache away for 30 s ...
    time.sleep(5)
    carbon.stop()
    outage = time.monotonic()
    # ... during which gralarm restarts: clients pause (collectors reconnect when it is
    # back), SIGTERM, start again.
    time.sleep(10)
    for c in clients:
        c.run_allowed.clear()
    for c in clients:
        assert c.idle.wait(30)
    first = g.metrics()
    assert metric(first, "gralarm_spool_bytes", destination=f"127.0.0.1:{carbon.port}") > 0
    rc, seconds = g.stop()
    assert rc == 0, g.read_log()
    g.start()
    for c in clients:
        c.run_allowed.set()
    time.sleep(max(0.0, 30 - (time.monotonic() - outage)))
    carbon.start()

    # Outage 2.
    time.sleep(5)
    carbon.stop()
    time.sleep(30)
    carbon.start()

    for c in clients:
        c.join(300)
        assert c.error is None, c.error
    assert time.monotonic() - t0 < 240
    second = g.metrics()

    def total(name, **labels):
        return (metric(first, name, **labels) or 0) + (metric(second, name, **labels) or 0)

    assert total("gralarm_points_received_total", proto="tcp") == POINTS
    for reason, n in invalid.items():
        assert total("gralarm_lines_invalid_total", reason=reason) == n, reason
    for m in (first, second):
        for reason in ("queue_full", "shutdown", "spool_full", "rejected"):
            assert (metric(m, "gralarm_points_dropped_total",
                           destination=f"127.0.0.1:{carbon.port}", reason=reason) or 0) == 0

    wait_until(lambda: metric(g.metrics(), "gralarm_spool_bytes",
                              destination=f"127.0.0.1:{carbon.port}") == 0, 120,
               what="the spool drained")
    rc, _ = g.stop()
    assert rc == 0
    assert "every destination confirmed delivery" in g.read_log()
    carbon.wait_written()
    carbon.stop()

    missing = []
    for c in range(CLIENTS):
        for k in range(SERIES_PER_CLIENT):
            path = carbon.whisper_path(series(c, k))
            assert os.path.exists(path), path
            (start, _, step), values = whisper.fetch(path, base_ts - 1, base_ts + STEPS)
            by_ts = {start + i * step: v for i, v in enumerate(values)}
            missing += [(c, k, j) for j in range(STEPS)
                        if by_ts.get(base_ts + j) != value(c, k, j)]
    assert not missing, f"{len(missing)} points missing, e.g. {missing[:5]}"


def test_spooled_points_survive_sigkill_and_arrive_in_order(tmp_path):
    port = free_port()  # the destination, down for now
    g = Gralarm(str(tmp_path), [f"127.0.0.1:{port}"]).start()
    series_count, steps = 1000, 1000  # 1,000,000 points
    ts = 1700000000
    with socket.create_connection(("127.0.0.1", g.port)) as s:
        for j in range(steps):
            s.sendall("".join(f"spool.s{k} {j} {ts + j}\n"
                              for k in range(series_count)).encode())

    def spooled():
        m = g.metrics()
        return (metric(m, "gralarm_points_received_total", proto="tcp") == 1000000 and
                metric(m, "gralarm_forward_queue_points",
                       destination=f"127.0.0.1:{port}") == 0)

    wait_until(spooled, 60, what="every point in the spool")
    assert metric(g.metrics(), "gralarm_spool_bytes", destination=f"127.0.0.1:{port}") > 0
    g.proc.kill()  # SIGKILL: no drain, no shutdown hook
    g.proc.wait()

    sink = LineSink(port)
    g.start()
    wait_until(lambda: len(sink.snapshot()) >= 1000000, 120, what="the spool delivered")
    lines = sink.snapshot()
    assert len(lines) == 1000000
    last = {}
    for line in lines:
        name, v, t = line.split()
        assert int(t) == ts + int(v)
        assert last.get(name, -1) < int(v), f"{name} out of order"
        last[name] = int(v)
    assert len(last) == series_count and all(v == steps - 1 for v in last.values())
    wait_until(lambda: metric(g.metrics(), "gralarm_spool_bytes",
                              destination=f"127.0.0.1:{port}") == 0, 30,
               what="the spool emptied")
    assert g.stop()[0] == 0
