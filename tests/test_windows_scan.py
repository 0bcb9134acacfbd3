"""Scans on Windows, end to end (the Windows leg, under Wine): fake GAMS trees, driven from
other Windows processes as a user drives them.

Every scan here is `python -m times_doctor scan` started as a separate Windows
process; status, cancel, interrupt, pause, resume and reap are further Windows
processes; the processes of each run are watched with handles of the test's own
(wine_helpers.ProcessWatch).  Paths have spaces and non-ASCII letters.
"""

import os
import subprocess
import sys
import time
import zipfile

import pytest

if os.name != "nt":
    pytest.skip("Windows only: runs on the Windows leg (make test, tests/wine_leg.py)",
                allow_module_level=True)

from proc_helpers import wait_until  # noqa: E402 (below the skip)
from scan_helpers import (build_zipapp, cli_env, jobs_by_name,  # noqa: E402 (below the skip)
                          profiles_opt_dir, read_report, read_state, run_cli, start_scan)
from wine_helpers import (GAMS_CMD, ProcessWatch, logged_pids, model,  # noqa: E402 (below the skip)
                          read_text, running, scan_args)

ENDED_BY_KILL = ("exit code 1, which ending its processes leaves (TerminateJobObject, "
                 "taskkill /F, TerminateProcess): not a GAMS return code")
TASKKILL = os.path.join(os.environ.get("SystemRoot", r"C:\windows"), "System32", "taskkill.exe")


@pytest.fixture
def env(tmp_path):
    """The CLI's environment, with a session registry of the test's own."""
    return cli_env({"LOCALAPPDATA": str(tmp_path / "appdata")})


def td(args, env, timeout=180):
    return run_cli(args, timeout=timeout, env=env)


def run_processes(job, labels=("gams", "grandchild", "solver")):
    """The leader (from the state file) and every pid the fake logged in the run's log."""
    pids = [job["pid"]]
    for label in labels:
        pids += logged_pids(job["log"], label)
    return pids


def wait_logged(out, names, label, count, scan):
    def logged():
        jobs = jobs_by_name(out)
        return all(len(logged_pids(jobs[name]["log"], label)) >= count
                   for name in names if name in jobs) and len(jobs) >= len(names) and jobs
    return wait_until(logged, 120, message="%d %s pid(s) logged by %s" % (count, label, names),
                      process=scan)


def clean_up(scan, watch=None):
    """A scan still running (a failed test) is killed; the watch's handles are closed."""
    if scan.poll() is None:
        scan.kill()
        scan.wait()
    if watch is not None:
        watch.close()


def watch_runs(scan, out, names, watch, labels=("gams", "grandchild", "solver"),
               logged="solver", count=1):
    """Once every run runs and has logged *count* *logged* pids, *watch* its leader and
    every pid logged under *labels*; returns the runs' jobs in the state file."""
    wait_until(lambda: running(out, names), 300, message="%d running runs" % len(names),
               process=scan)
    jobs = wait_logged(out, names, logged, count, scan)
    for name in names:
        watch.add(run_processes(jobs[name], labels))
    return jobs


def test_scan_through_gams_exe_in_folders_with_spaces_and_non_ascii(tmp_path, gams_exe, env):
    """Two profiles in parallel through gams.exe, the solver grandchild writing the log as
    CPLEX does; preflight, live progress, the CSV, the page and `status` from outside."""
    run_dir = model(str(tmp_path / "Modèle TIMES é" / "run dir"),
                    ["solver 200 1.5", "objective 42.5"])
    out = str(tmp_path / "résultats du scan \u6a21\u578b")  # 模型: not in cp1252
    # As a user's redirect runs it: the pipe gets the ANSI code page (cp1252).
    as_redirected = dict(env)
    del as_redirected["PYTHONIOENCODING"]
    code, stdout, stderr = td(scan_args(run_dir, gams_exe, out, "dual,bar_nox"), as_redirected)
    assert code == 0, (stdout, stderr)
    assert "Fastest optimal profile" in stdout
    # Piped output is cp1252 on Windows: what it cannot hold is escaped, not an error.
    assert "\\u6a21\\u578b" in stdout, stdout
    _, rows = read_report(out)
    assert [(row["profile"], row["status"], row["model_status"], row["objective"],
             row["gams_rc"], row["gams_rc_meaning"]) for row in rows] == [
        (name, "completed", "1 Optimal", "42.5", "0", "normal return")
        for name in ("dual", "bar_nox")]
    for row in rows:
        assert os.path.isdir(row["dir"]) and row["dir"].startswith(out)
        log = read_text(os.path.join(row["dir"], "%s_run_log.txt" % row["profile"]))
        assert logged_pids(os.path.join(row["dir"], "%s_run_log.txt" % row["profile"]),
                           "solver"), log
        assert "Iteration:" in log
        # The runner read the solver's lines as they came: the progress series has them.
        series = read_text(os.path.join(row["dir"], "progress_series.jsonl"))
        assert '"iteration": ' in series and '"phase": "dual simplex"' in series, series
    document = read_state(out)
    assert document["finished"] and document["exit_code"] == 0
    assert document["platform"] == "windows"
    assert os.path.exists(os.path.join(out, "times_doctor_out", "scan_report.html"))
    code, text, err = td(["status", out], env)
    assert code == 0 and "2 completed" in text and "finished, exit 0" in text, (text, err)


