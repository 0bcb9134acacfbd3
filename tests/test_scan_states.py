"""The scan's orchestration with a fake runner: workers, licence failures, the main loop.

Scan.run() does everything it does for real (work dirs, lock, session entry,
state file, control inbox, report), except that its workers call a fake
runner that keeps run_gams_with_progress's contract with the registry and
starts no process.  What GAMS and the process groups do is the e2e tests'
part; here it is the scan's decisions: which runs start, which end unstarted,
how a request or a signal reaches every run, and what the report then says.
"""

import io
import os
import signal
import sys
import threading
import time

import pytest

from proc_helpers import wait_until
from scan_helpers import FAKE_GAMS, read_report, read_state, scan_config
from times_doctor.remote import control
from times_doctor.errors import EXIT_CANCELLED, EXIT_OK, EXIT_RUN_FAILED, EXIT_SIGTERM
from times_doctor.gams.lst import LstResult
from times_doctor.run.runner import LICENCE_RC, RunResult
from times_doctor.scan.plan import plan_scan
from times_doctor.scan.scanner import Scan
from times_doctor.states import RunStatus

LICENCE_MESSAGE = "licensing error: Time-limited license expired"
BOTH = ["cplex:dual", "gurobi:dual", "cplex:primal", "gurobi:primal"]


class FakeRunner(object):
    """run_gams_with_progress's contract with the registry, with no process.

    behaviours: run name -> "completes", "licence" (GAMS rc 7), "waits" (until
    cancelled), "stubborn" (until cancelled and its grace deadline passes,
    as _terminate_process_group waits), "raises", or a number: it completes
    optimal and reports that many seconds (the CSV's time, which the ranking
    and --cap compare).  before_end: run name -> callable(registry), called
    just before the run goes final.  A run ended by a stop request ends as
    the registry says (cancelled, or capped).
    """

    def __init__(self, behaviours, before_end=None):
        self.behaviours = behaviours
        self.before_end = before_end or {}
        self.started = []
        self.grace_deadlines = {}  # name -> the deadline when the cancel was first seen
        self.active_at_start = {}  # name -> the other runs active when it started

    def __call__(self, spec, cancel_event, registry, timeout_seconds=0, grace_seconds=10.0,
                 log_seconds=None):
        name = spec.name
        if not registry.try_start(name):
            return None
        self.started.append(name)
        self.active_at_start[name] = [snap.name for snap in registry.snapshot()
                                      if snap.name != name and snap.status in (
                                          RunStatus.STARTING, RunStatus.RUNNING)]
        behaviour = self.behaviours[name]
        if behaviour == "raises":
            raise RuntimeError("the runner broke")
        registry.set_status(name, RunStatus.RUNNING)
        message = None
        if isinstance(behaviour, float):
            final = registry.set_status(name, RunStatus.COMPLETED, 0)
            return RunResult(name, RunStatus.COMPLETED, 0, behaviour, OPTIMAL, None, [])
        if behaviour == "completes":
            status, returncode = RunStatus.COMPLETED, 0
        elif behaviour == "licence":
            status, returncode, message = RunStatus.FAILED, LICENCE_RC, LICENCE_MESSAGE
        else:
            wait_until(lambda: cancel_event.wait(0.05) and registry.is_cancel_requested(name),
                       30, message="a cancel of %s" % name)
            self.grace_deadlines[name] = registry.grace_deadline(name)
            if behaviour == "stubborn":
                wait_until(lambda: time.monotonic() >= registry.grace_deadline(name), 30,
                           interval=0.01, message="the grace of %s" % name)
            status, returncode = registry.stop_status(name), -15
        if name in self.before_end:
            self.before_end[name](registry)
        final = registry.set_status(name, status, returncode)
        return RunResult(name, status, returncode, final.elapsed_seconds, None, message, [])


OPTIMAL = LstResult("1 Normal Completion", "1 Optimal", 10.0, "1 optimal", 12, 0.5, None, None)


def make_scan(tmp_path, runner, **config):
    run_dir = tmp_path / "run"
    if run_dir.exists():  # a second scan of the same folder (--resume)
        return _scan_of(tmp_path, runner, str(run_dir), config)
    run_dir.mkdir()
    (run_dir / "model.gms").write_text("* no GAMS runs this\n")
    return _scan_of(tmp_path, runner, str(run_dir), config)


