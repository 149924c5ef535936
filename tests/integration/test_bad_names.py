"""A series name carbon-cache cannot decode never stops delivery, with the real carbon-cache.

Debian's carbon-cache (Python 3) decodes each plaintext line as UTF-8 and closes the
connection on one it cannot decode, losing what followed it. gralarm refuses such names at
ingest (reason not_utf8); with ingest.allow_non_utf8 = true it forwards them, and the
destination's close is survived: the line it closes on twice is dropped and counted
(reason rejected), every other point is delivered, and there is no reconnect loop."""

import os
import socket
import time

import whisper

from harness import CarbonCache, Gralarm, metric, wait_until

SERIES = 100
STEPS = 100  # 10,000 good points


def good_lines(base_ts):
    return [f"bad.names.s{k}.v {k * 1000 + j} {base_ts + j}\n".encode()
            for j in range(STEPS) for k in range(SERIES)]


def send(port, lines, bad, at):
    stream = lines[:at] + bad + lines[at:]
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"".join(stream))


def points_in_whisper(carbon, base_ts):
    found = 0
    for k in range(SERIES):
        path = carbon.whisper_path(f"bad.names.s{k}.v")
        if not os.path.exists(path):
            continue
        try:
            (start, _, step), values = whisper.fetch(path, base_ts - 1, base_ts + STEPS)
        except Exception:  # a file carbon-cache is still creating
            continue
        by_ts = {start + i * step: v for i, v in enumerate(values)}
        found += sum(1 for j in range(STEPS) if by_ts.get(base_ts + j) == k * 1000 + j)
    return found


def test_a_name_carbon_cache_cannot_decode_is_refused_at_ingest(tmp_path):
    carbon = CarbonCache(str(tmp_path)).start()
    g = Gralarm(str(tmp_path), [f"127.0.0.1:{carbon.port}"]).start()
    base_ts = int(time.time()) - 1800
    bad = [f"poison.bad\xff 1 {base_ts}\n".encode("latin-1"),
           "poison.nbsp\u00a0x 1 {}\n".format(base_ts).encode(),
           b"poison.overlong\xc0\xae 1 %d\n" % base_ts,
           b"poison.surrogate\xed\xa0\x80 1 %d\n" % base_ts]
    send(g.port, good_lines(base_ts), bad, 5000)
    wait_until(lambda: points_in_whisper(carbon, base_ts) == SERIES * STEPS, 30,
               what="every good point in whisper")
    m = g.metrics()
    assert metric(m, "gralarm_lines_invalid_total", reason="not_utf8") == 4
    assert metric(m, "gralarm_points_received_total", proto="tcp") == SERIES * STEPS
    wait_until(lambda: metric(g.metrics(), "gralarm_points_forwarded_total",
                              destination=f"127.0.0.1:{carbon.port}") == SERIES * STEPS,
               10, what="every point counted as forwarded")
    log = g.read_log()
    assert "connection lost" not in log, log
    assert "not_utf8" in log  # the refused line is logged with its peer
    # A name in UTF-8 other than ASCII is a good name.
    with socket.create_connection(("127.0.0.1", g.port)) as s:
        s.sendall(f"bad.names.caf\u00e9 7 {base_ts}\n".encode())
    path = carbon.whisper_path("bad.names.caf\u00e9")
    wait_until(lambda: os.path.exists(path), 30, what="the UTF-8 name in whisper")
    rc, _ = g.stop()
    assert rc == 0
    carbon.stop()


def test_a_line_the_destination_closes_on_is_dropped_and_delivery_goes_on(tmp_path):
    carbon = CarbonCache(str(tmp_path)).start()
    g = Gralarm(str(tmp_path), [f"127.0.0.1:{carbon.port}"],
                extra="allow_non_utf8 = true").start()
    base_ts = int(time.time()) - 1800
    t0 = time.monotonic()
    send(g.port, good_lines(base_ts), [f"poison.bad\xff 1 {base_ts}\n".encode("latin-1")],
         5000)
    wait_until(lambda: points_in_whisper(carbon, base_ts) == SERIES * STEPS, 60,
               what="every good point in whisper")
    seconds = time.monotonic() - t0
    dest = f"127.0.0.1:{carbon.port}"
    wait_until(lambda: metric(g.metrics(), "gralarm_points_dropped_total",
                              destination=dest, reason="rejected") == 1, 30,
               what="the refused line counted")
    wait_until(lambda: metric(g.metrics(), "gralarm_points_forwarded_total",
                              destination=dest) == SERIES * STEPS, 10,
               what="forwarded counts the good points only")
    log = g.read_log()
    reconnects = log.count("connection lost")
    assert reconnects < 40, f"{reconnects} reconnects:\n{log}"
    assert "dropped a line it closed the connection on twice" in log
    assert "poison.bad\\xff" in log
    # Later points flow normally: no reconnect after the line was dropped.
    with socket.create_connection(("127.0.0.1", g.port)) as s:
        s.sendall(f"bad.names.after 1 {base_ts}\n".encode())
    wait_until(lambda: os.path.exists(carbon.whisper_path("bad.names.after")), 30,
               what="a later point in whisper")
    assert g.read_log().count("connection lost") == reconnects
    rc, _ = g.stop()
    assert rc == 0
    assert "every destination confirmed delivery" in g.read_log()
    carbon.stop()
    print(f"every good point in whisper {seconds:.1f} s after the send, "
          f"{reconnects} reconnects")
