"""The C++ evaluator agrees with the reference model tests/alert/alert_model.py on every
case it generates: the same level after every point and the same transitions."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(__file__)
MODEL = os.path.join(HERE, "..", "alert", "alert_model.py")
EVAL = os.path.join(os.environ.get("GRALARM_BUILD_DIR", os.path.join(HERE, "..", "..", "build")),
                    "tests", "gralarm_eval_cases")


@pytest.mark.parametrize("seed", [1, 7, 42, 2026, 99991])
def test_evaluator_matches_the_reference_model(seed):
    count = 5000
    cases = subprocess.run([sys.executable, MODEL, "cases", "--count", str(count),
                            "--seed", str(seed)], capture_output=True, text=True,
                           check=True).stdout
    got = subprocess.run([EVAL], input=cases, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    want = [json.loads(line) for line in cases.splitlines()]
    assert len(got) == len(want) == count
    events = 0
    for i, (w, g) in enumerate(zip(want, map(json.loads, got))):
        assert g["levels"] == w["levels"], f"case {i}: {json.dumps(w)}"
        assert g["events"] == w["events"], f"case {i}: {json.dumps(w)}"
        events += len(w["events"])
    assert events > count  # the cases do exercise transitions