def _scan_of(tmp_path, runner, run_dir, config):
    plan = plan_scan(scan_config(run_dir, FAKE_GAMS, **config))
    # The session entry goes to this test's folder, not the user's.
    environ = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path / "xdg"), HOME=str(tmp_path))
    return Scan(plan, stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                environ=environ, run_one=runner), run_dir


def rows_by_profile(run_dir):
    return dict((row["profile"], row) for row in read_report(run_dir)[1])


def jobs_by_name(run_dir):
    return dict((job["name"], job) for job in read_state(run_dir)["jobs"])


def all_running(scan, *names):
    """True once every run in *names* is registered and RUNNING."""
    registered = scan.registry.names()
    return all(name in registered and scan.registry.get(name).status == RunStatus.RUNNING
               for name in names)


def in_thread(target):
    thread = threading.Thread(target=target)
    thread.daemon = True
    thread.start()
    return thread


# -- the workers --------------------------------------------------------------------

def test_fail_waiting_from_waiting_after_its_solvers_licence_failed(tmp_path):
    """GAMS rc 7 for CPLEX: the waiting CPLEX runs end unstarted, Gurobi's go on."""
    runner = FakeRunner({"cplex:dual": "licence", "gurobi:dual": "completes",
                         "cplex:primal": "completes", "gurobi:primal": "completes"})
    scan, run_dir = make_scan(tmp_path, runner, solver="both", profiles=["dual", "primal"])
    assert scan.run() == EXIT_RUN_FAILED
    assert runner.started == ["cplex:dual", "gurobi:dual", "gurobi:primal"]
    skipped = scan.registry.get("cplex:primal")
    assert (skipped.status, skipped.pid, skipped.elapsed_seconds) == (
        RunStatus.FAILED, None, None)
    assert skipped.details == "not started: cplex licence error"
    rows = rows_by_profile(run_dir)
    assert [rows[name]["status"] for name in BOTH] == ["failed", "completed", "failed",
                                                       "completed"]
    assert rows["cplex:dual"]["gams_rc"] == "7"
    assert rows["cplex:dual"]["gams_rc_meaning"] == LICENCE_MESSAGE
    assert rows["cplex:primal"]["gams_rc"] == ""
    assert rows["cplex:primal"]["gams_rc_meaning"] == "not started: cplex licence error"
    assert jobs_by_name(run_dir)["cplex:primal"]["status"] == "failed"


def test_fail_waiting_from_cancelled_leaves_the_run_cancelled(tmp_path):
    """A run cancelled while it waited is not turned into a licence failure, nor labelled one."""
    runner = FakeRunner({"dual": "licence", "primal": "completes"},
                        before_end={"dual": lambda registry: registry.cancel("primal")})
    scan, run_dir = make_scan(tmp_path, runner, profiles=["dual", "primal"])
    assert scan.run() == EXIT_RUN_FAILED
    assert runner.started == ["dual"]
    snap = scan.registry.get("primal")
    assert snap.status == RunStatus.CANCELLED
    assert snap.details == ""
    rows = rows_by_profile(run_dir)
    assert (rows["dual"]["status"], rows["primal"]["status"]) == ("failed", "cancelled")
    assert rows["primal"]["gams_rc_meaning"] == "cancelled by times-doctor before it started"


def test_runner_error_from_starting_fails_the_run_and_reaches_the_caller(tmp_path):
    """A bug in the runner: the run fails, the others finish, the report is written, then it is raised."""
    runner = FakeRunner({"dual": "raises", "primal": "completes"})
    scan, run_dir = make_scan(tmp_path, runner, profiles=["dual", "primal"])
    with pytest.raises(RuntimeError, match="the runner broke"):
        scan.run()
    assert runner.started == ["dual", "primal"]
    rows = rows_by_profile(run_dir)
    assert (rows["dual"]["status"], rows["primal"]["status"]) == ("failed", "completed")
    assert rows["dual"]["gams_rc_meaning"] == "internal error: the runner broke"
    state = read_state(run_dir)
    assert state["finished"] and state["exit_code"] == EXIT_RUN_FAILED


# -- the main loop ------------------------------------------------------------------

