"""The operator HTTP API over real HTTP (README "HTTP API and web page")."""

import csv
import io
import json
import os
import threading
import time
import urllib.error
import urllib.request

from harness import Gralarm, LineSink, metric, send_tcp, wait_until

RULES_FILE = """
[[rules]]
id = "from-file"
pattern = "file.*"
thresholds = { warning = 10 }
"""


def call(g, method, path, body=None, token=None, raw=False):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{g.api_port}{path}", data=data,
                                 method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
            status = r.status
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        status = e.code
    if raw:
        return status, text
    return status, (json.loads(text) if text else None)


def start(tmp_path, token="", extra=""):
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES_FILE)
    sink = LineSink()
    api = f'token = "{token}"\n' if token else ""
    g = Gralarm(str(tmp_path), [sink.address],
                sections=f'[rules]\nfiles = ["{rules}"]\n{extra}')
    if api:
        text = open(g.config_path).read().replace("[api]\n", "[api]\n" + api)
        open(g.config_path, "w").write(text)
    return g.start(), sink


def rule(rid, pattern="srv.*.cpu", **fields):
    body = {"id": rid, "pattern": pattern, "thresholds": {"warning": 80, "critical": 95}}
    body.update(fields)
    return body


def test_rules_crud_validation_and_read_only_file_rules(tmp_path):
    g, _ = start(tmp_path)
    status, body = call(g, "POST", "/api/v1/rules", rule("cpu", name="CPU"))
    assert status == 201, body
    assert body["id"] == "cpu" and body["source"] == "api" and not body["read_only"]
    assert call(g, "POST", "/api/v1/rules", rule("cpu"))[0] == 409
    status, body = call(g, "POST", "/api/v1/rules",
                        rule("bad", thresholds={"warning": 90, "critical": 80}))
    assert status == 400 and body["error"]["field"] == "thresholds"
    for field, value in [("checks_alert", 0), ("ok_margin_pct", 150), ("schedule", "never"),
                         ("template", "none"), ("channels", ["sms"]), ("pattern", "a.{b")]:
        status, body = call(g, "POST", "/api/v1/rules", rule("bad", **{field: value}))
        assert status == 400, (field, body)
        assert body["error"]["field"] == field, body
    status, body = call(g, "POST", "/api/v1/rules", b"{not json")
    assert status == 400
    # A name and no id: the id comes from the name.
    status, body = call(g, "POST", "/api/v1/rules",
                        {"name": "Disk Full!", "pattern": "disk.*", "thresholds": {"critical": 99}})
    assert status == 201 and body["id"] == "disk-full"
    status, body = call(g, "GET", "/api/v1/rules/cpu")
    assert status == 200 and body["name"] == "CPU"
    status, body = call(g, "PUT", "/api/v1/rules/cpu", rule("cpu", name="CPU load"))
    assert status == 200 and body["name"] == "CPU load"
    assert call(g, "PUT", "/api/v1/rules/nope", rule("nope"))[0] == 404
    assert call(g, "GET", "/api/v1/rules/nope")[0] == 404
    status, body = call(g, "GET", "/api/v1/rules/from-file")
    assert body["read_only"] and body["source"] == "file"
    status, body = call(g, "PUT", "/api/v1/rules/from-file", rule("from-file"))
    assert status == 409 and "read-only" in body["error"]["message"]
    assert call(g, "DELETE", "/api/v1/rules/from-file")[0] == 409
    assert call(g, "DELETE", "/api/v1/rules/disk-full")[0] == 204
    assert call(g, "GET", "/api/v1/rules/disk-full")[0] == 404
    # Rules created through the API survive a restart.
    assert g.stop()[0] == 0
    g.start()
    assert call(g, "GET", "/api/v1/rules/cpu")[1]["name"] == "CPU load"
    assert g.stop()[0] == 0


def test_list_pagination_and_query(tmp_path):
    g, _ = start(tmp_path)
    for i in range(7):
        assert call(g, "POST", "/api/v1/rules", rule(f"r{i}", pattern=f"x{i}.*"))[0] == 201
    seen, cursor = [], ""
    while True:
        status, page = call(g, "GET", f"/api/v1/rules?limit=3&cursor={cursor}")
        assert status == 200
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(["from-file"] + [f"r{i}" for i in range(7)])
    status, page = call(g, "GET", "/api/v1/rules?q=x3")
    assert [r["id"] for r in page["items"]] == ["r3"]
    assert call(g, "GET", "/api/v1/rules?limit=0")[0] == 400
    assert call(g, "GET", "/api/v1/rules?limit=1001")[0] == 400
    assert g.stop()[0] == 0


