"""Graphite target rules against the real graphite-web 1.1.8 (the oracle).

1. test_expr_eval_matches_graphite_web: for every expression of EXPRESSIONS, the
   engine's command-line evaluator (`$GRALARM_BUILD_DIR/tests/expr/expr_eval`: stdin
   {"target", "step_s", "points": [[path, value, ts], ...]}, stdout the JSON of
   /render?format=json) fed the raw points must give what graphite-web renders over
   whisper files holding the same points: the same output names in the same order,
   the same timestamps, values within 1e-9 relative, None where graphite has null.
2. test_gralarm_target_rules_match_graphite_web: the same
   points go through gralarm, with one target rule per expression emitting its
   series under gralarm.derived, into a real carbon-cache; graphite-web's render of
   each expression over the raw whisper files and its render of the emitted series
   must agree on every completed step.

The render window. Whisper answers a fetch(from, until) with the steps T such that
floor(from / step) * step < T <= floor(until / step) * step, so the steps T0..Tn of
the generated data are rendered with from = T0 - step_s and until = Tn. Every
series of the data has a point in T0 and in Tn, so a stream that starts with the
first point covers exactly the steps of the render.

What a render sees that a stream cannot, and how the data avoids it:
  - a series first seen after T0 would be counted by countSeries and shift the
    pairing of asPercent / divideSeriesLists in a render (the whisper file exists
    over the whole window) but not in a stream: every series has a point in T0;
  - keepLastValue(s, limit) fills a run of missing steps only if the run ends within
    `limit` steps, which a render knows and a stream learns too late: the limits
    are at least the longest run of the data;
  - moving windows and exponentialMovingAverage read the points before the window
    ("bootstrap"), and the EMA is seeded from them: nothing precedes T0 in the
    whisper files, so the bootstrap is all None and the EMA seed is 0, which is
    what a stream that starts at the first point has;
  - several points in one step: graphite shows what whisper holds. The reference
    files of test 1 hold, per step, the last point that arrived (see
    harness.write_whisper). Test 2 goes through carbon-cache, which keeps the last
    value per timestamp and hands whisper several points of a step at once or one
    by one; whisper keeps the latest timestamp of a step, or the last write. Both
    are the last point to arrive because the data sends the points of a step in
    time order (a re-sent timestamp, then a later one).

Order: graphite-web sorts the series of each path expression by name (datalib's
fetch) and every function keeps that order or builds its own deterministically
(groupByNode in order of first appearance of a key), so the output order is
compared, not just the set of names.

What is compared: the steps T0..Tn. exponentialMovingAverage renders one point more,
at Tn + step_s (its output starts at T0 with the seed and is one point longer than
its input), computed from points up to Tn; a stream has it only once Tn + step_s
completes, so points after Tn are left out on both sides.

Not in the list: a series argument given by keyword (`sumSeries(seriesList=a.*)`):
graphite-web 1.1.8 fetches only positional path expressions and renders no series
at all for it.
"""

import json
import math
import os
import re
import subprocess
import time

import pytest

from harness import (CarbonCache, GraphiteWeb, Gralarm, generate_points, metric,
                     send_tcp, wait_until, write_whisper)

STEP_S = 10
STEPS = 90

