#!/usr/bin/env python3
"""Memory per tracked series: gralarm's resident set growth when N distinct series that one
rule matches arrive, divided by N.

  bench/memory.py --build build [--series 1000000]

Runs gralarm twice on the same input (N lines, one per series, from gralarm-loadgen into
gralarm, forwarded to gralarm-sink): once with a rule matching every series (each becomes a
tracked (rule, series) with its state), once with no rule (what the relay itself keeps per
series). VmRSS is read from /proc before the input and again once the sink has every line
and gralarm has flushed the states (3 s later). Everything listens on 127.0.0.1 only.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench_util import free_port, wait_port, write_gralarm_config


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def run(build, series, with_rule):
    work = tempfile.mkdtemp(prefix="gralarm-memory-")
    try:
        sink_port, port = free_port(), free_port()
        sink = subprocess.Popen([os.path.join(build, "bench", "gralarm-sink"), "--port",
                                 str(sink_port), "--expect", str(series), "--idle-ms", "10000"],
                                stdout=subprocess.PIPE, text=True)
        conf = write_gralarm_config(
            work, port, sink_port,
            '[[rules]]\nid = "all"\npattern = "bench.*.value"\n'
            'thresholds = { warning = 1e15 }\n' if with_rule else "")
        g = subprocess.Popen([os.path.join(build, "gralarm"), "serve", "-c", conf,
                              "--log-level", "warn"])
        wait_port(port)
        time.sleep(1)
        before = rss_bytes(g.pid)
        subprocess.run([os.path.join(build, "bench", "gralarm-loadgen"), "--port", str(port),
                        "--lines", str(series), "--series", str(series),
                        "--connections", "1"], check=True, capture_output=True)
        got = json.loads(sink.communicate(timeout=600)[0])
        time.sleep(3)  # state flush (evaluation.state_flush_ms) and settling
        after = rss_bytes(g.pid)
        g.terminate()
        g.wait(30)
        return {"rule": with_rule, "series": series, "delivered": got["lines"],
                "rss_before": before, "rss_after": after,
                "bytes_per_series": (after - before) / series}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--series", type=int, default=1000000)
    args = ap.parse_args()
    runs = [run(args.build, args.series, True), run(args.build, args.series, False)]
    for r in runs:
        print(json.dumps(r), file=sys.stderr)
    tracked, relay = runs
    print("| run | series | RSS before, MiB | RSS after, MiB | bytes per series |")
    print("|---|---|---|---|---|")
    for r in runs:
        print(f"| {'one rule matching all' if r['rule'] else 'no rule (relay only)'} "
              f"| {r['series']:,} | {r['rss_before'] / 2**20:.0f} "
              f"| {r['rss_after'] / 2**20:.0f} | {r['bytes_per_series']:.0f} |")
    print(f"\nper tracked (rule, series), beyond what the relay keeps: "
          f"{tracked['bytes_per_series'] - relay['bytes_per_series']:.0f} bytes; "
          f"in all: {tracked['bytes_per_series']:.0f} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
