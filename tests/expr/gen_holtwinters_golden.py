#!/usr/bin/python3
"""Prints the expected values of history_functions_test.cc's Holt-Winters
tests, computed by graphite-web's own functions (the Debian graphite-web
package's graphite.render.functions, 1.1.8).

Run: /usr/bin/python3 tests/expr/gen_holtwinters_golden.py
and paste the output over the block from "BEGIN GOLDEN" to "END GOLDEN"
in history_functions_test.cc.

graphite's holtWinters* re-fetch their argument from `from - bootstrapInterval`;
here that fetch (evaluateTarget) is replaced by the whole grid below, so the
recursion starts at the grid's first point and the functions return the
points after the bootstrap, exactly as a render whose `from` is the grid's
first point plus the bootstrap interval.
"""

import copy
import math
import os
import warnings

warnings.simplefilter('ignore')
os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'graphite.settings')
import django  # noqa: E402

django.setup()
from graphite.render import functions  # noqa: E402
from graphite.render.datalib import TimeSeries  # noqa: E402

STEP = 10
BOOTSTRAP = '2min'  # 12 steps
SEASONALITY = '1min'  # 6 steps
START = 1_700_000_000 - 1_700_000_000 % 60


def grid():
    """The inputs: a seasonal series with a trend, a gap and an anomaly, and
    a series whose first values are missing (it starts after the recursion)."""
    n = 48
    a = []
    for i in range(n):
        v = 100 + 0.5 * i + 10 * math.sin(2 * math.pi * i / 6)
        a.append(round(v, 3))
    for i in (15, 16, 17):
        a[i] = None
    a[30] = a[30] + 60  # anomaly
    a[41] = None
    b = [None] * 5 + [float(7 * (i % 6) + i) for i in range(5, n)]
    b[20] = None
    return [('a.b', a), ('a.c', b)]


def series_list(start, data):
    out = []
    for name, values in data:
        s = TimeSeries(name, start, start + STEP * len(values), STEP,
                       list(values))
        s.pathExpression = 'a.*'
        out.append(s)
    return out


def run(func, *args):
    data = grid()
    boot = 120 // STEP
    tail = [(name, values[boot:]) for name, values in data]
    render_start = START + boot * STEP
    ctx = {
        'startTime': render_start,
        'endTime': render_start + STEP * len(tail[0][1]),
        'args': ['a.*'],
        'prefetch': {},
    }

    class Ctx(dict):

        def copy(self):
            return Ctx(self)

    def fake_evaluate(context, target):
        return series_list(START, copy.deepcopy(data))

    functions.evaluateTarget = fake_evaluate
    ctx = Ctx(ctx)
    ctx['startTime'] = _Time(render_start)
    ctx['endTime'] = _Time(ctx['endTime'])
    return func(ctx, series_list(render_start, tail), *args)


class _Time(int):
    """An int standing in for the request's datetime (only subtracted)."""

    def __sub__(self, other):
        return _Time(int(self) - int(other.total_seconds()))


def cpp(v):
    if v is None:
        return 'kNa'
    return repr(float(v))


def main():
    print('// BEGIN GOLDEN (tests/expr/gen_holtwinters_golden.py)')
    print('const Grid kHwInput = {')
    for name, values in grid():
        print('    {"%s", {%s}},' % (name, ', '.join(cpp(v) for v in values)))
    print('};')
    cases = [
        ('kHwForecast', functions.holtWintersForecast, (BOOTSTRAP, SEASONALITY)),
        ('kHwBands', functions.holtWintersConfidenceBands,
         (3, BOOTSTRAP, SEASONALITY)),
        ('kHwBands2', functions.holtWintersConfidenceBands,
         (2, BOOTSTRAP, SEASONALITY)),
        ('kHwAberration', functions.holtWintersAberration,
         (3, BOOTSTRAP, SEASONALITY)),
    ]
    for var, func, args in cases:
        print('const Out %s = {' % var)
        for s in run(func, *args):
            print('    {"%s", {%s}},' % (s.name, ', '.join(cpp(v) for v in s)))
        print('};')
    print('// END GOLDEN')


if __name__ == '__main__':
    main()
