"""The web page at GET /, loaded in headless Chromium (Debian's) from a running gralarm
with seeded alerts and history; the test reads the tiles and tables from the DOM and
saves a screenshot under the build folder."""

import html.parser
import json
import os
import shutil
import subprocess
import time
import urllib.request

from harness import Gralarm, free_port, port_open, send_tcp, wait_until

CHROMIUM = shutil.which("chromium") or "chromium"  # tools/install-deps.sh installs it
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--virtual-time-budget=8000"]


class Dom(html.parser.HTMLParser):
    """Text by element id, and the text of each table's body rows."""

    def __init__(self):
        super().__init__()
        self.by_id, self.rows, self.stack = {}, {}, []
        self.table = None
        self.row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append(a.get("id"))
        if tag == "table":
            self.table = a.get("id")
            self.rows.setdefault(self.table, [])
        if tag == "tr" and a.get("class") == "row":
            self.row = []
        if tag == "td" and self.row is not None:
            self.row.append("")
        if tag in ("b", "img", "script") and self.table:
            raise AssertionError(f"markup from data reached the DOM: <{tag}>")

    def handle_endtag(self, tag):
        self.stack.pop()
        if tag == "table":
            self.table = None
        if tag == "tr" and self.row is not None:
            self.rows[self.table].append(self.row)
            self.row = None

    def handle_data(self, data):
        for i in self.stack:
            if i:
                self.by_id[i] = self.by_id.get(i, "") + data
        if self.row is not None and self.row:
            self.row[-1] += data.strip()


def chromium(g, tmp_path, *args):
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args,
                           f"http://127.0.0.1:{g.api_port}/"],
                          capture_output=True, text=True, timeout=120)


def test_page_shows_tiles_alerts_history_and_rules(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "cpu"\nname = "CPU load"\npattern = "srv.*.cpu"\n'
                     'thresholds = { warning = 80, major = 90, critical = 95 }\n'
                     '[[rules]]\nid = "odd"\npattern = "x.*"\nthresholds = { warning = 1 }\n')
    g = Gralarm(str(tmp_path), ["127.0.0.1:1"], sections=f'[rules]\nfiles = ["{rules}"]\n')
    g.start()
    ts = int(time.time()) - 100
    send_tcp(g.port, (f"srv.a.cpu 97 {ts}\nsrv.b.cpu 85 {ts}\nsrv.c.cpu 91 {ts}\n"
                      f"srv.d.cpu 99 {ts}\nsrv.d.cpu 1 {ts + 1}\n"
                      f"x.<b>bold</b> 5 {ts}\n").encode())
    wait_until(lambda: "gralarm_alerts_active{severity=\"critical\"} 1" in g.metrics_text(),
               10, what="seeded alerts")

    out = chromium(g, tmp_path, "--dump-dom")
    assert out.returncode == 0, out.stderr[-2000:]
    dom = Dom()
    dom.feed(out.stdout)
    assert dom.by_id["tile-rules"] == "2"
    assert dom.by_id["tile-warning"] == "2"   # srv.b.cpu and the odd series
    assert dom.by_id["tile-major"] == "1"
    assert dom.by_id["tile-critical"] == "1"
    assert dom.by_id["tile-nodata"] == "0"
    assert dom.by_id["tile-flapping"] == "0"
    alerts = dom.rows["alerts-table"]
    assert [r[0] for r in alerts] == ["critical", "major", "warning", "warning"]
    assert [r[2] for r in alerts] == ["srv.a.cpu", "srv.c.cpu", "srv.b.cpu", "x.<b>bold</b>"]
    assert alerts[0][1] == "CPU load"
    history = dom.rows["history-table"]
    assert len(history) == 1 and history[0][0] == "critical" and history[0][2] == "srv.d.cpu"
    assert [r[0] for r in dom.rows["rules-table"]] == ["cpu", "odd"]
    assert dom.rows["rules-table"][0][3] == "warning 80, major 90, critical 95"
    assert dom.by_id.get("error", "") == ""

    shot = os.path.join(os.environ.get("GRALARM_BUILD_DIR", str(tmp_path)), "web-page.png")
    out = chromium(g, tmp_path, "--window-size=1280,900", f"--screenshot={shot}")
    assert out.returncode == 0 and os.path.getsize(shot) > 10000
    assert g.stop()[0] == 0


