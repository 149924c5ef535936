"""Notifications through the durable outbox: webhooks (Alertmanager webhook format 4)
with retries, exactly once across SIGKILL, and command channels."""

import http.server
import json
import os
import signal
import stat
import threading
import time
import urllib.request

from harness import Gralarm, LineSink, metric, send_tcp, wait_until


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 503 to the first `fail` POSTs."""

    def __init__(self, fail=0, port=0):
        self.fail = fail
        self.delivered, self.refused = [], 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail > 0:
                    receiver.fail -= 1
                    receiver.refused += 1
                    self.send_response(503)
                else:
                    receiver.delivered.append(json.loads(body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def make_gralarm(tmp_path, channels_toml, channel_names):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "cpu"\nname = "CPU load"\npattern = "srv.*.cpu"\n'
                     'thresholds = { warning = 80, critical = 95 }\n'
                     f'channels = {json.dumps(channel_names)}\nlabels = {{ team = "noc" }}\n')
    return Gralarm(str(tmp_path), [LineSink().address],
                   sections=f'[rules]\nfiles = ["{rules}"]\n{channels_toml}')


def hook(port):
    return f'[[notify.channels]]\nname = "hook"\ntype = "webhook"\nurl = "http://127.0.0.1:{port}/hook"\n'


def test_webhook_arrives_once_after_three_failures_then_resolves(tmp_path):
    receiver = Receiver(fail=3)
    g = make_gralarm(tmp_path, hook(receiver.port), ["hook"]).start()
    ts = int(time.time()) - 60
    send_tcp(g.port, f"srv.a.cpu 97 {ts}\n".encode())
    wait_until(lambda: len(receiver.delivered) == 1, 30, what="delivery after retries")
    assert receiver.refused == 3
    body = receiver.delivered[0]
    assert body["version"] == "4" and body["status"] == "firing"
    alert = body["alerts"][0]
    assert alert["labels"] == {"alertname": "cpu", "severity": "critical",
                               "series": "srv.a.cpu", "team": "noc"}
    assert alert["annotations"]["value"] == "97"
    assert alert["fingerprint"] and alert["startsAt"].endswith("Z")
    send_tcp(g.port, f"srv.a.cpu 1 {ts + 10}\n".encode())
    wait_until(lambda: len(receiver.delivered) == 2, 10, what="resolved")
    resolved = receiver.delivered[1]
    assert resolved["status"] == "resolved"
    assert resolved["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
    assert resolved["alerts"][0]["fingerprint"] == alert["fingerprint"]
    time.sleep(1.5)
    assert len(receiver.delivered) == 2  # exactly once each
    m = g.metrics()
    assert metric(m, "gralarm_notifications_total", channel="hook", result="failed") == 3
    assert metric(m, "gralarm_notifications_total", channel="hook", result="delivered") == 2
    assert metric(m, "gralarm_outbox_pending") == 0
    assert g.stop()[0] == 0
    receiver.close()


def test_notification_survives_sigkill_while_the_receiver_is_down(tmp_path):
    receiver = Receiver()
    port = receiver.port
    receiver.close()  # down: nothing listens
    g = make_gralarm(tmp_path, hook(port), ["hook"]).start()
    ts = int(time.time()) - 60
    send_tcp(g.port, f"srv.b.cpu 85 {ts}\n".encode())
    wait_until(lambda: metric(g.metrics(), "gralarm_notifications_total", channel="hook",
                              result="failed") >= 1, 10, what="a failed attempt")
    assert metric(g.metrics(), "gralarm_outbox_pending") == 1
    g.proc.send_signal(signal.SIGKILL)
    g.proc.wait()
    receiver = Receiver(port=port)  # the receiver is back
    g.start()
    wait_until(lambda: len(receiver.delivered) == 1, 30, what="delivery after restart")
    time.sleep(2)
    assert len(receiver.delivered) == 1
    assert receiver.delivered[0]["alerts"][0]["labels"]["severity"] == "warning"
    assert g.stop()[0] == 0
    receiver.close()


def test_command_channel_gets_substituted_argv_and_the_alert_on_stdin(tmp_path):
    out = tmp_path / "sms.out"
    script = tmp_path / "send-sms"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {out}.args\ncat > {out}.json\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    channels = (f'[[notify.channels]]\nname = "sms"\ntype = "command"\n'
                f'command = ["{script}", "--to", "{{phones}}", "{{severity}}: {{series}} = {{value}} ({{rule}})"]\n'
                f'phones = ["+34600000000", "+34600000001"]\n')
    g = make_gralarm(tmp_path, channels, ["sms"]).start()
    ts = int(time.time()) - 60
    send_tcp(g.port, f"srv.c.cpu 99 {ts}\n".encode())
    wait_until(lambda: os.path.exists(f"{out}.json") and os.path.getsize(f"{out}.json") > 0,
               10, what="command run")
    time.sleep(0.2)
    assert open(f"{out}.args").read().splitlines() == [
        "--to", "+34600000000,+34600000001", "critical: srv.c.cpu = 99 (cpu)"]
    payload = json.loads(open(f"{out}.json").read())
    assert payload["alerts"][0]["labels"]["series"] == "srv.c.cpu"
    wait_until(lambda: metric(g.metrics(), "gralarm_notifications_total", channel="sms",
                              result="delivered") == 1, 10, what="counted")
    assert g.stop()[0] == 0


def test_silenced_and_out_of_schedule_alerts_are_not_sent(tmp_path):
    receiver = Receiver()
    # A schedule that is never open (no day at all).
    never = '[schedules.never]\ndays = []\nfrom = "00:00"\nto = "00:01"\n'
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "held"\npattern = "held.*"\nthresholds = { warning = 1 }\n'
                     'schedule = "never"\nchannels = ["hook"]\n'
                     '[[rules]]\nid = "quiet"\npattern = "quiet.*"\nthresholds = { warning = 1 }\n'
                     'channels = ["hook"]\n'
                     '[[rules]]\nid = "loud"\npattern = "loud.*"\nthresholds = { warning = 1 }\n'
                     'channels = ["hook"]\n')
    g = Gralarm(str(tmp_path), [LineSink().address],
                sections=f'[rules]\nfiles = ["{rules}"]\n{never}{hook(receiver.port)}').start()
    req = urllib.request.Request(
        f"http://127.0.0.1:{g.api_port}/api/v1/silences", method="POST",
        data=json.dumps({"rule": "quiet", "ends_at": "2099-01-01T00:00:00Z"}).encode(),
        headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(req, timeout=5).status == 201
    ts = int(time.time()) - 60
    send_tcp(g.port, (f"held.a 5 {ts}\nheld.a 0 {ts + 1}\nquiet.a 5 {ts}\nquiet.a 0 {ts + 1}\n"
                      f"loud.a 5 {ts}\n").encode())
    # The one alert neither held nor silenced is sent: the others would have been by now.
    wait_until(lambda: len(receiver.delivered) == 1, 10, what="the loud alert")
    time.sleep(1.5)
    assert [d["alerts"][0]["labels"]["alertname"] for d in receiver.delivered] == ["loud"]
    assert metric(g.metrics(), "gralarm_alert_transitions_total", to="ok") == 2
    assert g.stop()[0] == 0
    receiver.close()
