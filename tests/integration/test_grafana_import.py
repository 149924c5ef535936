"""Grafana import end to end: a Grafana API stand-in (grafana_standin.py) serving
dashboards in real Grafana versions' shapes, the real graphite-web resolving query
variables through /metrics/find over what gralarm forwarded to a real carbon-cache:
list -> detail -> import -> the imported target rules fire, and the webhook and a real
Alertmanager get the panel's url as generatorURL; importing again updates the same
rules. Failures (Grafana down, token refused, malformed JSON, hidden or non-Graphite
queries, bad rule fields) answer clearly and import nothing."""

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from grafana_standin import GrafanaStandin
from harness import CarbonCache, Gralarm, GraphiteWeb, LineSink, send_tcp, wait_until
from test_alertmanager import alertmanager_alerts, start_alertmanager
from test_notify import Receiver

TOKEN = "glsa_standin_secret_token_1234"
STEP_S = 10


def api(g, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{g.api_port}{path}", data=data,
                                 method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read().decode()
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        assert TOKEN not in text
        return e.code, json.loads(text)
    assert TOKEN not in text
    return r.status, json.loads(text)


def find(web, query):
    url = f"http://127.0.0.1:{web.port}/metrics/find?" + urllib.parse.urlencode(
        {"query": query})
    with urllib.request.urlopen(url, timeout=10) as r:
        return sorted(n["text"] for n in json.loads(r.read()))


def rule_ids(g):
    status, body = api(g, "/api/v1/rules")
    assert status == 200, body
    return sorted(r["id"] for r in body["items"])


@pytest.fixture
def stack(tmp_path):
    carbon = CarbonCache(str(tmp_path), retentions=f"{STEP_S}s:1d").start()
    web = GraphiteWeb(str(tmp_path / "web"),
                      os.path.join(carbon.storage, "whisper")).migrate().start()
    grafana = GrafanaStandin(TOKEN)
    receiver = Receiver()
    am, am_port = start_alertmanager(tmp_path)
    token_file = tmp_path / "grafana.token"
    token_file.write_text(TOKEN + "\n")
    sections = (f'[graphite]\nurl = "http://127.0.0.1:{web.port}"\n'
                f'[grafana]\nurl = "{grafana.url}/"\ntoken_file = "{token_file}"\n'
                'timeout_ms = 3000\n'
                f'[[notify.channels]]\nname = "hook"\ntype = "webhook"\n'
                f'url = "http://127.0.0.1:{receiver.port}/hook"\n'
                f'[[notify.channels]]\nname = "am"\ntype = "alertmanager"\n'
                f'url = "http://127.0.0.1:{am_port}"\n')
    g = Gralarm(str(tmp_path), [f"127.0.0.1:{carbon.port}"], sections=sections).start()
    # The hosts exist in graphite-web once carbon-cache wrote what gralarm forwarded.
    t0 = int(time.time()) - 3600
    send_tcp(g.port, "".join(f"servers.{h}.cpu.user 1 {t0}\n"
                             for h in ("web1", "web2", "web3")).encode())
    wait_until(lambda: find(web, "servers.*") == ["web1", "web2", "web3"], 60,
               what="the hosts in graphite-web's /metrics/find")
    yield g, grafana, receiver, am_port
    g.stop()
    am.terminate()
    am.wait(10)
    receiver.close()
    grafana.stop()
    web.stop()
    carbon.stop()


IMPORT = {"dashboard_uid": "srv-v4", "panel_id": 1, "ref_ids": ["A", "B"],
          "variables": {"host": ["web1", "web2"]},
          "rule": {"thresholds": {"warning": 50, "critical": 150}, "step_s": STEP_S,
                   "lateness_s": 0, "channels": ["hook", "am"],
                   "labels": {"team": "noc"}}}


def test_list_detail_import_fire_and_import_again(stack):
    g, grafana, receiver, am_port = stack
    status, body = api(g, "/api/v1/grafana/dashboards")
    assert status == 200, body
    assert [i["uid"] for i in body["items"]] == ["srv-v4", "edge-27", "db-36"]
    status, body = api(g, "/api/v1/grafana/dashboards?q=edge")
    assert body["items"] == [{"uid": "edge-27", "title": "Edge routers",
                              "folder": "Network", "tags": ["network"],
                              "url": f"{grafana.url}/d/edge-27/edge-routers"}]
    assert all(auth == f"Bearer {TOKEN}" for _, auth in grafana.requests)

    status, d = api(g, "/api/v1/grafana/dashboards/srv-v4")
    assert status == 200, d
    assert d["title"] == "Servers (v4)" and d["url"] == f"{grafana.url}/d/srv-v4"
    host = d["variables"][0]
    assert host["name"] == "host" and host["type"] == "query"
    # The options come from the real graphite-web's /metrics/find.
    assert [o["value"] for o in host["options"]] == ["$__all", "web1", "web2", "web3"]
    assert host["current"] == ["web1", "web2"]
    assert d["variables"][1]["current"] == "$__all"
    cpu = d["panels"][0]
    assert (cpu["id"], cpu["title"], cpu["row"]) == (1, "CPU", "Servers")
    assert cpu["url"] == f"{grafana.url}/d/srv-v4?viewPanel=1"
    assert cpu["targets"][0] == {
        "ref_id": "A", "hidden": False, "raw": "servers.$host.cpu.user",
        "expanded": "servers.{web1,web2}.cpu.user", "supported": True, "problem": ""}
    assert cpu["targets"][1]["expanded"] == \
        "alias(sumSeries(servers.{web1,web2}.cpu.user), 'cpu total')"
    assert cpu["targets"][2]["hidden"] and not cpu["targets"][2]["supported"]
    assert cpu["targets"][2]["problem"] == "hidden in Grafana"
    assert d["panels"][1]["targets"][0]["expanded"] == \
        "summarize(servers.{web1,web2}.net.rx, '5min', 'sum')"
    assert d["panels"][2]["targets"][0]["expanded"] == "apps.*.requests.count"
    # Values chosen as Grafana's urls write them; All without allValue.
    _, d = api(g, "/api/v1/grafana/dashboards/srv-v4?var-host=web3&var-host=web1")
    assert d["panels"][0]["targets"][0]["expanded"] == "servers.{web3,web1}.cpu.user"
    _, d = api(g, "/api/v1/grafana/dashboards/srv-v4?var-host=All")
    assert d["panels"][0]["targets"][0]["expanded"] == \
        "servers.{web1,web2,web3}.cpu.user"

    status, body = api(g, "/api/v1/grafana/import", IMPORT)
    assert status == 201, body
    rules = body["items"]
    assert [r["name"] for r in rules] == ["Servers (v4) / CPU / A",
                                          "Servers (v4) / CPU / cpu total"]
    assert [r["target"] for r in rules] == [
        "servers.{web1,web2}.cpu.user",
        "alias(sumSeries(servers.{web1,web2}.cpu.user), 'cpu total')"]
    panel_url = f"{grafana.url}/d/srv-v4?viewPanel=1"
    for r, ref in zip(rules, ["A", "B"]):
        assert r["labels"] == {"dashboard": "Servers (v4)", "panel": "CPU", "team": "noc"}
        assert r["grafana"] == {"uid": "srv-v4", "panel_id": 1, "ref_id": ref,
                                "url": panel_url}
        assert r["source"] == "api"
    ids = [r["id"] for r in rules]
    status, stored = api(g, f"/api/v1/rules/{ids[1]}")
    assert stored["grafana"]["url"] == panel_url

    # The imported rules fire on points: web1 60, web2 70 (sum 130) at step t.
    t = int(time.time()) - 600
    t -= t % STEP_S
    send_tcp(g.port, (f"servers.web1.cpu.user 60 {t}\nservers.web2.cpu.user 70 {t + 1}\n"
                      f"servers.web3.cpu.user 500 {t}\n"
                      f"servers.web1.cpu.user 1 {t + STEP_S}\n").encode())

    def hooked():
        return {(a["labels"]["alertname"], a["labels"]["series"]): a
                for body in receiver.delivered for a in body["alerts"]
                if a["status"] == "firing"}
    wait_until(lambda: len(hooked()) == 3, 30, what="three webhook alerts")
    got = hooked()
    assert sorted(got) == sorted([(ids[0], "servers.web1.cpu.user"),
                                  (ids[0], "servers.web2.cpu.user"),
                                  (ids[1], "cpu total")])
    assert {a["generatorURL"] for a in got.values()} == {panel_url}
    assert got[(ids[1], "cpu total")]["labels"]["dashboard"] == "Servers (v4)"

    def in_am():
        return [a for a in alertmanager_alerts(am_port)
                if a["labels"].get("alertname") in ids]
    wait_until(lambda: len(in_am()) == 3, 30, what="three alerts in Alertmanager")
    assert {a["generatorURL"] for a in in_am()} == {panel_url}

    # Again, with other thresholds: the same rules, updated.
    again = dict(IMPORT, rule=dict(IMPORT["rule"], thresholds={"warning": 55}))
    status, body = api(g, "/api/v1/grafana/import", again)
    assert status == 201, body
    assert [r["id"] for r in body["items"]] == ids
    assert [r["thresholds"] for r in body["items"]] == [{"warning": 55}] * 2
    assert rule_ids(g) == sorted(ids)
    # Without ref_ids: every supported query of the panel (A and B; C is hidden).
    status, body = api(g, "/api/v1/grafana/import",
                       {"dashboard_uid": "srv-v4", "panel_id": 1,
                        "rule": {"thresholds": {"warning": 1}}})
    assert status == 201, body
    assert [r["id"] for r in body["items"]] == ids


def test_a_library_panel_is_read_from_grafanas_library(stack):
    g, grafana, _, _ = stack
    status, d = api(g, "/api/v1/grafana/dashboards/db-36")
    assert status == 200, d
    lib = next(p for p in d["panels"] if p["id"] == 202)
    # The dashboard holds only {"libraryPanel": {"uid"}}; the queries, title and type
    # come from GET /api/library-elements/lib-queue.
    assert (lib["title"], lib["row"], lib["type"]) == ("Queues (shared)", "Queues",
                                                       "timeseries")
    assert "problem" not in lib, lib
    assert [(t["ref_id"], t["expanded"], t["supported"]) for t in lib["targets"]] == [
        ("A", "maxSeries(queues.{db1,db2}.depth)", True),
        ("B", "alias(maxSeries(queues.{db1,db2}.depth), 'deepest queue')", True)]
    assert any(path == "/api/library-elements/lib-queue" and auth == f"Bearer {TOKEN}"
               for path, auth in grafana.requests)
    status, body = api(g, "/api/v1/grafana/import", {
        "dashboard_uid": "db-36", "panel_id": 202, "ref_ids": ["B"],
        "rule": {"thresholds": {"warning": 100}, "step_s": STEP_S, "lateness_s": 0}})
    assert status == 201, body
    (rule,) = body["items"]
    assert rule["target"] == "alias(maxSeries(queues.{db1,db2}.depth), 'deepest queue')"
    assert rule["name"] == "Databases / Queues (shared) / deepest queue", rule["name"]
    assert rule["grafana"]["panel_id"] == 202

    # The element deleted from the library: the panel says why it has no query, and
    # importing it is refused.
    element = grafana.libraries.pop("lib-queue")
    try:
        status, d = api(g, "/api/v1/grafana/dashboards/db-36")
        assert status == 200, d
        lib = next(p for p in d["panels"] if p["id"] == 202)
        assert lib["targets"] == []
        assert lib["problem"].startswith(
            "a library panel whose queries could not be read from Grafana's library: "), lib
        assert 'library panel "lib-queue" not found (HTTP 404)' in lib["problem"], lib
        # The rest of the dashboard is unaffected.
        assert next(p for p in d["panels"] if p["id"] == 101)["targets"][0]["supported"]
        status, body = api(g, "/api/v1/grafana/import", {
            "dashboard_uid": "db-36", "panel_id": 202,
            "rule": {"thresholds": {"warning": 100}}})
        assert status == 400, body
        assert body["error"]["field"] == "ref_ids", body
        assert body["error"]["message"].startswith(
            "ref_ids: panel 202 has no query gralarm can alert on: a library panel whose queries "
            "could not be read from Grafana's library: "), body
    finally:
        grafana.libraries["lib-queue"] = element


def test_failures_are_clear_and_import_nothing(stack):
    g, grafana, _, _ = stack

    def refused(body, status=400):
        got, answer = api(g, "/api/v1/grafana/import", body)
        assert got == status, answer
        assert rule_ids(g) == []
        return answer["error"]

    # A hidden query, a query the panel lacks: named, and A is not imported either.
    e = refused(dict(IMPORT, ref_ids=["A", "C", "Z"]))
    assert [(p["ref_id"], p["message"]) for p in e["problems"]] == [
        ("C", "hidden in Grafana"), ("Z", "the panel has no such query")]
    assert "ref_id C: hidden in Grafana" in e["message"]
    # A Prometheus query of a mixed panel, and Grafana's $__interval.
    e = refused({"dashboard_uid": "edge-27", "panel_id": 22, "ref_ids": ["A", "C"],
                 "rule": {"thresholds": {"warning": 1}}})
    assert "\"Prometheus\" is not Graphite" in e["problems"][0]["message"]
    assert "$__interval" in e["problems"][1]["message"]
    # Rule fields the rules API refuses, for every query.
    e = refused(dict(IMPORT, rule={"step_s": STEP_S}))
    assert [p["field"] for p in e["problems"]] == ["thresholds", "thresholds"]
    e = refused(dict(IMPORT, rule={"thresholds": {"warning": 1}, "channels": ["nope"]}))
    assert e["field"] == "channels" and "nope" in e["message"]
    e = refused(dict(IMPORT, rule={"thresholds": {"warning": 1}, "labels": ["x"]}))
    assert e["field"] == "labels", e
    e = refused(dict(IMPORT, rule={"thresholds": {"warning": 1}, "target": "x"}))
    assert e["field"] == "rule"
    e = refused(dict(IMPORT, variables={"hots": "web1"}))
    assert e["field"] == "variables" and "no variable \"hots\"" in e["message"]
    e = refused({"dashboard_uid": "srv-v4"})
    assert e["field"] == "panel_id"
    e = refused(dict(IMPORT, panel_id=99), status=404)
    assert "no panel 99" in e["message"]
    e = refused(dict(IMPORT, dashboard_uid="nope"), status=404)
    assert "not found" in e["message"]

    # 500 panels: every one listed, expanded and judged.
    status, big = api(g, "/api/v1/grafana/dashboards/big-500")
    assert status == 200, big
    assert len(big["panels"]) == 500
    assert sum(t["supported"] for p in big["panels"] for t in p["targets"]) == 1000
    assert big["panels"][499]["targets"][1]["expanded"] == "sumSeries(servers.web1.m499)"

    grafana.mode = "malformed"
    status, body = api(g, "/api/v1/grafana/dashboards/srv-v4")
    assert status == 502 and "malformed at byte" in body["error"]["message"], body
    refused(IMPORT, status=502)

    grafana.mode = "refuse"
    for path in ("/api/v1/grafana/dashboards", "/api/v1/grafana/dashboards/srv-v4"):
        status, body = api(g, path)
        assert status == 502 and "refused the token" in body["error"]["message"], body
    assert "refused the token" in refused(IMPORT, status=502)["message"]

    # A rotated token: token_file is read again on SIGHUP.
    grafana.mode = "ok"
    grafana.token = TOKEN + "-rotated"
    status, body = api(g, "/api/v1/grafana/dashboards")
    assert status == 502 and "refused the token" in body["error"]["message"], body
    with open(os.path.join(g.workdir, "grafana.token"), "w") as f:
        f.write(TOKEN + "-rotated\n")
    g.signal(signal.SIGHUP)
    wait_until(lambda: api(g, "/api/v1/grafana/dashboards")[0] == 200, 15,
               what="the rotated token in use")

    # A hung Grafana: each request waits timeout_ms (3 s), and at most 8 wait at once.
    grafana.mode = "hang"
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        api(g, "/api/v1/grafana/dashboards/srv-v4"))) for _ in range(12)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - t0 < 4.5
    assert sorted(status for status, _ in results) == [502] * 8 + [503] * 4, results
    assert all("does not answer" in b["error"]["message"]
               for status, b in results if status == 502)
    grafana.mode = "ok"

    grafana.stop()
    status, body = api(g, "/api/v1/grafana/dashboards")
    assert status == 502, body
    assert "does not answer" in body["error"]["message"]
    assert grafana.url in body["error"]["message"]
    refused(IMPORT, status=502)
    assert TOKEN not in g.read_log()


def test_without_grafana_url_the_endpoints_say_so(tmp_path):
    g = Gralarm(str(tmp_path), [LineSink().address]).start()
    for path, body in (("/api/v1/grafana/dashboards", None),
                       ("/api/v1/grafana/dashboards/x", None),
                       ("/api/v1/grafana/import", IMPORT)):
        status, answer = api(g, path, body)
        assert status == 503, answer
        assert "[grafana] url" in answer["error"]["message"]
    # The import is a write like the others: a page of another site cannot send it.
    req = urllib.request.Request(
        f"http://127.0.0.1:{g.api_port}/api/v1/grafana/import",
        data=json.dumps(IMPORT).encode(), method="POST",
        headers={"Content-Type": "application/json", "Origin": "http://evil.example"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 403
    status, answer = api(g, "/api/v1/grafana/dashboards/x/y")
    assert status == 404, answer
    assert g.stop()[0] == 0
