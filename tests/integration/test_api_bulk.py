"""POST /api/v1/rules/bulk (one change to many rules, all or none) and GET
/api/v1/settings over real HTTP, against a running gralarm (README "HTTP API and web
page")."""

import time

from harness import Gralarm, free_port
from test_api import call, rule, start

SECTIONS = """
[schedules.office]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "08:00"
to = "18:00"
timezone = "Europe/Madrid"
[[notify.channels]]
name = "sms"
type = "webhook"
url = "http://noc:secret@127.0.0.1:9/sms?key=secret"
[[notify.channels]]
name = "ticket"
type = "webhook"
url = "http://127.0.0.1:9/ticket"
"""


def all_rules(g):
    status, page = call(g, "GET", "/api/v1/rules?limit=1000")
    assert status == 200
    items = page["items"]
    while page["next_cursor"]:
        status, page = call(g, "GET", f"/api/v1/rules?limit=1000&cursor={page['next_cursor']}")
        items += page["items"]
    return {r["id"]: r for r in items}


def test_bulk_changes_a_thousand_rules_in_one_write(tmp_path):
    g, _ = start(tmp_path, extra=SECTIONS)
    try:
        ids = [f"link-{i:04d}" for i in range(1000)]
        for rid in ids:
            assert call(g, "POST", "/api/v1/rules", rule(rid, f"net.{rid}.util"))[0] == 201
        t0 = time.monotonic()
        status, body = call(g, "POST", "/api/v1/rules/bulk", {
            "ids": ids, "set": {"channels": ["sms", "ticket"], "checks_alert": 3,
                                "checks_ok": 2, "schedule": "office", "ok_margin_pct": 5}})
        took = time.monotonic() - t0
        assert status == 200, body
        assert [r["id"] for r in body["items"]] == ids
        rules = all_rules(g)
        for rid in ids:
            r = rules[rid]
            assert (r["channels"], r["checks_alert"], r["checks_ok"], r["schedule"],
                    r["ok_margin_pct"]) == (["sms", "ticket"], 3, 2, "office", 5), r
            assert r["pattern"] == f"net.{rid}.util" and r["thresholds"]["critical"] == 95
        print(f"bulk change of 1000 rules answered in {took:.2f} s")
        # A null puts a field back to its default; the change is stored (a restart keeps it).
        status, body = call(g, "POST", "/api/v1/rules/bulk",
                            {"ids": ids[:10], "set": {"schedule": None}})
        assert status == 200, body
        g.stop()
        g.start()
        rules = all_rules(g)
        assert "schedule" not in rules[ids[0]] and rules[ids[10]]["schedule"] == "office"
        assert rules[ids[999]]["channels"] == ["sms", "ticket"]
    finally:
        g.stop()


def test_one_rule_refusing_the_change_leaves_every_rule_as_it_was(tmp_path):
    g, _ = start(tmp_path, extra=SECTIONS)
    try:
        ids = [f"cpu-{i}" for i in range(20)]
        for rid in ids:
            # Only a warning threshold: "below" suits them, except cpu-13 (rising levels).
            body = rule(rid, thresholds={"warning": 80})
            if rid == "cpu-13":
                body["thresholds"] = {"warning": 80, "critical": 95}
            assert call(g, "POST", "/api/v1/rules", body)[0] == 201
        before = all_rules(g)
        status, body = call(g, "POST", "/api/v1/rules/bulk", {
            "ids": ids, "set": {"checks_alert": 4, "direction": "below"}})
        assert status == 400, body
        e = body["error"]
        # The rule's own thresholds are what no longer fits: the error names them.
        assert e["rule"] == "cpu-13" and e["field"] == "thresholds", e
        assert "cpu-13" in e["message"]
        for bad, field in (({"schedule": "weekends"}, "set.schedule"),
                           ({"channels": ["pager"]}, "set.channels"),
                           ({"checks_ok": 0}, "set.checks_ok"),
                           ({"checks_alert": "three"}, "set.checks_alert"),
                           ({"pattern": "x.*"}, "set.pattern")):
            status, body = call(g, "POST", "/api/v1/rules/bulk",
                                {"ids": ids, "set": dict(bad, checks_alert=2)
                                 if "checks_alert" not in bad else bad})
            assert status == 400 and body["error"]["field"] == field, (bad, body)
        status, body = call(g, "POST", "/api/v1/rules/bulk",
                            {"ids": ids + ["no-such-rule"], "set": {"checks_alert": 2}})
        assert status == 404 and body["error"]["rule"] == "no-such-rule", body
        status, body = call(g, "POST", "/api/v1/rules/bulk",
                            {"ids": ids + ["cpu-1"], "set": {"checks_alert": 2}})
        assert status == 400 and body["error"]["field"] == "ids", body
        assert all_rules(g) == before
    finally:
        g.stop()


def test_file_rules_are_refused_and_nothing_changes(tmp_path):
    g, _ = start(tmp_path, token="t0ken", extra=SECTIONS)
    try:
        for rid in ("a", "b"):
            assert call(g, "POST", "/api/v1/rules", rule(rid), token="t0ken")[0] == 201
        before = all_rules(g)
        status, body = call(g, "POST", "/api/v1/rules/bulk",
                            {"ids": ["a", "from-file", "b"], "set": {"enabled": False}},
                            token="t0ken")
        assert status == 409, body
        assert body["error"]["rule"] == "from-file" and "read-only" in body["error"]["message"]
        assert all_rules(g) == before
        # A write like any other: the token is needed.
        status, body = call(g, "POST", "/api/v1/rules/bulk",
                            {"ids": ["a"], "set": {"enabled": False}})
        assert status == 401, body
        status, body = call(g, "POST", "/api/v1/rules/bulk",
                            {"ids": ["a"], "set": {"enabled": False}}, token="t0ken")
        assert status == 200 and body["items"][0]["enabled"] is False, body
        # Only POST: GET /api/v1/rules/bulk is the rule "bulk" (none here).
        assert call(g, "GET", "/api/v1/rules/bulk")[0] == 404
    finally:
        g.stop()


def test_settings_show_what_is_in_force_without_secrets(tmp_path):
    closed = free_port()
    g = Gralarm(str(tmp_path), ["127.0.0.1:1"], sections=SECTIONS + (
        f'[graphite]\nurl = "http://127.0.0.1:{closed}"\ntimeout_ms = 1000\n'))
    g.start()
    try:
        status, s = call(g, "GET", "/api/v1/settings")
        assert status == 200, s
        assert "secret" not in str(s)
        assert [c["name"] for c in s["channels"]] == ["sms", "ticket"]
        assert s["channels"][0]["url"] == "http://127.0.0.1:9/sms"
        assert [x["name"] for x in s["schedules"]] == ["24x7", "office"]
        office = s["schedules"][1]
        assert (office["days"], office["from"], office["to"], office["timezone"]) == (
            ["mon", "tue", "wed", "thu", "fri"], "08:00", "18:00", "Europe/Madrid")
        assert s["graphite"]["state"] == "error" and s["graphite"]["message"], s
        assert s["grafana"] == {"url": "", "state": "off", "message": ""}
        assert s["store"]["path"].endswith("store") and s["store"]["size_bytes"] > 0
        assert s["api"]["token_required"] is False and s["cluster"] is None
        assert s["version"]
        assert call(g, "POST", "/api/v1/settings", {})[0] == 405
    finally:
        g.stop()