def test_cancel_interrupt_pause_resume_and_status_from_other_processes(tmp_path, env):
    """Through gams.cmd: every process of each run ignores CTRL_BREAK (which Wine does
    not deliver anyway); the fake has no GAMS message window, so `interrupt` cannot
    reach it: the run goes on and its Details say why."""
    run_dir = model(str(tmp_path / "run dir"),
                    ["ignore-term", "grandchildren 1 300", "solver 20 300"])
    out = str(tmp_path / "out ü")
    names = ["dual", "primal", "sift", "bar"]
    scan = start_scan(scan_args(run_dir, GAMS_CMD, out, ",".join(names)), env)
    watch = ProcessWatch()
    try:
        jobs = watch_runs(scan, out, names, watch)
        code, text, err = td(["status", out], env)
        assert code == 0 and "4 running" in text and text.count("Running") == 4, (text, err)

        # pause: the solver of primal writes no more; resume: it writes again.
        code, text, err = td(["pause", out, "primal"], env)
        assert code == 0 and "primal: paused" in text, (text, err)
        primal_log = jobs["primal"]["log"]
        paused_size = os.path.getsize(primal_log)
        time.sleep(1.0)  # an absence is watched for a while: nothing may be written
        assert os.path.getsize(primal_log) == paused_size
        code, text, err = td(["resume", out, "primal"], env)
        assert code == 0 and "primal: running" in text, (text, err)
        wait_until(lambda: os.path.getsize(primal_log) > paused_size, 30,
                   message="primal's solver writing again", process=scan)

        # interrupt without GAMS's message window: not available, the run goes on.
        started = time.monotonic()
        code, text, err = td(["interrupt", out, "sift"], env)
        assert code == 1, (text, err)
        assert ("sift: running (interrupt not available (no GAMS message window): the run "
                "goes on)") in text, text
        assert time.monotonic() - started < 60  # it did not wait out its 120 s
        assert jobs_by_name(out)["sift"]["status"] == "running"

        # cancel one: its whole tree is gone, the others run on.
        code, text, err = td(["cancel", out, "dual", "--grace-seconds", "2"], env)
        assert code == 0 and "dual: cancelled" in text, (text, err)
        dual = ProcessWatch().add(run_processes(jobs["dual"]))
        dual.wait_gone(15, "dual's tree after its cancel")
        dual.close()
        state = jobs_by_name(out)
        assert [state[name]["status"] for name in names[1:]] == ["running"] * 3
        assert state["sift"]["details"].startswith("interrupt not available")

        code, text, err = td(["cancel", out, "--all", "--grace-seconds", "2"], env)
        assert code == 0, (text, err)
        stdout, stderr = scan.communicate(timeout=120)
        watch.wait_gone(15, "every run's tree after cancel --all")
    finally:
        clean_up(scan, watch)
    assert scan.returncode == 3, (stdout, stderr)
    assert b"internal error" not in stderr
    _, rows = read_report(out)
    assert [(row["profile"], row["status"]) for row in rows] == [
        (name, "cancelled") for name in names]
    for row in rows:
        assert row["gams_rc"] == "1", row
        assert row["gams_rc_meaning"] == "cancelled by times-doctor; " + ENDED_BY_KILL, row
    document = read_state(out)
    assert document["finished"] and document["exit_code"] == 3


def test_zipapp_scan_interrupted_through_gams_message_window(tmp_path, gams_exe, env):
    """The zipapp as `make zipapp` builds it, under Windows CPython; GAMS (gams.exe) has
    its message window, so `interrupt` reaches it and GAMS reports solver status 8."""
    pyz = build_zipapp(tmp_path / "dist")
    with zipfile.ZipFile(pyz) as archive:
        assert "__main__.py" in archive.namelist()
    run_dir = model(str(tmp_path / "run"), ["message-window", "objective 7", "solver 20 300"])
    out = str(tmp_path / "out")
    zip_env = dict(env, PYTHONPATH="")
    scan = start_scan(scan_args(run_dir, gams_exe, out, "dual"), zip_env,
                      command=[sys.executable, pyz])
    try:
        wait_until(lambda: running(out, ["dual"]), 120, message="dual running", process=scan)
        wait_logged(out, ["dual"], "solver", 1, scan)
        code, text, err = run_cli(["interrupt", out, "dual"], env=zip_env, python=None)
        assert code == 0 and "dual: interrupted" in text, (text, err)
        stdout, stderr = scan.communicate(timeout=120)
    finally:
        clean_up(scan)
    assert scan.returncode == 3, (stdout, stderr)
    _, rows = read_report(out)
    row = rows[0]
    assert (row["status"], row["solver_status"], row["objective"], row["gams_rc"]) == (
        "interrupted", "8 User Interrupt", "7.0", "0")
    assert row["gams_rc_meaning"] == (
        "interrupted by times-doctor; then GAMS returned: normal return")
    log = read_text(os.path.join(row["dir"], "dual_run_log.txt"))
    assert "--- fake: message window got dwData 1 b'GAMS Message Interrupt\\x00'" in log


