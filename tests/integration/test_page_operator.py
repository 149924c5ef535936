"""The operator's screens of the web page (src/api/web/operator.js), used as an operator
would, through the page only, in headless Chromium: a template made on the Templates tab,
20 rules made from it, their channels and checks changed in one bulk action on "Configure
alarms", an invalid bulk change refused with nothing changed, an alert silenced for 1 h from
its row and expired on Silences, Settings and Help read. Results are checked through the
JSON API; every step leaves a screenshot under <build>/screenshots/."""

import calendar
import json
import time
import urllib.error
import urllib.request

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.keys import Keys

from browser import Page
from harness import Gralarm, free_port, send_tcp, wait_until

# What the page says, per language (the page's own words; data is never translated).
SAYS = {
    "en": {"saved": "Saved template", "created": "20 rules created.",
           "changed": "20 rules changed.", "refused": "Refused:", "shown": "20 of 21 alarms shown",
           "apply": "Apply to 20 selected", "silenced_until": "Silenced until",
           "expired": "Expired the silence", "active": "active", "from_file": "from file",
           "days": "Monday to Friday", "hours": "from 08:00 to 18:00", "every_day": "every day",
           "help": ["Checks to alert", "Checks to clear", "OK margin %", "Templates",
                    "Silences", "Flapping", "No data", "all or nothing"],
           "token": "not required", "really": "Really delete?",
           "thresholds": "warning 70, major 85, critical 95"},
    "es": {"saved": "Plantilla guardada", "created": "20 reglas creadas.",
           "changed": "20 reglas cambiadas.", "refused": "Rechazado:",
           "shown": "20 de 21 alarmas mostradas", "apply": "Aplicar a 20 seleccionadas",
           "silenced_until": "Silenciada hasta", "expired": "Silencio terminado",
           "active": "activo", "from_file": "del fichero", "days": "de lunes a viernes",
           "hours": "de 08:00 a 18:00", "every_day": "todos los días",
           "help": ["Comprobaciones para alertar", "Comprobaciones para recuperar",
                    "Margen OK %", "Plantillas", "Silencios", "Oscilación", "Sin datos",
                    "todo o nada"],
           "token": "no necesario", "really": "¿Borrar de verdad?",
           "thresholds": "aviso 70, mayor 85, crítica 95"},
}


# The texts of the operator's screens (and the silence dialog) outside translate="no"
# that are an English string of the page's table with a different Spanish one, and no
# Spanish string (some words, such as "Panel", are spelt the same in both).
ENGLISH_LEFT = """
const spanish = new Set(Object.values(STRINGS.es).filter(v => typeof v === "string"));
const english = new Set(Object.keys(STRINGS.en).filter(k => typeof STRINGS.en[k] === "string"
                                                          && STRINGS.en[k] !== STRINGS.es[k])
                        .map(k => STRINGS.en[k]).filter(v => !spanish.has(v)));
const roots = ["tab-configure", "tab-templates", "tab-silences", "tab-settings", "tab-help",
               "sil-dialog"].map(id => document.getElementById(id)).filter(e => e);
const left = [];
for (const root of roots) {
  const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const text = n.textContent.trim();
    if (text && !n.parentElement.closest("[translate=no]") && english.has(text)) left.push(text);
  }
}
return left;
"""


