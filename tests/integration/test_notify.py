"""Notifications through the durable outbox: webhooks (Alertmanager webhook format 4)
with retries, exactly once across SIGKILL, and command channels."""

import json
import os
import signal
import stat
import time
import urllib.request

from harness import Gralarm, LineSink, WebhookReceiver, metric, send_tcp, wait_until


class Receiver(WebhookReceiver):
    """The webhook receiver, answering 503 to the first `fail` POSTs, or each POST with
    the next of `statuses` (then 200)."""

    def __init__(self, fail=0, port=0, statuses=()):
        super().__init__(list(statuses) or [503] * fail, port)

    @property
    def delivered(self):
        return self.bodies()


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


def test_a_slow_command_channel_does_not_delay_a_webhook_channel(tmp_path):
    receiver = Receiver()
    channels = (hook(receiver.port) +
                '[[notify.channels]]\nname = "slow"\ntype = "command"\n'
                'command = ["/bin/sh", "-c", "sleep 2"]\ntimeout_ms = 5000\n')
    g = make_gralarm(tmp_path, channels, ["slow", "hook"]).start()
    ts = int(time.time()) - 60
    t0 = time.monotonic()
    send_tcp(g.port, "".join(f"srv.s{i}.cpu 97 {ts}\n" for i in range(6)).encode())
    # With one thread for every channel the last webhook waited for six commands
    # (12 s); each channel now has its own.
    wait_until(lambda: len(receiver.delivered) == 6, 10, what="six webhooks")
    assert receiver.arrived[-1] - t0 < 2.0
    assert sorted(d["alerts"][0]["labels"]["series"] for d in receiver.delivered) == [
        f"srv.s{i}.cpu" for i in range(6)]
    assert metric(g.metrics(), "gralarm_notifications_total", channel="slow",
                  result="delivered") <= 1
    wait_until(lambda: metric(g.metrics(), "gralarm_notifications_total", channel="slow",
                              result="delivered") == 6, 30, what="the six commands")
    assert g.stop()[0] == 0
    receiver.close()


def test_a_command_hanging_30_s_delays_no_webhook(tmp_path):
    """One worker per channel: while a command channel's command hangs for 30 s (its
    timeout_ms is above that, so it is not killed), a webhook channel of the same rule
    gets each breach within its normal latency (under 1 s from the point that breached,
    measured), and the command completes afterwards. Bounded to 45 s."""
    began = time.monotonic()
    receiver = Receiver()
    runs = tmp_path / "runs.log"
    hang = tmp_path / "hang"
    # The first run hangs 30 s; the runs queued behind it then return at once.
    hang.write_text(f'#!/bin/sh\n'
                    f'if mkdir {tmp_path}/hung 2>/dev/null; then\n'
                    f'  echo "start $(date +%s.%N)" >> {runs}\n'
                    f'  sleep 30\n'
                    f'  echo "end $(date +%s.%N)" >> {runs}\n'
                    f'fi\n'
                    f'cat > /dev/null\n')
    hang.chmod(hang.stat().st_mode | stat.S_IXUSR)
    channels = (hook(receiver.port) +
                f'[[notify.channels]]\nname = "hang"\ntype = "command"\n'
                f'command = ["{hang}"]\ntimeout_ms = 40000\n')
    g = make_gralarm(tmp_path, channels, ["hang", "hook"]).start()

    def hang_log():
        return dict(line.split() for line in runs.read_text().splitlines()) \
            if runs.exists() else {}

    def delivered(channel):
        return metric(g.metrics(), "gralarm_notifications_total", channel=channel,
                      result="delivered")

    latencies = []
    for i in range(5):
        breached = time.monotonic()
        send_tcp(g.port, f"srv.h{i}.cpu 97 {int(time.time())}\n".encode())
        wait_until(lambda: len(receiver.arrived) == i + 1, 5, what=f"webhook {i}")
        latencies.append(receiver.arrived[i] - breached)
        if i == 0:
            wait_until(lambda: "start" in hang_log(), 5, what="the command started")
        # Every webhook came while the command still hung.
        assert "end" not in hang_log()
        assert delivered("hang") == 0
        time.sleep(2)
    assert max(latencies) < 1.0, latencies
    assert [d["alerts"][0]["labels"]["series"] for d in receiver.delivered] == [
        f"srv.h{i}.cpu" for i in range(5)]

    # Then the command completes, having really hung 30 s, and the four runs queued
    # behind it follow.
    wait_until(lambda: delivered("hang") == 5, 40 - (time.monotonic() - began),
               what="the five command runs")
    log = hang_log()
    assert float(log["end"]) - float(log["start"]) >= 29.5
    assert delivered("hook") == 5
    assert g.stop()[0] == 0
    receiver.close()
    assert time.monotonic() - began < 45


