"""Target rules end to end: a rule on a Graphite expression raises and clears in a real
Alertmanager and lands in the history; its computed points (emit_prefix) reach a real
carbon-cache; POST /api/v1/evaluate answers what a target computes from given points;
open steps survive a restart without a spurious step."""

import json
import os
import signal
import time
import urllib.error
import urllib.request

import whisper

from harness import CarbonCache, Gralarm, LineSink, metric, send_tcp, wait_until
from test_alertmanager import alertmanager_alerts, start_alertmanager


def api(g, path, body=None, method=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{g.api_port}{path}", data=data,
                                 method=method or ("GET" if body is None else "POST"),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "null")


def step_start(step):
    """A step start well in the past (Alertmanager keeps alerts as they come)."""
    now = int(time.time()) - 600
    return now - now % step


def test_target_rule_raises_and_clears_through_alertmanager_and_history(tmp_path):
    am, am_port = start_alertmanager(tmp_path)
    channel = (f'[[notify.channels]]\nname = "am"\ntype = "alertmanager"\n'
               f'url = "http://127.0.0.1:{am_port}"\n')
    g = Gralarm(str(tmp_path), [LineSink().address], sections=channel).start()
    status, rule = api(g, "/api/v1/rules", {
        "id": "sum-x", "target": "sumSeries(a.*.x)", "step_s": 10, "lateness_s": 0,
        "thresholds": {"major": 100}, "channels": ["am"]})
    assert status == 201, rule
    assert rule["target"] == "sumSeries(a.*.x)" and rule["lateness_s"] == 0
    # A bad expression: 400 on the target field, naming the function.
    status, err = api(g, "/api/v1/rules", {"id": "bad", "target": "fooBar(a.*.x)",
                                           "thresholds": {"major": 1}})
    assert status == 400 and err["error"]["field"] == "target", err
    assert "fooBar" in err["error"]["message"]
    status, m = api(g, "/api/v1/match?metric=a.mad1.x")
    assert m["target_rules"] == ["sum-x"] and m["rules"] == []

    def firing():
        return [a for a in alertmanager_alerts(am_port)
                if a["labels"].get("alertname") == "sum-x"
                and a["status"]["state"] == "active"]

    t = step_start(10)
    # Step t: 60 + 70 = 130 > 100; the first point of step t+10 completes it.
    send_tcp(g.port, f"a.mad1.x 60 {t}\na.bcn1.x 70 {t + 3}\nb.other.x 1000 {t}\n"
                     f"a.mad1.x 1 {t + 10}\n".encode())
    wait_until(lambda: len(firing()) == 1, 30, what="the target alert in Alertmanager")
    alert = firing()[0]
    assert alert["labels"]["series"] == "sumSeries(a.*.x)"
    assert alert["labels"]["severity"] == "major"
    status, series = api(g, "/api/v1/rules/sum-x/series")
    assert status == 200
    items = series["items"] if isinstance(series, dict) else series
    assert [s["series"] for s in items] == ["sumSeries(a.*.x)"], series
    # Step t+10: 1 + 2 = 3: clears once step t+20 starts.
    send_tcp(g.port, f"a.bcn1.x 2 {t + 11}\na.mad1.x 1 {t + 20}\n".encode())
    wait_until(lambda: not firing(), 30, what="the target alert resolved")

    def history():
        _, h = api(g, "/api/v1/history?rule=sum-x")
        return h["items"] if isinstance(h, dict) else h
    wait_until(lambda: len(history()) == 1, 10, what="the history entry")
    h = history()[0]
    assert h["series"] == "sumSeries(a.*.x)"
    assert h["peak_severity"] == "major"
    # A raw point for a step already completed is late: counted, not applied.
    send_tcp(g.port, f"a.mad1.x 5000 {t + 1}\n".encode())
    wait_until(lambda: metric(g.metrics(), "gralarm_target_points_late_total") == 1, 10,
               what="the late point counted")
    assert not firing()
    assert g.stop()[0] == 0
    am.terminate()
    am.wait(10)


