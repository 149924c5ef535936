"""A breach sent through gralarm appears in a real Alertmanager (Debian's
prometheus-alertmanager) with the right labels, and is resolved there after the series
clears. When it escalates, the alert under the old severity label ends there at once."""

import json
import subprocess
import time
import urllib.error
import urllib.request

from harness import (GRALARM_BIN, _RUNNING, Gralarm, LineSink, free_port, metric, port_open,
                     send_tcp, wait_until)


def alertmanager_alerts(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/alerts", timeout=5) as r:
        return json.loads(r.read())


def test_breach_shows_in_alertmanager_and_resolves(tmp_path):
    am_port = free_port()
    (tmp_path / "am.yml").write_text("route:\n  receiver: noc\nreceivers:\n  - name: noc\n")
    am = subprocess.Popen(
        ["prometheus-alertmanager", f"--config.file={tmp_path / 'am.yml'}",
         f"--storage.path={tmp_path / 'am-data'}",
         f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
        stdout=open(tmp_path / "alertmanager.log", "wb"), stderr=subprocess.STDOUT)
    _RUNNING.append(am)
    wait_until(lambda: port_open(am_port), 30, what="alertmanager")

    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "cgnat-util"\nname = "Eth-trunk utilization"\n'
                     'pattern = "cgnat.*.ethtrunk*.util_pct"\n'
                     'thresholds = { warning = 70, critical = 95 }\n'
                     'channels = ["am"]\nlabels = { dashboard = "CG-NAT" }\n')
    channel = (f'[[notify.channels]]\nname = "am"\ntype = "alertmanager"\n'
               f'url = "http://127.0.0.1:{am_port}"\n')
    g = Gralarm(str(tmp_path), [LineSink().address],
                sections=f'[rules]\nfiles = ["{rules}"]\n{channel}').start()
    ts = int(time.time()) - 60

    def firing():
        return [a for a in alertmanager_alerts(am_port)
                if a["labels"].get("alertname") == "cgnat-util"]

    send_tcp(g.port, f"cgnat.mad1.ethtrunk3.util_pct 80 {ts - 10}\n".encode())
    wait_until(lambda: len(firing()) == 1, 30, what="the warning in Alertmanager")
    assert firing()[0]["labels"]["severity"] == "warning"
    send_tcp(g.port, f"cgnat.mad1.ethtrunk3.util_pct 97.5 {ts}\n".encode())
    # The warning ends (Alertmanager lists only alerts not yet ended), the critical fires.
    wait_until(lambda: [a["labels"]["severity"] for a in firing()] == ["critical"], 30,
               what="the escalation in Alertmanager")
    alert = firing()[0]
    assert alert["labels"] == {"alertname": "cgnat-util", "severity": "critical",
                               "series": "cgnat.mad1.ethtrunk3.util_pct",
                               "dashboard": "CG-NAT"}
    assert alert["status"]["state"] == "active"
    assert "97.5" in alert["annotations"]["summary"]

    send_tcp(g.port, f"cgnat.mad1.ethtrunk3.util_pct 10 {ts + 10}\n".encode())
    # Resolved: Alertmanager stops listing it as active.
    wait_until(lambda: not [a for a in firing() if a["status"]["state"] == "active"], 30,
               what="the alert resolved in Alertmanager")
    assert g.stop()[0] == 0
    am.terminate()
    am.wait(10)


def start_alertmanager(tmp_path):
    am_port = free_port()
    (tmp_path / "am.yml").write_text("route:\n  receiver: noc\nreceivers:\n  - name: noc\n")
    am = subprocess.Popen(
        ["prometheus-alertmanager", f"--config.file={tmp_path / 'am.yml'}",
         f"--storage.path={tmp_path / 'am-data'}",
         f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
        stdout=open(tmp_path / "alertmanager.log", "wb"), stderr=subprocess.STDOUT)
    _RUNNING.append(am)
    wait_until(lambda: port_open(am_port), 30, what="alertmanager")
    return am, am_port


def post(url, body, method="POST"):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


# Label names Alertmanager refuses, and the labels gralarm sets on every alert.
REFUSED_BY_ALERTMANAGER = ["bad label", "1x", "team-name", "dash.board"]
SET_BY_GRALARM = ["severity", "alertname", "series"]


def test_a_label_alertmanager_refuses_is_refused_at_config_and_api_time(tmp_path):
    am, am_port = start_alertmanager(tmp_path)
    # Alertmanager itself answers 400 to each of these names...
    for name in REFUSED_BY_ALERTMANAGER:
        status, said = post(f"http://127.0.0.1:{am_port}/api/v2/alerts",
                            [{"labels": {"alertname": "probe", name: "x"}}])
        assert status == 400, (name, status, said)
    status, _ = post(f"http://127.0.0.1:{am_port}/api/v2/alerts",
                     [{"labels": {"alertname": "probe", "team_1": "x"}}])
    assert status == 200

    channel = (f'[[notify.channels]]\nname = "am"\ntype = "alertmanager"\n'
               f'url = "http://127.0.0.1:{am_port}"\n')
    # ... so check-config refuses a rule file or a template holding one,
    for name in REFUSED_BY_ALERTMANAGER + SET_BY_GRALARM:
        rules = tmp_path / "bad-rules.toml"
        rules.write_text('[[templates]]\nname = "t"\nthresholds = { warning = 1 }\n'
                         '[[rules]]\nid = "r"\npattern = "a.*"\ntemplate = "t"\n'
                         f'channels = ["am"]\nlabels = {{ {json.dumps(name)} = "x" }}\n')
        config = tmp_path / "check.toml"
        config.write_text(f'[rules]\nfiles = ["{rules}"]\n{channel}')
        r = subprocess.run([GRALARM_BIN, "check-config", "-c", str(config)],
                           capture_output=True, text=True)
        assert r.returncode == 1, (name, r.stdout, r.stderr)
        assert f'{rules}:9:1: rule "r": labels: {json.dumps(name)}' in r.stderr, r.stderr
        rules.write_text(f'[[templates]]\nname = "t"\nlabels = {{ {json.dumps(name)} = "x" }}\n')
        r = subprocess.run([GRALARM_BIN, "check-config", "-c", str(config)],
                           capture_output=True, text=True)
        assert r.returncode == 1 and "template: labels:" in r.stderr, (name, r.stderr)

    # ... and the API refuses such a rule or template with 400, field "labels".
    g = Gralarm(str(tmp_path), [LineSink().address], sections=channel).start()
    api = f"http://127.0.0.1:{g.api_port}/api/v1"
    rule = {"id": "cpu", "pattern": "srv.*.cpu", "thresholds": {"warning": 80},
            "channels": ["am"], "labels": {"team": "noc"}}
    assert post(f"{api}/templates", {"name": "t", "labels": {"team": "noc"}})[0] == 201
    for name in REFUSED_BY_ALERTMANAGER + SET_BY_GRALARM:
        for path, body, method in [
                ("/rules", dict(rule, id="other", labels={name: "x"}), "POST"),
                ("/templates", {"name": "t2", "labels": {name: "x"}}, "POST"),
                ("/templates/t", {"name": "t", "labels": {name: "x"}}, "PUT")]:
            status, said = post(api + path, body, method)
            assert status == 400, (name, path, status, said)
            assert json.loads(said)["error"]["field"] == "labels", said
    # A rule with good labels is taken, and its alert reaches Alertmanager.
    status, said = post(f"{api}/rules", rule)
    assert status == 201, said
    status, said = post(f"{api}/rules/cpu", dict(rule, labels={"bad label": "x"}), "PUT")
    assert status == 400, said
    send_tcp(g.port, f"srv.a.cpu 90 {int(time.time()) - 60}\n".encode())
    wait_until(lambda: [a["labels"] for a in alertmanager_alerts(am_port)
                        if a["labels"].get("alertname") == "cpu"] == [
        {"alertname": "cpu", "severity": "warning", "series": "srv.a.cpu", "team": "noc"}],
        30, what="the alert in Alertmanager")
    # Counted once Alertmanager's answer is read, which may be just after the alert shows.
    wait_until(lambda: metric(g.metrics(), "gralarm_notifications_total", channel="am",
                              result="delivered") == 1, 10, what="the delivery counted")
    m = g.metrics()
    assert metric(m, "gralarm_notifications_total", channel="am", result="rejected") == 0
    assert g.stop()[0] == 0
    am.terminate()
    am.wait(10)
