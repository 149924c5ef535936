"""The API's defences over real HTTP: the token file fails closed, the Host check, no CORS,
JSON-only writes, the security headers, whole and neutralised CSV exports, and refused
out-of-range input."""

import csv
import http.client
import io
import json
import os
import subprocess
import time

from harness import GRALARM_BIN, Gralarm, LineSink, send_tcp, wait_until
from test_api import call, rule, start


def raw(g, method, path, body=None, headers=None):
    """One request with exactly these headers (http.client adds Host unless given)."""
    conn = http.client.HTTPConnection("127.0.0.1", g.api_port, timeout=10)
    headers = dict(headers or {})
    conn.putrequest(method, path, skip_host="Host" in headers,
                    skip_accept_encoding=True)
    for k, v in headers.items():
        conn.putheader(k, v)
    data = body.encode() if isinstance(body, str) else body
    if data is not None:
        conn.putheader("Content-Length", str(len(data)))
    conn.endheaders(data)
    r = conn.getresponse()
    text = r.read().decode(errors="replace")
    conn.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), text


def with_token_file(g, path):
    text = open(g.config_path).read().replace("[api]\n", f'[api]\ntoken_file = "{path}"\n')
    open(g.config_path, "w").write(text)


def test_token_file_fails_closed(tmp_path):
    token = tmp_path / "token"
    g = Gralarm(str(tmp_path), [LineSink().address])
    with_token_file(g, token)
    # Missing, then empty: check-config and serve both refuse, naming the key and file.
    for content in (None, "\n  \n"):
        if content is not None:
            token.write_text(content)
        out = subprocess.run([GRALARM_BIN, "check-config", "-c", g.config_path],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 1, out
        assert f"api.token_file {token}: " in out.stdout + out.stderr
        served = subprocess.run([GRALARM_BIN, "serve", "-c", g.config_path],
                                capture_output=True, text=True, timeout=30)
        assert served.returncode != 0 and "api.token_file" in served.stdout + served.stderr

    token.write_text("first-token\n")
    g.start()
    assert call(g, "POST", "/api/v1/rules", rule("a"))[0] == 401
    assert call(g, "POST", "/api/v1/rules", rule("a"), token="first-token")[0] == 201
    # Truncated mid-rotation, then removed: the last good token stays, no token never works.
    for broken in ("truncate", "remove"):
        if broken == "truncate":
            token.write_text("")
        else:
            token.unlink()
        assert call(g, "POST", "/api/v1/rules", rule("b-" + broken))[0] == 401
        assert call(g, "POST", "/api/v1/rules", rule("c-" + broken),
                    token="first-token")[0] == 201
    wait_until(lambda: f"api.token_file {token}: cannot read" in g.read_log(), 5,
               what="the unreadable token file logged")
    assert f"api.token_file {token}: is empty" in g.read_log()
    # Rotated: the new token in force at once, the old one no more.
    token.write_text("second-token\n")
    assert call(g, "POST", "/api/v1/rules", rule("d"), token="first-token")[0] == 401
    assert call(g, "POST", "/api/v1/rules", rule("d"), token="second-token")[0] == 201
    assert "gives a token again" in g.read_log()
    assert g.stop()[0] == 0


def test_host_check_no_cors_json_writes_and_headers(tmp_path):
    g, _ = start(tmp_path)  # the default config: no token
    port = g.api_port
    body = json.dumps(rule("cpu"))
    # A rebound name is refused, for reads too; the listen address and localhost are not.
    for host in ("evil.example:%d" % port, "localhost:%d" % (port + 1), "127.0.0.1"):
        status, headers, text = raw(g, "GET", "/api/v1/rules", headers={"Host": host})
        assert status == 421, (host, status, text)
        assert json.loads(text)["error"]["code"] == "misdirected_request"
        assert raw(g, "GET", "/", headers={"Host": host})[0] == 421
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert raw(g, "GET", "/api/v1/rules", headers={"Host": host})[0] == 200, host

    # No CORS preflight is granted, and no Access-Control-* header is ever sent.
    status, headers, _ = raw(g, "OPTIONS", "/api/v1/rules", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert status == 405
    assert not [h for h in headers if h.startswith("access-control-")], headers
    status, headers, _ = raw(g, "GET", "/api/v1/rules", headers={"Origin": "http://evil.example"})
    assert status == 200 and "access-control-allow-origin" not in headers

    # Writes need application/json: text/plain, form encoding and none at all get 415.
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                  None):
        h = {"Content-Type": ctype} if ctype else {}
        status, _, text = raw(g, "POST", "/api/v1/rules", body, headers=h)
        assert status == 415, (ctype, text)
        assert json.loads(text)["error"]["code"] == "unsupported_media_type"
    assert raw(g, "POST", "/api/v1/backup", headers={})[0] == 415
    assert raw(g, "POST", "/api/v1/silences", json.dumps({"rule": "*", "ends_at": "2099-01-01T00:00:00Z"}),
               headers={"Content-Type": "text/plain;charset=UTF-8"})[0] == 415
    # A write from another site's page (it has an Origin header) is refused.
    status, _, text = raw(g, "POST", "/api/v1/rules", body, headers={
        "Content-Type": "application/json", "Origin": "http://evil.example"})
    assert status == 403 and json.loads(text)["error"]["code"] == "cross_origin"
    assert call(g, "GET", "/api/v1/rules/cpu")[0] == 404
    # The same write from the page's own origin, or a script, passes.
    status, _, _ = raw(g, "POST", "/api/v1/rules", body, headers={
        "Content-Type": "Application/JSON; charset=utf-8", "Origin": f"http://127.0.0.1:{port}"})
    assert status == 201
    assert call(g, "DELETE", "/api/v1/rules/cpu")[0] == 204

    # Security headers: the page's policy allows its own script and style only.
    status, headers, page = raw(g, "GET", "/")
    assert status == 200 and "<script>" in page
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    csp = headers["content-security-policy"]
    assert csp.startswith("default-src 'none'; script-src 'sha256-") and "unsafe" not in csp
    assert "frame-ancestors 'none'" in csp
    status, headers, _ = raw(g, "GET", "/api/v1/summary")
    assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert headers["x-content-type-options"] == "nosniff"

    # HEAD answers as GET, without the body.
    status, headers, text = raw(g, "HEAD", "/api/v1/summary")
    assert status == 200 and text == "" and int(headers["content-length"]) > 10
    assert raw(g, "HEAD", "/")[0] == 200
    assert g.stop()[0] == 0


def test_allowed_hosts_reload_on_sighup(tmp_path):
    g, _ = start(tmp_path)
    name = {"Host": f"gralarm.example:{g.api_port}"}
    assert raw(g, "GET", "/healthz", headers=name)[0] == 421
    text = open(g.config_path).read().replace(
        "[api]\n", '[api]\nallowed_hosts = ["GRALARM.example"]\n', 1)
    open(g.config_path, "w").write(text)
    g.signal(1)  # SIGHUP
    wait_until(lambda: raw(g, "GET", "/healthz", headers=name)[0] == 200, 10,
               what="allowed_hosts in force")
    assert raw(g, "GET", "/healthz", headers={"Host": "gralarm.example:1"})[0] == 200
    assert raw(g, "GET", "/healthz", headers={"Host": "other.example"})[0] == 421
    assert g.stop()[0] == 0


def test_csv_exports_everything_and_neutralises_formulas(tmp_path):
    g, _ = start(tmp_path)
    assert call(g, "POST", "/api/v1/rules",
                rule("many", pattern="many.*", thresholds={"warning": 50}))[0] == 201
    assert call(g, "POST", "/api/v1/rules",
                rule("evil", pattern="evil.*", name='=HYPERLINK("http://x","y")',
                     thresholds={"warning": -10}))[0] == 201
    ts = int(time.time()) - 3000
    lines = "".join(f"many.s{i:03d} 99 {ts}\nmany.s{i:03d} 1 {ts + 1}\n" for i in range(150))
    lines += (f"evil.=1+2 -3.5 {ts}\nevil.=1+2 -20 {ts + 1}\n"
              f"evil.x -3.5 {ts}\nevil.x -20.25 {ts + 1}\n")
    send_tcp(g.port, lines.encode())
    wait_until(lambda: len(call(g, "GET", "/api/v1/history?limit=1000")[1]["items"]) == 152,
               15, what="152 ended alerts")

    status, headers, text = raw(g, "GET", "/api/v1/history?format=csv")
    assert status == 200 and headers["content-type"] == "text/csv; charset=utf-8"
    assert headers.get("transfer-encoding") == "chunked"
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + 152, len(rows)  # no cut at 100 rows
    evil = [r for r in rows if r[0] == "evil"]
    assert len(evil) == 2
    for r in evil:
        assert r[1] == '\'=HYPERLINK("http://x","y")'   # text, never a formula
        assert r[2] in ("evil.=1+2", "evil.x")            # starts with "e": unchanged
        assert float(r[7]) < -10                          # a number stays a number
    assert '"\'=HYPERLINK(""http://x"",""y"")"' in text
    assert ",-20.25," in text
    # Filters apply to the export; ?limit= caps it only when given.
    assert len(list(csv.reader(io.StringIO(
        raw(g, "GET", "/api/v1/history?format=csv&rule=evil")[2])))) == 3
    assert len(list(csv.reader(io.StringIO(
        raw(g, "GET", "/api/v1/history?format=csv&limit=7")[2])))) == 8
    # HEAD of an export: the head only.
    status, headers, text = raw(g, "HEAD", "/api/v1/history?format=csv")
    assert status == 200 and text == ""
    assert g.stop()[0] == 0


def test_out_of_range_input_is_refused(tmp_path):
    g, _ = start(tmp_path)
    assert call(g, "POST", "/api/v1/rules", rule("cpu"))[0] == 201
    ts = int(time.time()) - 60
    send_tcp(g.port, f"srv.a.cpu 99 {ts}\nsrv.a.cpu 1 {ts + 1}\n".encode())
    wait_until(lambda: len(call(g, "GET", "/api/v1/history")[1]["items"]) == 1, 10,
               what="history")
    for q in ("from=99999999999999999999", "from=1e400", "to=" + "9" * 400,
              "from=4102444800", "from=2100-01-01T00:00:00Z"):
        status, body = call(g, "GET", "/api/v1/history?" + q)
        assert status == 400 and body["error"]["field"] in ("from", "to"), (q, body)
    assert call(g, "GET", "/api/v1/history?from=0")[1]["items"]  # 1970 is fine
    for c in ("-1", "+1", "18446744073709551616", "1x", " 1"):
        status, body = call(g, "GET", "/api/v1/events?cursor=" + c.replace("+", "%2B").replace(" ", "%20"))
        assert status == 400 and body["error"]["field"] == "cursor", (c, body)
    assert call(g, "GET", "/api/v1/events?cursor=0")[0] == 200
    ms = int(time.time() * 1000) + 3600_000
    status, body = call(g, "POST", "/api/v1/silences", {"rule": "cpu", "ends_at": str(ms)})
    assert status == 400 and body["error"]["field"] == "ends_at", body
    status, body = call(g, "POST", "/api/v1/silences",
                        {"rule": "cpu", "ends_at": "2100-01-01T00:00:01Z"})
    assert status == 400 and body["error"]["field"] == "ends_at"
    assert call(g, "GET", "/api/v1/silences")[1]["items"] == []
    status, body = call(g, "POST", "/api/v1/silences",
                        {"rule": "cpu", "ends_at": str(ms // 1000)})
    assert status == 201
    assert g.stop()[0] == 0
