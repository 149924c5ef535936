"""pytest wiring: every process a test started is stopped when the test ends,
whether it passed or not; processes shared by a module's tests are stopped by their
fixture, or at the latest when the session ends."""

import pytest

import harness


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "needs_target_rules: needs rules with `target` (Graphite expressions) in the "
        "engine; deselect with -m 'not needs_target_rules' until it has them")


@pytest.fixture(autouse=True)
def _stop_leftover_processes():
    yield
    harness.kill_all()


@pytest.fixture(scope="session", autouse=True)
def _stop_shared_processes():
    yield
    harness.kill_shared()
