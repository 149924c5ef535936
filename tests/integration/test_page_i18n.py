"""The page in Spanish and English, driven in Chromium as an operator would: it opens in the
browser's language (Spanish) without touching the switch; on every tab no text, placeholder,
title, aria-label or option outside [translate=no] (the data from the network) is left in
English; the switch brings English back and the choice survives a reload; dates are shown in
the browser's time zone; no tab scrolls sideways at 1280 px in either language. Screenshots
of every tab in both languages go to <build>/screenshots/."""

import datetime
import json
import re
import time
import urllib.error
import urllib.request

from browser import Page
from grafana_standin import GrafanaStandin
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from harness import Gralarm, send_tcp, wait_until

TABS = ["home", "add", "metrics", "configure", "templates", "silences", "settings", "help"]

# Values a Spanish operator reads as they are in English: names, acronyms, units, and words
# spelt the same in both languages.
SAME_IN_BOTH = {"gralarm", "Grafana", "Graphite", "graphite-web", "Alertmanager", "OK", "CSV",
                "API", "URL", "SMS", "Id", "ID", "Webhook", "24x7", "1h", "4h", "6h", "24h", "7d",
                "7 s", "7 min", "7 h", "7 d", "Series", "Dashboard", "Panel", "General", "no",
                "error", "Error"}

# Words of the English strings that may stand in a Spanish text: names of functions and
# parameters of Graphite, and of the page's technical terms.
WORDS_IN_BOTH = {"holtwinters", "bootstrapinterval", "seasonality", "delta", "glob",
                 "token", "target"}

# Every string of both tables: plain strings as they are, functions called with sample
# arguments (numbers first, then texts) in their own language.
STRINGS_JS = """
const saved = LANG;
const out = {};
try {
  for (const l of ["en", "es"]) {
    LANG = l;
    out[l] = {};
    for (const [k, v] of Object.entries(STRINGS[l])) {
      if (typeof v !== "function") { out[l][k] = {text: v, fn: false}; continue; }
      let text;
      try { text = String(v(7, 8, 9, 10, 11)); } catch (e) {
        try { text = String(v("X", "Y", "Z", "W", "V")); } catch (e2) { text = ""; }
      }
      out[l][k] = {text, fn: true};
    }
  }
} finally { LANG = saved; }
return out;
"""

# Every text node, and every placeholder, title, aria-label and option label, outside
# [translate=no], <script> and <style>, hidden ones included: [where, what, text].
TEXTS_JS = """
const out = [];
const where = el => {
  const parts = [];
  for (let e = el; e && e !== document.documentElement; e = e.parentElement) {
    let p = e.tagName.toLowerCase();
    if (e.id) { parts.unshift(p + "#" + e.id); break; }
    if (e.classList.length) p += "." + [...e.classList].join(".");
    parts.unshift(p);
  }
  return parts.join(" > ");
};
const skipped = el => !!el.closest('[translate="no"], script, style, noscript');
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const text = n.nodeValue.trim();
  if (text && !skipped(n.parentElement)) out.push([where(n.parentElement), "text", text]);
}
const labelled = "[placeholder], [title], [aria-label], option[label]";
for (const el of document.body.querySelectorAll(labelled)) {
  if (skipped(el)) continue;
  for (const a of ["placeholder", "title", "aria-label", "label"]) {
    const v = (el.getAttribute(a) || "").trim();
    if (v) out.push([where(el), a, v]);
  }
}
if (!document.title.trim()) out.push(["title", "text", ""]);
return out;
"""

WORD = re.compile(r"[^\W\d_]{4,}")


def words(text):
    return {w.lower() for w in WORD.findall(text)}


def call(g, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{g.api_port}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "null")


