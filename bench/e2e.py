#!/usr/bin/env python3
"""End-to-end relay comparison: gralarm and Debian's carbon-c-relay, side by side on the
same generated input, into the same counting sink, on this machine, in one run.

  bench/e2e.py --build build [--lines 5000000] [--series 100000] [--connections 1 8]
               [--workers 2] [--repeat 1] [--rules 10000] [--loopback]

For each relay and connection count: start gralarm-sink, start the relay forwarding to
it, send the lines with gralarm-loadgen, and wait until the sink has them all (or went
idle). rate = lines delivered / (last line at the sink - first byte sent). carbon-c-relay
gets -q large enough to hold the whole burst (its default queue drops lines) and the same
number of worker threads as gralarm. Everything listens on 127.0.0.1 only.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from bench_util import free_port, wait_port


def write_rules(path, count, series, seed=42):
    """`count` rules over the load generator's series (bench.s<k>.value): 70% exact
    names, 30% globs of a few shapes. Thresholds sit above every generated value, so
    the rules are evaluated on every point without raising alerts."""
    import random
    rng = random.Random(seed)
    with open(path, "w") as f:
        for n in range(count):
            k = rng.randrange(series)
            if n % 10 < 7:
                pattern = f"bench.s{k}.value"
            else:
                stem = k // 10
                pattern = rng.choice([f"bench.s{stem}?.value", f"bench.s{stem}[0-4].value",
                                      f"bench.s{stem}{{1,2}}.value", f"bench.s{stem}*.value"])
            f.write(f'[[rules]]\nid = "r{n}"\npattern = "{pattern}"\n'
                    f'thresholds = {{ warning = 1e15, critical = 1e16 }}\n')


def history_queries(api_port, stop, stats, repeat, quiet=None):
    """Queries the whole seeded history (a series filter that matches nothing makes a
    query scan all of it): once, or again and again until `stop` is set with
    `repeat`; records each query's (start, end). With `quiet` (a list), each query is
    preceded by a window of the previous query's length without one, recorded there:
    the pairs compare ingest with and without a query at nearly the same moment."""
    import urllib.request
    url = f"http://127.0.0.1:{api_port}/api/v1/history?series=nothing.matches.*&limit=1000"
    metrics = f"http://127.0.0.1:{api_port}/metrics"
    # Start once points flow (the load generator builds its buffers first).
    while not stop.is_set():
        with urllib.request.urlopen(metrics, timeout=10) as r:
            text = r.read().decode()
        if any(line.startswith('gralarm_points_received_total{proto="tcp"}') and
               float(line.split()[-1]) > 100000 for line in text.splitlines()):
            break
        time.sleep(0.01)
    if quiet is not None:
        time.sleep(1.0)  # past the start, when series first meet the rules
    length = 1.0
    while not stop.is_set():
        if quiet is not None:
            q0 = time.time()
            time.sleep(length)
            quiet.append((q0, time.time()))
        t0 = time.time()
        with urllib.request.urlopen(url, timeout=120) as r:
            r.read()
        stats.append((t0, time.time()))
        length = stats[-1][1] - t0
        if not repeat:
            return


def lines_at(timeline, t):
    """Lines at the sink at time t, interpolated over the timeline."""
    for (t0, n0), (t1, n1) in zip(timeline, timeline[1:]):
        if t0 <= t <= t1:
            return n0 + (n1 - n0) * (t - t0) / max(t1 - t0, 1e-9)
    return timeline[-1][1] if t > timeline[-1][0] else timeline[0][1]


def paired_rates(timeline, last, quiet, queries):
    """[(rate in the quiet window, rate in the query window right after it)] for
    pairs that end while lines still flow."""
    pairs = []
    for (q0, q1), (a, b) in zip(quiet, queries):
        if b > last - 0.2:
            break
        pairs.append(((lines_at(timeline, q1) - lines_at(timeline, q0)) / (q1 - q0),
                      (lines_at(timeline, b) - lines_at(timeline, a)) / (b - a)))
    return pairs


def window_rates(timeline, windows):
    """Lines per second at the sink inside the query windows and outside them, over
    the sink's timeline [[t, lines so far], ...] (lines flowing, first to last sample)."""
    inside_lines = inside_time = outside_lines = outside_time = 0.0
    for (t0, n0), (t1, n1) in zip(timeline, timeline[1:]):
        mid = (t0 + t1) / 2
        if any(a <= mid <= b for a, b in windows):
            inside_lines += n1 - n0
            inside_time += t1 - t0
        else:
            outside_lines += n1 - n0
            outside_time += t1 - t0
    rate = lambda n, t: round(n / t) if t > 0 else None
    return rate(inside_lines, inside_time), rate(outside_lines, outside_time)