def test_alerts_history_csv_events_summary_and_series(tmp_path):
    g, _ = start(tmp_path)
    assert call(g, "POST", "/api/v1/rules",
                rule("cpu", labels={"note": 'say "hi", ok'}))[0] == 201
    ts = int(time.time()) - 300
    send_tcp(g.port, f"srv.a.cpu 97 {ts}\nsrv.b.cpu 85 {ts}\nfile.x 50 {ts}\n".encode())
    wait_until(lambda: call(g, "GET", "/api/v1/summary")[1]["alerts"]["critical"] == 1,
               10, what="critical alert")
    status, summary = call(g, "GET", "/api/v1/summary")
    assert summary == {"rules": 2, "rules_invalid": 0, "series_tracked": 3, "flapping": 0,
                       "alerts": {"warning": 2, "major": 0, "critical": 1, "nodata": 0}}
    status, page = call(g, "GET", "/api/v1/alerts?severity=critical")
    assert [a["series"] for a in page["items"]] == ["srv.a.cpu"]
    assert page["items"][0]["since"].endswith("Z")
    status, page = call(g, "GET", "/api/v1/alerts?series=srv.b.*")
    assert [a["severity"] for a in page["items"]] == ["warning"]
    status, page = call(g, "GET", "/api/v1/alerts?rule=from-file")
    assert [a["series"] for a in page["items"]] == ["file.x"]
    status, page = call(g, "GET", "/api/v1/rules/cpu/series")
    assert [s["series"] for s in page["items"]] == ["srv.a.cpu", "srv.b.cpu"]
    assert page["items"][0]["level"] == "critical"

    send_tcp(g.port, f"srv.a.cpu 1 {ts + 10}\nsrv.b.cpu 1 {ts + 10}\n".encode())
    wait_until(lambda: len(call(g, "GET", "/api/v1/history")[1]["items"]) == 2, 10,
               what="history")
    status, page = call(g, "GET", "/api/v1/history?severity=critical")
    assert [h["series"] for h in page["items"]] == ["srv.a.cpu"]
    assert page["items"][0]["peak_severity"] == "critical"
    status, text = call(g, "GET", "/api/v1/history?format=csv", raw=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["rule_id", "rule_name", "series", "peak_severity", "severity",
                       "start", "end", "last_value", "labels"]
    assert len(rows) == 3
    assert json.loads(rows[1][8]) == {"note": 'say "hi", ok'}
    future = int(time.time()) + 3600
    assert call(g, "GET", f"/api/v1/history?from={future}")[1]["items"] == []
    assert call(g, "GET", "/api/v1/history?from=yesterday")[0] == 400
    status, page = call(g, "GET", "/api/v1/events?rule=cpu")
    assert [(e["from"], e["to"]) for e in page["items"]] == [
        ("ok", "critical"), ("ok", "warning"), ("critical", "ok"), ("warning", "ok")]
    assert g.stop()[0] == 0


def test_history_pages_neither_skip_nor_repeat_while_alerts_end(tmp_path):
    g, _ = start(tmp_path)
    assert call(g, "POST", "/api/v1/rules",
                rule("flap", pattern="flap.*", thresholds={"warning": 50}))[0] == 201
    ts = int(time.time()) - 3000

    def flap(series_from, series_to, step):
        lines = []
        for k in range(series_from, series_to):
            lines.append(f"flap.s{k} 99 {ts + step}\nflap.s{k} 1 {ts + step + 1}\n")
        send_tcp(g.port, "".join(lines).encode())

    flap(0, 40, 0)
    wait_until(lambda: call(g, "GET", "/api/v1/summary")[1]["alerts"]["warning"] == 0 and
               len(call(g, "GET", "/api/v1/history?limit=1000")[1]["items"]) == 40, 10,
               what="40 history entries")
    seen, cursor, round_ = [], "", 0
    while True:
        status, page = call(g, "GET", f"/api/v1/history?limit=7&cursor={cursor}")
        assert status == 200
        seen += [(h["series"], h["end"]) for h in page["items"]]
        flap(100 + round_ * 5, 105 + round_ * 5, 10)  # new entries arrive meanwhile
        round_ += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen))  # nothing repeated
    first40 = {f"flap.s{k}" for k in range(40)}
    assert first40 <= {s for s, _ in seen}  # nothing skipped
    assert g.stop()[0] == 0


