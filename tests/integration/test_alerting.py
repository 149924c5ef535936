"""Inline alerting in the running process: alerts raised by points as they pass,
surviving SIGKILL, clearing into history exactly once."""

import json
import signal
import subprocess
import time

from harness import GRALARM_BIN, Gralarm, LineSink, metric, send_tcp, wait_until

RULES = """
[[templates]]
name = "cpu"
checks_alert = 2
checks_ok = 2
ok_margin_pct = 10
labels = { team = "noc" }

[[rules]]
id = "cpu-high"
name = "CPU load high"
pattern = "srv.*.cpu"
template = "cpu"
thresholds = { warning = 80, critical = 95 }
"""


def store_dump(g):
    out = subprocess.run([GRALARM_BIN, "alerts", "-c", g.config_path], capture_output=True,
                         text=True, check=True).stdout
    records = [json.loads(line) for line in out.splitlines()]
    return ([r["alert"] for r in records if "alert" in r],
            [r["history"] for r in records if "history" in r],
            [r["event"] for r in records if "event" in r])


def active(g, severity):
    return metric(g.metrics(), "gralarm_alerts_active", severity=severity)


def test_alert_survives_sigkill_and_clears_into_history_once(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    sink = LineSink()
    g = Gralarm(str(tmp_path), [sink.address],
                sections=f'[rules]\nfiles = ["{rules}"]\n[evaluation]\nstate_flush_ms = 100\n')
    g.start()
    ts = int(time.time()) - 100
    send_tcp(g.port, f"srv.a.cpu 97 {ts}\nsrv.b.cpu 10 {ts}\n".encode())
    time.sleep(0.3)
    assert active(g, "critical") == 0  # one breaching point of the two needed
    send_tcp(g.port, f"srv.a.cpu 98 {ts + 10}\n".encode())
    wait_until(lambda: active(g, "critical") == 1, 10, what="critical alert")
    assert metric(g.metrics(), "gralarm_rules") == 1
    assert metric(g.metrics(), "gralarm_series_tracked") == 2
    assert metric(g.metrics(), "gralarm_alert_transitions_total", to="critical") == 1
    # Points still reach carbon-cache's side untouched.
    wait_until(lambda: len(sink.snapshot()) == 3, 10, what="forwarded points")

    g.proc.send_signal(signal.SIGKILL)
    g.proc.wait()
    alerts, history, events = store_dump(g)
    assert len(alerts) == 1 and not history
    since = alerts[0]["since"]
    assert alerts[0]["series"] == "srv.a.cpu"
    assert alerts[0]["severity"] == "critical"
    assert alerts[0]["labels"] == {"team": "noc"}

    g.start()  # the same store
    wait_until(lambda: active(g, "critical") == 1, 10, what="restored alert")
    alerts, history, _ = store_dump(g)
    assert [a["since"] for a in alerts] == [since]
    assert not history
    match = subprocess.run([GRALARM_BIN, "match", "-c", g.config_path, "srv.a.cpu"],
                           capture_output=True, text=True, check=True).stdout
    assert "rules: cpu-high" in match

    # 86 is under the critical threshold but within its 10 % margin: still held.
    send_tcp(g.port, f"srv.a.cpu 86 {ts + 20}\nsrv.a.cpu 86 {ts + 30}\n".encode())
    time.sleep(0.3)
    assert active(g, "critical") == 1
    # Two points back to normal clear it (checks_ok = 2) ...
    send_tcp(g.port, f"srv.a.cpu 20 {ts + 40}\nsrv.a.cpu 21 {ts + 50}\n".encode())
    wait_until(lambda: active(g, "critical") == 0, 10, what="cleared alert")
    # ... and more normal points change nothing.
    send_tcp(g.port, f"srv.a.cpu 22 {ts + 60}\nsrv.a.cpu 23 {ts + 70}\n".encode())
    time.sleep(0.3)
    rc, _ = g.stop()
    assert rc == 0
    alerts, history, events = store_dump(g)
    assert not alerts
    assert len(history) == 1
    assert history[0]["start"] == since
    assert history[0]["peak_severity"] == "critical"
    assert history[0]["last_value"] == 21
    assert [(e["from"], e["to"]) for e in events] == [("ok", "critical"), ("critical", "ok")]


def test_a_bad_rule_file_keeps_the_server_from_starting_and_sighup_keeps_old_rules(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "x"\npattern = "a.b"\nthresholds = { warning = 1 }\n')
    sink = LineSink()
    g = Gralarm(str(tmp_path), [sink.address], sections=f'[rules]\nfiles = ["{rules}"]\n')
    g.start()
    assert metric(g.metrics(), "gralarm_rules") == 1
    rules.write_text('[[rules]]\nid = "x"\npattern = "a.{b"\nthresholds = { warning = 1 }\n')
    g.signal(signal.SIGHUP)
    wait_until(lambda: "rules not reloaded" in g.read_log(), 10, what="reload refused")
    assert f"{rules}:3:1: rule \"x\": pattern" in g.read_log()  # at the field
    assert metric(g.metrics(), "gralarm_rules") == 1
    rules.write_text('[[rules]]\nid = "x"\npattern = "a.b"\nthresholds = { warning = 1 }\n'
                     '[[rules]]\nid = "y"\npattern = "a.*"\nthresholds = { warning = 1 }\n')
    g.signal(signal.SIGHUP)
    wait_until(lambda: metric(g.metrics(), "gralarm_rules") == 2, 10, what="two rules")
    assert g.stop()[0] == 0
    rules.write_text("[[rules]]\nid = 'x'\n")
    r = subprocess.run([GRALARM_BIN, "serve", "-c", g.config_path], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 1
    assert "pattern: is required" in r.stderr
