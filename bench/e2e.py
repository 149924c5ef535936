#!/usr/bin/env python3
"""End-to-end relay comparison: gralarm and Debian's carbon-c-relay, side by side on the
same generated input, into the same counting sink, on this machine, in one run.

  bench/e2e.py --build build [--lines 5000000] [--series 100000] [--connections 1 8]
               [--workers 2] [--repeat 1] [--rules 10000 [--target-rules 2000]] [--loopback]

For each relay and connection count: start gralarm-sink, start the relay forwarding to
it, send the lines with gralarm-loadgen, and wait until the sink has them all (or went
idle). rate = lines delivered / (last line at the sink - first byte sent). carbon-c-relay
gets -q large enough to hold the whole burst (its default queue drops lines) and the same
number of worker threads as gralarm. Everything listens on 127.0.0.1 only.

With --target-rules N, N of the --rules are target rules (Graphite expressions computed
inline, on a grid of --target-step seconds): half cross-series aggregates over a glob of
exactly 50 generated series, half per-series functions over one or three series (see
write_target_rules). The load generator's line i carries timestamp T + i // series (T = an
hour ago), so every series sends one point per second of timestamps and each step
completes as soon as the watermark (the newest input timestamp) passes it by lateness_s.
Over C connections, connection c sends the c-th share of the lines at the same moment as
the others, so timestamps arrive up to (C - 1) / C of the span apart: lateness_s covers
that skew plus one step (0 for one connection), so no point is late unless the
connections drift further apart (late points are counted and shown).
Steps still open when the input ends complete after step_s + lateness_s seconds without
input; the run waits for them, then reads every target rule's output series through the
API (the last step each reached) and /metrics (late points, active alerts): the table
states the steps completed, the input points the target rules evaluated and the points
that came too late.

With --pair, each gralarm run is followed by two runs of node A of a pair: A has a
[cluster] section and copies every point to its peer while it forwards to the sink as
before. The rate is A's, as for a single node, so "pair / single" is what the copies cost
a node. First the peer is a second counting sink (what A pays, as when the peer is another
machine), then a real second node B with the same rules and its own store: on one machine
B's evaluation of every copy takes its share of the same cores, so that rate is a lower
bound; the run waits until B has evaluated every copy
(gralarm_peer_points_received_total) and states how long after the last line reached the
sink that was.
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


def write_target_rules(f, count, series, step_s, lateness_s, seed=7):
    """`count` target rules over the load generator's series (bench.s<k>.value), ids
    t0.. : even ones are sumSeries / averageSeries / maxSeries over a glob matching
    exactly 50 generated series (bench.s<m>[0-4]?.value is s<m>00..s<m>49, [5-9]? the
    next 50, bench.s<m>{0,1,2,3,4}?.value the first 50 written as a brace), odd ones
    perSecond / scale / movingAverage(,5) / aliasByNode over one series (three in a
    brace, one rule in four). Thresholds sit above every value these compute. Returns
    [(rule id, [input series indexes])]."""
    import random
    rng = random.Random(seed)
    stems = series // 100 - 1  # m in 1..stems: s<m>00..s<m>99 all exist
    if stems < 1:
        raise SystemExit("--target-rules needs --series >= 200")
    rules = []
    for n in range(count):
        if n % 2 == 0:
            m = rng.randrange(1, stems + 1)
            func = ("sumSeries", "averageSeries", "maxSeries")[n // 2 % 3]
            shape = n // 6 % 3
            glob = [f"bench.s{m}[0-4]?.value", f"bench.s{m}[5-9]?.value",
                    f"bench.s{m}{{0,1,2,3,4}}?.value"][shape]
            first = m * 100 + (50 if shape == 1 else 0)
            inputs = list(range(first, first + 50))
            target = f"{func}({glob})"
        else:
            if n % 8 == 7:
                inputs = sorted(rng.sample(range(series), 3))
                path = "bench.s{" + ",".join(str(k) for k in inputs) + "}.value"
            else:
                inputs = [rng.randrange(series)]
                path = f"bench.s{inputs[0]}.value"
            target = [f"perSecond({path})", f"scale({path},2)",
                      f"movingAverage({path},5)", f"aliasByNode({path},1)"][n // 2 % 4]
        f.write(f'[[rules]]\nid = "t{n}"\ntarget = "{target}"\nstep_s = {step_s}\n'
                f'lateness_s = {lateness_s}\n'
                f'thresholds = {{ warning = 1e15, critical = 1e16 }}\n')
        rules.append((f"t{n}", inputs))
    return rules


def skew_lateness(lines, series, connections, step_s):
    """Seconds of timestamps between what the first and the last of `connections`
    send at the same moment (the load generator's layout), plus one step for the
    connections drifting apart: 0 for one connection (its points come in order)."""
    if connections == 1:
        return 0
    return (lines * (connections - 1) // connections) // series + step_s


def check_targets(api_port, rules, lines, series, base_ts, step_s):
    """Reads what the target rules computed: every rule's output series (the API) and
    the late points and active alerts (/metrics). Returns a dict for the report."""
    import concurrent.futures
    import urllib.request
    first_step = base_ts // step_s * step_s
    last_ts = base_ts + (lines - 1) // series
    final_step = last_ts // step_s * step_s
    steps_in_input = (final_step - first_step) // step_s + 1

    def last_step(rule_id):
        newest, cursor = None, ""
        while True:
            url = (f"http://127.0.0.1:{api_port}/api/v1/rules/{rule_id}/series"
                   f"?limit=1000{'&cursor=' + cursor if cursor else ''}")
            with urllib.request.urlopen(url, timeout=120) as r:
                page = json.loads(r.read())
            for item in page["items"]:
                if item.get("last_ts") is not None:
                    newest = max(newest or item["last_ts"], item["last_ts"])
            cursor = page.get("next_cursor") or ""
            if not cursor:
                return newest

    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        newest = list(pool.map(last_step, [rule_id for rule_id, _ in rules]))
    seconds = time.time() - t0
    steps = sum((t - first_step) // step_s + 1 for t in newest if t is not None)
    complete = sum(1 for t in newest if t == final_step)
    # Input points of the target rules (rule, point): series k sends lines // series
    # points, one more when k < lines % series.
    offered = sum(lines // series + (1 if k < lines % series else 0)
                  for _, inputs in rules for k in inputs)
    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/metrics", timeout=30) as r:
        metrics = r.read().decode()
    late = alerts = 0
    for line in metrics.splitlines():
        if line.startswith("gralarm_target_points_late_total"):
            late = int(float(line.split()[-1]))
        elif line.startswith("gralarm_alerts_active"):
            alerts += int(float(line.split()[-1]))
    return {"target_rules": len(rules), "steps_in_input": steps_in_input,
            "steps_completed": steps, "rules_through_last_step": complete,
            "points_offered": offered, "points_late": late,
            "points_evaluated": offered - late, "alerts_active": alerts,
            "check_seconds": round(seconds, 1)}


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
                api_port=None, targets=None, cluster=""):
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
            write_rules(rules_path, rules - (targets["count"] if targets else 0), series)
            if targets:
                with open(rules_path, "a") as f:
                    targets["rules"] = write_target_rules(
                        f, targets["count"], series, targets["step_s"],
                        targets["lateness_s"])
            rule_section = f'[rules]\nfiles = ["{rules_path}"]\n'
        with open(conf, "w") as f:
            f.write(f'[ingest]\nlisten = "127.0.0.1:{port}"\nworkers = {workers}\n'
                    f'[api]\nlisten = "127.0.0.1:{api_port or free_port()}"\n'
                    f'[self_metrics]\ncarbon_interval_s = 0\n'
                    f'[store]\npath = "{os.path.join(workdir, "store")}"\n{rule_section}'
                    f'[forward]\nqueue_points = {max(lines, 1000)}\n'
                    f'[[forward.destinations]]\naddress = "127.0.0.1:{sink_port}"\n'
                    f'{cluster}')
        cmd = [os.path.join(build, "gralarm"), "serve", "-c", conf, "--log-level", "warn"]
    log = open(os.path.join(workdir, kind + ".log"), "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    wait_port(port)
    return proc


def cluster_section(node_id, listen_port, peer_port, peer_api_port):
    return (f'[cluster]\nnode_id = "{node_id}"\nlisten = "127.0.0.1:{listen_port}"\n'
            f'peers = ["127.0.0.1:{peer_port}"]\n'
            f'peer_apis = ["http://127.0.0.1:{peer_api_port}"]\n')


def peer_points_received(api_port):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/metrics", timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("gralarm_peer_points_received_total"):
                return float(line.split()[-1])
    return 0.0


def cpu_seconds(proc):
    """User + system CPU seconds a running process has used (all its threads)."""
    with open(f"/proc/{proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_once(kind, build, lines, series, connections, workers, rules=0, history=0,
             queries=False, target_rules=0, target_step=5, target_lateness=None,
             pair=False):
    workdir = tempfile.mkdtemp(prefix="gralarm-e2e-")
    sink = relay = peer = None
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
        targets = None
        if target_rules and kind == "gralarm":
            lateness = skew_lateness(lines, series, connections, target_step) \
                if target_lateness is None else target_lateness
            targets = {"count": target_rules, "step_s": target_step,
                       "lateness_s": lateness}
        base_ts = int(time.time()) - 3600
        cluster = ""
        if pair and pair != "half":
            a_cluster, b_cluster, b_api = free_port(), free_port(), free_port()
            if pair in ("sink", "symmetric"):
                # The peer as a counting sink: only what the copies cost A.
                peer_ready = os.path.join(workdir, "peer.ready")
                peer = subprocess.Popen(
                    [os.path.join(build, "bench", "gralarm-sink"), "--port", str(b_cluster),
                     "--expect", str(lines), "--idle-ms", "5000", "--ready-file",
                     peer_ready], stdout=subprocess.PIPE, text=True)
                while not os.path.exists(peer_ready):
                    time.sleep(0.01)
            else:
                # Node B: the same rules, its own store; it receives only A's copies.
                peer_dir = os.path.join(workdir, "b")
                os.makedirs(peer_dir)
                peer = start_relay(kind, build, peer_dir, free_port(), sink_port, workers,
                                   lines, rules, series, b_api, None,
                                   cluster_section("b", b_cluster, a_cluster, api_port))
            cluster = cluster_section("a", a_cluster, b_cluster, b_api)
        if kind == "loopback":
            relay_port = sink_port  # the sender straight into the sink: the ceiling
        else:
            relay = start_relay(kind, build, workdir, relay_port, sink_port, workers,
                                lines, rules, series, api_port, targets, cluster)
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
        loadgen = os.path.join(build, "bench", "gralarm-loadgen")
        cpu_start = cpu_seconds(relay) if relay else None
        sent_series = series
        copies = None
        if pair in ("half", "symmetric"):
            # A symmetric pair's node: its clients send half the series; with
            # "symmetric", the peer's copies of the other half arrive at the same time.
            sent_series = series // 2
            if pair == "symmetric":
                copies = subprocess.Popen(
                    [loadgen, "--port", str(a_cluster), "--lines", str(lines), "--series",
                     str(sent_series), "--series-offset", str(sent_series),
                     "--connections", str(connections), "--timestamp", str(base_ts)],
                    stdout=subprocess.PIPE, text=True)
        gen = subprocess.run([loadgen, "--port", str(relay_port), "--lines", str(lines),
                              "--series", str(sent_series), "--connections",
                              str(connections), "--timestamp", str(base_ts)],
                             capture_output=True, text=True, check=True)
        sent = json.loads(gen.stdout)
        if copies is not None:
            copies.communicate(timeout=600)
        out, _ = sink.communicate(timeout=600)
        got = json.loads(out)
        peer_seconds = None
        if pair in ("sink", "symmetric"):
            peer_out, _ = peer.communicate(timeout=600)
            peer_got = json.loads(peer_out)["lines"]
            peer_seconds = None
            if pair == "symmetric":
                # The copies A received, evaluated (they are neither forwarded nor
                # copied): when A had them all, after the sink had every line.
                deadline = time.time() + 600
                while peer_points_received(api_port) < lines and time.time() < deadline:
                    time.sleep(0.2)
                peer_seconds = time.time() - got["last"]
                peer_evaluated = peer_points_received(api_port)
        elif pair == "node":
            deadline = time.time() + 600
            while peer_points_received(b_api) < lines and time.time() < deadline:
                time.sleep(0.2)
            peer_seconds = time.time() - got["last"]
            peer_got = peer_points_received(b_api)
        # The node's CPU for the whole run: every client line forwarded (and
        # copied), every copy from the peer evaluated.
        cpu_used = cpu_seconds(relay) - cpu_start if relay else None
        if querier:
            stop.set()
            querier.join()
        checked = None
        if targets:
            # Steps still open complete once the inputs were quiet for step_s +
            # lateness_s seconds (checked about once a second).
            time.sleep(targets["step_s"] + targets["lateness_s"] + 2.5)
            checked = check_targets(api_port, targets["rules"], lines, series, base_ts,
                                    targets["step_s"])
            checked["step_s"] = targets["step_s"]
            checked["lateness_s"] = targets["lateness_s"]
        for proc in (relay, peer):
            if proc:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        seconds = max(got["last"] - sent["start"], 1e-9)
        label = kind
        if kind == "gralarm":
            if rules:
                label += (f" ({rules} rules, {target_rules} target)" if target_rules
                          else f" ({rules} rules)")
            if pair == "sink":
                label += " pair, peer a sink"
            elif pair == "half":
                label += ", clients send half the series"
            elif pair == "symmetric":
                label += (" pair, clients send half the series, the peer's copies the "
                          "other half")
            elif pair:
                label += " pair, peer a node"
            if queries:
                what = {"continuous": "continuous history queries",
                        "paired": "history queries, each after a quiet window",
                        "once": "a history query"}[queries]
                label += f" + {what} over {history} entries"
        result = {"relay": label,
                "connections": connections, "lines": lines,
                "delivered": got["lines"], "lost": lines - got["lines"],
                "seconds": round(seconds, 3), "rate": got["lines"] / seconds}
        if cpu_used is not None:
            # CPU time per client line: on a machine of its own, where the node is
            # the only thing running, its throughput is inversely proportional to it.
            result["cpu_ns_per_line"] = round(cpu_used / lines * 1e9)
        if checked:
            result["targets"] = checked
        if pair in ("sink", "symmetric"):
            result["peer_received"] = int(peer_got)
        if pair == "symmetric":
            result["copies_evaluated"] = int(peer_evaluated)
            result["copies_seconds_after"] = round(peer_seconds, 1)
        elif pair == "half":
            pass
        elif pair and pair != "sink":
            result["peer_evaluated"] = int(peer_got)
            result["peer_seconds_after"] = round(peer_seconds, 1)
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
        # After an error too: nothing started here outlives the run.
        for proc in (relay, peer, sink):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
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
    ap.add_argument("--target-rules", type=int, default=0,
                    help="of the --rules, this many are target rules (Graphite expressions: "
                         "half aggregates over 50 series, half per-series functions)")
    ap.add_argument("--target-step", type=int, default=5,
                    help="step_s of the target rules (the load generator's timestamps "
                         "advance 1 s per round of --series lines)")
    ap.add_argument("--target-lateness", type=int, default=None,
                    help="lateness_s of the target rules (default: the timestamp skew "
                         "between the connections plus one step, 0 for one)")
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
    ap.add_argument("--pair-symmetric", action="store_true",
                    help="a node of a pair whose clients send half the series while the "
                         "peer's copies of the other half arrive, vs a single node "
                         "receiving only the same client half")
    ap.add_argument("--pair", action="store_true",
                    help="after each gralarm run, the same with a second node (an "
                         "active-active pair): the node's rate with its copies to the peer")
    args = ap.parse_args()
    if args.target_rules > args.rules:
        ap.error("--target-rules is a part of --rules")
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
            if args.pair:
                runs += [("gralarm", "pair-sink"), ("gralarm", "pair-node")]
            if args.pair_symmetric:
                runs += [("gralarm", "pair-half"), ("gralarm", "pair-symmetric")]
            for kind, queries in runs:
                pair = queries[5:] if queries and queries.startswith("pair") else None
                r = run_once(kind, args.build, args.lines, args.series, connections,
                             args.workers, args.rules, args.history,
                             None if pair else queries, args.target_rules,
                             args.target_step, args.target_lateness, pair)
                results.append(r)
                print(json.dumps(r), file=sys.stderr)
    print(f"\n{args.lines} lines, {args.series} series, {args.workers} workers each\n")
    print("| connections | relay | lines/s | seconds | lost | relay CPU a client line |")
    print("|---|---|---|---|---|---|")
    for r in results:
        cpu = f"{r['cpu_ns_per_line']:,} ns" if "cpu_ns_per_line" in r else ""
        print(f"| {r['connections']} | {r['relay']} | {r['rate']:,.0f} | {r['seconds']} "
              f"| {r['lost']} | {cpu} |")
    print()
    checked = [r for r in results if "targets" in r]
    if checked:
        print("| connections | target rules | step_s / lateness_s | steps completed "
              "(of rules x steps in the input) | rules through the last step "
              "| input points evaluated | late | alerts |")
        print("|---|---|---|---|---|---|---|---|")
        for r in checked:
            t = r["targets"]
            print(f"| {r['connections']} | {t['target_rules']} | {t['step_s']} / "
                  f"{t['lateness_s']} | {t['steps_completed']:,} (of "
                  f"{t['target_rules'] * t['steps_in_input']:,}) | "
                  f"{t['rules_through_last_step']} | {t['points_evaluated']:,} "
                  f"| {t['points_late']:,} | {t['alerts_active']} |")
        print()
    for connections in args.connections:
        best, least_cpu = {}, {}
        for r in results:
            if r["connections"] == connections:
                key = r["relay"]
                if key.startswith("gralarm"):
                    key = ("gralarm+queries" if "history" in key else
                           "symmetric" if key.endswith("the other half") else
                           "half" if key.endswith("half the series") else
                           "pair, sink" if key.endswith("peer a sink") else
                           "pair, node" if key.endswith("peer a node") else "gralarm")
                best[key] = max(best.get(key, 0), r["rate"])
                if "cpu_ns_per_line" in r:
                    least_cpu[key] = min(least_cpu.get(key, float("inf")),
                                         r["cpu_ns_per_line"])
        if "gralarm" in best and "carbon-c-relay" in best:
            ratio = best["gralarm"] / best["carbon-c-relay"]
            print(f"{connections} connection(s): gralarm / carbon-c-relay = {ratio:.2f}x")
        if "gralarm" in best and "loopback" in best:
            print(f"{connections} connection(s): gralarm / loopback ceiling = "
                  f"{best['gralarm'] / best['loopback']:.2f}")
        for key, what in (("pair, sink", "the peer a counting sink"),
                          ("pair, node", "the peer a gralarm node on the same cores")):
            if key in best and "gralarm" in best:
                print(f"{connections} connection(s): a pair node / a single node = "
                      f"{best[key] / best['gralarm']:.2f}, {what} (the copies cost "
                      f"{(1 - best[key] / best['gralarm']) * 100:.1f}%)")
        if "symmetric" in best and "half" in best:
            print(f"{connections} connection(s): a node of a symmetric pair / a single node "
                  f"with the same clients = {best['symmetric'] / best['half']:.2f} (the "
                  f"pair costs {(1 - best['symmetric'] / best['half']) * 100:.1f}%)")
        if "symmetric" in least_cpu and "half" in least_cpu:
            single, paired = least_cpu["half"], least_cpu["symmetric"]
            print(f"{connections} connection(s): CPU a client line, least of the runs: single "
                  f"node {single:,} ns, node of a symmetric pair {paired:,} ns; on a machine "
                  f"of its own the pair costs the node {(1 - single / paired) * 100:.1f}% "
                  f"of its throughput")
        for key in ("pair, sink", "pair, node"):
            if key in least_cpu and "gralarm" in least_cpu:
                single, paired = least_cpu["gralarm"], least_cpu[key]
                print(f"{connections} connection(s): CPU a client line ({key}): single "
                      f"node {single:,} ns, pair node {paired:,} ns "
                      f"({(1 - single / paired) * 100:.1f}% of its throughput on a machine "
                      f"of its own)")
        for r in results:
            if r["connections"] == connections and "copies_evaluated" in r:
                print(f"  it evaluated {r['copies_evaluated']:,} of {r['lines']:,} copies "
                      f"from the peer, the last {r['copies_seconds_after']} s after the "
                      f"sink had every client line")
            elif r["connections"] == connections and "peer_received" in r:
                print(f"  the peer sink received {r['peer_received']:,} of "
                      f"{r['lines']:,} copies")
            if r["connections"] == connections and "peer_evaluated" in r:
                print(f"  the peer node evaluated {r['peer_evaluated']:,} of "
                      f"{r['lines']:,} copies, the last "
                      f"{r['peer_seconds_after']} s after the sink had every line")
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
