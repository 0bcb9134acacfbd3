"""Cancellation end to end: real GAMS/CPLEX trees, a real pty, real signals."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from proc_helpers import wait_until
from pty_helpers import (CTRL_C, PtyProcess, open_cancel_menu, python_argv,
                         wait_out_double_interrupt)
from scan_helpers import (MARKET_SPLIT_PROFILES as FOUR, cli_env, market_split_args, read_report,
                          session_alive)

pytestmark = [
    pytest.mark.gams,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty + /proc session check"),
]

def state_path(out):
    return os.path.join(out, "times_doctor_out", "scan_runs", "scan_state.json")


def load_state(out):
    try:
        with open(state_path(out)) as handle:
            return json.load(handle)
    except (IOError, ValueError):
        return None


def jobs_by_name(out):
    state = load_state(out)
    return dict((job["name"], job) for job in state["jobs"]) if state else {}


def all_running(out, names):
    jobs = jobs_by_name(out)
    return all(jobs.get(name, {}).get("status") == "running" for name in names)


def assert_no_process_left(out):
    sids = [job["sid"] for job in jobs_by_name(out).values() if job["sid"]]
    assert sids, "no session ids recorded"
    for sid in sids:
        assert session_alive(sid) == [], "session %d still has processes" % sid


def spawn(args):
    env = cli_env({"TERM": "xterm"})
    return PtyProcess(python_argv(*args), env=env)


@pytest.fixture
def market_split(copy_model, gams_path, tmp_path):
    return copy_model("marketsplit"), gams_path, str(tmp_path / "out")


def test_menu_cancel_two_by_name_and_number_then_abort(market_split):
    run_dir, gams_path, out = market_split
    proc = spawn(market_split_args(run_dir, gams_path, out))
    try:
        names = FOUR.split(",")
        proc.wait_until(lambda: all_running(out, names), message="4 running runs")
        # Each run is a real tree: gams -> sh -> sh -> solver (solvelink=0).
        proc.wait_until(lambda: all(len(session_alive(job["sid"])) >= 3
                                    for job in jobs_by_name(out).values()),
                        message="solver processes started")
        mark = len(proc.output)
        first_sent = open_cancel_menu(proc)
        proc.expect(br"4\) Resume \(continue\)", since=mark)
        proc.send(b"1\n")
        proc.expect(br"Runs to cancel", since=mark)
        # "sift" is number 3 in the list of running and waiting runs.
        proc.expect(br"3\) sift", since=mark)
        proc.send(b"dual, 3\n")
        proc.expect(br"Cancelling: dual, sift", since=mark)
        # The menu has closed once the table is drawn again.
        proc.expect(br"Run\s+.*Status", since=len(proc.output), timeout=10)
        proc.wait_until(lambda: jobs_by_name(out)["dual"]["status"] == "cancelled"
                        and jobs_by_name(out)["sift"]["status"] == "cancelled",
                        timeout=20, message="dual and sift cancelled")
        jobs = jobs_by_name(out)
        assert session_alive(jobs["dual"]["sid"]) == []
        assert session_alive(jobs["sift"]["sid"]) == []
        assert jobs["primal"]["status"] == "running" and jobs["bar_nox"]["status"] == "running"
        assert len(session_alive(jobs["primal"]["sid"])) >= 3
        wait_out_double_interrupt(proc, first_sent)  # the next Ctrl+C is a single one
        open_cancel_menu(proc)
        proc.send(b"3\n")
        assert proc.wait(timeout=60) == 130
    finally:
        proc.close()
    assert_no_process_left(out)
    _, rows = read_report(out)
    assert [row["profile"] for row in rows] == FOUR.split(",")
    assert [row["status"] for row in rows] == ["cancelled"] * 4
    assert all(row["runtime_seconds"] for row in rows)
    state = load_state(out)
    assert [job["status"] for job in state["jobs"]] == ["cancelled"] * 4
    assert state["exit_code"] == 130
    assert "\x1b[?25h" in proc.text  # cursor shown again


def test_menu_resume_then_cancel_all(market_split):
    run_dir, gams_path, out = market_split
    proc = spawn(market_split_args(run_dir, gams_path, out, profiles="dual,primal"))
    try:
        proc.wait_until(lambda: all_running(out, ["dual", "primal"]), message="running")
        first_sent = open_cancel_menu(proc)
        proc.send(b"4\n")
        after_menu = len(proc.output)
        # The table comes back, and nothing was cancelled.
        proc.expect(br"Run\s+.*Status", since=after_menu, timeout=10)
        assert not any(job["cancel_requested"] for job in jobs_by_name(out).values())
        wait_out_double_interrupt(proc, first_sent)
        open_cancel_menu(proc)
        proc.send(b"2\n")
        # Option 2 lets the scan finish its bookkeeping: exit 3, not 130.
        assert proc.wait(timeout=60) == 3
    finally:
        proc.close()
    assert_no_process_left(out)
    _, rows = read_report(out)
    assert [row["status"] for row in rows] == ["cancelled", "cancelled"]


def test_double_ctrl_c_aborts_at_once(market_split):
    run_dir, gams_path, out = market_split
    proc = spawn(market_split_args(run_dir, gams_path, out, profiles="dual,primal",
                                   grace_seconds=30))
    try:
        proc.wait_until(lambda: all_running(out, ["dual", "primal"]), message="running")
        # Send the second once the first was seen: two bytes at once could be one
        # pending SIGINT. Now the second falls inside DOUBLE_INTERRUPT_SECONDS or
        # into the open menu, and either way means "abort without grace".
        open_cancel_menu(proc)
        proc.send(CTRL_C)
        started = time.monotonic()
        assert proc.wait(timeout=60) == 130
        # The second Ctrl+C skips the 30 s grace.
        assert time.monotonic() - started < 25
    finally:
        proc.close()
    assert_no_process_left(out)
    _, rows = read_report(out)
    assert [row["status"] for row in rows] == ["cancelled", "cancelled"]


@pytest.mark.parametrize("signame, code", [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)])
def test_signal_without_terminal_cancels_and_writes_report(market_split, signame, code):
    run_dir, gams_path, out = market_split
    proc = subprocess.Popen([sys.executable, "-m", "times_doctor"]
                            + market_split_args(run_dir, gams_path, out, profiles="dual,primal"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=cli_env())
    try:
        wait_until(lambda: all_running(out, ["dual", "primal"]), 60,
                   message="dual and primal running", process=proc)
        proc.send_signal(getattr(signal, signame))
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, (stdout, stderr)
    assert b"\x1b" not in stdout
    assert_no_process_left(out)
    _, rows = read_report(out)
    assert [row["status"] for row in rows] == ["cancelled", "cancelled"]
    assert load_state(out)["exit_code"] == code
