"""gralarm as operators run it: signals, reload, CLI exit codes, /metrics, self-metrics."""

import signal
import socket
import subprocess
import time

from harness import GRALARM_BIN, Gralarm, LineSink, metric, send_tcp, wait_until


def test_promtool_accepts_the_metrics_page(tmp_path):
    sink = LineSink()
    g = Gralarm(str(tmp_path), [sink.address]).start()
    send_tcp(g.port, b"a.b 1 1700000000\nbad\n")
    wait_until(lambda: len(sink.snapshot()) == 1, what="forwarded line")
    text = g.metrics_text()
    check = subprocess.run(["promtool", "check", "metrics"], input=text,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    for name in ("gralarm_points_received_total", "gralarm_lines_invalid_total",
                 "gralarm_points_forwarded_total", "gralarm_points_dropped_total",
                 "gralarm_forward_queue_points", "gralarm_destination_up",
                 "gralarm_connections", "gralarm_build_info"):
        assert f"# TYPE {name} " in text, name
    assert g.stop()[0] == 0


def test_sigterm_exits_zero_within_ten_seconds_even_with_a_dead_destination(tmp_path):
    g = Gralarm(str(tmp_path), ["127.0.0.1:1"]).start()
    send_tcp(g.port, b"".join(b"q.%d 1 1700000000\n" % i for i in range(1000)))
    wait_until(lambda: metric(g.metrics(), "gralarm_points_received_total", proto="tcp")
               == 1000, what="points received")
    rc, seconds = g.stop()
    assert rc == 0
    assert seconds < 10
    # Undeliverable points wait in the destination's disk spool for the next start,
    # which says so.
    assert "not delivered" not in g.read_log()
    g.start()
    wait_until(lambda: "1000 points" in g.read_log() and "waiting from an earlier run"
               in g.read_log(), 10, what="the spool found at start")
    assert g.stop()[0] == 0


def test_sighup_reloads_destinations_and_keeps_a_bad_file_out(tmp_path):
    first, second = LineSink(), LineSink()
    g = Gralarm(str(tmp_path), [first.address]).start()
    send_tcp(g.port, b"one 1 1700000000\n")
    wait_until(lambda: len(first.snapshot()) == 1, what="line at the first sink")

    with open(g.config_path) as f:
        good = f.read()
    with open(g.config_path, "w") as f:
        f.write(good + "\n[forward]\nbroken = \n")
    g.signal(signal.SIGHUP)
    wait_until(lambda: "reload failed" in g.read_log(), what="reload failure logged")
    assert f"{g.config_path}:" in g.read_log()  # file:line:col of the error
    send_tcp(g.port, b"two 2 1700000000\n")
    wait_until(lambda: len(first.snapshot()) == 2, what="old config still in force")

    g.write_config([second.address])
    g.signal(signal.SIGHUP)
    wait_until(lambda: "configuration from" in g.read_log(), what="reload applied")
    send_tcp(g.port, b"three 3 1700000000\n")
    wait_until(lambda: len(second.snapshot()) == 1, what="line at the new sink")
    assert second.snapshot() == [b"three 3 1700000000"]
    assert len(first.snapshot()) == 2
    assert g.stop()[0] == 0


def test_udp_lines_are_forwarded(tmp_path):
    sink = LineSink()
    g = Gralarm(str(tmp_path), [sink.address]).start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.sendto(b"udp.a 1 1700000000\nudp.b 2 1700000000", ("127.0.0.1", g.port))
    wait_until(lambda: len(sink.snapshot()) == 2, what="udp lines")
    assert metric(g.metrics(), "gralarm_points_received_total", proto="udp") == 2
    assert g.stop()[0] == 0


def test_self_metrics_go_into_the_carbon_stream(tmp_path):
    sink = LineSink()
    g = Gralarm(str(tmp_path), [sink.address], carbon_interval_s=1).start()
    send_tcp(g.port, b"a 1 1700000000\nb 2 1700000000\nbroken\n")
    wait_until(lambda: any(b"metricsInvalid 1 " in l for l in sink.snapshot()), 10,
               what="self-metrics")
    names = {l.split(b" ")[0].decode().rsplit(".", 1)[-1] for l in sink.snapshot()
             if l.startswith(b"carbon.relays.")}
    assert {"metricsReceived", "metricsSent", "metricsDropped", "metricsInvalid",
            "metricsQueued"} <= names
    assert any(l.startswith(b"carbon.relays.") and b".metricsReceived 2 " in l
               for l in sink.snapshot())
    assert g.stop()[0] == 0


def run(*args, input=None):
    return subprocess.run([GRALARM_BIN, *args], capture_output=True, text=True, input=input)


def test_cli_exit_codes(tmp_path):
    assert run("--version").returncode == 0
    assert run("nonsense").returncode == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[ingest]\nmax_line_bytes = 1\n")
    r = run("check-config", "-c", str(bad))
    assert r.returncode == 1
    assert f"{bad}:2:18: ingest.max_line_bytes must be between" in r.stderr
    good = tmp_path / "good.toml"
    good.write_text('[[forward.destinations]]\naddress = "127.0.0.1:2103"\n')
    assert run("check-config", "-c", str(good)).returncode == 0
    assert run("serve", "-c", str(tmp_path / "missing.toml")).returncode == 1


def test_serve_refuses_a_taken_port(tmp_path):
    sink = LineSink()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Gralarm(str(tmp_path / "a"), [sink.address]).start()
    b = Gralarm(str(tmp_path / "b"), [sink.address])
    b.port = a.port
    b.write_config([sink.address])
    r = subprocess.run([GRALARM_BIN, "serve", "-c", b.config_path], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 1
    assert "cannot listen on" in r.stderr
    assert a.stop()[0] == 0


def test_repo_config_examples_validate():
    import glob
    import os
    root = os.path.join(os.path.dirname(__file__), "..", "..", "conf")
    files = glob.glob(os.path.join(root, "*.toml"))
    assert files
    for f in files:
        r = run("check-config", "-c", f)
        assert r.returncode == 0, r.stderr
    # The example rules, loaded by the demo's copy of conf/gralarm.toml.
    demo = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"gralarm-demo-{os.getpid()}.toml")
    with open(os.path.join(root, "gralarm.toml")) as f:
        text = f.read().replace(
            "files = []", f'files = ["{os.path.join(root, "rules", "example.toml")}"]')
    with open(demo, "w") as f:
        f.write(text)
    r = run("check-config", "-c", demo)
    os.unlink(demo)
    assert r.returncode == 0, r.stderr
    assert "files = []" in open(os.path.join(root, "gralarm.toml")).read()
