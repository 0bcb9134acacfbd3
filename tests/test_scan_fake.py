"""scan with the fake GAMS: stubborn trees, escaped grandchildren, huge logs, waiting runs.

These complement (never replace) the real-GAMS tests: they show behaviour
real GAMS cannot produce on demand.
"""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from proc_helpers import is_alive, wait_until
from scan_helpers import cli_env, read_report, read_state, session_alive

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="/proc session checks")

FOUR = "dual,primal,sift,bar_nox"


def make_run(tmp_path, directives):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.gms").write_text("".join("* FAKE: %s\n" % d for d in directives))
    return str(run_dir)


def start_scan(run_dir, gams, extra):
    args = [sys.executable, "-m", "times_doctor", "scan", run_dir, "--gams-path", gams,
            "--threads", "1", "--yes"] + extra
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=cli_env())


def wait_for_state(out, predicate, proc, timeout=30):
    """The first state document whose jobs (by name) satisfy *predicate*."""
    seen = [None]

    def matching():
        try:
            seen[0] = read_state(out)
        except (IOError, ValueError):  # not written yet
            return None
        return seen[0] if predicate(dict((j["name"], j) for j in seen[0]["jobs"])) else None
    return wait_until(matching, timeout, interval=0.05, process=proc,
                      message=lambda: "a matching state, the last one: %r" % (seen[0],))


def log_pids(work_dir, pattern):
    found = []
    for name in os.listdir(work_dir):
        if name.endswith("_run_log.txt"):
            with open(os.path.join(work_dir, name), errors="replace") as handle:
                found += [int(pid) for pid in re.findall(pattern, handle.read())]
    return found


def test_sigterm_ends_stubborn_trees_in_one_grace(tmp_path, fake_gams_path):
    run_dir = make_run(tmp_path, ["ignore-term", "grandchildren 2 600", "sleep 600"])
    proc = start_scan(run_dir, fake_gams_path, ["--profiles", FOUR, "--parallel",
                                                "--max-workers", "4", "--grace-seconds", "2"])
    state = wait_for_state(run_dir, lambda jobs: all(
        j["status"] == "running" and len(session_alive(j["sid"])) >= 3
        for j in jobs.values()), proc)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    elapsed = time.monotonic() - started
    assert proc.returncode == 143, (out, err)
    # Four stubborn trees, grace 2 s each: ended together, not one after another (8 s).
    assert elapsed < 6, elapsed
    for job in state["jobs"]:
        assert session_alive(job["sid"]) == []
    _, rows = read_report(run_dir)
    assert [row["status"] for row in rows] == ["cancelled"] * 4
    assert b"\x1b" not in out


def test_setsid_grandchild_is_killed_with_its_run(tmp_path, fake_gams_path):
    run_dir = make_run(tmp_path, ["setsid-grandchild 600", "sleep 600"])
    proc = start_scan(run_dir, fake_gams_path, ["--profiles", "dual", "--grace-seconds", "1"])
    state = wait_for_state(run_dir, lambda jobs: jobs["dual"]["status"] == "running", proc)
    work_dir = state["jobs"][0]["work_dir"]
    escaped = wait_until(lambda: log_pids(work_dir, r"setsid grandchild pid (\d+)"), 20,
                         message="the setsid grandchild's pid in the log")[0]
    assert os.getsid(escaped) != state["jobs"][0]["sid"]
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert not is_alive(escaped)


def test_leftover_grandchild_is_swept_after_gams_exits(tmp_path, fake_gams_path):
    run_dir = make_run(tmp_path, ["grandchildren 2 600", "sleep 1"])
    proc = start_scan(run_dir, fake_gams_path, ["--profiles", "dual"])
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, (out, err)
    job = read_state(run_dir)["jobs"][0]
    assert job["status"] == "completed"
    assert session_alive(job["sid"]) == []
    for pid in log_pids(job["work_dir"], r"grandchild pid (\d+)"):
        assert not is_alive(pid)


def test_waiting_runs_cancelled_by_signal_never_start(tmp_path, fake_gams_path):
    run_dir = make_run(tmp_path, ["sleep 600"])
    proc = start_scan(run_dir, fake_gams_path, ["--profiles", "dual,primal,sift"])
    wait_for_state(run_dir, lambda jobs: jobs["dual"]["status"] == "running", proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    jobs = dict((j["name"], j) for j in read_state(run_dir)["jobs"])
    assert [jobs[n]["status"] for n in ("dual", "primal", "sift")] == ["cancelled"] * 3
    assert jobs["primal"]["pid"] is None and jobs["sift"]["pid"] is None
    assert not os.path.exists(os.path.join(jobs["primal"]["work_dir"], "primal_run_log.txt"))
    _, rows = read_report(run_dir)
    assert [row["status"] for row in rows] == ["cancelled"] * 3


def test_second_signal_skips_the_grace(tmp_path, fake_gams_path):
    run_dir = make_run(tmp_path, ["ignore-term", "sleep 600"])
    proc = start_scan(run_dir, fake_gams_path, ["--profiles", "dual", "--grace-seconds", "60"])
    state = wait_for_state(run_dir, lambda jobs: jobs["dual"]["status"] == "running", proc)
    # The fake has run its directives (SIGTERM ignored) once it logs this.
    log = os.path.join(state["jobs"][0]["work_dir"], "dual_run_log.txt")
    wait_until(lambda: os.path.exists(log) and "Starting execution" in open(log).read(), 20,
               message="the fake's directives run")
    proc.send_signal(signal.SIGTERM)
    assert not wait_until(lambda: proc.poll() is not None, 0.5)  # still inside the 60 s grace
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert time.monotonic() - started < 10


def test_timeout_of_a_stubborn_run(tmp_path, fake_gams_path):
    run_dir = make_run(tmp_path, ["ignore-term", "grandchildren 1 600", "sleep 600"])
    proc = start_scan(run_dir, fake_gams_path, ["--profiles", "dual,primal",
                                                "--timeout-seconds", "1", "--grace-seconds",
                                                "1"])
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    _, rows = read_report(run_dir)
    assert [row["status"] for row in rows] == ["timeout", "timeout"]
    for job in read_state(run_dir)["jobs"]:
        assert session_alive(job["sid"]) == []


def test_huge_log_with_invalid_utf8_completes(tmp_path, fake_gams_path):
    run_dir = make_run(tmp_path, ["huge-log 50 100"])
    proc = start_scan(run_dir, fake_gams_path, ["--profiles", "dual"])
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (out, err)
    _, rows = read_report(run_dir)
    assert rows[0]["status"] == "completed"
    assert float(rows[0]["objective"]) == pytest.approx(153.675)


def test_plain_output_is_one_line_per_status_change(tmp_path, fake_gams_path):
    run_dir = make_run(tmp_path, ["sleep 0.5"])
    proc = start_scan(run_dir, fake_gams_path, ["--profiles", "dual,primal"])
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, (out, err)
    text = out.decode()
    assert "\x1b" not in text
    for name in ("dual", "primal"):
        assert len(re.findall(r"\b%s: completed" % name, text)) == 1, text
        assert len(re.findall(r"\b%s: running" % name, text)) == 1, text


def test_failed_run_exit_code_wins_over_nothing(tmp_path, fake_gams_path):
    run_dir = make_run(tmp_path, ["exit 3"])
    proc = start_scan(run_dir, fake_gams_path, ["--profiles", "dual"])
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    _, rows = read_report(run_dir)
    assert rows[0]["status"] == "failed" and rows[0]["gams_rc"] == "3"
    assert "execution error" in rows[0]["gams_rc_meaning"].lower()
