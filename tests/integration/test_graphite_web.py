"""gralarm with the real graphite-web (Debian's graphite-web over carbon-cache's
whisper files): GET /api/v1/graph renders what gralarm forwarded, and the
graphite_events channel writes each transition as a graphite-web event (what
Grafana's Graphite annotation query reads), retried while graphite-web is down."""

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from harness import (CarbonCache, Gralarm, GraphiteWeb, LineSink, metric, send_tcp,
                     wait_until)

STEP_S = 10

RULES = """
[[rules]]
id = "gw-load"
name = "GW load"
pattern = "gw.*.load"
thresholds = { warning = 80, critical = 95 }
channels = ["events"]
"""


def api_get(g, path):
    """(status, parsed JSON body) of a GET to gralarm's API."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{g.api_port}{path}", timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def graph(g, target, **params):
    query = urllib.parse.urlencode({"target": target, **params})
    return api_get(g, f"/api/v1/graph?{query}")


def events(web):
    with urllib.request.urlopen(
            f"http://127.0.0.1:{web.port}/events/get_data?tags=gralarm", timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture
def stack(tmp_path):
    carbon = CarbonCache(str(tmp_path), retentions=f"{STEP_S}s:1d").start()
    web = GraphiteWeb(str(tmp_path / "web"), os.path.join(carbon.storage, "whisper"))
    web.migrate().start()
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    sections = (f'[rules]\nfiles = ["{rules}"]\n'
                f'[graphite]\nurl = "http://127.0.0.1:{web.port}/"\ntimeout_ms = 5000\n'
                '[[notify.channels]]\nname = "events"\ntype = "graphite_events"\n')
    g = Gralarm(str(tmp_path), [f"127.0.0.1:{carbon.port}"], sections=sections).start()
    yield carbon, web, g
    g.stop()
    web.stop()
    carbon.stop()


def test_graph_renders_the_points_gralarm_forwarded(stack):
    carbon, web, g = stack
    now = int(time.time()) // STEP_S * STEP_S
    points = [(now - (30 - i) * STEP_S, float(i)) for i in range(30)]
    send_tcp(g.port, "".join(f"gw.a.load {v!r} {ts}\n" for ts, v in points).encode())

    def rendered():
        status, body = graph(g, "gw.a.load", **{"from": "-10min"})
        assert status == 200, body
        got = {ts: v for v, ts in body[0]["datapoints"] if v is not None} if body else {}
        return got == dict(points)
    wait_until(rendered, 60, what="the forwarded points rendered")
    # Exactly what graphite-web answers itself: passed through.
    status, body = graph(g, "gw.a.load", **{"from": str(now - 600),
                                            "until": str(now + STEP_S)})
    assert status == 200, body
    assert body == web.render_raw("gw.a.load", now - 600, now + STEP_S)
    assert [s["target"] for s in body] == ["gw.a.load"]
    # An expression, and from/until in each of graphite's forms.
    status, body = graph(g, "scale(gw.a.load,2)", **{"from": str(now - 600),
                                                     "until": "now"})
    assert status == 200, body
    assert body[0]["target"] == "scale(gw.a.load,2)"
    assert {ts: v for v, ts in body[0]["datapoints"] if v is not None} == \
        {ts: 2 * v for ts, v in points}
    status, body = graph(g, "gw.a.load", **{"from": "-2d", "until": "now-1h"})
    assert status == 200 and all(v is None for v, _ in body[0]["datapoints"])
    # Defaults: the last six hours.
    status, body = graph(g, "gw.a.load")
    assert status == 200, body
    assert abs(body[0]["datapoints"][0][1] - (now - 6 * 3600)) <= 2 * STEP_S

    # What gralarm refuses before asking graphite-web.
    status, body = graph(g, "gw.a.load", **{"from": "-6h&target=x"})
    assert status == 400 and body["error"]["field"] == "from", body
    status, body = graph(g, "gw.a.load", until="tomorrow")
    assert status == 400 and body["error"]["field"] == "until", body
    status, body = api_get(g, "/api/v1/graph")
    assert status == 400 and body["error"]["field"] == "target", body
    status, body = graph(g, "a" * 5000)
    assert status == 400 and "4096" in body["error"]["message"], body
    # graphite-web's own refusal of the target: a 400 quoting it.
    status, body = graph(g, "noSuchFunction(gw.a.load)")
    assert status == 400 and body["error"]["field"] == "target", body
    assert body["error"]["message"].startswith(
        "target: graphite-web /render answered HTTP 400: "), body
    assert "noSuchFunction" in body["error"]["message"], body

    # graphite-web down: 502 that says so.
    web.stop()
    status, body = graph(g, "gw.a.load")
    assert status == 502, body
    assert "graphite-web is unreachable" in body["error"]["message"], body


def test_graph_without_graphite_url_says_so(tmp_path):
    g = Gralarm(str(tmp_path), [LineSink().address]).start()
    status, body = graph(g, "gw.a.load")
    assert status == 400, body
    assert "[graphite] url is not set" in body["error"]["message"]
    assert g.stop()[0] == 0


def test_transitions_become_graphite_web_events(stack):
    _, web, g = stack
    ts = int(time.time()) - 120
    send_tcp(g.port, f"gw.b.load 85 {ts}\n".encode())
    wait_until(lambda: len(events(web)) == 1, 30, what="the warning event")
    send_tcp(g.port, f"gw.b.load 97.5 {ts + 10}\n".encode())
    wait_until(lambda: len(events(web)) == 2, 30, what="the critical event")
    send_tcp(g.port, f"gw.b.load 3 {ts + 20}\n".encode())
    wait_until(lambda: len(events(web)) == 3, 30, what="the clear event")
    got = sorted(events(web), key=lambda e: e["id"])
    assert [(e["what"], e["tags"], e["data"]) for e in got] == [
        ("GW load: ok -> warning", ["gralarm", "gw-load", "warning"], "gw.b.load = 85"),
        ("GW load: warning -> critical", ["gralarm", "gw-load", "critical"],
         "gw.b.load = 97.5"),
        ("GW load: critical -> ok", ["gralarm", "gw-load", "critical"], "gw.b.load = 3"),
    ]
    now = time.time()
    assert all(now - 60 < e["when"] <= now + 1 for e in got), got
    # Counted once graphite-web's answer is read, which may be just after the event shows.
    wait_until(lambda: metric(g.metrics(), "gralarm_notifications_total", channel="events",
                              result="delivered") == 3, 10, what="the deliveries counted")
    # Grafana's annotation query asks by tag: the rule's id finds them too.
    with urllib.request.urlopen(f"http://127.0.0.1:{web.port}/events/get_data?"
                                f"tags=gw-load", timeout=10) as r:
        assert len(json.loads(r.read())) == 3


def test_events_wait_for_graphite_web_and_nothing_is_lost(stack):
    _, web, g = stack
    port = web.port
    web.stop()
    ts = int(time.time()) - 120
    send_tcp(g.port, f"gw.c.load 90 {ts}\n".encode())
    wait_until(lambda: metric(g.metrics(), "gralarm_notifications_total", channel="events",
                              result="failed") >= 2, 30, what="two failed attempts")
    send_tcp(g.port, f"gw.c.load 1 {ts + 10}\n".encode())
    wait_until(lambda: metric(g.metrics(), "gralarm_outbox_pending") == 2, 10,
               what="both transitions waiting")
    web.start()
    assert web.port == port, "graphite-web came back on another port"
    wait_until(lambda: len(events(web)) == 2, 60, what="both events after the outage")
    time.sleep(2)
    got = sorted(events(web), key=lambda e: e["id"])
    assert [e["what"] for e in got] == ["GW load: ok -> warning", "GW load: warning -> ok"]
    assert [e["data"] for e in got] == ["gw.c.load = 90", "gw.c.load = 1"]
    assert metric(g.metrics(), "gralarm_outbox_pending") == 0