def test_scanner_ended_by_taskkill_takes_its_runs_with_it_and_reap_fixes_the_files(
        tmp_path, gams_exe, env):
    """`taskkill /F` on the scanner: Windows closes its Job Object handles, which kills every
    run's tree (kill-on-close); `reap` then finds nothing alive and marks the runs."""
    run_dir = model(str(tmp_path / "run"),
                    ["ignore-term", "grandchildren 2 300", "orphan-grandchild 300",
                     "solver 20 300"])
    out = str(tmp_path / "out")
    names = ["dual", "primal"]
    scan = start_scan(scan_args(run_dir, gams_exe, out, ",".join(names)), env)
    watch = ProcessWatch()
    try:
        watch_runs(scan, out, names, watch, ("gams", "grandchild", "orphan grandchild",
                                             "solver"))
        assert len(watch.alive()) == 2 * 5, watch.alive()  # gams, 2 sleepers, orphan, solver
        subprocess.check_call([TASKKILL, "/F", "/PID", str(scan.pid)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        scan.communicate(timeout=60)
        watch.wait_gone(15, "the runs of a scanner ended by taskkill /F")
    finally:
        clean_up(scan, watch)
    code, text, err = td(["status", out], env)
    assert code == 0 and "STALE" in text, (text, err)
    code, text, err = td(["reap", out], env)
    assert code == 0, (text, err)
    assert "marked 2 run(s) cancelled" in text, text
    document = read_state(out)
    assert document["finished"] and document["reaped"]
    assert [job["status"] for job in document["jobs"]] == ["cancelled", "cancelled"]
    _, rows = read_report(out)
    assert [(row["profile"], row["status"], row["gams_rc_meaning"]) for row in rows] == [
        (name, "cancelled", "cancelled by `times-doctor reap`: its scanner had died")
        for name in names]


def test_cancel_all_of_16_stubborn_runs_leaves_no_process(tmp_path, gams_exe, env):
    """The bench's cancel-all (bench/run.py bench_cancel_all), as a user does it: 16 runs
    whose GAMS and two sleepers each ignore CTRL_BREAK; `cancel --all`; no tree is left."""
    runs = 16
    run_dir = model(str(tmp_path / "run"), ["ignore-term", "grandchildren 2 600", "sleep 600"])
    opt_dir, names = profiles_opt_dir(str(tmp_path / "opts"), runs)
    out = str(tmp_path / "out")
    scan = start_scan(scan_args(run_dir, gams_exe, out, ",".join(names), workers=runs,
                                extra=["--opt-dir", opt_dir]), env)
    watch = ProcessWatch()
    try:
        watch_runs(scan, out, names, watch, logged="grandchild", count=2)
        assert len(watch.alive()) == runs * 3  # gams.exe (the leader) and two sleepers
        code, text, err = td(["cancel", out, "--all", "--grace-seconds", "2"], env)
        assert code == 0, (text, err)
        watch.wait_gone(30, "the 16 runs' trees after cancel --all")
        stdout, stderr = scan.communicate(timeout=120)
    finally:
        clean_up(scan, watch)
    assert scan.returncode == 3, (stdout, stderr)
    assert [row["status"] for row in read_report(out)[1]] == ["cancelled"] * runs


def test_bad_inputs_are_one_line_errors(tmp_path, gams_exe, env):
    """Windows-shaped mistakes: a GAMS folder without gams.exe, a file that is no program,
    a run folder that does not exist (non-ASCII in the name)."""
    run_dir = model(str(tmp_path / "run"), ["sleep 0"])
    no_gams = str(tmp_path / "GAMS ohne gams")
    os.makedirs(no_gams)
    not_a_program = str(tmp_path / "gams.txt")
    with open(not_a_program, "w") as handle:
        handle.write("not a program\n")
    cases = [
        (scan_args(run_dir, no_gams, str(tmp_path / "o1"), "dual"),
         "is a folder without a gams executable"),
        (scan_args(run_dir, not_a_program, str(tmp_path / "o2"), "dual"), "gams.txt"),
        (scan_args(str(tmp_path / "nicht da ü"), gams_exe, str(tmp_path / "o3"), "dual"),
         "nicht da ü"),
    ]
    for args, expected in cases:
        code, stdout, stderr = td(args, env)
        lines = stderr.splitlines()
        assert code == 2, (args, stdout, stderr)
        assert len(lines) == 1 and lines[0].startswith("times-doctor: error: "), stderr
        assert expected in lines[0], stderr
        assert "Traceback" not in stderr
    for out in ("o1", "o2", "o3"):
        assert not os.path.exists(str(tmp_path / out))
