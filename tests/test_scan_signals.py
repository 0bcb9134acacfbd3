"""Signals that arrive as the last run finishes still decide the exit code."""

import io
import signal

import pytest

from scan_helpers import scan_config
from times_doctor.scan.plan import plan_scan
from times_doctor.scan.scanner import Scan


@pytest.fixture
def scan(tmp_path, fake_gams_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.gms").write_text("* FAKE: sleep 0\n")
    config = scan_config(str(run_dir), fake_gams_path, grace_seconds="1")
    return Scan(plan_scan(config), stdin=io.StringIO(), stdout=io.StringIO())


@pytest.mark.parametrize("signum, name", [(signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP"),
                                          (signal.SIGINT, "SIGINT")])
def test_late_signal_without_terminal_sets_the_exit_code(scan, signum, name):
    scan.signals._handler(signum, None)
    scan._take_late_signals()
    assert scan._abort_signal == name
    assert scan._exit_code([{"status": "completed"}]) == {"SIGTERM": 143, "SIGHUP": 129,
                                                          "SIGINT": 130}[name]


def test_late_ctrl_c_on_a_terminal_is_moot(scan):
    scan.interactive = True
    scan.signals._handler(signal.SIGINT, None)
    scan._take_late_signals()
    assert scan._abort_signal is None
    assert scan._exit_code([{"status": "completed"}]) == 0


def test_first_late_signal_wins(scan):
    scan.signals._handler(signal.SIGHUP, None)
    scan.signals._handler(signal.SIGTERM, None)
    scan._take_late_signals()
    assert scan._abort_signal == "SIGHUP"
