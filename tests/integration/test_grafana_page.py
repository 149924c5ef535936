"""The web page's Grafana and Graphite screens in headless Chromium (Debian's): the
chart library served by gralarm itself, the "Add metric/alarm" wizard against the
Grafana-API stand-in (grafana_standin.py), the chart of a selected alert from the real graphite-web over
carbon-cache's whisper files, and "Configured metrics"."""

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

from grafana_standin import GrafanaStandin
from harness import CarbonCache, Gralarm, GraphiteWeb, send_tcp, wait_until
from test_web_page import Browser

DYGRAPHS = "/usr/share/javascript/dygraphs"


def get(base, path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return r.status, dict((k.lower(), v) for k, v in r.headers.items()), r.read()


def csp_violations(browser):
    return [m for m in browser.log if "Content Security Policy" in m]


def test_page_loads_dygraphs_from_gralarm_itself(tmp_path):
    """/assets/ serves Debian's dygraphs byte for byte; the page runs it under a
    policy that allows no other origin, without a single policy violation; the tabs
    follow the URL's fragment."""
    g = Gralarm(str(tmp_path), ["127.0.0.1:1"])
    g.start()
    base = f"http://127.0.0.1:{g.api_port}"
    for name, kind in (("dygraph.min.js", "text/javascript"), ("dygraph.min.css", "text/css")):
        status, headers, body = get(base, "/assets/" + name)
        with open(os.path.join(DYGRAPHS, name), "rb") as f:
            assert body == f.read(), name
        assert status == 200 and headers["content-type"].startswith(kind)
        assert headers["x-content-type-options"] == "nosniff"
    try:
        get(base, "/assets/dygraph.js")
        raise AssertionError("an asset that is not compiled in was served")
    except urllib.error.HTTPError as e:
        assert e.code == 404
    _, headers, page = get(base, "/")
    csp = headers["content-security-policy"]
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src "))
    assert script_src.endswith(" 'self'") and "http" not in csp and "unsafe" not in csp
    assert b"https://" not in page and b"http://" not in page  # no CDN

    b = Browser(tmp_path / "profile")
    try:
        b.goto(base + "/#metrics")
        b.wait("(e => !!e && e.textContent !== 'never')(document.getElementById('updated'))",
               "the page's data")
        assert b.js("typeof Dygraph") == "function"
        assert b.js("document.getElementById('tab-metrics').hidden") is False
        assert b.js("document.getElementById('tab-home').hidden") is True
        b.click("#tab-button-home")
        assert b.js("location.hash") == ""
        assert b.js("document.getElementById('tab-home').hidden") is False
        assert not csp_violations(b), b.log
    finally:
        b.close()
    assert g.stop()[0] == 0


def test_chart_and_wizard_say_why_without_graphite_and_grafana(tmp_path):
    """Without [graphite] and [grafana]: the selected alert's chart gives way to the
    API's reason, and the wizard says that Grafana is not configured."""
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "cpu"\npattern = "srv.*.cpu"\n'
                     'thresholds = { warning = 80 }\n')
    g = Gralarm(str(tmp_path), ["127.0.0.1:1"], sections=f'[rules]\nfiles = ["{rules}"]\n')
    g.start()
    send_tcp(g.port, f"srv.a.cpu 90 {int(time.time()) - 10}\n".encode())
    wait_until(lambda: 'gralarm_alerts_active{severity="warning"} 1' in g.metrics_text(),
               10, what="the alert")
    base = f"http://127.0.0.1:{g.api_port}"
    b = Browser(tmp_path / "profile")
    try:
        b.goto(base + "/")
        b.wait("document.querySelector('#alerts-table tbody tr.row') !== null", "the alert")
        b.click("#alerts-table tbody tr.row")
        b.wait("!document.getElementById('chart-message').hidden", "the chart's message")
        assert "[graphite] url" in b.text("chart-message"), b.text("chart-message")
        assert b.js("document.querySelectorAll('#chart canvas').length") == 0
        assert b.js("document.getElementById('chart-grafana').hidden") is True
        b.click("#tab-button-add")
        b.wait("!document.getElementById('wiz-off').hidden", "the wizard's message")
        assert "Grafana is not configured" in b.text("wiz-off"), b.text("wiz-off")
        assert b.rows("wiz-dashboards") == []
        assert not csp_violations(b), b.log
    finally:
        b.close()
    assert g.stop()[0] == 0


GRAFANA_TOKEN = "glsa_page_test_token"

