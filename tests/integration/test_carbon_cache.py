"""gralarm in front of a real carbon-cache: nothing lost, every invalid line counted."""

import os
import socket
import threading
import time

import whisper

from harness import CarbonCache, Gralarm, metric

CLIENTS = 8
SERIES_PER_CLIENT = 125          # 1,000 whisper files in all
STEPS = 200                      # timestamps per series
POINTS = CLIENTS * SERIES_PER_CLIENT * STEPS   # 200,000 valid points
BATCHES = 20                     # each client spreads its stream over ~10 s

# One invalid line per 99 valid ones (1%), cycling through every reason.
INVALID = [
    (b"only.two.fields 1\n", "fields"),
    (b"bad.value notanumber 1700000000\n", "value"),
    (b"bad.timestamp 1 yesterday\n", "timestamp"),
    (b"nan.value nan 1700000000\n", "nan"),
    (b"bad..path 1 1700000000\n", "path"),
    (b"x" * 5000 + b" 1 1700000000\n", "too_long"),
]


def series(client, k):
    return f"gralarm.it.c{client}.s{k}"


def value(client, k, j):
    return client * 100000 + k * 1000 + j + 0.25


def client_stream(client, base_ts):
    """This client's lines, cut into BATCHES batches; returns (batches, invalid counts)."""
    lines, invalid = [], {}
    n = 0
    for j in range(STEPS):
        for k in range(SERIES_PER_CLIENT):
            lines.append(f"{series(client, k)} {value(client, k, j)} {base_ts + j}\n".encode())
            n += 1
            if n % 99 == 0:
                bad, reason = INVALID[(n // 99 + client) % len(INVALID)]
                lines.append(bad)
                invalid[reason] = invalid.get(reason, 0) + 1
    per = -(-len(lines) // BATCHES)
    return [b"".join(lines[i:i + per]) for i in range(0, len(lines), per)], invalid


def test_every_valid_point_reaches_whisper_across_a_carbon_cache_outage(tmp_path):
    carbon = CarbonCache(str(tmp_path)).start()
    gralarm = Gralarm(str(tmp_path), [f"127.0.0.1:{carbon.port}"]).start()
    base_ts = int(time.time()) - 1800  # inside the 1-hour retention
    streams = [client_stream(c, base_ts) for c in range(CLIENTS)]
    expected_invalid = {}
    for _, inv in streams:
        for reason, count in inv.items():
            expected_invalid[reason] = expected_invalid.get(reason, 0) + count
    errors = []

    def send(batches):
        try:
            with socket.create_connection(("127.0.0.1", gralarm.port)) as s:
                for b in batches:
                    s.sendall(b)
                    time.sleep(0.5)
        except OSError as e:
            errors.append(e)

    threads = [threading.Thread(target=send, args=(b,)) for b, _ in streams]
    for t in threads:
        t.start()
    # Mid-stream, carbon-cache goes away for 5 seconds and comes back.
    time.sleep(3)
    carbon.stop()
    time.sleep(5)
    carbon.start()
    for t in threads:
        t.join()
    assert not errors

    # Every valid point was received, every invalid line counted by its reason.
    m = gralarm.metrics()
    assert metric(m, "gralarm_points_received_total", proto="tcp") == POINTS
    for reason in ("fields", "value", "timestamp", "nan", "path", "too_long"):
        assert metric(m, "gralarm_lines_invalid_total", reason=reason) == \
            expected_invalid.get(reason, 0), reason
    assert sum(expected_invalid.values()) == CLIENTS * (SERIES_PER_CLIENT * STEPS // 99)

    # Everything gralarm received is delivered, and carbon-cache confirms it by
    # closing its side when gralarm ends the stream.
    rc, seconds = gralarm.stop()
    assert rc == 0, gralarm.read_log()
    assert seconds < 10
    log = gralarm.read_log()
    assert "every destination confirmed delivery" in log, log
    carbon.wait_written()
    carbon.stop()

    missing = 0
    for c in range(CLIENTS):
        for k in range(SERIES_PER_CLIENT):
            path = carbon.whisper_path(series(c, k))
            assert os.path.exists(path), path
            (start, end, step), values = whisper.fetch(path, base_ts - 1, base_ts + STEPS)
            by_ts = {start + i * step: v for i, v in enumerate(values)}
            for j in range(STEPS):
                if by_ts.get(base_ts + j) != value(c, k, j):
                    missing += 1
    assert missing == 0, f"{missing} of {POINTS} points missing or wrong in whisper"


def test_invalid_lines_are_counted_by_reason_and_valid_ones_forwarded(tmp_path):
    from harness import LineSink
    sink = LineSink()
    gralarm = Gralarm(str(tmp_path), [sink.address]).start()
    base_ts = int(time.time()) - 600
    batches, invalid = client_stream(3, base_ts)
    threads = [threading.Thread(target=lambda: [
        socket.create_connection(("127.0.0.1", gralarm.port)).sendall(b"".join(batches))])
        for _ in range(1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    valid = SERIES_PER_CLIENT * STEPS
    from harness import wait_until
    wait_until(lambda: len(sink.snapshot()) >= valid, 30, what="all lines at the sink")
    m = gralarm.metrics()
    assert metric(m, "gralarm_points_received_total", proto="tcp") == valid
    for reason in ("fields", "value", "timestamp", "nan", "path", "too_long"):
        assert metric(m, "gralarm_lines_invalid_total", reason=reason) == \
            invalid.get(reason, 0), reason
    # Forwarded means confirmed: acknowledged, and the connection stayed up.
    wait_until(lambda: metric(gralarm.metrics(), "gralarm_points_forwarded_total",
                              destination=sink.address) == valid, 10, what="forwarded count")
    assert len(sink.snapshot()) == valid
    rc, _ = gralarm.stop()
    assert rc == 0
    # The log names the peer of an invalid line.
    assert "invalid line from 127.0.0.1:" in gralarm.read_log()