# The SMS channel of README.md's notification section, with the test's send-sms.
SMS_COMMAND = '''["/bin/sh", "-c", """
case "$1" in resolved) text="CLEARED $3 (was $2)" ;; *) text="$4 $3 = $5" ;; esac
exec SEND_SMS --to "$6" "$text"
""", "sms", "{status}", "{from}", "{series}", "{to}", "{value}", "{phones}"]'''


def test_command_channel_tells_a_clear_from_a_raise(tmp_path):
    out = tmp_path / "sms.out"
    script = tmp_path / "send-sms"
    script.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {out}\necho >> {out}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    args = tmp_path / "args.out"
    raw = tmp_path / "raw-args"
    raw.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {args}\necho >> {args}\n')
    raw.chmod(raw.stat().st_mode | stat.S_IXUSR)
    channels = ('[[notify.channels]]\nname = "sms"\ntype = "command"\n'
                f'command = {SMS_COMMAND.replace("SEND_SMS", str(script))}\n'
                'phones = ["+34600000000"]\n'
                '[[notify.channels]]\nname = "raw"\ntype = "command"\n'
                f'command = ["{raw}", "{{status}}", "{{from}}", "{{to}}", "{{severity}}"]\n')
    g = make_gralarm(tmp_path, channels, ["sms", "raw"]).start()

    def lines(path):
        return open(path).read().splitlines() if os.path.exists(path) else []

    ts = int(time.time()) - 60
    send_tcp(g.port, f"srv.c.cpu 85 {ts}\n".encode())  # warning
    wait_until(lambda: len(lines(out)) == 1 and len(lines(args)) == 1, 10, what="raise")
    send_tcp(g.port, f"srv.c.cpu 99 {ts + 10}\n".encode())  # critical
    wait_until(lambda: len(lines(out)) == 2 and len(lines(args)) == 2, 10, what="escalation")
    send_tcp(g.port, f"srv.c.cpu 1 {ts + 20}\n".encode())  # clear
    wait_until(lambda: len(lines(out)) == 3 and len(lines(args)) == 3, 10, what="clear")
    assert lines(args) == ["firing|ok|warning|warning|",
                           "firing|warning|critical|critical|",
                           "resolved|critical|ok|critical|"]
    assert lines(out) == ["--to|+34600000000|warning srv.c.cpu = 85|",
                          "--to|+34600000000|critical srv.c.cpu = 99|",
                          "--to|+34600000000|CLEARED srv.c.cpu (was critical)|"]
    assert g.stop()[0] == 0


def test_a_refused_webhook_is_dropped_not_retried(tmp_path):
    receiver = Receiver(statuses=[400])
    g = make_gralarm(tmp_path, hook(receiver.port), ["hook"]).start()
    ts = int(time.time()) - 60
    send_tcp(g.port, f"srv.a.cpu 97 {ts}\nsrv.b.cpu 97 {ts}\n".encode())
    wait_until(lambda: len(receiver.delivered) == 1, 10, what="the second alert")
    time.sleep(2.5)  # a retry would have come by now (backoff 0.5 to 1 s)
    assert receiver.refused == 1 and len(receiver.delivered) == 1
    m = g.metrics()
    assert metric(m, "gralarm_notifications_total", channel="hook", result="rejected") == 1
    assert metric(m, "gralarm_notifications_total", channel="hook", result="delivered") == 1
    assert metric(m, "gralarm_outbox_pending") == 0
    assert "refused (HTTP 400)" in g.read_log()
    assert g.stop()[0] == 0
    receiver.close()