# A Grafana 9-style dashboard (schemaVersion 36: top-level panels with row panels): a
# multi-value custom variable, a Graphite query using it, a hidden query and a
# Prometheus one, which the wizard shows as not importable.
DASHBOARD = {
    "uid": "srv-overview", "title": "Servers overview", "schemaVersion": 36, "version": 3,
    "tags": ["servers"],
    "templating": {"list": [{
        "name": "host", "type": "custom", "multi": True, "includeAll": True,
        "query": "web1,web2",
        "current": {"text": ["web1", "web2"], "value": ["web1", "web2"]},
        "options": [{"text": "All", "value": "$__all", "selected": False},
                    {"text": "web1", "value": "web1", "selected": True},
                    {"text": "web2", "value": "web2", "selected": True}]}]},
    "panels": [
        {"type": "row", "id": 1, "title": "Hosts", "collapsed": False, "panels": [],
         "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}},
        {"type": "timeseries", "id": 2, "title": "CPU busy",
         "datasource": {"type": "graphite", "uid": "gr"},
         "gridPos": {"x": 0, "y": 1, "w": 12, "h": 8},
         "targets": [{"refId": "A", "target": "srv.$host.cpu"},
                     {"refId": "B", "target": "sumSeries(#A)", "hide": True},
                     {"refId": "C", "datasource": {"type": "prometheus", "uid": "p"},
                      "expr": "up"}]},
    ],
}


def test_wizard_imports_a_panel_whose_alert_is_charted_and_deleted(tmp_path):
    """The whole path in Chromium: dashboard search -> dashboard (variable narrowed to
    one host, the expansion follows) -> panel -> query A with thresholds -> Create;
    points over the threshold go through gralarm to carbon-cache and raise the alert;
    the home page draws the alert's chart from graphite-web (dygraphs canvas, points
    from /api/v1/graph) with the Grafana link of the panel; "Configured metrics" lists
    the rule under its dashboard and panel and deletes it."""
    carbon = CarbonCache(str(tmp_path / "carbon"), retentions="10s:1d")
    carbon.start()
    graphite = GraphiteWeb(str(tmp_path / "graphite-web"), carbon.storage + "/whisper")
    graphite.start()
    grafana = GrafanaStandin(GRAFANA_TOKEN)
    grafana.add_dashboard(DASHBOARD)
    g = Gralarm(str(tmp_path), [f"127.0.0.1:{carbon.port}"], sections=(
        f'[graphite]\nurl = "http://127.0.0.1:{graphite.port}"\n'
        f'[grafana]\nurl = "{grafana.url}"\ntoken = "{GRAFANA_TOKEN}"\n'))
    g.start()
    base = f"http://127.0.0.1:{g.api_port}"
    b = Browser(tmp_path / "profile")
    try:
        b.goto(base + "/#add")
        b.wait("document.querySelector('#wiz-dashboards tbody tr.row') !== null",
               "the dashboard list")
        # The stand-in also serves the fixtures of the import test: the search narrows.
        assert len(b.rows("wiz-dashboards")) > 1
        b.type("wiz-q", "overview")
        b.click("#wiz-search")
        b.wait("document.querySelectorAll('#wiz-dashboards tbody tr.row').length === 1",
               "the searched dashboard")
        assert b.rows("wiz-dashboards")[0][:3] == ["Servers overview", "Ops", "servers"], \
            b.rows("wiz-dashboards")
        b.click('#wiz-dashboards button[data-uid="srv-overview"]')
        b.wait("document.querySelector('#wiz-panels button[data-panel=\"2\"]') !== null",
               "the panels")
        assert b.js("[...document.querySelectorAll('#wiz-panels h3')].map(h => h.textContent)"
                    ) == ["Row: Hosts"]
        b.click('#wiz-panels button[data-panel="2"]')
        b.wait("document.querySelector('#wiz-targets tbody tr.row') !== null", "the queries")
        rows = b.rows("wiz-targets")
        assert [r[1:4] for r in rows][0] == ["A", "srv.$host.cpu", "srv.{web1,web2}.cpu"], rows
        assert [r[4] == "supported" for r in rows] == [True, False, False], rows
        assert b.js("[...document.querySelectorAll('#wiz-targets input')]"
                    ".map(i => [i.checked, i.disabled])") == [
                        [True, False], [False, True], [False, True]]
        # One host only: the dashboard is read again with ?var-host=web1.
        b.js("(() => { const s = document.getElementById('wiz-var-host');"
             " for (const o of s.options) o.selected = o.value === 'web1';"
             " s.dispatchEvent(new Event('change')); })()")
        b.wait("document.querySelector('#wiz-targets tbody tr.row td:nth-child(4)')"
               ".textContent === 'srv.web1.cpu'", "the expansion for web1")
        b.type("wiz-warning", "50")
        b.type("wiz-critical", "90")
        b.type("wiz-step_s", "10")
        b.type("wiz-checks_ok", "1")
        b.click("#wiz-create")
        b.wait("document.querySelector('#wiz-created tbody tr.row') !== null",
               "the created rule")
        created = b.rows("wiz-created")
        assert len(created) == 1 and created[0][2] == "srv.web1.cpu", created
        assert created[0][1] == "Servers overview / CPU busy / A"
        assert created[0][3] == "warning 50, critical 90"
        rule_id = created[0][0]
        rule = json.load(urllib.request.urlopen(f"{base}/api/v1/rules/{rule_id}", timeout=10))
        panel_url = f"{grafana.url}/d/srv-overview?viewPanel=2"
        assert rule["grafana"] == {"uid": "srv-overview", "panel_id": 2, "ref_id": "A",
                                   "url": panel_url}, rule
        assert rule["step_s"] == 10 and rule["thresholds"] == {"warning": 50, "critical": 90}

        # Points over the critical threshold, through gralarm into carbon-cache.
        now = int(time.time())
        start = now - now % 10 - 300
        send_tcp(g.port, "".join(f"srv.web1.cpu {95 + i % 3} {t}\n"
                                 for i, t in enumerate(range(start, now + 1, 10))).encode())
        wait_until(lambda: json.load(urllib.request.urlopen(
            f"{base}/api/v1/alerts?rule={rule_id}", timeout=10))["items"], 30,
            what="the critical alert")
        graph = f"{base}/api/v1/graph?target=srv.web1.cpu&from=-1h&until=now"
        wait_until(lambda: any(p[0] is not None for s in json.load(urllib.request.urlopen(
            graph, timeout=10)) for p in s["datapoints"]), 60,
            what="graphite-web rendering the points carbon-cache wrote")

        b.click("#tab-button-home")
        b.js("refresh()")
        b.wait("document.querySelector('#alerts-table tbody tr.row') !== null", "the alert row")
        assert b.rows("alerts-table")[0][:3] == ["critical", "Servers overview / CPU busy / A",
                                                "srv.web1.cpu"], b.rows("alerts-table")
        b.click("#alerts-table tbody tr.row")
        b.wait("document.querySelectorAll('#chart canvas').length > 0", "the chart", 30)
        b.wait("Number(document.getElementById('chart').dataset.points) >= 20",
               "the chart's points", 30)
        assert b.js("document.getElementById('chart-message').hidden") is True
        assert b.text("chart-target") == "srv.web1.cpu"
        assert "lines at warning 50, critical 90" in b.text("chart-status")
        assert b.js("document.getElementById('chart-grafana').hidden") is False
        assert b.js("document.getElementById('chart-grafana').getAttribute('href')") == \
            panel_url
        # The chart's canvas holds drawn pixels (the series and the threshold lines).
        assert b.js("[...document.querySelectorAll('#chart canvas')].some(c => {"
                    " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                    " for (let i = 3; i < d.length; i += 4) if (d[i]) return true;"
                    " return false; })")
        b.click('#chart-ranges button[data-range="24h"]')
        b.wait("document.querySelector('#chart-ranges button.active').textContent === '24h'",
               "the 24h range")
        shot = os.path.join(os.environ.get("GRALARM_BUILD_DIR", str(tmp_path)),
                            "web-page-chart.png")
        with open(shot, "wb") as f:
            f.write(base64.b64decode(b.call("Page.captureScreenshot", session=True,
                                            captureBeyondViewport=True)["data"]))

        # Configured metrics: under the dashboard, then the panel; delete asks twice.
        b.click("#tab-button-metrics")
        panel = ('#metrics-groups .dashboard[data-uid="srv-overview"] '
                 '.panel[data-panel="2"]')
        b.wait(f"document.querySelector('{panel} tr.row') !== null", "the configured rule")
        assert b.js(f"document.querySelector('{panel} h4').textContent").startswith(
            "Panel CPU busy")
        assert b.js(f"document.querySelector('{panel} h4 a').getAttribute('href')") == \
            panel_url
        assert b.js(f"document.querySelector('{panel} tr.row').dataset.rule") == rule_id
        b.click(f"{panel} tr.row button.delete")
        assert b.js(f"document.querySelector('{panel} tr.row button.delete').textContent") \
            == "Really delete?"
        status = urllib.request.urlopen(f"{base}/api/v1/rules/{rule_id}", timeout=10).status
        assert status == 200  # not yet
        b.click(f"{panel} tr.row button.delete")
        b.wait(f"document.querySelector('{panel}') === null", "the deleted rule")
        try:
            urllib.request.urlopen(f"{base}/api/v1/rules/{rule_id}", timeout=10)
            raise AssertionError("the rule is still there")
        except urllib.error.HTTPError as e:
            assert e.code == 404
        assert b.text("metrics-error") == ""
        assert not csp_violations(b), b.log
    finally:
        b.close()
        grafana.stop()
        graphite.stop()
    assert g.stop()[0] == 0
    carbon.stop()
