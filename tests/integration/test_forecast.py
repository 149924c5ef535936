"""Forecast rules (README "Forecast rules") in the running process: a forecast rule
pages earlier than the plain threshold rule on the same rising series, its alert says
it is a forecast and carries the value and the forecast, and a kill -9 in the middle of
the series neither pages spuriously nor loses the window."""

import json
import signal
import subprocess
import time
import urllib.request

from harness import GRALARM_BIN, Gralarm, LineSink, send_tcp, wait_until

# Both rules watch core.link*.util with the same threshold; link-trend compares the
# value predicted 1200 s ahead by the least-squares line over the last 600 s.
RULES = """
[[rules]]
id = "link-trend"
pattern = "core.link*.util"
thresholds = { critical = 95 }
forecast = { window_s = 600, horizon_s = 1200 }

[[rules]]
id = "link-plain"
pattern = "core.link*.util"
thresholds = { critical = 95 }
"""

STEP = 30


def value(t0, ts):
    """20 % rising by 0.05 %/s: the value reaches 95 at t0 + 1500, its forecast
    (1200 s ahead, the series being exactly linear) at t0 + 300."""
    return 20 + 0.05 * (ts - t0)


def start(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    sink = LineSink()
    g = Gralarm(str(tmp_path), [sink.address],
                sections=f'[rules]\nfiles = ["{rules}"]\n[evaluation]\nstate_flush_ms = 100\n')
    return g.start(), sink


def store_dump(g):
    out = subprocess.run([GRALARM_BIN, "alerts", "-c", g.config_path], capture_output=True,
                         text=True, check=True).stdout
    records = [json.loads(line) for line in out.splitlines()]
    return ([r["alert"] for r in records if "alert" in r],
            [r["event"] for r in records if "event" in r])


def api_alerts(g):
    with urllib.request.urlopen(f"http://127.0.0.1:{g.api_port}/api/v1/alerts",
                                timeout=5) as r:
        return json.loads(r.read())["items"]


def rule_series(g, rule):
    with urllib.request.urlopen(
            f"http://127.0.0.1:{g.api_port}/api/v1/rules/{rule}/series", timeout=5) as r:
        return json.loads(r.read())["items"]


def send_points(g, series, t0, timestamps):
    send_tcp(g.port, "".join(f"{series} {value(t0, ts)!r} {ts}\n"
                             for ts in timestamps).encode())


def raised_at(events, rule):
    return [e["ts"] for e in events if e["rule_id"] == rule and e["to"] == "critical"]


def test_forecast_pages_before_the_threshold_rule(tmp_path):
    g, sink = start(tmp_path)
    t0 = int(time.time()) - 7200
    send_points(g, "core.link1.util", t0, range(t0, t0 + 1801, STEP))
    wait_until(lambda: len(api_alerts(g)) == 2, 20, what="both alerts")
    # The live forecast of each series of the rule: at the last point, t0 + 1800.
    wait_until(lambda: rule_series(g, "link-trend")[0]["last_ts"] == t0 + 1800, 10,
               what="the last point evaluated")
    series = rule_series(g, "link-trend")
    assert [s["series"] for s in series] == ["core.link1.util"]
    assert abs(series[0]["forecast"] - value(t0, t0 + 3000)) < 1e-9
    assert series[0]["last_value"] == value(t0, t0 + 1800)
    g.stop()
    alerts, events = store_dump(g)
    trend, plain = raised_at(events, "link-trend"), raised_at(events, "link-plain")
    print(f"forecast alert raised at point ts t0+{trend[0] - t0}, "
          f"threshold alert at t0+{plain[0] - t0}")
    assert trend == [t0 + 300]
    assert plain == [t0 + 1500]
    assert trend[0] < plain[0]
    by_rule = {a["rule_id"]: a for a in alerts}
    a = by_rule["link-trend"]
    assert a["labels"] == {"kind": "forecast"}
    assert a["value"] == value(t0, t0 + 300)  # the actual value that raised it
    assert abs(a["forecast"] - 95) < 1e-9   # the forecast that raised it
    assert "forecast" not in by_rule["link-plain"]
    assert "kind" not in by_rule["link-plain"]["labels"]
    e = next(e for e in events if e["rule_id"] == "link-trend")
    assert e["value"] == value(t0, t0 + 300) and abs(e["forecast"] - 95) < 1e-9
    assert "forecast" not in next(e for e in events if e["rule_id"] == "link-plain")
    sink.close()


def test_kill_9_mid_series_neither_pages_nor_loses_the_window(tmp_path):
    g, sink = start(tmp_path)
    t0 = int(time.time()) - 7200
    # link1: 300 s of points, forecasts below 95 (93.5 at the last one).
    send_points(g, "core.link1.util", t0, range(t0, t0 + 271, STEP))
    # link2: two points of a steep jump, too few for a forecast.
    send_tcp(g.port, f"core.link2.util 10 {t0}\ncore.link2.util 90 {t0 + 60}\n".encode())
    time.sleep(1.0)  # several state flushes (state_flush_ms = 100)
    assert api_alerts(g) == []
    g.proc.send_signal(signal.SIGKILL)
    g.proc.wait()
    g.log.close()
    alerts, events = store_dump(g)
    assert alerts == [] and events == []

    g.start()  # the same store
    time.sleep(0.5)
    assert api_alerts(g) == []  # nothing paged by the restart
    # link2's third point, within 300 s of its first: still no forecast.
    send_tcp(g.port, f"core.link2.util 94 {t0 + 120}\n".encode())
    # link1's next point: the restored window forecasts at once (an empty one would
    # need 300 s of points again, until t0 + 600).
    send_points(g, "core.link1.util", t0, [t0 + 300])
    wait_until(lambda: len(api_alerts(g)) == 1, 10, what="the forecast alert")
    time.sleep(0.3)
    alerts = api_alerts(g)
    assert [(a["rule_id"], a["series"]) for a in alerts] == [("link-trend", "core.link1.util")]
    assert abs(alerts[0]["forecast"] - 95) < 1e-9
    g.stop()
    _, events = store_dump(g)
    assert [(e["rule_id"], e["ts"]) for e in events] == [("link-trend", t0 + 300)]
    sink.close()
