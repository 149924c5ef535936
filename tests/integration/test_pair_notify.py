"""Who sends in an active-active pair: /healthz names the node, the lowest live node_id
sends the webhook channel while both nodes send Alertmanager channels; a standby drops
what the active node had time to send, and takes over (sending what it holds) once the
active node has been unreachable for cluster.failover_s. Each node is fed the points
directly here (the peers' copy listeners point at closed ports), so this file tests the
notification role alone."""

import json
import signal
import time
import urllib.request

from harness import (Gralarm, LineSink, WebhookReceiver, free_port, metric, send_tcp,
                     wait_until)

FAILOVER_S = 2
DROP_AFTER_S = FAILOVER_S + 5  # failover_s + the standby's margin


class Receiver(WebhookReceiver):
    """The webhook and Alertmanager receiver of both nodes."""

    def hook(self):
        """(status, severity) of each webhook alert, in arrival order."""
        return [(a["status"], a["labels"]["severity"])
                for body in self.bodies("/hook") for a in body["alerts"]]

    def am_posts(self):
        return self.bodies("/api/v2/alerts")


def make_pair(tmp_path, receiver):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "cpu"\nname = "CPU load"\npattern = "srv.*.cpu"\n'
                     'thresholds = { warning = 80 }\nchannels = ["hook", "am"]\n')
    channels = (f'[[notify.channels]]\nname = "hook"\ntype = "webhook"\n'
                f'url = "http://127.0.0.1:{receiver.port}/hook"\n'
                f'[[notify.channels]]\nname = "am"\ntype = "alertmanager"\n'
                f'url = "http://127.0.0.1:{receiver.port}"\n')
    nodes = {}
    for node_id in ("a", "b"):
        d = tmp_path / node_id
        d.mkdir()
        nodes[node_id] = Gralarm(str(d), [LineSink().address],
                                 sections=f'[rules]\nfiles = ["{rules}"]\n{channels}')
    for node_id, peer_id in (("a", "b"), ("b", "a")):
        g, peer = nodes[node_id], nodes[peer_id]
        # Copies go to a closed port: each node is fed by the test.
        g.sections += (f'[cluster]\nnode_id = "{node_id}"\n'
                       f'listen = "127.0.0.1:{free_port()}"\n'
                       f'peers = ["127.0.0.1:{free_port()}"]\n'
                       f'peer_apis = ["http://127.0.0.1:{peer.api_port}"]\n'
                       f'failover_s = {FAILOVER_S}\ntimeout_ms = 500\n')
        g.write_config([LineSink().address])
    return nodes["a"], nodes["b"]


def healthz(g):
    with urllib.request.urlopen(f"http://127.0.0.1:{g.api_port}/healthz", timeout=2) as r:
        return json.loads(r.read())


def active(g):
    return metric(g.metrics(), "gralarm_cluster_active")


def test_the_lowest_live_node_sends_and_the_other_takes_over(tmp_path):
    receiver = Receiver()
    a, b = make_pair(tmp_path, receiver)
    a.start()
    b.start()
    assert healthz(a) == {"status": "ok", "node_id": "a"}
    assert healthz(b) == {"status": "ok", "node_id": "b"}
    wait_until(lambda: active(a) == 1 and active(b) == 0, 10, what="a active, b standby")
    peer_a = f"http://127.0.0.1:{a.api_port}"
    wait_until(lambda: metric(b.metrics(), "gralarm_cluster_peer_up", peer=peer_a) == 1, 10,
               what="b sees a up")

    # Both alive: the webhook is told once (by a), Alertmanager by both.
    ts = int(time.time()) - 60
    for g in (a, b):
        send_tcp(g.port, f"srv.x.cpu 90 {ts}\n".encode())
    wait_until(lambda: receiver.hook() == [("firing", "warning")], 10, what="the firing")
    wait_until(lambda: len(receiver.am_posts()) >= 2, 10, what="both nodes' Alertmanager POSTs")
    # b held its copy and leaves it to a once a had time to send it.
    wait_until(lambda: metric(b.metrics(), "gralarm_notifications_total", channel="hook",
                              result="left_to_peer") == 1, DROP_AFTER_S + 10,
               what="b leaving its copy to a")
    assert metric(b.metrics(), "gralarm_notifications_total", channel="hook",
                  result="delivered") == 0
    assert receiver.hook() == [("firing", "warning")]

    # a dies: b holds the clear until a has been unreachable for failover_s, then sends.
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    t_kill = time.monotonic()
    send_tcp(b.port, f"srv.x.cpu 10 {ts + 10}\n".encode())
    wait_until(lambda: receiver.hook() == [("firing", "warning"), ("resolved", "warning")],
               FAILOVER_S + 15, what="b sending the clear after failover")
    assert time.monotonic() - t_kill >= FAILOVER_S - 0.5
    assert active(b) == 1
    assert metric(b.metrics(), "gralarm_cluster_peer_up", peer=peer_a) == 0
    assert "is now active for notifications" in b.read_log()

    # a returns (and is told the clear it missed, as its peer's replay would): b stands
    # by again; a sends the clear too: the receiver hears it at most twice.
    a.start()
    send_tcp(a.port, f"srv.x.cpu 10 {ts + 10}\n".encode())
    wait_until(lambda: active(b) == 0 and active(a) == 1, 10, what="b back to standby")
    assert "is now standby for notifications" in b.read_log()
    wait_until(lambda: len(receiver.hook()) == 3, 10, what="a's clear")
    assert receiver.hook()[2] == ("resolved", "warning")
    time.sleep(1)
    assert len(receiver.hook()) == 3
    for g in (a, b):
        assert g.stop()[0] == 0
    receiver.close()


def test_a_node_without_cluster_answers_healthz_as_before(tmp_path):
    g = Gralarm(str(tmp_path), [LineSink().address]).start()
    assert healthz(g) == {"status": "ok"}
    assert "gralarm_cluster_active" not in g.metrics_text()
    assert g.stop()[0] == 0
