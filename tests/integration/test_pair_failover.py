"""The active-active pair end to end: two gralarm nodes copying their clients' points to
each other, one carbon-cache, a two-member Alertmanager cluster (Debian's
prometheus-alertmanager), a webhook receiver, and a collector that sends to node a and
fails over to b while a is unreachable (and back). A sequence of breaches and clears with
kill -9 of a, then of b, mid-sequence: every transition reaches both Alertmanagers and
the webhook at least once and at most twice, both nodes' history agrees, and carbon-cache
holds every point a node accepted, once."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import whisper

from harness import (_RUNNING, CarbonCache, Gralarm, WebhookReceiver, free_port, metric,
                     port_open, wait_until)

FAILOVER_S = 2


class Receiver(WebhookReceiver):
    """The webhook receiver: each alert of each POST as (series, status)."""

    @property
    def alerts(self):
        return [(a["labels"]["series"], a["status"])
                for body in self.bodies() for a in body["alerts"]]

    def count(self, series, status):
        return self.alerts.count((series, status))


def start_alertmanagers(tmp_path):
    """Two Alertmanagers gossiping with each other: their web ports."""
    web = [free_port(), free_port()]
    gossip = [free_port(), free_port()]
    (tmp_path / "am.yml").write_text(
        "route:\n  receiver: noc\n  group_wait: 1s\n  group_interval: 1s\n"
        "receivers:\n  - name: noc\n")
    for i in (0, 1):
        am = subprocess.Popen(
            ["prometheus-alertmanager", f"--config.file={tmp_path / 'am.yml'}",
             f"--storage.path={tmp_path / f'am{i}-data'}",
             f"--web.listen-address=127.0.0.1:{web[i]}",
             f"--cluster.listen-address=127.0.0.1:{gossip[i]}",
             f"--cluster.advertise-address=127.0.0.1:{gossip[i]}",
             f"--cluster.peer=127.0.0.1:{gossip[1 - i]}"],
            stdout=open(tmp_path / f"alertmanager{i}.log", "wb"), stderr=subprocess.STDOUT)
        _RUNNING.append(am)
    for port in web:
        wait_until(lambda: port_open(port), 30, what="alertmanager")
    wait_until(lambda: all(len(am_status(p)["cluster"]["peers"]) == 2 for p in web), 30,
               what="the Alertmanager cluster")
    return web


def am_status(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/status", timeout=5) as r:
        return json.loads(r.read())


def am_active(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/alerts", timeout=5) as r:
        return sorted(a["labels"]["series"] for a in json.loads(r.read())
                      if a["status"]["state"] == "active")


def get(g, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{g.api_port}{path}", timeout=5) as r:
        return json.loads(r.read())


def make_pair(tmp_path, carbon, receiver, am_ports):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "cpu"\nname = "CPU load"\npattern = "srv.*.cpu"\n'
                     'thresholds = { warning = 80 }\nchannels = ["hook", "am0", "am1"]\n')
    channels = (f'[[notify.channels]]\nname = "hook"\ntype = "webhook"\n'
                f'url = "http://127.0.0.1:{receiver.port}/hook"\n' +
                "".join(f'[[notify.channels]]\nname = "am{i}"\ntype = "alertmanager"\n'
                        f'url = "http://127.0.0.1:{p}"\n' for i, p in enumerate(am_ports)))
    nodes = {}
    for node_id in ("a", "b"):
        d = tmp_path / node_id
        d.mkdir()
        nodes[node_id] = Gralarm(str(d), [f"127.0.0.1:{carbon.port}"])
        nodes[node_id].cluster_port = free_port()
    for node_id, peer_id in (("a", "b"), ("b", "a")):
        g, peer = nodes[node_id], nodes[peer_id]
        g.sections = (f'[rules]\nfiles = ["{rules}"]\n{channels}'
                      f'[cluster]\nnode_id = "{node_id}"\n'
                      f'listen = "127.0.0.1:{g.cluster_port}"\n'
                      f'peers = ["127.0.0.1:{peer.cluster_port}"]\n'
                      f'peer_apis = ["http://127.0.0.1:{peer.api_port}"]\n'
                      f'failover_s = {FAILOVER_S}\ntimeout_ms = 500\n')
        g.write_config([f"127.0.0.1:{carbon.port}"])
    return nodes["a"], nodes["b"]


class Collector:
    """Sends each point to a, or to b when a does not accept the connection; remembers
    which node accepted each point."""

    def __init__(self, a, b):
        self.nodes = [a, b]
        self.accepted = []  # (name, value, ts, node)

    def send(self, name, value, ts):
        for g in self.nodes:
            try:
                with socket.create_connection(("127.0.0.1", g.port), timeout=1) as s:
                    s.sendall(f"{name} {value} {ts}\n".encode())
                self.accepted.append((name, value, ts, g))
                return g
            except OSError:
                continue
        raise AssertionError("no node accepted the point")


def test_pair_survives_kill_of_either_node(tmp_path):
    carbon = CarbonCache(str(tmp_path)).start()
    receiver = Receiver()
    am_ports = start_alertmanagers(tmp_path)
    a, b = make_pair(tmp_path, carbon, receiver, am_ports)
    a.start()
    b.start()
    wait_until(lambda: metric(a.metrics(), "gralarm_cluster_active") == 1 and
               metric(b.metrics(), "gralarm_cluster_active") == 0, 10, what="roles")
    collector = Collector(a, b)
    ts = int(time.time()) - 120

    def step(series, value, expect_status, via):
        nonlocal ts
        ts += 1
        assert collector.send(f"srv.{series}.cpu", value, ts) is via
        name = f"srv.{series}.cpu"
        wait_until(lambda: receiver.count(name, expect_status) >= 1, 30,
                   what=f"{name} {expect_status} at the webhook")
        for port in am_ports:
            wait_until(lambda: (name in am_active(port)) == (expect_status == "firing"), 30,
                       what=f"{name} {expect_status} in Alertmanager {port}")

    def has_alert(g, name, present):
        return lambda: (name in [x["series"] for x in get(g, "/api/v1/alerts")["items"]]
                        ) == present

    # Both alive: a sends the webhook, b leaves its copies to a.
    step(1, 90, "firing", a)
    step(1, 10, "resolved", a)
    step(2, 90, "firing", a)
    wait_until(has_alert(b, "srv.2.cpu", True), 10, what="b evaluating a's copy")
    # In normal operation only a forwarded the points to carbon-cache.
    def forwarded(g):
        return sum(v for (n, _), v in g.metrics().items()
                   if n == "gralarm_points_forwarded_total")
    wait_until(lambda: forwarded(a) == 3, 10, what="a forwarding its clients' points")
    assert forwarded(b) == 0

    # b held its copies of those three and leaves them to a, which had time to send them.
    wait_until(lambda: metric(b.metrics(), "gralarm_notifications_total", channel="hook",
                              result="left_to_peer") == 3, FAILOVER_S + 15,
               what="b leaving its three notifications to a")

    # kill -9 of a: the collector fails over to b, which takes over after failover_s.
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    step(2, 10, "resolved", b)
    step(3, 90, "firing", b)
    # a returns: b's spooled copies catch it up before the collector comes back to it.
    a.start()
    wait_until(has_alert(a, "srv.3.cpu", True), 30, what="a catching up from b's spool")
    wait_until(has_alert(a, "srv.2.cpu", False), 30, what="a catching up the clear")
    wait_until(lambda: metric(b.metrics(), "gralarm_cluster_active") == 0, 10,
               what="b standing by again")
    step(3, 10, "resolved", a)

    # kill -9 of b: a stays active and goes on.
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait()
    step(4, 90, "firing", a)
    b.start()
    wait_until(has_alert(b, "srv.4.cpu", True), 30, what="b catching up from a's spool")

    def alerts(g):
        return sorted((x["series"], x["severity"]) for x in get(g, "/api/v1/alerts")["items"])
    assert alerts(a) == alerts(b) == [("srv.4.cpu", "warning")]
    step(4, 10, "resolved", a)
    wait_until(has_alert(b, "srv.4.cpu", False), 30, what="b evaluating the clear")

    # Every transition reached the webhook at least once and at most twice. Once b has
    # left what it holds to a, nothing more arrives.
    wait_until(lambda: get(b, "/api/v1/summary")["alerts"]["warning"] == 0, 10,
               what="b with no active alert")
    time.sleep(FAILOVER_S + 6)
    # While both lived, once.
    for status in ("firing", "resolved"):
        assert receiver.count("srv.1.cpu", status) == 1, receiver.alerts
    for series in (1, 2, 3, 4):
        for status in ("firing", "resolved"):
            n = receiver.count(f"srv.{series}.cpu", status)
            assert 1 <= n <= 2, (series, status, receiver.alerts)
    for port in am_ports:
        assert am_active(port) == []

    # Both nodes' history agrees (the times differ: each node stamps its own).
    def history(g):
        return sorted((h["series"], h["peak_severity"], h["last_value"])
                      for h in get(g, "/api/v1/history?limit=1000")["items"])
    assert history(a) == history(b)
    assert len(history(a)) == 4

    # carbon-cache holds every point a node accepted.
    for g in (a, b):
        assert g.stop()[0] == 0
    carbon.wait_written()
    carbon.stop()
    for name, value, t, _ in collector.accepted:
        path = carbon.whisper_path(name)
        assert os.path.exists(path), path
        (start, _, step_s), values = whisper.fetch(path, t - 1, t + 1)
        by_ts = {start + i * step_s: v for i, v in enumerate(values)}
        assert by_ts.get(t) == value, (name, t, by_ts)
