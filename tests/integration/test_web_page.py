"""The web page at GET /, loaded in headless Chromium (Debian's) from a running gralarm
with seeded alerts and history; the test reads the tiles and tables from the DOM and
saves a screenshot under the build folder."""

import base64
import fcntl
import html.parser
import json
import os
import shutil
import subprocess
import threading
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
            self.rows[self.table].append([c.strip() for c in self.row])
            self.row = None

    def handle_data(self, data):
        for i in self.stack:
            if i:
                self.by_id[i] = self.by_id.get(i, "") + data
        if self.row is not None and self.row:
            self.row[-1] += data


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


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe
    (--remote-debugging-pipe: NUL-terminated JSON messages, Chromium reading fd 3
    and writing fd 4), so a test can type into the page and click its buttons as
    an operator would, then read what the page shows."""

    def __init__(self, profile):
        to_chrome_r, self._out = os.pipe()
        self._in, from_chrome_w = os.pipe()

        def child_fds():
            r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 100)
            w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 100)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *[f for f in FLAGS if not f.startswith("--virtual-time")],
             f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=child_fds, pass_fds=(3, 4))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._answers = {}
        self.log = []  # console messages, exceptions and browser log entries
        self._cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        page = [t for t in self.call("Target.getTargets")["targetInfos"]
                if t["type"] == "page"][0]
        self._session = self.call("Target.attachToTarget", targetId=page["targetId"],
                                  flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)

    def _read(self):
        buf = b""
        while True:
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self._cv:
                    if "id" in msg:
                        self._answers[msg["id"]] = msg
                    elif msg.get("method") == "Runtime.consoleAPICalled":
                        self.log.append(" ".join(str(a.get("value", a.get("description")))
                                                 for a in msg["params"]["args"]))
                    elif msg.get("method") == "Runtime.exceptionThrown":
                        self.log.append(json.dumps(msg["params"]["exceptionDetails"]))
                    elif msg.get("method") == "Log.entryAdded":
                        self.log.append(msg["params"]["entry"]["text"])
                    self._cv.notify_all()

    def call(self, method, session=False, **params):
        with self._cv:
            self._next_id += 1
            mid = self._next_id
        msg = {"id": mid, "method": method, "params": params}
        if session:
            msg["sessionId"] = self._session
        os.write(self._out, json.dumps(msg).encode() + b"\0")
        with self._cv:
            assert self._cv.wait_for(lambda: mid in self._answers, 60), method
            answer = self._answers.pop(mid)
        assert "error" not in answer, (method, answer)
        return answer["result"]

    def js(self, expression):
        """The value of a page expression (awaited when it is a promise)."""
        r = self.call("Runtime.evaluate", session=True, expression=expression,
                      awaitPromise=True, returnByValue=True)
        assert "exceptionDetails" not in r, r
        return r["result"].get("value")

    def goto(self, url):
        self.call("Page.navigate", session=True, url=url)

    def type(self, element_id, value):
        """Sets a field as typing would, and tells the page it changed."""
        self.js(f"(() => {{ const e = document.getElementById({json.dumps(element_id)});"
                f" e.value = {json.dumps(value)};"
                f" e.dispatchEvent(new Event('input', {{bubbles: true}}));"
                f" e.dispatchEvent(new Event('change', {{bubbles: true}})); }})()")

    def click(self, selector):
        assert self.js(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                       f" if (!e) return false; e.click(); return true; }})()"), selector

    def text(self, element_id):
        return self.js(f"document.getElementById({json.dumps(element_id)}).textContent")

    def rows(self, table_id):
        return self.js(f"[...document.querySelectorAll('#{table_id} tbody tr.row')]"
                       ".map(tr => [...tr.children].map(td => td.textContent))")

    def wait(self, expression, what, timeout=15):
        wait_until(lambda: self.js(expression), timeout, 0.1, what=what)

    def close(self):
        try:
            self.call("Browser.close")
        except AssertionError:
            pass
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._out)


def rule_row(browser, rule_id):
    return next((r for r in browser.rows("rules-table") if r[0] == rule_id), None)


def wait_rule_row(browser, rule_id, column, value):
    """The rules table's row of `rule_id` once its `column` reads `value`: the page says
    "saved" as soon as the API answers, then redraws the table from a fresh read."""
    wait_until(lambda: (rule_row(browser, rule_id) or [None] * (column + 1))[column] == value,
               15, 0.1, what=f"rule {rule_id}'s row with {value!r}")
    return rule_row(browser, rule_id)


def test_page_creates_edits_and_tries_a_target_rule(tmp_path):
    """Through the page in Chromium: a target rule with a bad expression is refused at
    the target field with the parser's column; the fixed one is created and listed with
    its target; "Try it" shows the output series of pasted points (an alias holding
    quotes and markup is shown as text); the rule's series view lists its output series
    once its step completes; editing keeps the target and changes the threshold."""
    g = Gralarm(str(tmp_path), ["127.0.0.1:1"])
    g.start()
    base = f"http://127.0.0.1:{g.api_port}"
    b = Browser(tmp_path / "profile")
    try:
        b.goto(base + "/")
        b.wait("(e => !!e && e.textContent !== 'never')(document.getElementById('updated'))",
               "the page's data")
        b.type("rule-kind", "target")
        assert b.js("document.getElementById('rule-target').closest('label').hidden") is False
        assert b.js("document.getElementById('rule-pattern').closest('label').hidden") is True
        b.type("rule-id", "sum-x")
        b.type("rule-target", 'alias(sumSeries(a.*.x, "sum <b>x</b>")')  # unbalanced
        b.type("rule-step_s", "10")
        b.type("rule-lateness_s", "0")
        b.type("rule-major", "100")
        b.click("#rule-save")
        b.wait("document.getElementById('err-target').textContent !== ''", "the target error")
        assert "column" in b.text("err-target"), b.text("err-target")
        assert b.text("err-rule") == ""
        # A wrong step is shown at its field.
        target = 'alias(sumSeries(a.*.x), "sum <b>x</b>")'
        b.type("rule-target", target)
        b.type("rule-step_s", "0")
        b.click("#rule-save")
        b.wait("document.getElementById('err-step_s').textContent !== ''", "the step error")
        assert b.text("err-target") == ""
        b.type("rule-step_s", "10")
        b.click("#rule-save")
        b.wait("document.getElementById('rule-saved').textContent !== ''", "the saved rule")
        row = wait_rule_row(b, "sum-x", 2, target)
        assert row[3] == "major 100" and row[5] == "in force"
        rule = json.load(urllib.request.urlopen(base + "/api/v1/rules/sum-x", timeout=10))
        assert (rule["target"], rule["step_s"], rule["lateness_s"]) == (target, 10, 0)
        assert "pattern" not in rule

        # Try it: pasted points, the output's name and values.
        t = int(time.time()) - 600
        t -= t % 10
        b.type("rule-target", target)  # the form was emptied by the save
        b.type("rule-step_s", "10")
        b.type("try-points", f"a.1.x 3 {t}\na.2.x 4 {t + 1}\n\na.1.x 5 {t + 10}\n")
        b.click("#try-run")
        b.wait("document.querySelector('#try-table tbody tr.row') !== null", "the try result")
        assert b.rows("try-table") == [["sum <b>x</b>", f"7 @ {t}, 5 @ {t + 10}"]]
        assert "<b>" not in b.js("document.querySelector('#try-table tbody').innerHTML")
        # A bad target is refused at its field; a bad line at the points.
        b.type("rule-target", "fooBar(a.*.x)")
        b.click("#try-run")
        b.wait("document.getElementById('err-target').textContent !== ''", "the try error")
        assert "fooBar" in b.text("err-target")
        b.type("try-points", "a.1.x three 1\n")
        b.click("#try-run")
        b.wait("document.getElementById('err-points').textContent !== ''", "the points error")
        assert "line 1" in b.text("err-points")

        # The series view lists the output series once a step completes.
        send_tcp(g.port, f"a.1.x 60 {t}\na.2.x 70 {t + 1}\na.1.x 1 {t + 10}\n".encode())
        wait_until(lambda: json.load(urllib.request.urlopen(
            base + "/api/v1/rules/sum-x/series", timeout=10))["items"], 10,
            what="the output series")
        b.js("refresh()")
        b.click("#rules-table tbody tr.row button")  # "Series" of the only rule
        b.wait("document.querySelector('#series-table tbody tr.row') !== null",
               "the series view")
        series = b.rows("series-table")
        assert [(r[0], r[1], r[2]) for r in series] == [("major", "sum <b>x</b>", "130")], series
        assert b.text("series-rule") == "sum-x"

        # Edit: the form holds the rule; the PUT keeps its target.
        b.click("#rules-table tbody tr.row button:nth-of-type(2)")
        b.wait("document.getElementById('rule-form-title').textContent === 'Edit rule sum-x'",
               "the edit form")
        assert b.js("document.getElementById('rule-target').value") == target
        assert b.js("document.getElementById('rule-kind').value") == "target"
        b.type("rule-major", "200")
        b.click("#rule-save")
        b.wait("document.getElementById('rule-saved').textContent !== ''", "the edited rule")
        rule = json.load(urllib.request.urlopen(base + "/api/v1/rules/sum-x", timeout=10))
        assert rule["target"] == target and rule["thresholds"] == {"major": 200}
        assert rule["step_s"] == 10
        wait_rule_row(b, "sum-x", 3, "major 200")
        assert b.text("error") == ""
        csp = [m for m in b.log if "Content Security Policy" in m]
        assert not csp, csp
        b.click("#rules-table tbody tr.row button:nth-of-type(2)")  # the form, for the shot
        b.wait("document.getElementById('rule-form-title').textContent !== 'New rule'", "edit")
        b.type("try-points", f"a.1.x 3 {t}\na.2.x 4 {t + 1}\na.1.x 5 {t + 10}\n")
        b.click("#try-run")
        b.wait("document.querySelector('#try-table tbody tr.row') !== null", "the try result")
        shot = os.path.join(os.environ.get("GRALARM_BUILD_DIR", str(tmp_path)),
                            "web-page-target-rule.png")
        with open(shot, "wb") as f:
            f.write(base64.b64decode(b.call("Page.captureScreenshot", session=True,
                                            captureBeyondViewport=True)["data"]))
    finally:
        b.close()
    assert g.stop()[0] == 0