def test_cancel_all_request_from_running_ends_the_running_and_the_waiting(tmp_path):
    """`times-doctor cancel --all` while one run runs and one waits (one worker)."""
    runner = FakeRunner({"dual": "waits", "primal": "waits"})
    scan, run_dir = make_scan(tmp_path, runner, profiles=["dual", "primal"])
    responses = []

    def client():
        wait_until(lambda: scan.inbox is not None and all_running(scan, "dual"), 30,
                   message="dual running")
        responses.append(control.send_request(run_dir, control.ACTION_CANCEL, all_runs=True))
    thread = in_thread(client)
    assert scan.run() == EXIT_CANCELLED
    thread.join(30)
    assert responses[0]["ok"] and responses[0]["applied"] == ["dual", "primal"]
    assert runner.started == ["dual"]  # primal was cancelled while it waited
    assert [row["status"] for row in read_report(run_dir)[1]] == ["cancelled", "cancelled"]
    assert "control request: cancel dual, primal" in scan.stdout.getvalue()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is not a console event there")
def test_second_signal_from_aborting_skips_the_grace(tmp_path):
    """SIGTERM cancels every run with the scan's grace; a second one moves the deadline to now."""
    runner = FakeRunner({"dual": "stubborn", "primal": "stubborn"})
    scan, run_dir = make_scan(tmp_path, runner, profiles=["dual", "primal"], parallel=True,
                              max_workers="2", grace_seconds="60")
    second_at = []

    def signals():
        wait_until(lambda: all_running(scan, "dual", "primal"), 30, message="both running")
        scan.signals._handler(signal.SIGTERM, None)
        wait_until(lambda: len(runner.grace_deadlines) == 2, 30, message="both cancels seen")
        second_at.append(time.monotonic())
        scan.signals._handler(signal.SIGTERM, None)
    thread = in_thread(signals)
    assert scan.run() == EXIT_SIGTERM
    thread.join(30)
    for name in ("dual", "primal"):
        first = runner.grace_deadlines[name]
        assert first >= second_at[0] + 50  # the first request's 60 s grace ...
        assert scan.registry.grace_deadline(name) <= second_at[0] + 1  # ... cut short
    assert [row["status"] for row in read_report(run_dir)[1]] == ["cancelled", "cancelled"]
    assert "SIGTERM: cancelling 2 run(s) and stopping the scan" in scan.stdout.getvalue()


def test_page_of_the_ended_runs_is_written_by_the_main_loop_while_others_run(tmp_path,
                                                                             monkeypatch):
    """A run ends: its CSV row at once (its worker), the HTML page soon after (the main loop).

    The worker that ran it never renders the page, so it starts its next run
    at once; a killed scan still has a page at most HTML_REFRESH_SECONDS old.
    """
    from times_doctor.report import page as report_page
    from times_doctor.scan import scanner as scan_module
    renders = []  # (thread name, profiles on the page)
    real_write = report_page.write_html_beside

    def recording_write(csv_path, rows):
        renders.append((threading.current_thread().name, [row["profile"] for row in rows]))
        return real_write(csv_path, rows)
    monkeypatch.setattr(report_page, "write_html_beside", recording_write)
    monkeypatch.setattr(scan_module, "HTML_REFRESH_SECONDS", 0.5)
    runner = FakeRunner({"dual": "completes", "primal": "waits"})
    scan, run_dir = make_scan(tmp_path, runner, profiles=["dual", "primal"], parallel=True,
                              max_workers="2")
    page = os.path.join(run_dir, "times_doctor_out", "scan_report.html")

    def cancel_primal_once_the_page_shows_dual():
        wait_until(lambda: any("dual" in shown for _, shown in renders) and os.path.exists(page),
                   30, message="a page with dual's row")
        assert scan.registry.get("primal").status == RunStatus.RUNNING
        assert [row["status"] for row in read_report(run_dir)[1]] == ["completed"]
        scan.registry.cancel("primal")
    thread = in_thread(cancel_primal_once_the_page_shows_dual)
    assert scan.run() == EXIT_CANCELLED
    thread.join(30)
    assert renders and all(name == "MainThread" for name, _ in renders), renders
    assert renders[-1][1] == ["dual", "primal"]  # the final page, after the final CSV