def test_silences_mark_alerts(tmp_path):
    g, _ = start(tmp_path)
    assert call(g, "POST", "/api/v1/rules", rule("cpu"))[0] == 201
    status, silence = call(g, "POST", "/api/v1/silences",
                           {"rule": "cpu", "series": "srv.a.*", "ends_at": "2099-01-01T00:00:00Z",
                            "created_by": "noc", "comment": "maintenance"})
    assert status == 201, silence
    assert call(g, "POST", "/api/v1/silences", {"rule": "cpu"})[1]["error"]["field"] == "ends_at"
    ts = int(time.time()) - 60
    send_tcp(g.port, f"srv.a.cpu 99 {ts}\nsrv.b.cpu 99 {ts}\n".encode())
    wait_until(lambda: len(call(g, "GET", "/api/v1/alerts")[1]["items"]) == 2, 10,
               what="two alerts")
    alerts = {a["series"]: a["silenced"] for a in call(g, "GET", "/api/v1/alerts")[1]["items"]}
    assert alerts == {"srv.a.cpu": True, "srv.b.cpu": False}
    assert [s["id"] for s in call(g, "GET", "/api/v1/silences")[1]["items"]] == [silence["id"]]
    assert call(g, "DELETE", f"/api/v1/silences/{silence['id']}")[0] == 204
    alerts = {a["series"]: a["silenced"] for a in call(g, "GET", "/api/v1/alerts")[1]["items"]}
    assert alerts == {"srv.a.cpu": False, "srv.b.cpu": False}
    assert call(g, "DELETE", "/api/v1/silences/nope")[0] == 404
    assert g.stop()[0] == 0


def test_templates_and_match(tmp_path):
    g, _ = start(tmp_path)
    status, t = call(g, "POST", "/api/v1/templates",
                     {"name": "util", "thresholds": {"warning": 70}, "checks_alert": 3})
    assert status == 201, t
    status, r = call(g, "POST", "/api/v1/rules",
                     {"id": "eth", "pattern": "if.*.util", "template": "util"})
    assert status == 201, r
    assert call(g, "DELETE", "/api/v1/templates/util")[0] == 409  # in use
    status, body = call(g, "PUT", "/api/v1/templates/util",
                        {"name": "util", "checks_alert": 0})
    assert status == 400
    status, m = call(g, "GET", "/api/v1/match?metric=if.eth0.util;host=a")
    assert m["rules"] == ["eth"] and len(m["destinations"]) == 1
    assert call(g, "GET", "/api/v1/match")[0] == 400
    assert g.stop()[0] == 0


def test_auth_limits_and_errors(tmp_path):
    g, _ = start(tmp_path, token="s3cret")
    status, body = call(g, "POST", "/api/v1/rules", rule("cpu"))
    assert status == 401 and body["error"]["code"] == "unauthenticated"
    assert call(g, "POST", "/api/v1/rules", rule("cpu"), token="wrong")[0] == 401
    assert call(g, "POST", "/api/v1/rules", rule("cpu"), token="s3cret")[0] == 201
    assert call(g, "GET", "/api/v1/rules/cpu")[0] == 200  # reads need no token
    assert "gralarm_rules" in g.metrics_text()
    status, body = call(g, "POST", "/api/v1/rules", b"x" * (1024 * 1024 + 1), token="s3cret")
    assert status == 413
    assert call(g, "GET", "/api/v1/nothing")[0] == 404
    assert call(g, "PATCH", "/api/v1/rules", rule("x"), token="s3cret")[0] == 405
    assert g.stop()[0] == 0


def test_backup_opens_with_serve_and_shows_the_same_rules_and_history(tmp_path):
    g, _ = start(tmp_path)
    assert call(g, "POST", "/api/v1/rules", rule("cpu"))[0] == 201
    ts = int(time.time()) - 60
    send_tcp(g.port, f"srv.a.cpu 99 {ts}\nsrv.a.cpu 1 {ts + 1}\n".encode())
    wait_until(lambda: len(call(g, "GET", "/api/v1/history")[1]["items"]) == 1, 10,
               what="history")
    # Points keep flowing (and alerts keep changing) while the backup is taken.
    stop = threading.Event()

    def flow():
        i = 0
        while not stop.is_set():
            send_tcp(g.port, f"srv.b.cpu {99 if i % 2 else 1} {ts + 2 + i}\n".encode())
            i += 1

    sender = threading.Thread(target=flow)
    sender.start()
    time.sleep(0.5)
    status, body = call(g, "POST", "/api/v1/backup")
    stop.set()
    sender.join()
    assert status == 201 and os.path.isdir(body["path"])
    # The backup holds the history as it was when it was taken: a prefix of now's.
    history = call(g, "GET", "/api/v1/history?limit=1000")[1]["items"]
    assert g.stop()[0] == 0
    (tmp_path / "restored").mkdir()
    restored = Gralarm(str(tmp_path / "restored"), ["127.0.0.1:1"])
    text = open(restored.config_path).read().replace(
        os.path.join(str(tmp_path / "restored"), "store"), body["path"])
    open(restored.config_path, "w").write(text)
    restored.start()
    assert call(restored, "GET", "/api/v1/rules/cpu")[0] == 200
    restored_history = call(restored, "GET", "/api/v1/history?limit=1000")[1]["items"]
    assert restored_history[0]["series"] == "srv.a.cpu"
    assert restored_history == history[:len(restored_history)]
    assert len(restored_history) > 1  # the flapping series ended alerts before the backup
    assert restored.stop()[0] == 0