# Each is rendered by graphite-web 1.1.8 as written (it raises on any it cannot
# parse or call). Series of the data (harness.generate_points):
#   srv.{web1..web4,db1,db2}.cpu gauges (zeros, negatives, missing points),
#   srv.web{1..4}.mem gauges (web3.mem has zeros and missing points),
#   srv.web{1..4}.rx counters (web1 resets, web2 wraps at 2**32, web3 misses a run).
EXPRESSIONS = [
    # naming
    "alias(srv.web1.cpu,'web one')",
    "aliasByNode(srv.*.cpu,1)",
    "aliasByNode(srv.*.cpu,-2,-1)",
    "aliasByNode(perSecond(srv.web*.rx),1)",
    "aliasByMetric(srv.db*.cpu)",
    "aliasSub(srv.web*.cpu,'web(\\d)','host-\\1')",
    # per series
    "scale(srv.web1.cpu,2.5)",
    "scale(srv.web3.cpu,-1)",
    "scaleToSeconds(nonNegativeDerivative(srv.web*.rx),60)",
    "offset(srv.web3.cpu,-10.5)",
    "absolute(srv.web3.cpu)",
    "invert(srv.web3.cpu)",
    "pow(srv.web1.cpu,2)",
    "pow(srv.web3.mem,0.5)",
    "transformNull(srv.web2.cpu,-1)",
    "transformNull(srv.web4.cpu)",
    # A limit at least as long as the longest run of missing steps (8 in web4.cpu, 3
    # in web2.cpu): a render leaves a run longer than the limit all None, having seen
    # its end, while a stream fills its first `limit` steps before it knows.
    "keepLastValue(srv.web4.cpu,8)",
    "keepLastValue(srv.web2.cpu,3)",
    "keepLastValue(srv.web2.cpu)",
    "perSecond(srv.web*.rx)",
    "perSecond(srv.web2.rx,4294967295)",
    "nonNegativeDerivative(srv.web*.rx)",
    "nonNegativeDerivative(srv.web2.rx,maxValue=4294967295)",
    "derivative(srv.web1.rx)",
    "derivative(srv.web2.cpu)",
    "integral(srv.web2.cpu)",
    "integral(perSecond(srv.web4.rx))",
    "delay(srv.web1.cpu,3)",
    "movingAverage(srv.web1.cpu,5)",
    "movingAverage(srv.web2.cpu,'30s')",
    "movingAverage(srv.web4.cpu,windowSize='1min',xFilesFactor=0.5)",
    "movingSum(srv.web4.cpu,'1min')",
    "movingMin(srv.web3.cpu,4)",
    "movingMax(srv.db*.cpu,'40s')",
    "movingMedian(srv.web2.cpu,5)",
    "movingMedian(srv.web4.cpu,'40s')",
    "exponentialMovingAverage(srv.web1.cpu,5)",
    "exponentialMovingAverage(srv.db1.cpu,'30s')",
    "removeAboveValue(srv.web1.cpu,60)",
    "removeBelowValue(srv.web3.cpu,0)",
    # across series
    "sumSeries(srv.*.cpu)",
    "sum(srv.web{1,2}.cpu,srv.db1.cpu)",
    "averageSeries(srv.web*.cpu)",
    "avg(srv.web[1-3].cpu)",
    "maxSeries(srv.*.cpu)",
    "minSeries(srv.*.cpu)",
    "countSeries(srv.web*.cpu,srv.db*.cpu)",
    "diffSeries(srv.web1.cpu,srv.web2.cpu,srv.web3.cpu)",
    "diffSeries(srv.web2.cpu,srv.web1.cpu)",
    "multiplySeries(srv.web1.cpu,srv.db1.cpu)",
    "rangeOfSeries(srv.*.cpu)",
    "stddevSeries(srv.web*.cpu)",
    "percentileOfSeries(srv.*.cpu,50)",
    "percentileOfSeries(srv.*.cpu,90,True)",
    "groupByNode(srv.*.*,2,'sum')",
    "groupByNode(srv.*.cpu,1,'avg')",
    "groupByNode(nonNegativeDerivative(srv.*.rx),2,'sum')",
    "groupByNodes(srv.*.*,'max',2)",
    "groupByNodes(srv.*.*,'sum',1,2)",
    "sumSeriesWithWildcards(srv.*.cpu,1)",
    "averageSeriesWithWildcards(srv.web*.*,1)",
    "asPercent(srv.web*.cpu)",
    "asPercent(srv.web*.mem,200)",
    "asPercent(sumSeries(srv.web*.cpu),sumSeries(srv.*.cpu))",
    "asPercent(srv.web*.cpu,srv.web*.mem)",
    "pct(srv.web*.mem,200)",  # graphite-web 1.1.8 knows pct as asPercent
    "divideSeries(sumSeries(srv.web*.cpu),sumSeries(srv.*.mem))",
    "divideSeries(srv.web1.cpu,srv.web3.mem)",
    "divideSeriesLists(srv.web*.cpu,srv.web*.mem)",
    # nestings, pipes, keyword arguments
    "movingAverage(sumSeries(srv.web*.cpu),3)",
    "transformNull(movingAverage(srv.web4.cpu,'30s'),0)",
    "alias(sumSeries(perSecond(srv.web*.rx)),'total rx')",
    "srv.web1.cpu|scale(2)|alias('doubled')",
    "perSecond(srv.web*.rx)|sumSeries()|alias('rx per second')",
    "scale(srv.web1.mem,factor=0.001)",
    "percentileOfSeries(srv.*.cpu,n=75,interpolate=True)",
    "aliasByNode(movingMax(srv.web*.mem,'30s'),1)",
    # edges
    "aliasByNode(sumSeries(srv.*.cpu),1)",
    "alias(srv.db*.cpu,'same name')",
    "scaleToSeconds(srv.web1.cpu,1)",
    "offset(scale(srv.db1.cpu,0.1),-3)",
    "delay(srv.web2.cpu,1)",
    "removeBelowValue(srv.web2.cpu,20)",
    "integral(srv.web3.rx)",
    "movingMedian(srv.web2.cpu,4)",
    "movingAverage(srv.web3.rx,'1min')",
    "exponentialMovingAverage(srv.web4.cpu,3)",
    "percentileOfSeries(srv.web*.cpu,1)",
    "percentileOfSeries(srv.web*.cpu,100)",
    "minSeries(srv.web3.cpu,srv.web2.cpu)",
    "stddevSeries(srv.db*.cpu)",
    "countSeries(srv.web*.cpu)",
    "sumSeriesWithWildcards(srv.*.*,1,2)",
    "averageSeriesWithWildcards(srv.*.cpu,1)",
    "groupByNode(srv.web*.rx,1,'max')",
    # Written nested: graphite-web 1.1.8 re-evaluates the first argument of a moving
    # window given as a time string (to fetch the points before the window) from a parse
    # tree its pipe handling has already consumed, so `a|sumSeries()|movingAverage('30s')`
    # renders the moving average of each series of `a`, not of their sum
    # (docs/TARGETS.md). gralarm reads the pipe as the nesting it stands for.
    "movingAverage(sumSeries(srv.web*.cpu),'30s')",
]

