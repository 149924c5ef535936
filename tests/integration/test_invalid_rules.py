"""A stored API rule that no longer resolves (its channel left the config) never keeps
gralarm from starting or forwarding: the rule is left out of force and reported in the
log, the API, the web page, /metrics and check-config (a warning, exit 0)."""

import signal
import subprocess
import time

import whisper

from harness import (GRALARM_BIN, CarbonCache, Gralarm, LineSink, metric, send_tcp,
                     wait_until)
from test_api import call
from test_web_page import Dom, chromium

PAGER = ('[[notify.channels]]\nname = "pager"\ntype = "webhook"\n'
         'url = "http://127.0.0.1:9/alerts"\n')


def check_config(g):
    return subprocess.run([GRALARM_BIN, "check-config", "-c", g.config_path],
                          capture_output=True, text=True, timeout=60)


def test_api_rule_naming_a_removed_channel_is_invalid_and_gralarm_still_relays(tmp_path):
    carbon = CarbonCache(str(tmp_path)).start()
    dests = [f"127.0.0.1:{carbon.port}"]
    g = Gralarm(str(tmp_path), dests, sections=PAGER).start()
    paged = {"id": "paged", "pattern": "it.paged.*", "channels": ["pager"],
             "thresholds": {"warning": 50}}
    plain = {"id": "plain", "pattern": "it.plain.*", "thresholds": {"warning": 50}}
    assert call(g, "POST", "/api/v1/rules", paged)[0] == 201
    assert call(g, "POST", "/api/v1/rules", plain)[0] == 201
    assert g.stop()[0] == 0

    # The same store, under a config without the channel.
    g.sections = ""
    g.write_config(dests)
    g.start()
    invalid = ('store: rule "paged" is invalid and not in force: channels: unknown channel '
               '"pager"')
    wait_until(lambda: invalid in g.read_log(), 20, what="the invalid rule logged")
    time.sleep(1.5)  # what a no-data check would have logged by now
    log = g.read_log()
    # Nothing had flowed yet: no ingest outage to report.
    assert "no-data checks paused" not in log, log

    # Points flow to a real carbon-cache, and the rule still in force alerts.
    now = int(time.time())
    send_tcp(g.port, "".join(f"it.plain.a {60 + i} {now - 20 + i}\n"
                             f"it.paged.a {60 + i} {now - 20 + i}\n"
                             for i in range(10)).encode())
    wait_until(lambda: metric(g.metrics(), "gralarm_points_forwarded_total",
                              destination=dests[0]) == 20, 20, what="points forwarded")
    wait_until(lambda: metric(g.metrics(), "gralarm_alerts_active", severity="warning") == 1,
               10, what="the alert of rule plain")
    m = g.metrics()
    assert metric(m, "gralarm_rules") == 1
    assert metric(m, "gralarm_rules_invalid") == 1

    status, body = call(g, "GET", "/api/v1/rules/paged")
    assert status == 200
    assert body["valid"] is False and body["source"] == "api"
    assert body["invalid_reason"] == 'channels: unknown channel "pager"'
    assert body["invalid_field"] == "channels" and body["channels"] == ["pager"]
    status, page = call(g, "GET", "/api/v1/rules")
    assert [(r["id"], r["valid"]) for r in page["items"]] == [("paged", False),
                                                               ("plain", True)]
    assert call(g, "GET", "/api/v1/summary")[1]["rules_invalid"] == 1
    assert call(g, "GET", "/api/v1/rules/paged/series") == (200, {"items": [],
                                                                  "next_cursor": ""})
    assert call(g, "POST", "/api/v1/rules", paged)[0] == 409  # the id is taken

    # The web page marks it, with its reason.
    out = chromium(g, tmp_path, "--dump-dom")
    assert out.returncode == 0, out.stderr[-2000:]
    dom = Dom()
    dom.feed(out.stdout)
    rows = {r[0]: r for r in dom.rows["rules-table"]}
    assert rows["paged"][5] == 'invalid: channels: unknown channel "pager"'
    assert rows["plain"][5] == "in force"
    assert dom.by_id["tile-rules"] == "1 (+1 invalid)"

    # check-config reads the store beside the running server: a warning, exit 0.
    out = check_config(g)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ('warning: store: rule "paged" is invalid and not in force: '
                          'channels: unknown channel "pager"\n')
    assert out.stdout == f"{g.config_path}: ok (1 warning)\n"

    # A reload that gives the channel back puts the rule in force; one that drops it
    # again takes it out, and points keep flowing throughout.
    g.sections = PAGER
    g.write_config(dests)
    g.signal(signal.SIGHUP)
    wait_until(lambda: metric(g.metrics(), "gralarm_rules") == 2, 20, what="reload")
    assert metric(g.metrics(), "gralarm_rules_invalid") == 0
    assert call(g, "GET", "/api/v1/rules/paged")[1]["valid"] is True
    g.sections = ""
    g.write_config(dests)
    g.signal(signal.SIGHUP)
    wait_until(lambda: metric(g.metrics(), "gralarm_rules_invalid") == 1, 20,
               what="reload")
    # Fixed through the API, the rule is in force again.
    fixed = dict(paged, channels=[])
    status, body = call(g, "PUT", "/api/v1/rules/paged", fixed)
    assert status == 200 and body["valid"] is True, body
    assert metric(g.metrics(), "gralarm_rules_invalid") == 0
    send_tcp(g.port, f"it.plain.b 1 {now}\n".encode())
    wait_until(lambda: metric(g.metrics(), "gralarm_points_forwarded_total",
                              destination=dests[0]) == 21, 20, what="points after reloads")
    assert g.stop()[0] == 0
    carbon.stop()

    _, values = whisper.fetch(carbon.whisper_path("it.plain.a"), now - 60, now + 1)
    assert sorted(v for v in values if v is not None) == [60.0 + i for i in range(10)]
    _, values = whisper.fetch(carbon.whisper_path("it.paged.a"), now - 60, now + 1)
    assert sorted(v for v in values if v is not None) == [60.0 + i for i in range(10)]


