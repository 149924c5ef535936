"""With ingest.allow_non_utf8 = true (for destinations that store names as bytes), a name
that is not UTF-8 is forwarded unchanged, raises its alert, and every JSON answer about it
works, with the bytes that are not UTF-8 shown as U+FFFD. By default such a name is refused
at ingest (see test_bad_names.py)."""

import json
import urllib.parse
import urllib.request

from harness import Gralarm, LineSink, metric, send_tcp, wait_until


def get(g, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{g.api_port}{path}", timeout=5) as r:
        return r.status, r.read()


def test_a_series_name_that_is_not_utf8_breaks_nothing(tmp_path):
    sink = LineSink()
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "util"\npattern = "if.*.util"\n'
                     'thresholds = { critical = 90 }\n')
    g = Gralarm(str(tmp_path), [sink.address], extra="allow_non_utf8 = true",
                sections=f'[rules]\nfiles = ["{rules}"]\n').start()
    name = b"if.eth\xff\xfe0.util"
    send_tcp(g.port, name + b" 95 1700000000\n")
    wait_until(lambda: sink.snapshot() == [name + b" 95 1700000000"], 10,
               what="the line forwarded byte for byte")
    wait_until(lambda: metric(g.metrics(), "gralarm_alerts_active", severity="critical") == 1,
               10, what="the alert")
    status, body = get(g, "/api/v1/alerts")
    assert status == 200
    alert = json.loads(body)["items"][0]
    assert alert["series"] == "if.eth\ufffd\ufffd0.util"
    status, body = get(g, "/api/v1/match?metric=" + urllib.parse.quote(name))
    assert status == 200 and json.loads(body)["rules"]
    status, body = get(g, "/api/v1/rules/util/series")
    assert status == 200
    send_tcp(g.port, name + b" 1 1700000010\n")
    wait_until(lambda: json.loads(get(g, "/api/v1/history")[1])["items"], 10,
               what="the alert in history")
    status, body = get(g, "/api/v1/history?format=csv")
    assert status == 200 and "\ufffd" in body.decode()
    assert g.stop()[0] == 0