# The expressions of test 2: output names unique across rules, so no two rules emit
# the same series.
STREAM_EXPRESSIONS = [
    "aliasByNode(perSecond(srv.web*.rx),1)",
    "aliasSub(srv.web*.cpu,'web(\\d)','host-\\1')",
    "scale(srv.web1.cpu,2.5)",
    "invert(srv.web3.cpu)",
    "transformNull(srv.web2.cpu,-1)",
    "keepLastValue(srv.web4.cpu,8)",
    "nonNegativeDerivative(srv.web2.rx,maxValue=4294967295)",
    "derivative(srv.web1.rx)",
    "integral(srv.web2.cpu)",
    "delay(srv.web1.cpu,3)",
    "movingAverage(srv.web2.cpu,'30s')",
    "movingMedian(srv.web2.cpu,5)",
    "exponentialMovingAverage(srv.web1.cpu,5)",
    "sumSeries(srv.*.cpu)",
    "countSeries(srv.web*.cpu,srv.db*.cpu)",
    "diffSeries(srv.web2.cpu,srv.web1.cpu)",
    "percentileOfSeries(srv.*.cpu,90,True)",
    "groupByNode(srv.*.*,2,'sum')",
    "asPercent(sumSeries(srv.web*.cpu),sumSeries(srv.*.cpu))",
    "divideSeriesLists(srv.web*.cpu,srv.web*.mem)",
    "movingAverage(sumSeries(srv.web*.cpu),3)",
    "perSecond(srv.web*.rx)|sumSeries()|alias('rx per second')",
]

# Test 2 runs every expression of both lists as a rule of gralarm.
ALL_EXPRESSIONS = list(dict.fromkeys(EXPRESSIONS + STREAM_EXPRESSIONS))

EMIT_PREFIX = "gralarm.derived"
LATENESS_S = 5


def base_ts():
    """T0 of the data: two hours ago on the step grid, inside whisper's retention."""
    return (int(time.time()) - 7200) // STEP_S * STEP_S


def expr_eval_bin():
    build = os.environ.get("GRALARM_BUILD_DIR") or os.path.join(
        os.path.dirname(__file__), "..", "..", "build")
    return os.path.join(build, "tests", "expr", "expr_eval")


def same_value(want, got):
    if want is None or got is None:
        return want is None and got is None
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if want == got:  # also equal infinities
        return True
    return math.isclose(want, got, rel_tol=1e-9, abs_tol=0.0)