def test_page_shows_bidi_and_invisible_characters_escaped(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "x"\npattern = "x.*"\nthresholds = { warning = 1 }\n')
    g = Gralarm(str(tmp_path), ["127.0.0.1:1"], sections=f'[rules]\nfiles = ["{rules}"]\n')
    g.start()
    ts = int(time.time()) - 100
    send_tcp(g.port, f"x.invoice\u202egpj 5 {ts}\nx.zero\u200bwidth 5 {ts}\n".encode())
    wait_until(lambda: 'gralarm_alerts_active{severity="warning"} 2' in g.metrics_text(),
               10, what="seeded alerts")
    out = chromium(g, tmp_path, "--dump-dom")
    assert out.returncode == 0, out.stderr[-2000:]
    dom = Dom()
    dom.feed(out.stdout)
    series = sorted(r[2] for r in dom.rows["alerts-table"])
    assert series == ["x.invoice\\u202Egpj", "x.zero\\u200Bwidth"], series
    assert "\u202e" not in out.stdout and "\u200b" not in out.stdout
    assert g.stop()[0] == 0


ATTACK_PAGE = """<!doctype html>
<html><body><pre id="log"></pre>
<form id="csrf" method="POST" enctype="text/plain" target="sink"
      action="GRALARM/api/v1/silences"><input
      name='{"rule":"*","ends_at":"2099-01-01T00:00:00Z","comment":"' value='"}'></form>
<iframe name="sink"></iframe>
<script>
const G = "GRALARM";
const log = m => { document.getElementById("log").textContent += m + "\\n"; };
const silence = JSON.stringify({rule: "*", ends_at: "2099-01-01T00:00:00Z", comment: "x"});
const evilRule = JSON.stringify({id: "evil", pattern: "*", thresholds: {warning: 1}});
const attempts = [
  ["no-cors text/plain silence", () => fetch(G + "/api/v1/silences", {method: "POST",
     mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: silence})],
  ["no-cors rule", () => fetch(G + "/api/v1/rules", {method: "POST", mode: "no-cors",
     body: evilRule})],
  ["no-cors backup", () => fetch(G + "/api/v1/backup", {method: "POST", mode: "no-cors"})],
  ["no-cors delete", () => fetch(G + "/api/v1/rules/victim", {method: "DELETE",
     mode: "no-cors"})],
  ["cors delete", () => fetch(G + "/api/v1/rules/victim", {method: "DELETE"})],
  ["cors json silence", () => fetch(G + "/api/v1/silences", {method: "POST",
     headers: {"Content-Type": "application/json"}, body: silence})],
  ["cors json rule", () => fetch(G + "/api/v1/rules", {method: "POST",
     headers: {"Content-Type": "application/json"}, body: evilRule})],
  ["cors read", () => fetch(G + "/api/v1/rules").then(r => r.text())],
];
(async () => {
  for (const [name, attempt] of attempts) {
    try {
      const r = await attempt();
      log(name + ": " + (typeof r === "string" ? "READ " + r.slice(0, 60)
                                               : "sent " + r.type + " " + r.status));
    } catch (e) {
      log(name + ": blocked " + e.name);
    }
  }
  document.getElementById("csrf").submit();
  log("done");
})();
</script></body></html>
"""


def test_page_of_another_origin_cannot_change_anything(tmp_path):
    """A page served from a second loopback HTTP server tries, in Chromium, every write a
    page can send to gralarm with the default config (no token): simple no-cors
    requests, CORS requests with JSON, a text/plain form post; it also tries to read.
    Then the API shows that nothing changed."""
    g = Gralarm(str(tmp_path), ["127.0.0.1:1"])
    g.start()
    base = f"http://127.0.0.1:{g.api_port}"

    def api(method, path, body=None):
        req = urllib.request.Request(base + path, method=method,
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
            return json.loads(text) if text else None

    api("POST", "/api/v1/rules", {"id": "victim", "pattern": "v.*",
                                  "thresholds": {"warning": 1}})
    site = tmp_path / "attacker"
    site.mkdir()
    (site / "index.html").write_text(ATTACK_PAGE.replace("GRALARM", base))
    attacker_port = free_port()
    server = subprocess.Popen(
        ["/usr/bin/python3", "-m", "http.server", str(attacker_port), "--bind", "127.0.0.1",
         "--directory", str(site)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: port_open(attacker_port), 10, what="attacker page server")
        out = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
             f"http://127.0.0.1:{attacker_port}/index.html"],
            capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        # DNS rebinding: the attacker's name now resolves to gralarm's address, so its
        # page and gralarm share an origin; the Host check still refuses every answer.
        rebound = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile2'}",
             "--host-resolver-rules=MAP rebind.test 127.0.0.1", "--dump-dom",
             f"http://rebind.test:{g.api_port}/api/v1/rules"],
            capture_output=True, text=True, timeout=120)
    finally:
        server.terminate()
        server.wait(10)
    start = out.stdout.index('<pre id="log">')
    log = out.stdout[start:out.stdout.index("</pre>", start)]
    assert "done" in log, log                  # every attempt ran
    assert "READ" not in log, log              # no answer could be read
    assert "misdirected_request" in rebound.stdout and "victim" not in rebound.stdout, \
        rebound.stdout[-2000:]

    rules = api("GET", "/api/v1/rules")["items"]
    assert [r["id"] for r in rules] == ["victim"]
    assert api("GET", "/api/v1/silences")["items"] == []
    assert not os.path.exists(os.path.join(str(tmp_path), "store", "backups"))
    assert g.stop()[0] == 0