def test_a_reload_whose_rule_files_do_not_load_is_refused_whole(tmp_path):
    old, new = LineSink(), LineSink()
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "file-paged"\npattern = "f.*"\n'
                     'channels = ["pager"]\nthresholds = { warning = 1 }\n')
    files = f'[rules]\nfiles = ["{rules}"]\n'
    g = Gralarm(str(tmp_path), [old.address], sections=PAGER + files).start()
    assert metric(g.metrics(), "gralarm_rules") == 1

    # A config that drops the channel a rule file uses (and moves the destination):
    # refused whole, as Alertmanager refuses routes to a missing receiver.
    g.sections = files
    g.write_config([new.address])
    g.signal(signal.SIGHUP)
    wait_until(lambda: "the running configuration and the rules in force stay"
               in g.read_log(), 10, what="reload refused")
    assert f'{rules}:4:1: rule "file-paged": channels: unknown channel "pager"' \
        in g.read_log()
    send_tcp(g.port, b"f.a 0 1700000000\n")
    wait_until(lambda: old.snapshot() == [b"f.a 0 1700000000"], 10, what="old destination")
    assert new.snapshot() == []
    assert metric(g.metrics(), "gralarm_rules") == 1
    # The running config still has the channel: an API rule may name it.
    paged = {"id": "api-paged", "pattern": "a.*", "channels": ["pager"],
             "thresholds": {"warning": 1}}
    assert call(g, "POST", "/api/v1/rules", paged)[0] == 201

    # A rule file being edited on disk is not read by API writes, only at SIGHUP.
    rules.write_text("[[rules]\nthis is not toml\n")
    assert call(g, "POST", "/api/v1/rules", dict(paged, id="api-two"))[0] == 201
    assert metric(g.metrics(), "gralarm_rules") == 3

    # Rule files fixed: the new config is in force, and the API rules naming the
    # channel it dropped are invalid, not in the way.
    rules.write_text('[[rules]]\nid = "file-paged"\npattern = "f.*"\n'
                     'thresholds = { warning = 1 }\n')
    g.signal(signal.SIGHUP)
    wait_until(lambda: metric(g.metrics(), "gralarm_rules_invalid") == 2, 10,
               what="reload")
    assert metric(g.metrics(), "gralarm_rules") == 1
    send_tcp(g.port, b"f.b 0 1700000001\n")
    wait_until(lambda: new.snapshot() == [b"f.b 0 1700000001"], 10, what="new destination")
    assert g.stop()[0] == 0