def first_difference(want, got):
    """None if `got` agrees with `want` (two /render JSON lists), else the first
    difference in words."""
    want_names = [s["target"] for s in want]
    got_names = [s["target"] for s in got]
    if want_names != got_names:
        return (f"output names differ:\n  graphite-web: {want_names}\n"
                f"  got:          {got_names}")
    for w, g in zip(want, got):
        wp, gp = w["datapoints"], g["datapoints"]
        for k, (a, b) in enumerate(zip(wp, gp)):
            if a[1] != b[1]:
                return (f"{w['target']}: point {k}: timestamp {b[1]}, graphite-web has "
                        f"{a[1]} (value {a[0]!r})")
            if not same_value(a[0], b[0]):
                return (f"{w['target']}: point {k} at {a[1]}: got {b[0]!r}, "
                        f"graphite-web has {a[0]!r}")
        if len(wp) != len(gp):
            return (f"{w['target']}: {len(gp)} points, graphite-web has {len(wp)} "
                    f"(steps {wp[0][1] if wp else None}..{wp[-1][1] if wp else None}, "
                    f"got {gp[0][1] if gp else None}..{gp[-1][1] if gp else None})")
    return None


def in_window(render, t0, tn):
    """`render` with only the points of steps t0..tn."""
    return [{"target": s["target"],
             "datapoints": [p for p in s["datapoints"] if t0 <= p[1] <= tn]}
            for s in render]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Reference whisper files of generate_points() and a graphite-web over them."""
    workdir = tmp_path_factory.mktemp("oracle")
    t0 = base_ts()
    points = generate_points(t0, STEPS, STEP_S)
    whisper_dir = os.path.join(str(workdir), "whisper")
    write_whisper(whisper_dir, points, STEP_S)
    web = GraphiteWeb(str(workdir), whisper_dir).start(shared=True)
    yield {"web": web, "points": points, "t0": t0, "tn": t0 + (STEPS - 1) * STEP_S}
    web.stop()


def test_graphite_web_renders_the_reference_steps(reference):
    """The harness itself: graphite-web renders exactly the steps T0..Tn and, in each,
    the last point that arrived in it."""
    web, t0, tn = reference["web"], reference["t0"], reference["tn"]
    out = web.render("srv.web1.cpu", t0 - STEP_S, tn)
    assert [s["target"] for s in out] == ["srv.web1.cpu"]
    stamps = [ts for _, ts in out[0]["datapoints"]]
    assert stamps == list(range(t0, tn + 1, STEP_S))
    last = {}
    for path, value, ts in reference["points"]:
        if path == "srv.web1.cpu":
            last[ts // STEP_S * STEP_S] = value
    assert [v for v, _ in out[0]["datapoints"]] == [last.get(t) for t in stamps]
    # The data has several points in some steps, with earlier ones to discard.
    per_step = {}
    for path, _, ts in reference["points"]:
        if path == "srv.web1.cpu":
            per_step[ts // STEP_S] = per_step.get(ts // STEP_S, 0) + 1
    assert max(per_step.values()) >= 3
    # The keepLastValue limits of EXPRESSIONS cover the longest runs of missing steps.
    for path, longest in (("srv.web2.cpu", 3), ("srv.web4.cpu", 8)):
        steps = sorted({ts // STEP_S for p, _, ts in reference["points"] if p == path})
        assert max(b - a - 1 for a, b in zip(steps, steps[1:])) == longest, path


@pytest.mark.parametrize("target", EXPRESSIONS)
def test_expr_eval_matches_graphite_web(reference, target):
    web, t0, tn = reference["web"], reference["t0"], reference["tn"]
    want = in_window(web.render(target, t0 - STEP_S, tn), t0, tn)
    assert want, f"graphite-web renders no series for {target!r}"
    assert all(len(s["datapoints"]) == STEPS for s in want), target
    binary = expr_eval_bin()
    assert os.path.exists(binary), (
        f"{binary} is missing: build the engine's evaluator (target tests/expr/expr_eval) "
        f"and set GRALARM_BUILD_DIR to the build directory")
    request = {"target": target, "step_s": STEP_S,
               "points": [[p, v, ts] for p, v, ts in reference["points"]]}
    run = subprocess.run([binary], input=json.dumps(request), capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, f"expr_eval failed on {target!r}:\n{run.stderr}"
    got = in_window(json.loads(run.stdout), t0, tn)
    difference = first_difference(want, got)
    assert difference is None, f"{target}: {difference}"


def emit_prefix(i):
    """Each rule of test 2 emits under its own prefix, so rules whose outputs share
    a name (the same function over the same series) do not write the same series."""
    return f"{EMIT_PREFIX}.e{i}"


def derived_name(i, output_name):
    """The series rule `i` emits for an output series (every byte outside
    [A-Za-z0-9_.-] becomes _)."""
    return emit_prefix(i) + "." + re.sub(rb"[^A-Za-z0-9_.-]", b"_",
                                         output_name.encode()).decode()


def rule_file(expressions):
    def toml_string(s):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "".join(
        f'[[rules]]\nid = "oracle-{i}"\ntarget = {toml_string(e)}\nstep_s = {STEP_S}\n'
        f'lateness_s = {LATENESS_S}\nemit_prefix = "{emit_prefix(i)}"\n'
        f'thresholds = {{ warning = 1e300 }}\n\n'
        for i, e in enumerate(expressions))


def test_gralarm_target_rules_match_graphite_web(tmp_path):
    carbon = CarbonCache(str(tmp_path), retentions=f"{STEP_S}s:1d").start()
    rules = tmp_path / "rules.toml"
    rules.write_text(rule_file(ALL_EXPRESSIONS))
    gralarm = Gralarm(str(tmp_path), [f"127.0.0.1:{carbon.port}"],
                      sections=f'[rules]\nfiles = ["{rules}"]\n').start()
    t0 = base_ts()
    tn = t0 + (STEPS - 1) * STEP_S
    points = generate_points(t0, STEPS, STEP_S)
    send_tcp(gralarm.port, "".join(f"{p} {v!r} {ts}\n" for p, v, ts in points).encode())
    # Step t completes once a point at or after t + step_s + lateness_s has arrived;
    # the data ends with a point in Tn, so the steps up to `done` are complete
    # whatever gralarm does with the others at shutdown.
    done = (tn - STEP_S - LATENESS_S) // STEP_S * STEP_S
    expected_lines = len(points)
    wait_until(lambda: metric(gralarm.metrics(), "gralarm_points_received_total",
                              proto="tcp") >= expected_lines, 20,
               what="every raw point received")
    late = sum(v for (name, _), v in gralarm.metrics().items()
               if name == "gralarm_target_points_late_total")
    assert late == 0, f"{late} points counted late: the data is sent in time order"
    rc, _ = gralarm.stop()
    assert rc == 0, gralarm.read_log()
    carbon.wait_written()
    carbon.stop()

    web = GraphiteWeb(str(tmp_path / "web"), os.path.join(carbon.storage, "whisper")).start()
    emitted = {}
    for i, target in enumerate(ALL_EXPRESSIONS):
        want = in_window(web.render(target, t0 - STEP_S, done), t0, done)
        assert want, f"graphite-web renders no series for {target!r}"
        # Outputs that share a name are one series of the rule: the first of them
        # (README "Target rules").
        firsts = {}
        for series in want:
            firsts.setdefault(series["target"], series)
        for series in firsts.values():
            name = derived_name(i, series["target"])
            assert ".." not in name and not name.endswith("."), \
                f"{target}: output {series['target']!r} is no valid carbon path"
            assert name not in emitted, f"{target} and {emitted.get(name)} both emit {name}"
            emitted[name] = target
            got = in_window(web.render(name, t0 - STEP_S, done), t0, done)
            assert [s["target"] for s in got] == [name], \
                f"{target}: {name} was not emitted (graphite-web has {got})"
            difference = first_difference(
                [{"target": name, "datapoints": series["datapoints"]}], got)
            assert difference is None, f"{target}: {difference}"
    web.stop()
    # Nothing else was emitted.
    whisper_dir = os.path.join(carbon.storage, "whisper")
    files = set()
    for root, _, names in os.walk(os.path.join(whisper_dir, *EMIT_PREFIX.split("."))):
        for n in names:
            if n.endswith(".wsp"):
                rel = os.path.relpath(os.path.join(root, n[:-4]), whisper_dir)
                files.add(rel.replace(os.sep, "."))
    assert files == set(emitted), f"emitted but not expected: {sorted(files - set(emitted))}"
