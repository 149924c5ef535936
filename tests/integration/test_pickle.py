"""The pickle receiver (ingest.pickle_listen): frames made by Python's own pickle at
protocols 0, 2, 4 and 5 are forwarded as plaintext lines; hostile frames are refused
without running anything, counted, and leave gralarm serving other clients."""

import os
import pickle
import socket
import struct
import time

from harness import Gralarm, LineSink, free_port, metric, wait_until


def frame(payload):
    return struct.pack("!L", len(payload)) + payload


def send(port, data, read_reply=False):
    """Sends `data` on a new connection; returns True if gralarm closed it first."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            return True
        if read_reply:
            s.settimeout(5)
            try:
                return s.recv(1) == b""
            except ConnectionResetError:
                return True
            except socket.timeout:
                return False
    return False


def start(tmp_path, sink):
    pickle_port = free_port()
    g = Gralarm(str(tmp_path), [sink.address],
                extra=f'pickle_listen = "127.0.0.1:{pickle_port}"').start()
    return g, pickle_port


def test_python_pickle_frames_of_every_protocol_are_forwarded(tmp_path):
    sink = LineSink()
    g, port = start(tmp_path, sink)
    ts = 1700000000
    expected = []
    for proto in (0, 2, 4, 5):
        # One path object used for every point: the pickler memoizes it, and the
        # later points refer to it by GET.
        path = f"pickle.p{proto}.value"
        points = [(path, (ts + i, i * 0.5)) for i in range(500)]
        points.append((f"pickle.p{proto}.caf\u00e9", (float(ts) + 0.75, 10 ** 12)))
        payload = pickle.dumps(points, protocol=proto)
        assert payload.count(path.encode()) == 1, "the path must be memoized"
        send(port, frame(payload))
        expected += [f"{path} {i * 0.5:g} {ts + i}" for i in range(500)]
        expected.append(f"pickle.p{proto}.caf\u00e9 1000000000000 {ts}")
    # Bad elements are dropped one by one; the rest of their frame is kept.
    send(port, frame(pickle.dumps([("pickle.ok", (ts, 1)), ("no.datapoint", 5),
                                   ("bad path", (ts, 1)), ("pickle.nan", (ts, "x")),
                                   ("pickle.ok2", (ts, 2))], protocol=2)))
    expected += [f"pickle.ok 1 {ts}", f"pickle.ok2 2 {ts}"]

    def got():
        return sorted(line.decode() for line in sink.snapshot())

    def normalized(lines):
        # gralarm writes values in their shortest exact form (1.0 as 1).
        out = []
        for line in lines:
            path, value, t = line.rsplit(" ", 2)
            out.append(f"{path} {float(value):g} {t}")
        return sorted(out)

    wait_until(lambda: len(got()) == len(expected), 20, what="every pickled point")
    assert normalized(got()) == normalized(expected)
    m = g.metrics()
    assert metric(m, "gralarm_points_received_total", proto="pickle") == len(expected)
    assert metric(m, "gralarm_lines_invalid_total", reason="fields") == 1
    assert metric(m, "gralarm_lines_invalid_total", reason="path") == 1
    assert metric(m, "gralarm_lines_invalid_total", reason="value") == 1
    assert g.stop()[0] == 0


class Exploit:
    """Unpickling this with Python's pickle would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_hostile_frames_are_refused_and_gralarm_keeps_serving(tmp_path):
    sink = LineSink()
    g, port = start(tmp_path, sink)
    marker = tmp_path / "pwned"
    hostile = [
        pickle.dumps([Exploit(marker)], protocol=0),   # GLOBAL + REDUCE
        pickle.dumps([Exploit(marker)], protocol=4),   # STACK_GLOBAL + REDUCE
        pickle.dumps({"a.b": (1, 2)}, protocol=2),     # a dict
        b"X\xff\xff\xff\x7f.",                        # a 2 GiB string in 6 bytes
        b")" + b"\x85" * 100000 + b".",                # tuples nested 100,000 deep
        b"N" * 300000 + b".",                          # past the stack limit
        pickle.dumps([("a.b", (1, 2))], protocol=2)[:-5],  # truncated
    ]
    for payload in hostile:
        send(port, frame(payload))
    # A length prefix over 1 MiB: the connection is closed at once.
    assert send(port, struct.pack("!L", (1 << 20) + 1) + b"(" * 64, read_reply=True)
    # Slow senders of large frames: 20 hold a little each and stay; then 200 hold
    # 900 KB each, more than the 64 MiB a loop keeps for unfinished frames (2
    # loops): those past it are closed.
    slow = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(struct.pack("!L", 1 << 20) + b"(" * 1000)
        slow.append(s)
    big = []
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", port))
        try:
            s.sendall(struct.pack("!L", 1 << 20) + b"(" * 900000)
        except OSError:
            pass
        big.append(s)

    m = {}

    def counted():
        nonlocal m
        m = g.metrics()
        return sum(metric(m, "gralarm_pickle_frames_invalid_total", reason=r) or 0
                   for r in ("opcode", "malformed", "limit", "too_large")) >= 8

    wait_until(counted, 20, what="every hostile frame counted")
    assert metric(m, "gralarm_pickle_frames_invalid_total", reason="opcode") == 3

    def held_within_budget():
        closed = metric(g.metrics(), "gralarm_pickle_frames_invalid_total", reason="limit") - 2
        # What the open big senders hold fits in the two loops' 64 MiB, give or take
        # the one frame each loop may be over by when it closes a connection.
        return closed > 0 and (200 - closed) * 900004 <= 2 * (64 << 20) + 2 * 900004

    wait_until(held_within_budget, 30, what="unfinished frames within the memory bound")
    over_budget = metric(g.metrics(), "gralarm_pickle_frames_invalid_total", reason="limit") - 2
    assert metric(m, "gralarm_pickle_frames_invalid_total", reason="malformed") == 2
    assert metric(m, "gralarm_pickle_frames_invalid_total", reason="too_large") == 1
    assert not marker.exists()
    # Still serving, pickle and plaintext alike, with the slow ones still open.
    send(port, frame(pickle.dumps([("after.pickle", (1700000000, 1))], protocol=2)))
    with socket.create_connection(("127.0.0.1", g.port)) as s:
        s.sendall(b"after.plain 1 1700000000\n")
    wait_until(lambda: {b"after.pickle 1 1700000000", b"after.plain 1 1700000000"}
               <= set(sink.snapshot()), 20, what="points after the hostile frames")
    assert metric(g.metrics(), "gralarm_connections", proto="pickle") == 220 - over_budget
    for s in slow + big:
        s.close()
    assert g.stop()[0] == 0
    assert sorted(sink.snapshot()) == [b"after.pickle 1 1700000000",
                                       b"after.plain 1 1700000000"]