def start_relay(kind, build, workdir, port, sink_port, workers, lines, rules=0, series=0,
                api_port=None):
    if kind == "carbon-c-relay":
        conf = os.path.join(workdir, "relay.conf")
        with open(conf, "w") as f:
            f.write(f"cluster sink forward 127.0.0.1:{sink_port};\n"
                    "match * send to sink stop;\n")
        cmd = ["carbon-c-relay", "-f", conf, "-p", str(port), "-w", str(workers),
               "-q", str(max(lines, 25000)), "-H", "bench"]
    else:
        conf = os.path.join(workdir, "gralarm.toml")
        rule_section = ""
        if rules:
            rules_path = os.path.join(workdir, "rules.toml")
            write_rules(rules_path, rules, series)
            rule_section = f'[rules]\nfiles = ["{rules_path}"]\n'
        with open(conf, "w") as f:
            f.write(f'[ingest]\nlisten = "127.0.0.1:{port}"\nworkers = {workers}\n'
                    f'[api]\nlisten = "127.0.0.1:{api_port or free_port()}"\n'
                    f'[self_metrics]\ncarbon_interval_s = 0\n'
                    f'[store]\npath = "{os.path.join(workdir, "store")}"\n{rule_section}'
                    f'[forward]\nqueue_points = {max(lines, 1000)}\n'
                    f'[[forward.destinations]]\naddress = "127.0.0.1:{sink_port}"\n')
        cmd = [os.path.join(build, "gralarm"), "serve", "-c", conf, "--log-level", "warn"]
    log = open(os.path.join(workdir, kind + ".log"), "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    wait_port(port)
    return proc


def run_once(kind, build, lines, series, connections, workers, rules=0, history=0,
             queries=False):
    workdir = tempfile.mkdtemp(prefix="gralarm-e2e-")
    try:
        sink_port, relay_port = free_port(), free_port()
        ready = os.path.join(workdir, "sink.ready")
        sink = subprocess.Popen([os.path.join(build, "bench", "gralarm-sink"), "--port",
                                 str(sink_port), "--expect", str(lines), "--idle-ms", "5000",
                                 "--ready-file", ready], stdout=subprocess.PIPE, text=True)
        while not os.path.exists(ready):
            time.sleep(0.01)
        api_port = free_port()
        if history and kind == "gralarm":
            subprocess.run([os.path.join(build, "bench", "gralarm-seed-history"), "--store",
                            os.path.join(workdir, "store"), "--entries", str(history)],
                           check=True, capture_output=True)
        relay = None
        if kind == "loopback":
            relay_port = sink_port  # the sender straight into the sink: the ceiling
        else:
            relay = start_relay(kind, build, workdir, relay_port, sink_port, workers,
                                lines, rules, series, api_port)
        import threading
        stop, query_seconds, quiet = threading.Event(), [], []
        querier = None
        if queries:
            querier = threading.Thread(target=history_queries,
                                       args=(api_port, stop, query_seconds,
                                             queries != "once",
                                             quiet if queries == "paired" else None))
            querier.start()
        time.sleep(0.5)  # let the relay connect to the sink
        gen = subprocess.run([os.path.join(build, "bench", "gralarm-loadgen"), "--port",
                              str(relay_port), "--lines", str(lines), "--series",
                              str(series), "--connections", str(connections)],
                             capture_output=True, text=True, check=True)
        sent = json.loads(gen.stdout)
        out, _ = sink.communicate(timeout=600)
        got = json.loads(out)
        if querier:
            stop.set()
            querier.join()
        if relay:
            relay.terminate()
            try:
                relay.wait(20)
            except subprocess.TimeoutExpired:
                relay.kill()
        seconds = max(got["last"] - sent["start"], 1e-9)
        label = kind
        if kind == "gralarm":
            if rules:
                label += f" ({rules} rules)"
            if queries:
                what = {"continuous": "continuous history queries",
                        "paired": "history queries, each after a quiet window",
                        "once": "a history query"}[queries]
                label += f" + {what} over {history} entries"
        result = {"relay": label,
                "connections": connections, "lines": lines,
                "delivered": got["lines"], "lost": lines - got["lines"],
                "seconds": round(seconds, 3), "rate": got["lines"] / seconds}
        if queries:
            result["queries"] = len(query_seconds)
            result["query_seconds"] = [round(b - a, 2) for a, b in query_seconds]
            if queries == "paired":
                result["pairs"] = [[round(x), round(y)] for x, y in
                                   paired_rates(got["timeline"], got["last"], quiet,
                                                query_seconds)]
            else:
                inside, outside = window_rates(got["timeline"], query_seconds)
                result["rate_during_query"] = inside
                result["rate_outside_query"] = outside
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--lines", type=int, default=5000000)
    ap.add_argument("--series", type=int, default=100000)
    ap.add_argument("--connections", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--rules", type=int, default=0,
                    help="threshold rules loaded into gralarm (carbon-c-relay has none)")
    ap.add_argument("--history", type=int, default=0,
                    help="seed gralarm's store with this many history entries and run "
                         "gralarm once more while a full-history API query runs")
    ap.add_argument("--continuous-queries", action="store_true",
                    help="with --history: query again and again, not once")
    ap.add_argument("--loopback", action="store_true",
                    help="also send the same input straight into the sink: the loopback "
                         "ceiling, and gralarm's fraction of it")
    ap.add_argument("--queries-only", action="store_true",
                    help="with --history: only the run with queries (no carbon-c-relay, "
                         "no gralarm run without queries)")
    ap.add_argument("--paired-queries", action="store_true",
                    help="with --history: alternate a quiet window and a query of the same "
                         "length for the whole run, and compare each pair's ingest rates")
    args = ap.parse_args()
    results = []
    for connections in args.connections:
        for _ in range(args.repeat):
            runs = [("carbon-c-relay", None), ("gralarm", None)]
            if args.loopback:
                runs.insert(0, ("loopback", None))
            if args.history and args.queries_only:
                runs = []
            if args.history:
                runs.append(("gralarm", "paired" if args.paired_queries else
                             "continuous" if args.continuous_queries else "once"))
            for kind, queries in runs:
                r = run_once(kind, args.build, args.lines, args.series, connections,
                             args.workers, args.rules, args.history, queries)
                results.append(r)
                print(json.dumps(r), file=sys.stderr)
    print(f"\n{args.lines} lines, {args.series} series, {args.workers} workers each\n")
    print("| connections | relay | lines/s | seconds | lost |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['connections']} | {r['relay']} | {r['rate']:,.0f} | {r['seconds']} "
              f"| {r['lost']} |")
    print()
    for connections in args.connections:
        best = {}
        for r in results:
            if r["connections"] == connections:
                key = r["relay"]
                if key.startswith("gralarm"):
                    key = "gralarm+queries" if "history" in key else "gralarm"
                best[key] = max(best.get(key, 0), r["rate"])
        if "gralarm" in best and "carbon-c-relay" in best:
            ratio = best["gralarm"] / best["carbon-c-relay"]
            print(f"{connections} connection(s): gralarm / carbon-c-relay = {ratio:.2f}x")
        if "gralarm" in best and "loopback" in best:
            print(f"{connections} connection(s): gralarm / loopback ceiling = "
                  f"{best['gralarm'] / best['loopback']:.2f}")
        if "gralarm+queries" in best and "gralarm" in best:
            drop = 1 - best["gralarm+queries"] / best["gralarm"]
            print(f"{connections} connection(s): ingest rate with the history query running: "
                  f"{drop * 100:.1f}% lower")
        for r in results:
            if r["connections"] == connections and r.get("rate_during_query"):
                inside, outside = r["rate_during_query"], r["rate_outside_query"]
                print(f"  same run: {inside:,} lines/s while the query ran "
                      f"({r['query_seconds']} s), {outside:,} lines/s outside it: "
                      f"{(1 - inside / outside) * 100:.1f}% lower")
        pairs = [p for r in results if r["connections"] == connections
                 for p in r.get("pairs", [])]
        if pairs:
            drops = sorted(1 - y / x for x, y in pairs)
            print(f"  {len(pairs)} pairs (quiet window, then a query of the same length): "
                  f"ingest lower during the query by a median of "
                  f"{drops[len(drops) // 2] * 100:.1f}% (per pair: "
                  f"{', '.join(f'{d * 100:.1f}%' for d in drops)}); totals "
                  f"{sum(x for x, _ in pairs) / len(pairs):,.0f} vs "
                  f"{sum(y for _, y in pairs) / len(pairs):,.0f} lines/s")
    lost = sum(r["lost"] for r in results if r["relay"].startswith("gralarm"))
    print(f"gralarm lines lost: {lost}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
