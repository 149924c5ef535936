"""Holt-Winters and timeShift target rules against the real graphite-web 1.1.8 (the
oracle), through a kill -9 in the middle.

A series with a 10 min season at a 10 s step (60 slots), a slow trend, noise and two
spikes goes through gralarm, 4 seasons of it sent fast with past timestamps; gralarm
forwards it to a real carbon-cache, and its target rules emit (emit_prefix) their
values there too. Half-way, gralarm is killed with SIGKILL and started again: its
saved state resumes the recursion (the gap it loads from graphite-web is empty: every
point went through gralarm), so the season continues.

Agreement. gralarm's recursion starts at its first evaluated step T0 (the first
point; the series is new, so the history it loads at start is empty). graphite-web's
render from F reads from F - bootstrapInterval, whisper answering the steps after
that: with F = T0 - step + bootstrapInterval its recursion starts at T0 too, and it
shows the steps after F. Over those steps (the last season), gralarm's
emitted holtWintersForecast, holtWintersConfidenceBands, holtWintersAberration and
timeShift(x, "10min") equal graphite-web's render of the same expressions within
1e-9 relative, None where graphite has null.

Alarms. A rule with a threshold on holtWintersAberration raises exactly twice, at the
two spikes: the recursion's first seasons (whose band is still narrow) stay below it,
and the restart raises nothing.
"""

import math
import os
import random
import time

from harness import CarbonCache, Gralarm, GraphiteWeb, metric, send_tcp, wait_until

STEP_S = 10
SEASON = 60  # 10 min
STEPS = 4 * SEASON
BOOT = "30min"
BOOT_S = 1800
SPIKES = (205, 225)  # step indexes, both after F
ARGS = f"'{BOOT}','10min'"
EXPRS = {
    "hwf": f"holtWintersForecast(hw.x,{ARGS})",
    "hwb": f"holtWintersConfidenceBands(hw.x,3,{ARGS})",
    "hwa": f"holtWintersAberration(hw.x,3,{ARGS})",
    "ts": "timeShift(hw.x,'10min')",
}
ALARM_AT = 50  # the aberration rule's major threshold


def series_values(seed=17):
    rnd = random.Random(seed)
    values = []
    for k in range(STEPS):
        v = 100 + 0.01 * k + 10 * math.sin(2 * math.pi * k / SEASON) + rnd.uniform(-1, 1)
        if k in SPIKES:
            v += 200
        values.append(round(v, 6))
    return values


def rules_toml():
    out = []
    for rid, expr in EXPRS.items():
        major = ALARM_AT if rid == "hwa" else 1e12
        out.append(f'[[rules]]\nid = "{rid}"\ntarget = "{expr}"\nstep_s = {STEP_S}\n'
                   f'lateness_s = 0\nemit_prefix = "derived"\n'
                   f'thresholds = {{ major = {major} }}\nchecks_alert = 1\n')
    return "\n".join(out)


def emit_name(output):
    return "derived." + "".join(
        c if c.isalnum() or c in "_.-" else "_" for c in output)


def by_ts(series):
    return {ts: v for v, ts in series["datapoints"] if v is not None}


def test_holtwinters_and_timeshift_match_graphite_web_through_kill_9(tmp_path):
    carbon = CarbonCache(str(tmp_path), retentions=f"{STEP_S}s:1d").start()
    web = GraphiteWeb(str(tmp_path / "web"), os.path.join(carbon.storage, "whisper"))
    web.migrate().start()
    rules = tmp_path / "rules.toml"
    rules.write_text(rules_toml())
    sections = (f'[rules]\nfiles = ["{rules}"]\n'
                f'[graphite]\nurl = "http://127.0.0.1:{web.port}"\ntimeout_ms = 5000\n'
                '[evaluation]\nstate_flush_ms = 100\n')

    def start():
        return Gralarm(str(tmp_path), [f"127.0.0.1:{carbon.port}"],
                       sections=sections).start()

    g = start()
    try:
        # Every rule has loaded its (empty) history: nothing is held.
        wait_until(lambda: metric(g.metrics(), "gralarm_target_history_loads_total",
                                  result="ok") == len(EXPRS), 20, what="history loads")
        values = series_values()
        t0 = (int(time.time()) // STEP_S - STEPS - 3) * STEP_S
        steps = [t0 + k * STEP_S for k in range(STEPS)]
        half = STEPS // 2

        def send(ks):
            send_tcp(g.port, "".join(f"hw.x {values[k]!r} {steps[k]}\n"
                                     for k in ks).encode())

        send(range(half))
        # Everything sent reached carbon-cache, and the state was saved: kill -9.
        wait_until(lambda: web.render("hw.x", steps[half - 2], steps[half - 1])
                   and by_ts(web.render("hw.x", steps[half - 2], steps[half - 1])[0])
                   .get(steps[half - 1]) == values[half - 1], 30,
                   what="the first half in carbon-cache")
        time.sleep(0.5)
        # The recursion's first seasons raised nothing.
        assert metric(g.metrics(), "gralarm_alert_transitions_total", to="major") == 0
        g.proc.kill()
        g.proc.wait()
        g.log.close()
        g = start()
        wait_until(lambda: "the missed history loaded" in g.read_log(), 20,
                   what="the (empty) gap loaded after the restart")
        # The second half, then one more point that completes the last step, on
        # one connection: on two, the two ingest loops could read the last point
        # first, and its watermark (lateness_s = 0) would make the rest late.
        send_tcp(g.port, "".join(f"hw.x {values[k]!r} {steps[k]}\n"
                                 for k in range(half, STEPS)).encode()
                 + f"hw.x 100 {steps[-1] + STEP_S}\n".encode())

        f_from = t0 - STEP_S + BOOT_S
        until = steps[-1]
        compared = [ts for ts in steps if ts > f_from]
        assert len(compared) == SEASON

        # graphite-web's side needs every raw point in carbon-cache first.
        wait_until(lambda: set(compared) <= by_ts(
            web.render("hw.x", f_from, until)[0]).keys(), 60,
            what="the raw points in carbon-cache")

        def emitted(output):
            got = web.render(emit_name(output), f_from, until)
            return by_ts(got[0]) if got else {}

        for rid, expr in EXPRS.items():
            want_all = web.render(expr, f_from, until)
            assert want_all, expr
            for want_series in want_all:
                want = by_ts(want_series)
                name = want_series["target"]
                expected = {ts for ts in compared if want.get(ts) is not None}
                wait_until(lambda: expected <= emitted(name).keys(), 60,
                           what=f"{name} emitted")
                got = emitted(name)
                for ts in compared:
                    w, v = want.get(ts), got.get(ts)
                    if w is None:
                        assert v is None, (name, ts, v)
                    else:
                        assert v is not None and math.isclose(
                            v, w, rel_tol=1e-9, abs_tol=1e-12), (name, ts, v, w)

        # The aberration alarm: raised at the two spikes only, none at the restart.
        m = g.metrics()
        assert metric(m, "gralarm_alert_transitions_total", to="major") == len(SPIKES), m
        aberration = emitted("holtWintersAberration(hw.x)")
        above = sorted(ts for ts, v in aberration.items() if v is not None and v >= ALARM_AT)
        assert above == [steps[k] for k in SPIKES], above
    finally:
        g.stop()
        web.stop()
        carbon.stop()