GRAFANA_TOKEN = "grafana-token"
DASHBOARD = {
    "uid": "noc-main", "title": "NOC main", "schemaVersion": 36, "tags": ["noc"],
    "templating": {"list": [{
        "name": "host", "type": "custom", "query": "web1,web2",
        "current": {"text": "web1", "value": "web1"},
        "options": [{"text": "web1", "value": "web1", "selected": True},
                    {"text": "web2", "value": "web2", "selected": False}]}]},
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


def seed(tmp_path, grafana):
    """A gralarm with rules from a file and from the API (pattern and target, one from a
    template, one imported from a Grafana panel), two active alerts (one silenced), an ended
    one in history, a template and a silence."""
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "cpu"\nname = "CPU load"\npattern = "srv.*.cpu"\n'
                     'thresholds = { warning = 80, major = 90, critical = 95 }\n')
    g = Gralarm(str(tmp_path), ["127.0.0.1:1"], sections=(
        f'[rules]\nfiles = ["{rules}"]\n'
        f'[grafana]\nurl = "{grafana.url}"\ntoken = "{GRAFANA_TOKEN}"\n'))
    g.start()
    status, body = call(g, "POST", "/api/v1/templates",
                        {"name": "util", "thresholds": {"warning": 70, "critical": 90},
                         "checks_alert": 2})
    assert status == 201, body
    for rule in ({"id": "eth", "name": "Link use", "pattern": "if.*.util", "template": "util"},
                 {"id": "sum-x", "target": "sumSeries(t.*.x)", "step_s": 10, "lateness_s": 0,
                  "thresholds": {"major": 100}}):
        status, body = call(g, "POST", "/api/v1/rules", rule)
        assert status == 201, body
    status, body = call(g, "POST", "/api/v1/grafana/import",
                        {"dashboard_uid": "noc-main", "panel_id": 2, "ref_ids": ["A"],
                         "variables": {"host": "web1"}, "rule": {"thresholds": {"warning": 80}}})
    assert status == 201, body
    status, body = call(g, "POST", "/api/v1/silences",
                        {"rule": "cpu", "series": "srv.a.*", "ends_at": "2099-01-01T00:00:00Z",
                         "created_by": "noc", "comment": "maintenance"})
    assert status == 201, body
    ts = int(time.time()) - 100
    send_tcp(g.port, (f"srv.a.cpu 97 {ts}\nsrv.b.cpu 85 {ts}\n"
                      f"srv.d.cpu 99 {ts}\nsrv.d.cpu 1 {ts + 1}\n"
                      f"t.a.x 60 {ts}\nt.b.x 70 {ts}\nt.a.x 1 {ts + 30}\n").encode())
    wait_until(lambda: len(call(g, "GET", "/api/v1/alerts")[1]["items"]) >= 2 and
               call(g, "GET", "/api/v1/history")[1]["items"], 15, what="seeded alerts")
    return g


def strings(page):
    table = page.run(STRINGS_JS)
    return table["en"], table["es"]


def check_tables(en, es):
    """(a) Both languages have the same keys, and Spanish says something else."""
    assert sorted(set(en) - set(es)) == [], "keys with no Spanish string"
    assert sorted(set(es) - set(en)) == [], "keys with no English string"
    same = sorted(k for k in en if en[k]["text"] == es[k]["text"] and
                  en[k]["text"] not in SAME_IN_BOTH)
    assert same == [], [(k, en[k]["text"]) for k in same]
    empty = sorted(k for k in en if not en[k]["text"].strip() or not es[k]["text"].strip())
    # A string may be empty only where both are (none is today).
    assert empty == [], empty


def english_detector(en, es):
    """The English a Spanish page must not show: the static English strings (those that no
    Spanish string also is), and the words (4+ letters) of English strings that no Spanish
    string holds."""
    spanish_texts = {v["text"] for v in es.values()}
    static = {v["text"].strip() for v in en.values()
              if not v["fn"] and v["text"].strip() and v["text"] not in spanish_texts}
    en_words = set().union(*(words(v["text"]) for v in en.values()))
    es_words = set().union(*(words(v["text"]) for v in es.values()))
    only = en_words - es_words - WORDS_IN_BOTH
    return static, only


def offenders(page, static, only):
    found = []
    for where, what, text in page.run(TEXTS_JS):
        if text in static:
            found.append(f"{where} [{what}] is English: {text!r}")
            continue
        bad = sorted(words(text) & only)
        if bad:
            found.append(f"{where} [{what}] {text!r} has English words {bad}")
    return found