def test_page_that_cannot_be_written_while_runs_go_on_is_a_warning_once(tmp_path, monkeypatch):
    """The page is a view: a full disk under it warns once; the runs and the CSV go on."""
    import errno
    from times_doctor.report import page as report_page
    from times_doctor.scan import scanner as scan_module
    real_write = report_page.write_html_beside
    failures = []

    def failing_write(csv_path, rows):
        if len(rows) < 3:  # every page written while a run still runs
            failures.append(len(rows))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(csv_path, rows)
    monkeypatch.setattr(report_page, "write_html_beside", failing_write)
    monkeypatch.setattr(scan_module, "HTML_REFRESH_SECONDS", 0.2)
    runner = FakeRunner({"dual": "completes", "primal": "waits", "sift": "waits"})
    scan, run_dir = make_scan(tmp_path, runner, profiles=["dual", "primal", "sift"],
                              parallel=True, max_workers="3")

    def end_the_runs_one_failed_page_at_a_time():
        wait_until(lambda: failures == [1], 30, message="the page of dual failed")
        scan.registry.cancel("sift")
        wait_until(lambda: failures == [1, 2], 30, message="the page of dual, sift failed")
        assert scan.registry.get("primal").status == RunStatus.RUNNING
        scan.registry.cancel("primal")
    thread = in_thread(end_the_runs_one_failed_page_at_a_time)
    assert scan.run() == EXIT_CANCELLED
    thread.join(30)
    assert failures == [1, 2]
    text = scan.stdout.getvalue()
    assert text.count("warning: could not write scan_report.html: No space left on device") == 1
    assert [row["status"] for row in read_report(run_dir)[1]] == ["completed", "cancelled",
                                                                 "cancelled"]
    assert os.path.exists(os.path.join(run_dir, "times_doctor_out", "scan_report.html"))


def test_state_file_held_open_while_runs_go_on_is_a_warning_once(tmp_path, monkeypatch):
    """A reader that keeps scan_state.json open past the retries costs a warning, not the scan.

    Before: the main loop's once-a-second rewrite raised out of it, and the
    scan ended every run as cancelled with "internal error: PermissionError"
    (found on the Windows leg: a `status` reading the file at the wrong moment).
    """
    from times_doctor import atomic
    from times_doctor.scan import state_file
    monkeypatch.setattr(atomic, "REPLACE_PAUSES", (0.001,))
    real_write = state_file.write_atomic
    refused = []

    def write_atomic(path, text, *args, **kwargs):
        if len(refused) < 3 and "primal" in text and '"running"' in text:
            refused.append(path)
            raise PermissionError(13, "Access is denied")  # Windows: a reader has it open
        return real_write(path, text, *args, **kwargs)
    monkeypatch.setattr(state_file, "write_atomic", write_atomic)
    runner = FakeRunner({"dual": "completes", "primal": "waits"})
    scan, run_dir = make_scan(tmp_path, runner, profiles=["dual", "primal"], parallel=True,
                              max_workers="2")

    def cancel_primal_after_the_refusals():
        wait_until(lambda: len(refused) == 3, 30, message="three refused writes")
        scan.registry.cancel("primal")
    thread = in_thread(cancel_primal_after_the_refusals)
    assert scan.run() == EXIT_CANCELLED
    thread.join(30)
    text = scan.stdout.getvalue()
    assert text.count("warning: could not update %s: Access is denied" % scan.state_path) == 1
    assert "runs go on" in text
    assert [(job["name"], job["status"]) for job in read_state(run_dir)["jobs"]] == [
        ("dual", "completed"), ("primal", "cancelled")]
    assert read_state(run_dir)["finished"] is True


def test_csv_held_open_while_runs_go_on_is_a_warning_once(tmp_path, monkeypatch):
    """Excel holding scan_report.csv while runs end: said once, written again at the end."""
    from times_doctor.scan import scanner as scan_module
    real_write = scan_module.write_report
    refused = []

    def write_report(path, rows, html=True):
        if not html:  # every partial CSV, written as a run ends
            refused.append(len(rows))
            raise PermissionError(13, "Access is denied")
        return real_write(path, rows, html=html)
    monkeypatch.setattr(scan_module, "write_report", write_report)
    runner = FakeRunner({"dual": "completes", "primal": "completes", "sift": "completes"})
    scan, run_dir = make_scan(tmp_path, runner, profiles=["dual", "primal", "sift"])
    assert scan.run() == 0
    assert len(refused) >= 2
    text = scan.stdout.getvalue()
    assert text.count("warning: could not write %s: Access is denied" % scan.report_path) == 1
    assert [row["status"] for row in read_report(run_dir)[1]] == ["completed"] * 3


