"""A breach sent through gralarm appears in a real Alertmanager (Debian's
prometheus-alertmanager) with the right labels, and is resolved there after the series
clears. When it escalates, the alert under the old severity label ends there at once."""

import json
import subprocess
import time
import urllib.request

from harness import _RUNNING, Gralarm, LineSink, free_port, port_open, send_tcp, wait_until


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