def visit(page, tab, lang):
    """Shows `tab` and what it can show, as an operator would open it."""
    page.tab(tab)
    if tab == "home":
        page.wait("document.querySelectorAll('#alerts-table tbody tr.row').length >= 2",
                  "the alerts")
        # (Found and clicked in one script: the 10 s refresh redraws the tables.)
        page.run("document.querySelector('#alerts-table tbody tr.row').click()")
        page.wait("!document.getElementById('chart-section').hidden", "the chart section")
        page.wait("!document.getElementById('chart-message').hidden || "
                  "document.getElementById('chart').dataset.points !== undefined", "the chart")
        rows = page.js("[...document.querySelectorAll('#rules-table tbody tr.row')]"
                       ".map(tr => tr.firstChild.textContent)")
        assert {"cpu", "eth", "sum-x"} < set(rows), rows
        page.run("[...document.querySelectorAll('#rules-table tbody tr.row')]"
                 ".find(tr => tr.firstChild.textContent === 'sum-x')"
                 ".querySelector('button').click()")  # its Series
        page.wait("!document.getElementById('series-section').hidden && "
                  "document.querySelectorAll('#series-table tbody tr').length > 0", "the series")
        page.run("const k = document.getElementById('rule-kind'); k.value = 'target';"
                 " k.dispatchEvent(new Event('change', {bubbles: true}));")
        page.wait("!document.getElementById('rule-target').closest('label').hidden",
                  "the target fields")
    elif tab == "add":
        # A dashboard, its variable and panels, and the queries of a panel.
        page.wait("document.querySelector('#wiz-dashboards button[data-uid=\"noc-main\"]')",
                  "the dashboards")
        if page.js("document.getElementById('wiz-panel').hidden"):
            page.click('#wiz-dashboards button[data-uid="noc-main"]')
            page.wait("document.querySelector('#wiz-panels button[data-panel=\"2\"]')",
                      "the panels")
            page.click('#wiz-panels button[data-panel="2"]')
        page.wait("!document.getElementById('wiz-panel').hidden && "
                  "document.querySelectorAll('#wiz-targets tbody tr.row').length === 3",
                  "the panel's queries")
        page.wait("document.querySelectorAll('#wiz-template option').length === 2",
                  "the templates")
    elif tab == "metrics":
        page.wait("document.querySelector('#metrics-groups .group.dashboard h4') !== null",
                  "the configured metrics by dashboard and panel")
    time.sleep(0.5)  # what the tab's screen fetches on opening is drawn
    assert page.no_horizontal_scroll(), f"{tab} scrolls sideways at 1280 px in {lang}"
    page.run("window.scrollTo(0, 0)")
    page.screenshot(f"i18n-{lang}-{tab}")


# The page's controls the keyboard cannot reach: shown, enabled, yet out of the Tab order.
UNREACHABLE_JS = """
const shown = e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
return [...document.querySelectorAll("a[href], button, input, select, textarea, [onclick]")]
  .filter(e => shown(e) && !e.disabled && e.tabIndex < 0)
  .map(e => e.id || e.outerHTML.slice(0, 80));
"""


def tab_through(page, presses):
    """Presses Tab `presses` times from the first tab button; for each element the focus
    reaches, its id (or tag), its outline's style and width."""
    page.run("window.scrollTo(0, 0); document.getElementById('tab-button-home').focus()")
    seen = []
    for _ in range(presses):
        ActionChains(page.driver).send_keys(Keys.TAB).perform()
        seen.append(page.js(
            "(e => [e.id || e.tagName.toLowerCase(), getComputedStyle(e).outlineStyle,"
            " parseFloat(getComputedStyle(e).outlineWidth)])(document.activeElement)"))
    return seen


def since_digits(since, zone_offset_h):
    """The date and time numbers es-ES writes for `since` in a zone of that offset."""
    d = datetime.datetime.fromisoformat(str(since).replace("Z", "+00:00"))
    local = d.astimezone(datetime.timezone(datetime.timedelta(hours=zone_offset_h)))
    return [local.day, local.month, local.year % 100, local.hour, local.minute, local.second]


