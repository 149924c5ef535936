"""Target rules that read history, with the real carbon-cache and graphite-web: the
history a target reads before its first step (here movingAverage over 2 minutes at
a 10 s step: 12 steps) is loaded from graphite-web's /render when the rule is
created, so gralarm's first emitted values equal graphite-web's render of the same
expression; graphite-web down gives a failed status with a clear error and a retry
that loads it once graphite-web is back; after kill -9 and a restart only the steps
gralarm missed are loaded (points that reached carbon-cache meanwhile count), and
nothing alarms."""

import json
import os
import re
import time
import urllib.error
import urllib.request

import pytest

from harness import CarbonCache, Gralarm, GraphiteWeb, metric, send_tcp, wait_until

STEP_S = 10
TARGET = "movingAverage(hist.a.x,'2min')"
HISTORY_STEPS = 12


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


def history(g, rule_id):
    status, rule = api(g, f"/api/v1/rules/{rule_id}")
    assert status == 200, rule
    return rule["history"]


def emit_name(output):
    return "derived." + re.sub(r"[^A-Za-z0-9_.-]", "_", output)


def rendered(web, target, t):
    """graphite-web's value of `target` at step t (None when null or no series)."""
    series = web.render(target, t - STEP_S, t)
    if not series:
        return None
    values = {ts: v for v, ts in series[0]["datapoints"]}
    return values.get(t)


def wait_step_passed(t):
    """Sleeps until the wall clock is past step t (carbon refuses future points)."""
    while time.time() < t + 0.2:
        time.sleep(0.05)


def rule_body(rule_id, target=TARGET):
    return {"id": rule_id, "target": target, "step_s": STEP_S, "lateness_s": 0,
            "emit_prefix": "derived", "thresholds": {"critical": 1000}}


def make_gralarm(tmp_path, carbon, web):
    sections = (f'[graphite]\nurl = "http://127.0.0.1:{web.port}/"\ntimeout_ms = 3000\n'
                '[evaluation]\nstate_flush_ms = 200\n')
    return Gralarm(str(tmp_path), [f"127.0.0.1:{carbon.port}"], sections=sections).start()


@pytest.fixture
def stack(tmp_path):
    carbon = CarbonCache(str(tmp_path), retentions=f"{STEP_S}s:1d").start()
    web = GraphiteWeb(str(tmp_path / "web"), os.path.join(carbon.storage, "whisper"))
    web.migrate().start()
    procs = {"g": make_gralarm(tmp_path, carbon, web)}
    yield carbon, web, procs
    procs["g"].stop()
    web.stop()
    carbon.stop()