def test_emitted_points_land_in_carbon_cache_and_evaluate_agrees(tmp_path):
    carbon = CarbonCache(str(tmp_path)).start()
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "sum-x"\ntarget = "sumSeries(a.*.x)"\n'
                     'step_s = 1\nlateness_s = 0\nemit_prefix = "gralarm.derived"\n'
                     'thresholds = { major = 1000000 }\n')
    g = Gralarm(str(tmp_path), [f"127.0.0.1:{carbon.port}"],
                sections=f'[rules]\nfiles = ["{rules}"]\n').start()
    t = int(time.time()) - 120
    lines, points = [], []
    for k in range(5):
        for host, v in (("mad1", 10 * k), ("bcn1", k + 0.5)):
            lines.append(f"a.{host}.x {v} {t + k}\n")
            points.append([f"a.{host}.x", v, t + k])
    lines.append(f"a.mad1.x 0 {t + 5}\n")  # completes step t+4
    send_tcp(g.port, "".join(lines).encode())
    path = carbon.whisper_path("gralarm.derived.sumSeries_a._.x_")
    wait_until(lambda: os.path.exists(path), 30, what="the emitted whisper file")
    carbon.wait_written()

    def stored():
        (_, _, step), values = whisper.fetch(path, t - 1, t + 4)
        return values
    wait_until(lambda: [v for v in stored() if v is not None] ==
               [11 * k + 0.5 for k in range(5)], 30, what="the emitted values")
    # Raw points are forwarded unchanged, emitted ones are not evaluated again.
    assert os.path.exists(carbon.whisper_path("a.mad1.x"))
    status, m = api(g, "/api/v1/match?metric=gralarm.derived.sumSeries_a._.x_")
    assert m["target_rules"] == []
    # The evaluate API computes the same from the same points.
    status, out = api(g, "/api/v1/evaluate",
                      {"target": "sumSeries(a.*.x)", "step_s": 1, "points": points})
    assert status == 200, out
    assert out == [{"target": "sumSeries(a.*.x)",
                    "datapoints": [[11 * k + 0.5, t + k] for k in range(5)]}]
    status, err = api(g, "/api/v1/evaluate", {"target": "highestMax(a.*.x, 1)"})
    assert status == 400 and err["error"]["field"] == "target"
    assert g.stop()[0] == 0
    carbon.stop()


def test_open_steps_survive_sigterm_and_sigkill_without_a_spurious_step(tmp_path):
    sink = LineSink()
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "rate"\ntarget = "perSecond(c.*.n)"\n'
                     'step_s = 10\nlateness_s = 5\nemit_prefix = "d"\n'
                     'thresholds = { major = 1000000 }\n')
    g = Gralarm(str(tmp_path), [sink.address],
                sections=f'[rules]\nfiles = ["{rules}"]\n'
                         '[evaluation]\nstate_flush_ms = 200\n').start()
    t = step_start(10)
    value = [1000]

    def send(k0, k1):
        data = ""
        for k in range(k0, k1):
            data += f"c.1.n {value[0]} {t + 10 * k}\n"
            value[0] += 50
        send_tcp(g.port, data.encode())

    def emitted():
        return [ln.decode() for ln in sink.snapshot() if ln.startswith(b"d.")]

    send(0, 5)  # steps t..t+40; t+30 and t+40 stay open
    wait_until(lambda: len(emitted()) == 2, 20, what="the first rates")
    assert g.stop()[0] == 0
    g.start()
    send(5, 7)
    wait_until(lambda: len(emitted()) == 4, 20, what="the rates after a restart")
    time.sleep(0.6)  # a state flush
    g.proc.send_signal(signal.SIGKILL)
    g.proc.wait()
    g.start()
    send(7, 9)
    wait_until(lambda: len(emitted()) == 6, 20, what="the rates after kill -9")
    # Every step once, each the same rate (5 per second): no reset, no spike.
    assert emitted() == [f"d.perSecond_c.1.n_ 5 {t + 10 * k}" for k in range(1, 7)], \
        emitted()
    assert g.stop()[0] == 0
