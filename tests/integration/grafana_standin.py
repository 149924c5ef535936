"""A stand-in for Grafana's HTTP API (Grafana is not packaged by Debian): GET
/api/search, GET /api/dashboards/uid/<uid> and GET /api/library-elements/<uid> on
127.0.0.1, answering as Grafana does (the {"dashboard", "meta"} and {"result"} envelopes,
401 without the right Bearer token, 404 for an unknown uid) from JSON files written in the
shapes of real Grafana versions (tests/grafana/testdata). It can be stopped (Grafana down), made to refuse every token,
to answer malformed JSON, to hang, or to serve a dashboard of 500 panels. It records the
requests it got."""

import http.server
import json
import os
import threading
import time
import urllib.parse

TESTDATA = os.path.join(os.path.dirname(__file__), "..", "grafana", "testdata")


def big_dashboard(panels=500):
    """A schemaVersion 30 dashboard of `panels` Graphite panels, a row every 50."""
    out = []
    for i in range(panels):
        if i % 50 == 0:
            out.append({"type": "row", "id": 10000 + i, "title": f"row {i // 50}",
                        "collapsed": False, "panels": []})
        out.append({"id": i + 1, "title": f"panel {i}", "type": "timeseries",
                    "datasource": {"type": "graphite", "uid": "gr"},
                    "targets": [{"refId": "A", "target": f"servers.$host.m{i}"},
                                {"refId": "B", "target": "sumSeries(#A)"}]})
    return {"meta": {"type": "db", "slug": "big"},
            "dashboard": {"uid": "big-500", "title": "Big", "schemaVersion": 30,
                          "panels": out,
                          "templating": {"list": [{
                              "name": "host", "type": "query", "query": "servers.*",
                              "current": {"text": "web1", "value": "web1"}}]}}}


class GrafanaStandin:
    def __init__(self, token):
        self.token = token
        self.mode = "ok"  # ok | refuse | malformed | hang
        self.hang_s = 5.0
        self.requests = []  # (path, Authorization header)
        self.dashboards = {}
        for name in ("v14_rows.json", "v27_row_panels.json", "v36_collapsed.json"):
            with open(os.path.join(TESTDATA, name)) as f:
                d = json.load(f)
            self.dashboards[d["dashboard"]["uid"]] = d
        self.dashboards["big-500"] = big_dashboard()
        self.libraries = {}  # library panels by uid, as GET /api/library-elements answers
        for name in sorted(os.listdir(TESTDATA)):
            if name.startswith("library_"):
                with open(os.path.join(TESTDATA, name)) as f:
                    element = json.load(f)
                self.libraries[element["result"]["uid"]] = element
        with open(os.path.join(TESTDATA, "search.json")) as f:
            self.search = json.load(f)
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                standin.requests.append((self.path, self.headers.get("Authorization")))
                if standin.mode == "hang":  # slower than gralarm's timeout
                    time.sleep(standin.hang_s)
                url = urllib.parse.urlsplit(self.path)
                if (standin.mode == "refuse"
                        or self.headers.get("Authorization") != f"Bearer {standin.token}"):
                    return self.answer(401, {"message": "Unauthorized"})
                if url.path == "/api/search":
                    q = urllib.parse.parse_qs(url.query).get("query", [""])[0].lower()
                    return self.answer(200, [h for h in standin.search
                                             if q in h["title"].lower()])
                prefix = "/api/dashboards/uid/"
                if url.path.startswith(prefix):
                    uid = urllib.parse.unquote(url.path[len(prefix):])
                    if standin.mode == "malformed":
                        return self.answer(200, None, raw=b'{"dashboard": {"title": "x",'
                                                          b' "panels": [}')
                    if uid not in standin.dashboards:
                        return self.answer(404, {"message": "Dashboard not found"})
                    return self.answer(200, standin.dashboards[uid])
                prefix = "/api/library-elements/"
                if url.path.startswith(prefix):
                    uid = urllib.parse.unquote(url.path[len(prefix):])
                    if uid not in standin.libraries:
                        return self.answer(404, {
                            "message": "library element could not be found"})
                    return self.answer(200, standin.libraries[uid])
                self.answer(404, {"message": "Not found"})

            def answer(self, status, body, raw=None):
                data = raw if raw is not None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add_dashboard(self, dashboard, folder="Ops"):
        """Serves `dashboard` (the dashboard JSON, without the envelope) by its uid and
        lists it in searches, as Grafana does once it is saved."""
        uid = dashboard["uid"]
        self.dashboards[uid] = {"meta": {"type": "db", "slug": uid, "folderTitle": folder},
                                "dashboard": dashboard}
        self.search.append({"uid": uid, "title": dashboard["title"], "type": "dash-db",
                            "url": f"/d/{uid}", "tags": dashboard.get("tags", []),
                            "folderTitle": folder})

    def stop(self):
        """Grafana down: the port refuses connections from now on."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
