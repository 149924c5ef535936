"""Alert storms: grouped and rate-limited webhook and command channels, through the
durable outbox (kill -9 included)."""

import json
import signal
import stat
import time
import urllib.request

from harness import metric, send_tcp, wait_until
from test_notify import Receiver, make_gralarm


def api(g, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{g.api_port}{path}", timeout=10) as r:
        return json.loads(r.read())


def count_pages(g, path):
    n, cursor = 0, ""
    while True:
        sep = "&" if "?" in path else "?"
        page = api(g, f"{path}{sep}limit=1000&cursor={cursor}")
        n += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return n


def storm(g, series, flips, seconds):
    """`series` series of the cpu rule, each flipping between critical and ok
    `flips` times, spread over `seconds`."""
    ts = int(time.time()) - 3600
    for k in range(flips):
        value = 99 if k % 2 == 0 else 1
        send_tcp(g.port, "".join(f"srv.s{i}.cpu {value} {ts + k}\n"
                                 for i in range(series)).encode())
        time.sleep(seconds / flips)


def final_states(bodies):
    """series -> status of its last alert in the webhook bodies (the alert itself,
    not the label set it replaces)."""
    last = {}
    for body in bodies:
        for a in body["alerts"]:
            if "no longer" in a["annotations"]["summary"]:
                continue
            last[a["labels"]["series"]] = a["status"]
    return last


def command_script(tmp_path):
    out = tmp_path / "sms.log"
    script = tmp_path / "send-sms"
    # One line a run: when, then the argv; the alerts JSON into its own file.
    script.write_text("#!/bin/sh\n"
                      f'n=$(wc -l < {out} 2>/dev/null || echo 0)\n'
                      f'cat > {tmp_path}/sms.$n.json\n'
                      f'printf "%s|%s\\n" "$(date +%s.%N)" "$*" >> {out}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, out


def test_a_storm_is_grouped_and_rate_limited_and_nothing_is_lost(tmp_path):
    receiver = Receiver()
    script, out = command_script(tmp_path)
    channels = (f'[[notify.channels]]\nname = "hook"\ntype = "webhook"\n'
                f'url = "http://127.0.0.1:{receiver.port}/hook"\n'
                f'group_by = ["rule_id"]\ngroup_interval_s = 5\nmax_per_minute = 20\n'
                f'[[notify.channels]]\nname = "sms"\ntype = "command"\n'
                f'command = ["{script}", "{{count}}", "{{firing}}", "{{resolved}}", "{{summary}}"]\n'
                f'group_by = ["rule_id"]\ngroup_interval_s = 5\nmax_per_minute = 20\n')
    g = make_gralarm(tmp_path, channels, ["hook", "sms"]).start()
    t0 = time.monotonic()
    storm(g, 1000, 10, 5)
    wait_until(lambda: sum(metric(g.metrics(), "gralarm_alert_transitions_total", to=t)
                           for t in ("critical", "ok")) == 10000, 30, what="every transition")
    wait_until(lambda: metric(g.metrics(), "gralarm_outbox_pending") == 0,
               65 - (time.monotonic() - t0), what="an empty outbox a minute after the storm")
    time.sleep(6)  # nothing more comes
    # The webhook: a few POSTs whose alerts end in every series' final state.
    assert 2 <= len(receiver.delivered) <= 36, len(receiver.delivered)
    for body in receiver.delivered:
        assert body["version"] == "4"
        assert body["groupKey"] == '{}:{alertname="cpu"}'
        assert body["groupLabels"] == {"alertname": "cpu"}
        assert body["commonLabels"]["alertname"] == "cpu"
        assert len(body["alerts"]) <= 1000
    last = final_states(receiver.delivered)
    assert len(last) == 1000 and set(last.values()) == {"resolved"}
    assert receiver.delivered[-1]["truncatedAlerts"] == 0
    # The command: at most 20 runs a minute; its alerts too end resolved.
    runs = [line.split("|", 1) for line in out.read_text().splitlines()]
    times = sorted(float(t) for t, _ in runs)
    assert 1 <= len(runs) <= 20
    assert all(b - a >= 60 for a, b in zip(times, times[20:]))
    count, firing, resolved, summary = runs[-1][1].split(" ", 3)
    assert int(count) == int(firing) + int(resolved)
    assert "cpu on srv.s" in summary
    bodies = [json.loads((tmp_path / f"sms.{i}.json").read_text()) for i in range(len(runs))]
    assert sum(len(b["alerts"]) for b in bodies) >= 1000
    last = final_states(bodies)
    assert len(last) == 1000 and set(last.values()) == {"resolved"}
    # Events and history keep every transition.
    assert count_pages(g, "/api/v1/events?from=0") == 10000
    assert count_pages(g, "/api/v1/history?from=0") == 5000
    wait_until(lambda: metric(g.metrics(), "gralarm_notifications_total", channel="hook",
                              result="delivered") == len(receiver.delivered), 10,
               what="every delivery counted")
    wait_until(lambda: metric(g.metrics(), "gralarm_notifications_total", channel="sms",
                              result="delivered") == len(runs), 10,
               what="every SMS counted")
    assert g.stop()[0] == 0
    receiver.close()


def test_a_lone_breach_is_notified_at_once_and_after_group_wait(tmp_path):
    receiver = Receiver()
    channels = (f'[[notify.channels]]\nname = "hook"\ntype = "webhook"\n'
                f'url = "http://127.0.0.1:{receiver.port}/hook"\n'
                f'group_by = ["rule_id"]\ngroup_interval_s = 60\n'
                f'[[notify.channels]]\nname = "late"\ntype = "webhook"\n'
                f'url = "http://127.0.0.1:{receiver.port}/late"\n'
                f'group_by = ["series"]\ngroup_wait_s = 2\n')
    g = make_gralarm(tmp_path, channels, ["hook", "late"]).start()
    t0 = time.monotonic()
    send_tcp(g.port, f"srv.a.cpu 99 {int(time.time()) - 60}\n".encode())
    wait_until(lambda: len(receiver.delivered) >= 1, 5, what="the grouped webhook")
    assert receiver.arrived[0] - t0 < 1.5
    assert receiver.delivered[0]["groupKey"] == '{}:{alertname="cpu"}'
    wait_until(lambda: len(receiver.delivered) == 2, 6, what="after group_wait_s")
    assert receiver.arrived[1] - t0 >= 2
    assert receiver.delivered[1]["groupLabels"] == {"series": "srv.a.cpu"}
    assert g.stop()[0] == 0
    receiver.close()


def test_groups_in_progress_survive_kill_9_and_are_notified_once(tmp_path):
    receiver = Receiver()
    channels = (f'[[notify.channels]]\nname = "hook"\ntype = "webhook"\n'
                f'url = "http://127.0.0.1:{receiver.port}/hook"\n'
                f'group_by = ["series"]\ngroup_wait_s = 15\n')
    g = make_gralarm(tmp_path, channels, ["hook"]).start()
    storm(g, 200, 5, 1)  # ends firing
    wait_until(lambda: metric(g.metrics(), "gralarm_alert_transitions_total", to="ok") +
               metric(g.metrics(), "gralarm_alert_transitions_total", to="critical") == 1000,
               10, what="every transition")
    assert receiver.delivered == []  # still waiting in their groups
    assert metric(g.metrics(), "gralarm_outbox_pending") == 1000
    g.proc.send_signal(signal.SIGKILL)
    g.proc.wait()
    g.start()
    wait_until(lambda: len(receiver.delivered) == 200, 45, what="every group after restart")
    time.sleep(3)
    assert len(receiver.delivered) == 200  # once each
    groups = [b["groupLabels"]["series"] for b in receiver.delivered]
    assert sorted(groups) == sorted(f"srv.s{i}.cpu" for i in range(200))
    last = final_states(receiver.delivered)
    assert set(last.values()) == {"firing"}
    wait_until(lambda: metric(g.metrics(), "gralarm_outbox_pending") == 0, 5, what="empty")
    assert g.stop()[0] == 0
    receiver.close()


def test_a_flapping_series_is_told_once_as_such_then_once_stable(tmp_path):
    receiver = Receiver()
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "link"\npattern = "srv.*.link"\n'
                     'thresholds = { critical = 95 }\nchannels = ["hook"]\n'
                     'flap = { window_s = 6, changes = 6 }\n')
    from harness import Gralarm, LineSink
    g = Gralarm(str(tmp_path), [LineSink().address],
                sections=f'[rules]\nfiles = ["{rules}"]\n'
                         f'[[notify.channels]]\nname = "hook"\ntype = "webhook"\n'
                         f'url = "http://127.0.0.1:{receiver.port}/hook"\n').start()
    ts = int(time.time()) - 60
    for k in range(9):  # 9 changes within a second, ending critical
        send_tcp(g.port, f"srv.a.link {99 if k % 2 == 0 else 1} {ts + k}\n".encode())
        time.sleep(0.1)
    wait_until(lambda: len(receiver.delivered) == 6, 10, what="5 changes and the flapping one")
    flapping = receiver.delivered[5]["alerts"][0]
    assert flapping["annotations"]["flapping"] == "true"
    assert "is flapping" in flapping["annotations"]["summary"]
    assert not any("flapping" in b["alerts"][0]["annotations"] for b in receiver.delivered[:5])
    alerts = api(g, "/api/v1/alerts")["items"]
    assert [a["flapping"] for a in alerts] == [True]
    assert api(g, "/api/v1/summary")["flapping"] == 1
    assert api(g, "/api/v1/rules/link/series")["items"][0]["flapping"] is True
    assert count_pages(g, "/api/v1/events?from=0") == 9
    time.sleep(4)
    assert len(receiver.delivered) == 6  # nothing while it flaps
    wait_until(lambda: len(receiver.delivered) == 7, 6, what="the stable state")
    stable = receiver.delivered[6]
    assert stable["status"] == "firing"
    assert "flapping" not in stable["alerts"][0]["annotations"]
    assert stable["alerts"][0]["labels"]["severity"] == "critical"
    assert api(g, "/api/v1/alerts")["items"][0]["flapping"] is False
    assert api(g, "/api/v1/summary")["flapping"] == 0
    time.sleep(2)
    assert len(receiver.delivered) == 7
    assert g.stop()[0] == 0
    receiver.close()