def test_last_state_write_refused_for_a_while_is_tried_again(tmp_path, monkeypatch):
    """The scan's last state file must land: a reader holding it (Windows) only delays it."""
    from times_doctor.scan import scanner as scan_module, state_file
    monkeypatch.setattr(scan_module, "FINAL_WRITE_PAUSE_SECONDS", 0.01)
    real_finish = state_file.StateFileWriter.finish
    refused = []

    def finish(self, exit_code):
        if len(refused) < 3:
            refused.append(exit_code)
            raise PermissionError(13, "Access is denied")
        return real_finish(self, exit_code)
    monkeypatch.setattr(state_file.StateFileWriter, "finish", finish)
    scan, run_dir = make_scan(tmp_path, FakeRunner({"dual": "completes"}))
    assert scan.run() == 0
    assert refused == [0, 0, 0]
    document = read_state(run_dir)
    assert document["finished"] is True and document["exit_code"] == 0


# -- which profile is best: --cap, --race, --confirm, --repeat ---------------------------

def test_cap_from_running_stops_the_runs_that_can_no_longer_win_and_the_scan_passes(tmp_path):
    runner = FakeRunner({"quick": 0.01, "dual": "waits", "primal": "waits"})
    scan, run_dir = make_scan(tmp_path, runner, profiles=["quick", "dual", "primal"],
                              opt_dir=str(_opts(tmp_path, "quick")), parallel=True,
                              max_workers="3", cap="1.5")
    assert scan.run() == EXIT_OK  # capped runs do not fail the scan
    rows = rows_by_profile(run_dir)
    assert [rows[name]["status"] for name in ("quick", "dual", "primal")] == [
        "completed", "capped", "capped"]
    assert rows["dual"]["stop_reason"] == "could not beat quick: 1.5 x 0.01 s"
    assert (rows["quick"]["rank"], rows["dual"]["rank"]) == ("1", "")
    text = scan.stdout.getvalue()
    assert "dual: capped: could not beat quick: 1.5 x 0.01 s" in text
    assert "   -  dual    capped: could not beat quick: 1.5 x 0.01 s" in text
    assert "To run what did not complete" not in text
    jobs = jobs_by_name(run_dir)
    assert jobs["primal"]["status"] == "capped" and jobs["primal"]["details"].startswith(
        "could not beat quick")


def test_race_from_waiting_caps_the_runs_that_never_started(tmp_path):
    runner = FakeRunner({"dual": 2.0, "primal": 1.0, "sift": 1.0})
    scan, run_dir = make_scan(tmp_path, runner, profiles=["dual", "primal", "sift"], race=True)
    assert scan.run() == EXIT_OK
    assert runner.started == ["dual"]
    rows = rows_by_profile(run_dir)
    assert [rows[name]["status"] for name in ("dual", "primal", "sift")] == [
        "completed", "capped", "capped"]
    assert rows["sift"]["stop_reason"] == "race: dual finished first, in 2.00 s"


def test_confirm_re_runs_the_best_alone_after_the_scan_and_ranks_on_those(tmp_path):
    runner = FakeRunner({"dual": 5.0, "primal": 3.0, "sift": 9.0,
                         "primal.confirm": 2.5, "dual.confirm": 2.0})
    scan, run_dir = make_scan(tmp_path, runner, profiles=["dual", "primal", "sift"],
                              parallel=True, max_workers="3", confirm="2")
    assert scan.run() == EXIT_OK
    assert sorted(runner.started[:3]) == ["dual", "primal", "sift"]
    assert runner.started[3:] == ["primal.confirm", "dual.confirm"]  # best first
    # Alone: nothing else of the scan ran beside a confirmation run.
    assert runner.active_at_start["primal.confirm"] == []
    assert runner.active_at_start["dual.confirm"] == []
    rows = rows_by_profile(run_dir)
    assert [(name, rows[name]["rank"], rows[name]["rank_basis"], rows[name]["run_kind"])
            for name in ("dual", "primal", "sift", "primal.confirm", "dual.confirm")] == [
        ("dual", "1", "confirm: 1 run alone", "scan"),
        ("primal", "2", "confirm: 1 run alone", "scan"),
        ("sift", "3", "scan: 1 run", "scan"),
        ("primal.confirm", "2", "confirm: 1 run alone", "confirm"),
        ("dual.confirm", "1", "confirm: 1 run alone", "confirm")]
    text = scan.stdout.getvalue()
    assert "confirming the 2 best profile(s) alone, one run at a time: primal, dual" in text
    assert "Winner: dual, 2.00 s wall (confirm: 1 run alone); runner-up primal" in text
    best_file = os.path.join(run_dir, "times_doctor_out", "best", "cplex.opt")
    assert "Best option file: %s" % best_file in text
    with open(best_file) as handle:
        assert handle.read().endswith("lpmethod 2\nthreads 1\nsimdisplay 2\nbardisplay 2\n")
    jobs = jobs_by_name(run_dir)
    assert (jobs["dual.confirm"]["kind"], jobs["dual.confirm"]["trial_of"]) == ("confirm",
                                                                              "dual")


