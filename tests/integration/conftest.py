"""pytest wiring: every process a test started is stopped when the test ends,
whether it passed or not."""

import pytest

import harness


@pytest.fixture(autouse=True)
def _stop_leftover_processes():
    yield
    harness.kill_all()
