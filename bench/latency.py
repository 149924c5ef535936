#!/usr/bin/env python3
"""Breach-to-webhook latency: how long after a breaching point is sent does its
notification reach a webhook receiver?

  bench/latency.py --build build [--breaches 1000] [--interval-ms 10] [--background 0]

Starts gralarm (one rule, a webhook channel, forwarding to gralarm-sink) and an HTTP
receiver in this process. Each breach is one line for a fresh series whose value is above
the critical threshold, so each raises one alert and one notification. The latency of a
breach is (arrival at the receiver) - (just before the line is written to gralarm's
socket), both read from this process's monotonic clock. Breaches are paced
(--interval-ms) so that each is measured on its own, not behind a queue of others.
--background N sends N lines/s of points that match no rule beside the breaches, so the
figure includes ingest load. Everything listens on 127.0.0.1 and stops by itself.
"""
import argparse
import http.server
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from bench_util import free_port, wait_port, write_gralarm_config


class Receiver:
    """Records the monotonic arrival time of each alert's series (firing only)."""

    def __init__(self):
        self.arrived = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                now = time.monotonic()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                for alert in json.loads(body)["alerts"]:
                    if alert["status"] == "firing":
                        with receiver.lock:
                            receiver.arrived.setdefault(alert["labels"]["series"], now)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def background_load(port, rate, stop, achieved):
    """`rate` lines/s of points no rule matches, in batches every 10 ms; the rate
    reached goes to achieved[0]."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        n, start = 0, time.monotonic()
        while not stop.is_set():
            due = int((time.monotonic() - start) * rate)
            if due > n:
                ts = int(time.time())
                s.sendall("".join(f"bg.s{i % 10000}.value {i % 100} {ts}\n"
                                  for i in range(n, due)).encode())
                n = due
            achieved[0] = n / max(time.monotonic() - start, 1e-9)
            time.sleep(0.01)


def percentile(values, p):
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--breaches", type=int, default=1000)
    ap.add_argument("--interval-ms", type=float, default=10)
    ap.add_argument("--background", type=int, default=0, help="lines/s of other points")
    args = ap.parse_args()

    receiver = Receiver()
    with tempfile.TemporaryDirectory(prefix="gralarm-latency-") as work:
        sink_port, port, api_port = free_port(), free_port(), free_port()
        sink = subprocess.Popen([os.path.join(args.build, "bench", "gralarm-sink"), "--port",
                                 str(sink_port), "--expect", "1000000000", "--idle-ms", "3600000"],
                                stdout=subprocess.DEVNULL)
        conf = write_gralarm_config(
            work, port, sink_port,
            '[[rules]]\nid = "cpu"\npattern = "lat.*.cpu"\n'
            'thresholds = { warning = 80, critical = 95 }\nchannels = ["hook"]\n',
            api_port=api_port,
            more=f'[[notify.channels]]\nname = "hook"\ntype = "webhook"\n'
                 f'url = "http://127.0.0.1:{receiver.port}/hook"\n')
        gralarm = subprocess.Popen([os.path.join(args.build, "gralarm"), "serve", "-c", conf,
                                    "--log-level", "warn"])
        stop, achieved = threading.Event(), [0.0]
        try:
            wait_port(sink_port)
            wait_port(port)
            if args.background:
                threading.Thread(target=background_load, args=(port, args.background, stop, achieved),
                                 daemon=True).start()
            sent = {}
            ts = int(time.time())
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for i in range(args.breaches):
                    series = f"lat.s{i}.cpu"
                    line = f"{series} 99 {ts}\n".encode()
                    sent[series] = time.monotonic()
                    s.sendall(line)
                    time.sleep(args.interval_ms / 1000)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    with receiver.lock:
                        if len(receiver.arrived) >= args.breaches:
                            break
                    time.sleep(0.05)
        finally:
            stop.set()
            gralarm.terminate()
            gralarm.wait(30)
            sink.terminate()
            sink.wait(10)
    with receiver.lock:
        latencies = [(receiver.arrived[k] - t) * 1000 for k, t in sent.items()
                     if k in receiver.arrived]
    missing = args.breaches - len(latencies)
    print(f"| breaches | background lines/s | p50 ms | p90 ms | p99 ms | max ms | missing |")
    print(f"|---|---|---|---|---|---|---|")
    print(f"| {args.breaches} | {achieved[0]:,.0f} | {statistics.median(latencies):.2f} "
          f"| {percentile(latencies, 90):.2f} | {percentile(latencies, 99):.2f} "
          f"| {max(latencies):.2f} | {missing} |")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