def test_repeat_runs_each_trial_and_the_csv_has_a_row_per_trial(tmp_path):
    runner = FakeRunner({"dual": 3.0, "dual.r2": 3.2, "dual.r3": 2.9,
                         "primal": 6.0, "primal.r2": 6.1, "primal.r3": 5.9})
    scan, run_dir = make_scan(tmp_path, runner, profiles=["dual", "primal"], repeat="3")
    assert scan.run() == EXIT_OK
    _, rows = read_report(run_dir)
    assert [(row["profile"], row["trial_of"], row["trial"], row["seed"]) for row in rows] == [
        ("dual", "dual", "1", ""), ("dual.r2", "dual", "2", "1"), ("dual.r3", "dual", "3", "2"),
        ("primal", "primal", "1", ""), ("primal.r2", "primal", "2", "1"),
        ("primal.r3", "primal", "3", "2")]
    assert "Winner: dual, 3.00 s (2.90-3.20) wall (scan: median of 3 runs)" in \
        scan.stdout.getvalue()


def test_resume_keeps_capped_and_confirmed_runs(tmp_path):
    first = FakeRunner({"quick": 0.01, "dual": "waits", "quick.confirm": 0.02})
    scan, run_dir = make_scan(tmp_path, first, profiles=["quick", "dual"],
                              opt_dir=str(_opts(tmp_path, "quick")), parallel=True,
                              max_workers="2", cap="1.5", confirm="1")
    assert scan.run() == EXIT_OK
    assert first.started[-1] == "quick.confirm"
    again = FakeRunner({})
    # --cap and --confirm come from the earlier scan's options.
    scan, _ = make_scan(tmp_path, again, resume=True, profiles=["quick", "dual"],
                        opt_dir=str(_opts(tmp_path, "quick")))
    assert scan.run() == EXIT_OK
    assert again.started == []  # nothing ran again
    text = scan.stdout.getvalue()
    assert "kept (completed, inputs unchanged): quick" in text
    assert "kept (capped, inputs unchanged): dual" in text
    assert "kept for the confirmation, if it runs the same profiles alone again: " \
        "quick.confirm" in text
    rows = rows_by_profile(run_dir)
    assert [(name, rows[name]["status"]) for name in ("quick", "dual", "quick.confirm")] == [
        ("quick", "completed"), ("dual", "capped"), ("quick.confirm", "completed")]
    assert rows["quick"]["rank_basis"] == "confirm: 1 run alone"
    jobs = jobs_by_name(run_dir)
    assert jobs["dual"]["details"].startswith("kept: could not beat quick")
    assert jobs["quick.confirm"]["kept"] is True


def _opts(tmp_path, *names):
    """An --opt-dir with a CPLEX profile per name (no GAMS reads them here)."""
    folder = tmp_path / "opts"
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / ("%s.opt" % name)).write_text("epgap 1\n")
    return folder


def test_cancel_all_request_from_running_skips_the_confirmation(tmp_path):
    """`cancel --all` stops the scan's work: no confirmation runs start afterwards."""
    runner = FakeRunner({"dual": 1.0, "primal": "waits"})
    scan, run_dir = make_scan(tmp_path, runner, profiles=["dual", "primal"], parallel=True,
                              max_workers="2", confirm="1")

    def client():
        wait_until(lambda: scan.inbox is not None and all_running(scan, "primal")
                   and scan.registry.get("dual").status == RunStatus.COMPLETED, 30,
                   message="dual completed, primal running")
        control.send_request(run_dir, control.ACTION_CANCEL, all_runs=True)
    thread = in_thread(client)
    assert scan.run() == EXIT_CANCELLED
    thread.join(30)
    assert sorted(runner.started) == ["dual", "primal"]
    assert scan.registry.names() == ["dual", "primal"]  # no dual.confirm