def call(g, method, path, body=None):
    """(status, JSON answer) of the API."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{g.api_port}{path}", data=data,
                                 method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        text = e.read()
        return e.code, json.loads(text) if text else None


def edge_rules(g):
    """The rules made from the template, by id (the whole JSON of each)."""
    status, page = call(g, "GET", "/api/v1/rules?limit=1000")
    assert status == 200
    return {r["id"]: r for r in page["items"] if r.get("template") == "edge-util"}


def start_gralarm(tmp_path):
    closed = free_port()  # nothing listens there: notifications just wait and retry
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "file-rule"\nname = "From the file"\n'
                     'pattern = "file.*.x"\nthresholds = { warning = 1 }\n')
    sections = (f'[rules]\nfiles = ["{rules}"]\n'
                f'[[notify.channels]]\nname = "noc-webhook"\ntype = "webhook"\n'
                f'url = "http://127.0.0.1:{closed}/alerts"\n'
                f'[[notify.channels]]\nname = "sms-gateway"\ntype = "webhook"\n'
                f'url = "http://127.0.0.1:{closed}/sms"\n'
                f'[schedules.office]\ndays = ["mon", "tue", "wed", "thu", "fri"]\n'
                f'from = "08:00"\nto = "18:00"\ntimezone = "Europe/Madrid"\n')
    return Gralarm(str(tmp_path), ["127.0.0.1:1"], sections=sections).start()


SETTLED = "!document.querySelector('main[data-busy]')"


def show(page, tab):
    """Opens the tab and waits until its screen has loaded what it shows."""
    page.tab(tab)
    page.wait(SETTLED, f"tab {tab} loaded")


def click(page, css):
    """Clicks `css`, again when the page redrew it between finding and clicking (the
    Alerts tab redraws itself every 10 s)."""
    for _ in range(3):
        try:
            page.click(css)
            return
        except StaleElementReferenceException:
            time.sleep(0.2)
    page.click(css)


def note(page, css, expected, what):
    """Waits until the element `css` (a role=status note) holds `expected` and the
    screens have redrawn what the write changed."""
    page.wait(f"(document.querySelector({json.dumps(css)}) || {{}}).textContent"
              f" && document.querySelector({json.dumps(css)}).textContent"
              f".includes({json.dumps(expected)})", what)
    assert page.js(f"document.querySelector({json.dumps(css)}).getAttribute('role')") == "status"
    page.wait(SETTLED, what + ", redrawn")
    return page.text(css)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_operator_screens(tmp_path, lang):
    says = SAYS[lang]
    g = start_gralarm(tmp_path)
    page = None
    shot = lambda name: page.screenshot(f"operator-{lang}-{name}")
    try:
        page = Page(f"http://127.0.0.1:{g.api_port}", str(tmp_path / "profile"), lang=lang)
        page.open("templates")
        page.wait(SETTLED, "templates loaded")
        assert page.js("document.documentElement.lang") == lang

        # 1. A template, made on the Templates tab.
        page.wait("document.querySelector('#tpl-channels input[value=\"noc-webhook\"]')",
                  "channel boxes from the settings")
        page.wait("[...document.querySelectorAll('#tpl-schedule option')]"
                  ".some(o => o.value === 'office')", "schedules from the settings")
        page.type("#tpl-name", "edge-util")
        page.run("document.getElementById('tpl-direction').value = 'above'")
        for name, value in (("warning", "70"), ("major", "85"), ("critical", "95"),
                            ("checks_alert", "2"), ("checks_ok", "2"), ("ok_margin_pct", "10")):
            page.type(f"#tpl-{name}", value)
        page.run("document.getElementById('tpl-schedule').value = 'office'")
        page.click('#tpl-channels input[value="noc-webhook"]')
        page.click("#tpl-save")
        note(page, "#tpl-status", says["saved"], "template saved")
        status, t = call(g, "GET", "/api/v1/templates/edge-util")
        assert status == 200, t
        assert t["thresholds"] == {"warning": 70, "major": 85, "critical": 95}
        assert (t["direction"], t["checks_alert"], t["checks_ok"], t["ok_margin_pct"],
                t["schedule"], t["channels"]) == ("above", 2, 2, 10, "office", ["noc-webhook"])
        page.wait("document.querySelector('#tpl-table tr[data-template=\"edge-util\"]')",
                  "template listed")
        row = page.text('#tpl-table tr[data-template="edge-util"]')
        assert says["thresholds"] in row and "noc-webhook" in row
        shot("1-template")

        # 2. 20 rules from it ("New rules from this template").
        page.click('#tpl-table tr[data-template="edge-util"] button.new-rules')
        page.wait("!document.getElementById('tpl-rules-section').hidden", "rules form")
        page.type("#tpl-rules-name", "Edge link utilization")
        page.type("#tpl-rules-patterns", "\n".join(f"edge.r{i}.util" for i in range(1, 21)))
        page.click("#tpl-rules-create")
        note(page, "#tpl-rules-status", says["created"], "20 rules created")
        rules = edge_rules(g)
        assert len(rules) == 20
        assert sorted(r["pattern"] for r in rules.values()) == sorted(
            f"edge.r{i}.util" for i in range(1, 21))
        # Each rule named, and so identified, by its pattern.
        assert {(r["id"], r["name"]) for r in rules.values()} == {
            (f"edge-link-utilization--edge.r{i}.util", f"Edge link utilization (edge.r{i}.util)")
            for i in range(1, 21)}
        assert len(page.find_all("#tpl-rules-result tbody tr.row")) == 20
        page.wait("document.querySelector('#tpl-table tr[data-template=\"edge-util\"] td.used')"
                  ".textContent.startsWith('20 ')", "template used by 20")
        assert page.no_horizontal_scroll()
        shot("2-rules-from-template")

        # 3. Configure alarms: filter, select the 20, channels + checks in one action.
        show(page, "configure")
        page.wait("document.querySelectorAll('#cfg-table tbody tr.row').length === 21",
                  "21 rules in the table")
        # The file rule: read-only, no checkbox, its file named.
        file_row = '#cfg-table tr[data-rule="file-rule"]'
        assert page.find_all(file_row + " input") == []
        assert says["from_file"] in page.text(file_row)
        assert "rules.toml" in page.text(file_row)
        page.type("#cfg-filter", "no-such-alarm")
        page.wait("!document.getElementById('cfg-no-match').hidden", "nothing matches")
        page.type("#cfg-filter", "edge.r")
        page.wait("document.getElementById('cfg-no-match').hidden", "matches again")
        page.wait("document.getElementById('cfg-count').textContent.startsWith("
                  f"{json.dumps(says['shown'])})", "filter shows the 20")
        page.find("#cfg-select-all").send_keys(Keys.SPACE)  # by keyboard
        page.wait(f"document.getElementById('cfg-apply').textContent === "
                  f"{json.dumps(says['apply'])}", "20 selected")
        page.click('#cfg-channels input[value="noc-webhook"]')
        page.click('#cfg-channels input[value="sms-gateway"]')
        page.type("#cfg-checks_alert", "3")
        page.type("#cfg-checks_ok", "4")
        assert page.js("['channels', 'checks_alert', 'checks_ok'].every("
                       "k => document.getElementById('cfg-set-' + k).checked)")
        assert not page.js("document.getElementById('cfg-set-schedule').checked")
        shot("3-configure-selected")
        page.click("#cfg-apply")
        note(page, "#cfg-bulk-status", says["changed"], "bulk change confirmed")
        rules = edge_rules(g)
        assert len(rules) == 20
        for r in rules.values():
            assert (r["channels"], r["checks_alert"], r["checks_ok"]) == (
                ["noc-webhook", "sms-gateway"], 3, 4), r
            assert "schedule" not in r  # not ticked: untouched
        page.wait("document.querySelector('#cfg-table tr[data-rule] td:nth-child(7)')"
                  " && [...document.querySelectorAll('#cfg-table tbody tr.row')]"
                  ".filter(tr => !tr.hidden).every(tr => tr.children[6].textContent === '3')",
                  "table redrawn with the new checks")
        assert page.no_horizontal_scroll()
        shot("4-configure-changed")

        # 4. An invalid bulk change: refused with the API's message, nothing changed.
        before = edge_rules(g)
        page.click("#cfg-set-channels")
        page.click("#cfg-set-checks_ok")
        page.type("#cfg-checks_alert", "0")
        page.click("#cfg-apply")
        text = note(page, "#cfg-bulk-status", says["refused"], "bulk change refused")
        status, answer = call(g, "POST", "/api/v1/rules/bulk",
                              {"ids": sorted(before), "set": {"checks_alert": 0}})
        assert status == 400
        assert answer["error"]["message"] in text and answer["error"]["field"] in text
        assert page.js("document.querySelector('#cfg-bulk-status .op-message')"
                       ".getAttribute('translate')") == "no"
        assert edge_rules(g) == before
        shot("5-configure-refused")

        # 5. An alert silenced for 1 h from its row, then expired on Silences.
        now = int(time.time())
        send_tcp(g.port, "".join(f"edge.r1.util 99 {now - 3 + k}\n" for k in range(3)).encode())
        wait_until(lambda: call(g, "GET", "/api/v1/alerts")[1]["items"], 10, what="the alert")
        page.tab("home")
        page.run("return refresh()")
        page.wait("[...document.querySelectorAll('#alerts-table tbody tr.row')]"
                  ".some(tr => tr.textContent.includes('edge.r1.util'))", "alert row")
        click(page, "#alerts-table tbody tr.row button.silence")
        page.wait("document.getElementById('sil-dialog').open", "silence dialog")
        assert page.js("document.getElementById('sil-scope-series').checked")
        assert page.js("document.getElementById('sil-duration-1h').checked")
        page.type("#sil-created-by", "noc-operator")
        page.type("#sil-comment", "router maintenance")
        shot("6-silence-dialog")
        page.find("#sil-comment").send_keys(Keys.ENTER)  # by keyboard
        note(page, "#sil-alert-status", says["silenced_until"], "silence confirmed")
        assert not page.js("document.getElementById('sil-dialog').open")
        page.wait("[...document.querySelectorAll('#alerts-table tbody tr.row')]"
                  ".some(tr => tr.textContent.includes('edge.r1.util')"
                  " && tr.children[5].textContent.trim() !== '')", "alert marked silenced")
        status, silences = call(g, "GET", "/api/v1/silences")
        assert len(silences["items"]) == 1
        s = silences["items"][0]
        assert (s["rule"], s["series"], s["created_by"], s["comment"]) == (
            next(iter(r["id"] for r in before.values() if r["pattern"] == "edge.r1.util")),
            "edge.r1.util", "noc-operator", "router maintenance")
        ends = calendar.timegm(time.strptime(s["ends_at"][:19], "%Y-%m-%dT%H:%M:%S"))
        assert abs(ends - (time.time() + 3600)) < 120, s
        assert call(g, "GET", "/api/v1/alerts")[1]["items"][0]["silenced"] is True
        assert page.js("localStorage.getItem('gralarm.user')") == "noc-operator"
        shot("7-alert-silenced")

        show(page, "silences")
        page.wait("document.querySelectorAll('#sil-table tbody tr.row').length === 1",
                  "the silence listed")
        row = page.text("#sil-table tbody tr.row")
        assert "edge.r1.util" in row and "noc-operator" in row and says["active"] in row
        shot("8-silences")
        page.click("#sil-table tbody tr.row button.expire")
        note(page, "#sil-status", says["expired"], "silence expired")
        assert call(g, "GET", "/api/v1/silences")[1]["items"] == []
        wait_until(lambda: call(g, "GET", "/api/v1/alerts")[1]["items"][0]["silenced"] is False,
                   5, what="alert no longer silenced")
        page.tab("home")
        page.run("return refresh()")
        page.wait("[...document.querySelectorAll('#alerts-table tbody tr.row')]"
                  ".some(tr => tr.textContent.includes('edge.r1.util')"
                  " && tr.children[5].textContent.trim() === '')", "silenced mark gone")
        shot("9-silence-expired")

        # 6. Settings and Help.
        _, settings = call(g, "GET", "/api/v1/settings")
        show(page, "settings")
        page.wait("document.querySelectorAll('#set-channels tbody tr.row').length === 2",
                  "channels listed")
        text = page.text("#tab-settings")
        assert settings["version"] and settings["version"] in text
        for expected in ("noc-webhook", "sms-gateway", "office", "24x7", "Europe/Madrid",
                         says["days"], says["hours"], says["every_day"], says["token"],
                         "Grafana", "Graphite"):
            assert expected in text, expected
        assert page.no_horizontal_scroll()
        shot("10-settings")
        show(page, "help")
        text = page.text("#tab-help")
        for expected in says["help"]:
            assert expected in text, expected
        assert page.no_horizontal_scroll()
        shot("11-help")

        # 7. A template in use cannot be deleted: the API's 409 is shown.
        show(page, "templates")
        delete = '#tpl-table tr[data-template="edge-util"] button.delete'
        page.click(delete)
        assert page.text(delete) == says["really"]
        page.click(delete)
        text = note(page, "#tpl-status", says["refused"], "template delete refused")
        status, answer = call(g, "DELETE", "/api/v1/templates/edge-util")
        assert status == 409 and answer["error"]["message"] in text
        assert call(g, "GET", "/api/v1/templates/edge-util")[0] == 200
        assert page.no_horizontal_scroll()
        shot("12-template-in-use")

        # 8. Edit (the Alerts tab's rule form) and Delete (two clicks) from Configure alarms.
        rule_id = next(r["id"] for r in before.values() if r["pattern"] == "edge.r20.util")
        row = f'#cfg-table tr[data-rule="{rule_id}"]'
        show(page, "configure")
        page.wait(f"document.querySelector({json.dumps(row)})", "rule row")
        page.click(row + " button.edit")
        page.wait(f"document.getElementById('rule-id').value === {json.dumps(rule_id)}",
                  "rule form filled")
        assert page.js("!document.getElementById('tab-home').hidden")
        show(page, "configure")
        page.wait(f"document.querySelector({json.dumps(row)})", "rule row")
        page.click(row + " button.delete")
        assert call(g, "GET", f"/api/v1/rules/{rule_id}")[0] == 200  # one click: not yet
        page.click(row + " button.delete")
        note(page, "#cfg-status", rule_id, "rule deleted")
        assert call(g, "GET", f"/api/v1/rules/{rule_id}")[0] == 404
        page.wait(f"!document.querySelector({json.dumps(row)})", "row gone")
        assert len(edge_rules(g)) == 19

        for tab in ("templates", "configure", "silences"):
            show(page, tab)
            assert page.no_horizontal_scroll(), tab

        # 9. No English word left on the operator's screens in Spanish (data aside, in
        # translate="no"); in English, the switch redraws them in Spanish.
        if lang == "en":
            page.set_lang("es")
            page.wait("document.getElementById('cfg-apply').textContent.startsWith('Aplicar a ')",
                      "bulk button in Spanish")
            assert page.js("document.querySelector('#tab-configure h2').textContent") == (
                "Configurar alarmas")
            show(page, "templates")
            assert "aviso 70" in page.text('#tpl-table tr[data-template="edge-util"]')
        english = page.run(ENGLISH_LEFT)
        assert english == [], english
        # The refused writes are the only failed requests (Chromium logs their status).
        assert [e for e in page.console_errors()
                if not ("/api/v1/rules/bulk" in e and "400" in e)
                and not ("/api/v1/templates/edge-util" in e and "409" in e)] == []
    finally:
        if page is not None:
            page.close()
        assert g.stop()[0] == 0


def test_silence_until_a_date_in_the_browsers_time_zone(tmp_path, monkeypatch):
    """"until" takes a date and time in the browser's time zone (here Europe/Madrid,
    UTC+1 in January) and "this alarm" silences the whole rule."""
    monkeypatch.setenv("TZ", "Europe/Madrid")  # Chromium inherits it through chromedriver
    g = start_gralarm(tmp_path)
    page = None
    try:
        now = int(time.time())
        send_tcp(g.port, f"file.a.x 5 {now - 1}\n".encode())
        wait_until(lambda: call(g, "GET", "/api/v1/alerts")[1]["items"], 10, what="the alert")
        page = Page(f"http://127.0.0.1:{g.api_port}", str(tmp_path / "profile"))
        page.open()
        page.wait("document.querySelector('#alerts-table tbody tr.row button.silence')",
                  "alert row")
        click(page, "#alerts-table tbody tr.row button.silence")
        page.wait("document.getElementById('sil-dialog').open", "silence dialog")
        page.click("#sil-scope-rule")
        # Typing into a datetime-local field depends on the browser's locale: the value
        # is set as the field holds it, with the input event typing sends.
        page.run("const u = document.getElementById('sil-until'); u.value = '2030-01-15T10:00';"
                 " u.dispatchEvent(new Event('input', {bubbles: true}));")
        assert page.js("document.getElementById('sil-duration-until').checked")
        page.type("#sil-comment", "until the window closes")
        page.screenshot("operator-silence-until")
        page.click("#sil-create")
        note(page, "#sil-alert-status", "Silenced until", "silence confirmed")
        items = call(g, "GET", "/api/v1/silences")[1]["items"]
        assert len(items) == 1
        assert (items[0]["rule"], items[0]["series"]) == ("file-rule", "")
        assert items[0]["ends_at"].startswith("2030-01-15T09:00:00"), items[0]
        show(page, "silences")
        assert "15/01/2030, 10:00:00" in page.text("#sil-table tbody tr.row")
        assert page.console_errors() == []
    finally:
        if page is not None:
            page.close()
        assert g.stop()[0] == 0