def test_page_in_spanish_and_english(tmp_path):
    grafana = GrafanaStandin(GRAFANA_TOKEN)
    grafana.add_dashboard(DASHBOARD)
    g = seed(tmp_path, grafana)
    page = None
    try:
        page = Page(f"http://127.0.0.1:{g.api_port}", str(tmp_path / "profile"), lang="es")
        # Colombia: UTC-5 all year, so the browser's time differs from UTC by 5 hours.
        page.driver.execute_cdp_cmd("Emulation.setTimezoneOverride",
                                    {"timezoneId": "America/Bogota"})
        page.open()
        page.wait("state.updated > 0", "the first refresh")
        assert page.js("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/Bogota"
        # The browser's language, without touching the switch.
        assert page.js("document.documentElement.lang") == "es"
        assert page.js("document.getElementById('lang').value") == "es"
        assert page.js("document.getElementById('tab-button-home').textContent") == "Alertas"

        en, es = strings(page)
        check_tables(en, es)
        static, only = english_detector(en, es)
        # The detector knows the page's words (it would see an English label).
        assert {"Active alerts", "History", "Save"} <= static
        assert {"active", "history", "severity", "search"} <= only

        # Dates in the browser's zone: the silenced alert's "since".
        alerts = call(g, "GET", "/api/v1/alerts")[1]["items"]
        a = next(x for x in alerts if x["series"] == "srv.a.cpu")
        assert a["silenced"] is True
        row = page.js("[...document.querySelectorAll('#alerts-table tbody tr.row')]"
                      ".map(tr => [...tr.children].map(td => td.textContent))"
                      ".find(r => r[2] === 'srv.a.cpu')")
        assert row is not None
        assert row[0] == "crítica" and row[5] == "sí", row
        shown = [int(x) for x in re.findall(r"\d+", row[4])]
        assert shown == since_digits(a["since"], -5), (row[4], a["since"])
        assert shown != since_digits(a["since"], 0)

        problems = {}
        for tab in TABS:
            visit(page, tab, "es")
            for p in offenders(page, static, only):
                problems.setdefault(p, tab)  # reported once, with the first tab it is on
            assert page.run(UNREACHABLE_JS) == [], tab
        assert not problems, "\n".join(f"{tab}: {p}" for p, tab in problems.items())
        # The header's "updated" time is the browser's, in Spanish (no English month).
        assert re.fullmatch(r"\d+/\d+/\d\d, \d+:\d+:\d+",
                            page.js("document.getElementById('updated').textContent"))
        # What the scripts wrote: the chart's message (the API's reason kept as it is).
        message = page.js("document.getElementById('chart-message').textContent")
        assert message.startswith("Sin gráfica: "), message

        # Keyboard: Tab goes through the header's tabs, the language switch and the token
        # field, then the alerts (rows take Enter), each showing where the focus is.
        page.tab("home")
        seen = tab_through(page, 12)
        ids = [s[0] for s in seen]
        assert ids[:10] == [f"tab-button-{t}" for t in TABS[1:]] + ["lang", "rule-token", "tr"], ids
        assert all(style != "none" and width >= 2 for _, style, width in seen), seen
        ActionChains(page.driver).send_keys(Keys.ENTER).perform()  # on the first alert row
        page.wait("document.querySelector('#alerts-table tbody tr.row.selected') === "
                  "document.activeElement", "the alert chosen with Enter")

        # English with the switch: the same texts come back in English.
        page.set_lang("en")
        page.tab("home")
        page.wait("[...document.querySelectorAll('#alerts-table tbody tr.row td:first-child')]"
                  ".some(td => td.textContent === 'critical')", "severities in English")
        texts = page.js("({tab: document.getElementById('tab-button-home').textContent,"
                        " alerts: document.querySelector('#tab-home h2').textContent,"
                        " head: document.querySelector('#alerts-table th').textContent,"
                        " form: document.getElementById('rule-form-title').textContent,"
                        " save: document.getElementById('rule-save').textContent,"
                        " any: document.querySelector('#history-severity option').textContent,"
                        " hint: document.getElementById('history-rule').placeholder,"
                        " configure: document.getElementById('tab-button-configure')"
                        ".textContent})")
        assert texts == {"tab": "Alerts", "alerts": "Active alerts", "head": "Severity",
                         "form": "New rule", "save": "Save", "any": "any severity",
                         "hint": "rule id", "configure": "Configure alarms"}, texts
        page.wait("document.getElementById('chart-message').textContent"
                  ".startsWith('No chart: ')", "the chart's message in English")
        assert re.fullmatch(r"\d+/\d+/\d{4}, \d+:\d+:\d+",
                            page.js("document.getElementById('updated').textContent"))
        silenced = page.js("[...document.querySelectorAll('#alerts-table tbody tr.row')]"
                           ".map(tr => tr.children[5].textContent)")
        assert silenced.count("yes") == 1 and set(silenced) == {"", "yes"}, silenced
        for tab in TABS:
            visit(page, tab, "en")

        # The choice survives a reload (the browser still asks for Spanish).
        page.open()
        page.wait("state.updated > 0", "the first refresh after the reload")
        assert page.js("document.documentElement.lang") == "en"
        assert page.js("document.getElementById('tab-button-home').textContent") == "Alerts"
        assert page.js("document.getElementById('lang').value") == "en"

        # Nothing went wrong in the page's scripts (a missing string logs an error); the
        # page's reads of graphite-web, not configured here, are answered with errors the
        # page shows, which the browser logs as failed loads.
        errors = [e for e in page.console_errors()
                  if not re.search(r"/api/v1/graph\?\S* - Failed to load "
                                   r"resource: the server responded with a status of (4|5)\d\d",
                                   e)]
        assert errors == [], errors
    finally:
        if page is not None:
            page.close()
        grafana.stop()
        assert g.stop()[0] == 0