def test_history_is_loaded_used_and_only_the_gap_after_kill_9(stack, tmp_path):
    carbon, web, procs = stack
    g = procs["g"]
    now = int(time.time()) // STEP_S * STEP_S
    # 30 steps of history, written to carbon-cache directly (not through gralarm).
    past = [(now - (30 - i) * STEP_S, 3.0 * i + 1) for i in range(30)]
    send_tcp(carbon.port, "".join(f"hist.a.x {v!r} {ts}\n" for ts, v in past).encode())
    wait_until(lambda: rendered(web, "hist.a.x", past[-1][0]) == past[-1][1], 60,
               what="the history in graphite-web")

    status, rule = api(g, "/api/v1/rules", rule_body("ma"))
    assert status == 201, rule
    wait_until(lambda: history(g, "ma")["state"] == "loaded", 20,
               what="the history loaded")
    h = history(g, "ma")
    assert h["steps"] == HISTORY_STEPS and 0 < h["loaded_steps"] <= HISTORY_STEPS, h
    assert metric(g.metrics(), "gralarm_target_history_loads_total", result="ok") == 1

    # Live points through gralarm; each completes the step before it.
    t0 = int(time.time()) // STEP_S * STEP_S
    live = [(t0 + k * STEP_S, 100.0 + k) for k in range(3)]
    for ts, v in live:
        wait_step_passed(ts)
        send_tcp(g.port, f"hist.a.x {v!r} {ts}\n".encode())
    wait_until(lambda: api(g, "/api/v1/rules/ma/series")[1]["items"], 30,
               what="the rule's output series")
    name = emit_name(api(g, "/api/v1/rules/ma/series")[1]["items"][0]["series"])
    for ts, _ in live[:-1]:
        wait_until(lambda: rendered(web, name, ts) is not None, 30,
                   what=f"gralarm's value at {ts} in carbon-cache")
        want = rendered(web, TARGET, ts)
        got = rendered(web, name, ts)
        # The first one is all history: without it gralarm has no value there.
        assert want is not None and abs(got - want) <= 1e-9 * abs(want), (ts, got, want)

    # kill -9; meanwhile points reach carbon-cache through another way.
    time.sleep(1)  # a state flush (state_flush_ms = 200)
    g.proc.kill()
    g.proc.wait()
    g.log.close()
    gap = [(live[-1][0] + k * STEP_S, 500.0 + k) for k in range(1, 4)]
    for ts, v in gap:
        wait_step_passed(ts)
        send_tcp(carbon.port, f"hist.a.x {v!r} {ts}\n".encode())
    wait_until(lambda: rendered(web, "hist.a.x", gap[-1][0]) == gap[-1][1], 60,
               what="the gap's points in graphite-web")
    g = procs["g"] = make_gralarm(tmp_path, carbon, web)
    wait_until(lambda: history(g, "ma")["state"] == "loaded", 20,
               what="the gap loaded")
    assert "the missed history loaded" in g.read_log()
    h = history(g, "ma")
    # Only the gap: the open step saved at the kill and the steps after it (the
    # gap's points join the open steps), not the whole history.
    assert h["loaded_steps"] < HISTORY_STEPS, h
    # The next live steps see the gap's points, as graphite-web does.
    t1 = gap[-1][0] + STEP_S
    after = [(t1 + k * STEP_S, 200.0 + k) for k in range(2)]
    for ts, v in after:
        wait_step_passed(ts)
        send_tcp(g.port, f"hist.a.x {v!r} {ts}\n".encode())
    ts = after[0][0]
    wait_until(lambda: rendered(web, name, ts) is not None, 30,
               what="gralarm's value after the restart")
    want, got = rendered(web, TARGET, ts), rendered(web, name, ts)
    # The window holds the gap's points (500..502): without them gralarm's value
    # would be lower.
    assert abs(got - want) <= 1e-9 * abs(want), (got, want)
    status, alerts = api(g, "/api/v1/alerts")
    assert status == 200 and alerts["items"] == [], alerts


def test_graphite_web_down_fails_clearly_then_loads(stack):
    carbon, web, procs = stack
    g = procs["g"]
    now = int(time.time()) // STEP_S * STEP_S
    send_tcp(carbon.port, "".join(
        f"hist.b.x {float(i)!r} {now - (20 - i) * STEP_S}\n" for i in range(20)).encode())
    wait_until(lambda: rendered(web, "hist.b.x", now - STEP_S) == 19.0, 60,
               what="the history in graphite-web")
    web.stop()
    status, rule = api(g, "/api/v1/rules",
                       rule_body("mb", "movingAverage(hist.b.x,'2min')"))
    assert status == 201, rule
    wait_until(lambda: history(g, "mb")["state"] == "failed", 20, what="failed")
    h = history(g, "mb")
    assert "graphite-web is unreachable" in h["error"], h
    assert "next_retry" in h, h
    log = g.read_log()
    assert "target rule mb: history not loaded: graphite-web is unreachable" in log, log
    assert f"127.0.0.1:{web.port}" in log
    assert metric(g.metrics(), "gralarm_target_history_loads_total", result="error") >= 1
    web.start()
    wait_until(lambda: history(g, "mb")["state"] == "loaded", 60, what="loaded")
    h = history(g, "mb")
    assert 0 < h["loaded_steps"] <= HISTORY_STEPS and "error" not in h, h
