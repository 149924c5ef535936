"""An active-active pair's point copies ([cluster]) with the real carbon-cache: every
client point reaches carbon-cache once (from the node the client sent it to), both
nodes evaluate every point, a peer that was killed or cut off catches up from the
other node's spool, in order."""

import collections
import json
import signal
import socket
import threading
import time
import urllib.request

import pytest
import whisper

from harness import CarbonCache, Gralarm, free_port, metric, send_tcp, wait_until

RULES = """
[[rules]]
id = "cpu"
pattern = "pair.*.cpu"
thresholds = { warning = 80 }
"""

TARGET_RULE = """
[[rules]]
id = "cpu-sum"
target = "sumSeries(pair.*.cpu)"
step_s = 1
lateness_s = 0
emit_prefix = "derived"
thresholds = { critical = 1000000 }
"""


class Tee:
    """A TCP relay in front of carbon-cache that records every line it passes on, so
    the test sees each point carbon-cache was sent, duplicates included."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", free_port()))
        self.sock.listen(16)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.lines = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn):
        out = socket.create_connection(("127.0.0.1", self.target_port))
        buf = b""
        with conn, out:
            while True:
                data = conn.recv(1 << 16)
                if not data:
                    return
                out.sendall(data)
                buf += data
                *complete, buf = buf.split(b"\n")
                with self.lock:
                    self.lines.extend(line.decode() for line in complete)

    def snapshot(self):
        with self.lock:
            return list(self.lines)


class Gate:
    """A TCP relay standing for a WAN link between a node's peer copies and the other
    node's cluster.listen; close() cuts it (open connections closed, new ones
    refused), open() lets connections through again on the same port."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.port = free_port()
        self.conns = []
        self.lock = threading.Lock()
        self.sock = None
        self.open()

    def open(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        threading.Thread(target=self._accept, args=(self.sock,), daemon=True).start()

    def close(self):
        # shutdown() wakes the thread blocked in accept(); close() alone would not,
        # and the socket would go on accepting.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self.conns = []

    def _accept(self, sock):
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            try:
                out = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:  # the node behind is not up (yet): as if refused
                conn.close()
                continue
            with self.lock:
                self.conns += [conn, out]
            for a, b in ((conn, out), (out, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        while True:
            try:
                data = src.recv(1 << 16)
                if not data:
                    break
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def carbon(tmp_path):
    workdir = tmp_path / "carbon"
    workdir.mkdir()
    cache = CarbonCache(str(workdir)).start()
    tee = Tee(cache.port)
    yield cache, tee
    cache.stop()


def make_pair(tmp_path, tee, gate_a_to_b=False, extra_rules=""):
    """Nodes a and b, each forwarding to `tee` and copying to the other; with
    `gate_a_to_b`, a's copies go through a Gate (returned) to b."""
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES + extra_rules)
    nodes = {}
    listen = {name: free_port() for name in ("a", "b")}
    for name in ("a", "b"):
        workdir = tmp_path / name
        workdir.mkdir()
        nodes[name] = Gralarm(str(workdir), [tee.address])
    gate = Gate(listen["b"]) if gate_a_to_b else None
    for name, other in (("a", "b"), ("b", "a")):
        peer_port = gate.port if (gate and name == "a") else listen[other]
        g = nodes[name]
        g.sections = (f'[rules]\nfiles = ["{rules}"]\n'
                      f'[evaluation]\nstate_flush_ms = 100\n'
                      f'[cluster]\nnode_id = "{name}"\n'
                      f'listen = "127.0.0.1:{listen[name]}"\n'
                      f'peers = ["127.0.0.1:{peer_port}"]\n'
                      f'peer_apis = ["http://127.0.0.1:{nodes[other].api_port}"]\n')
        g.write_config([tee.address])
        g.peer_label = f"127.0.0.1:{peer_port}"
    return nodes["a"], nodes["b"], gate


def get(g, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{g.api_port}{path}", timeout=5) as r:
        return json.loads(r.read())


def alerts(g):
    return sorted((a["series"], a["severity"]) for a in get(g, "/api/v1/alerts")["items"])


def events(g, series):
    return [(e["from"], e["to"], e["value"], e["ts"])
            for e in get(g, f"/api/v1/events?series={series}&limit=1000")["items"]]


def history(g, series):
    return sorted((h["series"], h["peak_severity"], h["severity"], h["last_value"])
                  for h in get(g, f"/api/v1/history?series={series}&limit=1000")["items"])


def peer_metric(g, name):
    return metric(g.metrics(), name, peer=g.peer_label)


def lines_for(series, values, ts0):
    return [f"{series} {v} {ts0 + i}" for i, v in enumerate(values)]


def assert_once_at_carbon(cache, tee, lines):
    """Every line reached carbon-cache exactly once and is in its whisper file."""
    wait_until(lambda: set(lines) <= set(tee.snapshot()), 20, what="lines at carbon-cache")
    time.sleep(1.0)  # a duplicate would come right behind
    seen = collections.Counter(tee.snapshot())
    assert {line: seen[line] for line in lines} == {line: 1 for line in lines}
    cache.wait_written(quiet_s=1.0)
    by_series = collections.defaultdict(dict)
    for line in lines:
        series, value, ts = line.split()
        by_series[series][int(ts)] = float(value)
    for series, points in by_series.items():
        (start, _, step), values = whisper.fetch(cache.whisper_path(series), min(points) - 1,
                                                 max(points) + 1)
        stored = {start + i * step: v for i, v in enumerate(values) if v is not None}
        assert stored == points, series


def test_each_point_reaches_carbon_once_and_both_nodes_alert(tmp_path, carbon):
    cache, tee = carbon
    a, b, _ = make_pair(tmp_path, tee)
    a.start()
    b.start()
    ts0 = int(time.time()) - 600
    to_a = lines_for("pair.x1.cpu", [10, 20, 95, 30], ts0)
    to_b = lines_for("pair.y1.cpu", [15, 99, 25, 97], ts0)
    send_tcp(a.port, ("\n".join(to_a) + "\n").encode())
    send_tcp(b.port, ("\n".join(to_b) + "\n").encode())
    # y1 ends breaching, whichever node got it; x1 breached and cleared on both.
    for g in (a, b):
        wait_until(lambda: alerts(g) == [("pair.y1.cpu", "warning")], 10,
                   what=f"alert on node {g.port}")
        wait_until(lambda: len(events(g, "pair.x1.cpu")) == 2, 10, what="x1 events")
    for series in ("pair.x1.cpu", "pair.y1.cpu"):
        assert events(a, series) == events(b, series)
    assert_once_at_carbon(cache, tee, to_a + to_b)
    for g, sent, copied in ((a, to_a, to_b), (b, to_b, to_a)):
        wait_until(lambda: peer_metric(g, "gralarm_peer_points_copied_total") == len(sent),
                   10, what="copies confirmed")
        m = g.metrics()
        assert metric(m, "gralarm_peer_points_received_total") == len(copied)
        assert metric(m, "gralarm_points_forwarded_total", destination=tee.address) == len(sent)
        assert metric(m, "gralarm_peer_up", peer=g.peer_label) == 1
    assert a.stop()[0] == 0 and b.stop()[0] == 0


def test_target_outputs_reach_carbon_once_from_the_active_node(tmp_path, carbon):
    """Both nodes compute the target rule from the same points; a (the lowest node_id)
    forwards its outputs, b holds its own and forwards none while a lives."""
    cache, tee = carbon
    a, b, _ = make_pair(tmp_path, tee, extra_rules=TARGET_RULE)
    a.start()
    b.start()
    ts0 = int(time.time()) - 300
    # Both series to a, in time order (lateness_s = 0); b evaluates a's copies.
    lines = [line for pair in zip(lines_for("pair.x1.cpu", [1, 2, 3, 4, 5], ts0),
                                  lines_for("pair.y1.cpu", [10, 20, 30, 40, 50], ts0))
             for line in pair]
    send_tcp(a.port, ("\n".join(lines) + "\n").encode())
    # Steps ts0..ts0+3 complete as the watermark passes them (ts0+4 on idle).
    want = {f"derived.sumSeries_pair._.cpu_ {v} {ts0 + i}"
            for i, v in enumerate([11, 22, 33, 44, 55])}

    def derived():
        return [line for line in tee.snapshot() if line.startswith("derived.")]
    try:
        wait_until(lambda: want <= set(derived()), 30, what="a's target outputs at carbon")
    except AssertionError:
        raise AssertionError(f"want {sorted(want)}, carbon got {derived()}")
    wait_until(lambda: metric(b.metrics(), "gralarm_target_outputs_held") >= 5, 10,
               what="b holding its outputs")
    time.sleep(2.0)  # a duplicate from b would come right behind
    seen = collections.Counter(derived())
    assert {line: seen[line] for line in want} == {line: 1 for line in want}, derived()
    assert metric(a.metrics(), "gralarm_target_outputs_held") == 0
    assert metric(a.metrics(), "gralarm_cluster_active") == 1
    assert metric(b.metrics(), "gralarm_cluster_active") == 0
    assert a.stop()[0] == 0 and b.stop()[0] == 0


def test_a_killed_peer_catches_up_from_the_spool_in_order(tmp_path, carbon):
    cache, tee = carbon
    a, b, _ = make_pair(tmp_path, tee)
    a.start()
    b.start()
    ts0 = int(time.time()) - 500
    before = lines_for("pair.x2.cpu", [10, 20], ts0)
    send_tcp(a.port, ("\n".join(before) + "\n").encode())
    wait_until(lambda: metric(b.metrics(), "gralarm_peer_points_received_total") == 2, 10,
               what="b got the first copies")
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait()
    wait_until(lambda: peer_metric(a, "gralarm_peer_up") == 0, 10, what="a sees b down")
    # Breach, clear, breach again while b is down: b must end with the same two
    # transitions into warning, in this order, and the alert raised.
    # One connection: points of one connection are evaluated and copied in order.
    during = lines_for("pair.x2.cpu", [90, 91, 30, 20, 96, 97], ts0 + 2)
    send_tcp(a.port, ("\n".join(during) + "\n").encode())
    wait_until(lambda: len(events(a, "pair.x2.cpu")) == 3, 10, what="transitions on a")
    assert alerts(a) == [("pair.x2.cpu", "warning")]
    wait_until(lambda: peer_metric(a, "gralarm_peer_spool_bytes") > 0, 10,
               what="a spools b's copies")
    b.start()  # the same store
    wait_until(lambda: events(b, "pair.x2.cpu") == events(a, "pair.x2.cpu"), 20,
               what="b's transitions equal a's")
    wait_until(lambda: peer_metric(a, "gralarm_peer_spool_bytes") == 0, 20,
               what="a's spool for b emptied")
    assert alerts(b) == [("pair.x2.cpu", "warning")]
    assert [(f, t) for f, t, _, _ in events(a, "pair.x2.cpu")] == [
        ("ok", "warning"), ("warning", "ok"), ("ok", "warning")]
    assert history(b, "pair.x2.cpu") == history(a, "pair.x2.cpu")
    assert_once_at_carbon(cache, tee, before + during)
    assert a.stop()[0] == 0 and b.stop()[0] == 0


def test_a_cut_peer_link_spools_for_60s_and_the_peer_converges(tmp_path, carbon):
    cache, tee = carbon
    a, b, gate = make_pair(tmp_path, tee, gate_a_to_b=True)
    a.start()
    b.start()
    ts0 = int(time.time()) - 400
    first = lines_for("pair.x3.cpu", [10], ts0)
    send_tcp(a.port, (first[0] + "\n").encode())
    wait_until(lambda: metric(b.metrics(), "gralarm_peer_points_received_total") == 1, 10,
               what="b got a copy through the link")
    gate.close()
    wait_until(lambda: peer_metric(a, "gralarm_peer_up") == 0, 10, what="a sees the cut")
    # One point every 5 s over the 60 s outage: a breach, then a clear.
    values = [20, 85, 88, 90, 40, 30, 86, 20, 25, 10, 15, 12]
    during = lines_for("pair.x3.cpu", values, ts0 + 1)
    t_cut = time.monotonic()
    spooled = False
    for i, line in enumerate(during):
        send_tcp(a.port, (line + "\n").encode())
        time.sleep(max(0.0, t_cut + 5 * (i + 1) - time.monotonic()))
        spooled = spooled or peer_metric(a, "gralarm_peer_spool_bytes") > 0
    assert time.monotonic() - t_cut >= 60
    assert spooled, "a never spooled its copies for b"
    assert peer_metric(a, "gralarm_peer_up") == 0
    # Meanwhile b saw only the point before the cut.
    assert metric(b.metrics(), "gralarm_peer_points_received_total") == 1
    gate.open()
    # (A replay of what the link had carried just before the cut may come too.)
    wait_until(lambda: peer_metric(a, "gralarm_peer_spool_bytes") == 0 and
               metric(b.metrics(), "gralarm_peer_points_received_total") >= 1 + len(during),
               20, what="b caught up through the link")
    wait_until(lambda: events(b, "pair.x3.cpu") == events(a, "pair.x3.cpu"), 10,
               what="b's transitions equal a's")
    assert [(f, t) for f, t, _, _ in events(a, "pair.x3.cpu")] == [
        ("ok", "warning"), ("warning", "ok"), ("ok", "warning"), ("warning", "ok")]
    assert history(b, "pair.x3.cpu") == history(a, "pair.x3.cpu")
    assert alerts(a) == alerts(b) == []
    assert_once_at_carbon(cache, tee, first + during)
    assert a.stop()[0] == 0 and b.stop()[0] == 0
