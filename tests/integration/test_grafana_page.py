"""The web page's Grafana and Graphite screens in headless Chromium (Debian's): the
chart library served by gralarm itself, the "Add metric/alarm" wizard against a
Grafana-API stand-in, the chart of a selected alert from the real graphite-web over
carbon-cache's whisper files, and "Configured metrics"."""

import json
import os
import time
import urllib.error
import urllib.request

from harness import Gralarm, wait_until
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
