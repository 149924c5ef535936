"""The web page at GET /, loaded in headless Chromium (Debian's) from a running gralarm
with seeded alerts and history; the test reads the tiles and tables from the DOM and
saves a screenshot under the build folder."""

import html.parser
import os
import shutil
import subprocess
import time

from harness import Gralarm, send_tcp, wait_until

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
