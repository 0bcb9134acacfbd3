"""run_gams_with_progress's state transitions, with fakes: no process is started.

The runner is driven one loop turn at a time: the fake process's poll()
(which leader_exit_status() calls once per turn) runs the test's next step,
and the registry and the grace share one FakeClock, so "paused for 100 s"
or "exits 3 s into the grace" take no time and give exact figures.  What
real processes do is tests/test_runner.py's and the e2e tests' part.
"""

import os
import shutil
import threading

import pytest

from fakes import LEADER, OWN_PID, FakeClock, FakeWinApi
from times_doctor.proc import _windows as win
from times_doctor.job_control import (ACTION_INTERRUPT, ACTION_PAUSE, ACTION_RESUME,
                                      JobRegistry)
from times_doctor.proc.procgroup import JOB_ENV_VAR, GroupRef, ProcessGroups
from times_doctor.run.runner import RunSpec, run_gams_with_progress
from times_doctor.states import RunStatus

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
NAME = "dual"
TERM_RC, KILL_RC = -15, -9

S, R, P = RunStatus.STARTING, RunStatus.RUNNING, RunStatus.PAUSED


class FakePopen(object):
    """The GAMS process: exits when a step or the fake seam says so."""

    def __init__(self, pid, steps):
        self.pid = pid
        self.returncode = None
        self.turns = 0
        self._steps = list(steps)
        self._exited = threading.Event()

    def poll(self):
        """One runner loop turn: run the test's next step, then answer like Popen.poll()."""
        if self.returncode is None:
            if not self._steps:
                raise AssertionError("the run is still going after the last step")
            self.turns += 1
            self._steps.pop(0)()
        return self.returncode

    def wait(self):
        # The exit watcher thread waits here for the whole run.
        self._exited.wait(10)
        return self.returncode

    def exit(self, returncode):
        self.returncode = returncode
        self._exited.set()


class FakeGroups(ProcessGroups):
    """A recording process-group seam for one job whose leader is the FakePopen.

    terminate: "exits" (the default), "ignores", or a number of seconds on the
    clock after which the leader exits (a run that takes part of its grace).
    """

    def __init__(self, clock, terminate="exits", interrupt_answer=None):
        self.clock = clock
        self.on_terminate = terminate
        self.interrupt_answer = interrupt_answer  # POSIX answers None
        self.calls = []
        self.popen = None
        self.exit_at = None

    def popen_kwargs(self):
        return {"start_new_session": True}

    def attach(self, popen, marker):
        self.popen = popen
        self.calls.append(("attach", marker))
        return GroupRef(popen.pid, pgid=popen.pid, sid=popen.pid, marker=marker)

    def leader_exit_status(self, ref, popen):
        return popen.poll()

    def interrupt(self, ref):
        self.calls.append(("interrupt",))
        return self.interrupt_answer

    def terminate(self, ref):
        self.calls.append(("terminate", self.clock.now))
        if self.on_terminate == "exits":
            self.popen.exit(TERM_RC)
        elif self.on_terminate != "ignores":
            self.exit_at = self.clock.now + self.on_terminate

    def kill(self, ref):
        self.calls.append(("kill", self.clock.now))
        self.popen.exit(KILL_RC)

    def pause(self, ref):
        self.calls.append(("pause",))

    def resume(self, ref):
        self.calls.append(("resume",))

    def survivors(self, ref):
        if self.exit_at is not None and self.clock.now >= self.exit_at:
            self.popen.exit(TERM_RC)
        return [] if self.popen.returncode is not None else [self.popen.pid]

    def close(self, ref):
        self.calls.append(("close",))


class Harness(object):
    """One run of one profile: its spec, its registry on the fake clock, its statuses."""

    def __init__(self, tmp_path, groups=None, clock=None, grace_seconds=10.0):
        self.clock = clock or FakeClock()
        self.groups = groups or FakeGroups(self.clock)
        self.tmp_path = tmp_path
        self.spec = fake_spec(tmp_path)
        self.registry = JobRegistry(default_grace_seconds=grace_seconds,
                                    monotonic=self.clock.monotonic)
        self.event = self.registry.register(NAME)
        self.statuses = []
        self.registry.add_listener(lambda snap: self.statuses.append(snap.status),
                                   status_only=True)
        self.popen = None
        self.on_start = None  # called as the process starts (before attach)

    def run(self, steps, pid=4242, **kwargs):
        def start_process(command, **popen_kwargs):
            assert popen_kwargs["cwd"] == self.spec.work_dir
            assert set(self.groups.popen_kwargs()) <= set(popen_kwargs)
            if self.on_start is not None:
                self.on_start()
            self.popen = FakePopen(pid, steps)
            return self.popen
        kwargs.setdefault("grace_seconds", self.registry.default_grace_seconds)
        return run_gams_with_progress(
            self.spec, self.event, self.registry, groups=self.groups,
            monotonic=self.clock.monotonic, sleep=self.clock.sleep, poll_seconds=0,
            start_process=start_process, **kwargs)

    # Steps (each one loop turn).
    def advance(self, seconds):
        return lambda: self.clock.advance(seconds)

    def request(self, action, advance=0.0):
        def step():
            self.clock.advance(advance)
            assert self.registry.request_action(NAME, action)
        return step

    def cancel(self, advance=0.0, grace_seconds=None):
        def step():
            self.clock.advance(advance)
            assert self.registry.cancel(NAME, grace_seconds=grace_seconds)
        return step

    def expect(self, status, details=None):
        def step():
            snap = self.registry.get(NAME)
            assert snap.status == status
            if details is not None:
                assert snap.details == details
        return step

    def finish(self, returncode=0, advance=0.0):
        """GAMS ends by itself, its listing and log written (a real run's fixtures)."""
        def step():
            self.clock.advance(advance)
            shutil.copy(os.path.join(FIXTURES, "lst", "cplex_dual.lst"), self.spec.lst_path)
            shutil.copy(os.path.join(FIXTURES, "logs", "cplex_dual_run_log.txt"),
                        self.spec.log_path)
            self.popen.exit(returncode)
        return step


def fake_spec(tmp_path):
    """The RunSpec of profile "dual": nothing at its paths until a step writes them."""
    env = {JOB_ENV_VAR: "scan-1/%s" % NAME}
    return RunSpec(NAME, "cplex", None, str(tmp_path), ["gams", "model.gms"],
                   str(tmp_path / "dual_run_log.txt"), str(tmp_path / "model.lst"), env)


def call_names(groups):
    return [call[0] for call in groups.calls]


# -- waiting and starting ---------------------------------------------------------

def test_cancel_from_waiting_never_starts_the_process(tmp_path):
    run = Harness(tmp_path)
    run.registry.cancel(NAME)
    assert run.run([]) is None
    assert run.popen is None and run.groups.calls == []
    assert run.statuses == [RunStatus.CANCELLED]
    assert run.registry.get(NAME).elapsed_seconds is None


def test_start_failure_from_starting_fails_the_run_with_the_os_reason(tmp_path):
    run = Harness(tmp_path)

    def start_process(command, **kwargs):
        raise FileNotFoundError(2, "No such file or directory")
    result = run_gams_with_progress(run.spec, run.event, run.registry, groups=run.groups,
                                    monotonic=run.clock.monotonic, sleep=run.clock.sleep,
                                    start_process=start_process)
    assert (result.status, result.returncode) == (RunStatus.FAILED, None)
    assert result.message == "could not start GAMS: No such file or directory"
    assert run.statuses == [S, RunStatus.FAILED]
    assert run.registry.get(NAME).details == result.message
    assert run.groups.calls == []


def test_cancel_from_starting_ends_the_group_and_never_runs(tmp_path):
    """A cancel that lands while the process starts: it is ended, never shown running."""
    run = Harness(tmp_path)
    run.on_start = lambda: run.registry.cancel(NAME)
    result = run.run([])
    assert result.status == RunStatus.CANCELLED and result.returncode == TERM_RC
    assert run.popen.turns == 0  # the loop never ran
    assert run.statuses == [S, RunStatus.CANCELLED]
    assert call_names(run.groups) == ["attach", "terminate", "close"]
    assert run.registry.get(NAME).pid == 4242


# -- running ----------------------------------------------------------------------

def test_exit_from_running_completes_with_the_listings_result(tmp_path):
    run = Harness(tmp_path)
    result = run.run([run.advance(2), run.finish(0, advance=1)])
    assert (result.status, result.returncode, result.survivors) == (
        RunStatus.COMPLETED, 0, [])
    assert result.runtime_seconds == 3.0
    snap = run.registry.get(NAME)
    assert (snap.result, snap.phase, snap.progress) == ("optimal", "done", 1.0)
    assert run.statuses == [S, R, RunStatus.COMPLETED]
    assert call_names(run.groups) == ["attach", "close"]  # nothing left to sweep


def test_cancel_from_running_waits_while_the_run_exits_within_the_grace(tmp_path):
    run = Harness(tmp_path)
    run.groups.on_terminate = 3.0  # exits 3 s after SIGTERM
    result = run.run([run.advance(5), run.cancel()])
    assert result.status == RunStatus.CANCELLED and result.returncode == TERM_RC
    assert result.survivors == []
    assert call_names(run.groups) == ["attach", "terminate", "close"]  # never killed
    # The clock runs through the grace until the run is final: 5 s + about 3 s.
    assert result.runtime_seconds == pytest.approx(8.0, abs=0.06)


def test_cancel_from_running_kills_when_the_grace_runs_out(tmp_path):
    run = Harness(tmp_path)
    run.groups.on_terminate = "ignores"
    result = run.run([run.advance(5), run.cancel()])
    assert result.status == RunStatus.CANCELLED and result.returncode == KILL_RC
    (_, term_at), (_, kill_at) = run.groups.calls[1:3]
    assert 10.0 <= kill_at - term_at < 10.06
    assert run.statuses == [S, R, RunStatus.CANCELLED]


def test_second_cancel_from_running_in_the_grace_kills_at_once(tmp_path):
    """Double Ctrl+C: the second request's grace 0 moves the deadline mid-wait."""
    run = Harness(tmp_path, grace_seconds=60.0)
    run.groups.on_terminate = "ignores"
    clock = run.clock
    survivors = run.groups.survivors
    requested = []

    def survivors_with_second_request(ref):
        term_at = run.groups.calls[1][1]
        if clock.now - term_at >= 2.0 and not requested:
            requested.append(clock.now)
            run.registry.cancel(NAME, grace_seconds=0)
        return survivors(ref)
    run.groups.survivors = survivors_with_second_request
    result = run.run([run.cancel()])
    assert result.returncode == KILL_RC
    (_, term_at), (_, kill_at) = run.groups.calls[1:3]
    assert kill_at - term_at == pytest.approx(2.0, abs=0.06)  # not the 60 s grace


def test_cap_from_running_ends_the_group_and_the_run_as_capped(tmp_path):
    run = Harness(tmp_path)
    reason = "could not beat bar: 1.5 x 2.0 s"

    def cap():
        run.clock.advance(3)
        assert run.registry.cap(NAME, reason, grace_seconds=5)
    result = run.run([run.advance(1), cap])
    assert (result.status, result.returncode, result.message) == (
        RunStatus.CAPPED, TERM_RC, reason)
    snap = run.registry.get(NAME)
    assert (snap.stop_reason, snap.details) == (reason, reason)
    assert run.statuses == [S, R, RunStatus.CAPPED]
    assert call_names(run.groups) == ["attach", "terminate", "close"]


def test_cap_from_running_as_it_completes_by_itself_leaves_it_completed(tmp_path):
    run = Harness(tmp_path)
    finish = run.finish(0, advance=1)

    def cap_as_it_exits():
        finish()
        run.registry.cap(NAME, "could not beat bar")  # arrives after GAMS exited
    result = run.run([run.advance(1), cap_as_it_exits])
    assert result.status == RunStatus.COMPLETED
    snap = run.registry.get(NAME)
    assert snap.stop_reason == "" and snap.details.startswith("wall 2 s = GAMS")


def test_exit_from_running_records_the_timing_of_the_run(tmp_path):
    run = Harness(tmp_path)
    run.run([run.advance(2), run.finish(0, advance=1)])
    snap = run.registry.get(NAME)
    # cplex_dual.lst: RESOURCE USAGE 0.422, "--- Cplex Time: 0.42sec (det. 1148.67 ticks)".
    assert (snap.solver_seconds, snap.gams_seconds, snap.det_ticks, snap.work_units) == (
        0.422, 2.578, 1148.67, None)
    # The fake seam samples nothing: no CPU figure, no verdict.
    assert (snap.cpu_seconds, snap.cpu_share, snap.contended) == (None, None, None)
    assert snap.details == "wall 3 s = GAMS 2.58 + solver 0.42; 1149 ticks"


def test_timeout_from_running_ends_the_group(tmp_path):
    run = Harness(tmp_path)
    result = run.run([run.advance(4), run.advance(4), run.advance(4)], timeout_seconds=10)
    assert result.status == RunStatus.TIMEOUT and result.returncode == TERM_RC
    assert run.popen.turns == 3
    assert run.statuses == [S, R, RunStatus.TIMEOUT]
    assert call_names(run.groups) == ["attach", "terminate", "close"]


# -- paused -----------------------------------------------------------------------

def test_pause_and_resume_from_running_hold_the_clock(tmp_path):
    run = Harness(tmp_path)
    result = run.run([run.request(ACTION_PAUSE, advance=2), run.expect(P),
                      run.request(ACTION_RESUME, advance=100), run.expect(R),
                      run.finish(0, advance=3)])
    assert result.status == RunStatus.COMPLETED
    assert result.runtime_seconds == 5.0  # 2 s before the pause, 3 s after: 100 s paused
    assert run.statuses == [S, R, P, R, RunStatus.COMPLETED]
    assert call_names(run.groups) == ["attach", "pause", "resume", "close"]


def test_timeout_from_paused_does_not_fire_paused_time_does_not_count(tmp_path):
    """The docstring's promise: timeout_seconds counts running time only."""
    run = Harness(tmp_path)
    result = run.run([run.request(ACTION_PAUSE, advance=4),
                      run.advance(100), run.expect(P),  # 104 s on the wall, 4 on the run
                      run.request(ACTION_RESUME),
                      run.advance(5), run.expect(R),  # 9 s run: not yet
                      run.advance(2)], timeout_seconds=10)
    assert result.status == RunStatus.TIMEOUT
    assert result.runtime_seconds == 11.0
    assert run.statuses == [S, R, P, R, RunStatus.TIMEOUT]
    assert call_names(run.groups) == ["attach", "pause", "resume", "terminate", "close"]


def test_cancel_from_paused_goes_straight_to_cancelled_with_the_clock_held(tmp_path):
    run = Harness(tmp_path)
    result = run.run([run.request(ACTION_PAUSE, advance=3), run.advance(20),
                      run.cancel(advance=20)])
    assert result.status == RunStatus.CANCELLED and result.returncode == TERM_RC
    assert result.runtime_seconds == 3.0
    assert run.statuses == [S, R, P, RunStatus.CANCELLED]
    # No resume from the runner: the seam's terminate() continues what it
    # ended (SIGCONT on POSIX, resume on Windows), inside the grace.
    assert call_names(run.groups) == ["attach", "pause", "terminate", "close"]


def test_interrupt_from_paused_resumes_first_then_interrupts(tmp_path):
    run = Harness(tmp_path)
    result = run.run([run.request(ACTION_PAUSE, advance=1),
                      run.request(ACTION_INTERRUPT, advance=50),
                      run.expect(R), run.finish(0, advance=2)])
    assert result.status == RunStatus.INTERRUPTED and result.returncode == 0
    assert result.runtime_seconds == 3.0
    assert run.statuses == [S, R, P, R, RunStatus.INTERRUPTED]
    assert call_names(run.groups) == ["attach", "pause", "resume", "interrupt", "close"]
    assert run.registry.get(NAME).result == "optimal"  # GAMS reported after the interrupt


def test_interrupt_from_running_ends_as_interrupted_when_gams_exits(tmp_path):
    run = Harness(tmp_path)
    result = run.run([run.request(ACTION_INTERRUPT, advance=1), run.finish(0)])
    assert result.status == RunStatus.INTERRUPTED
    assert call_names(run.groups) == ["attach", "interrupt", "close"]


# -- Windows: the interrupt is a window message ------------------------------------

def windows_harness(tmp_path, windows=False, delivered=True):
    """The runner on procgroup's Windows class over tests/fakes.py's FakeWinApi."""
    clock = FakeClock()
    api = FakeWinApi(clock)
    api.spawn(OWN_PID, 1, group=1, created=1)
    api.spawn(LEADER, OWN_PID, group=LEADER)
    if windows:
        api.windows[win.gams_window_title(LEADER)] = 0x99
    api.copydata_delivered = delivered
    run = Harness(tmp_path, groups=win.WindowsProcessGroups(api), clock=clock)
    finish = run.finish(0)

    def gams_exits():
        api.processes[LEADER].alive = False
        finish()
    return run, api, gams_exits


@pytest.mark.parametrize("windows, delivered", [(False, True), (True, False)],
                         ids=["no-window", "not-delivered"])
def test_interrupt_from_running_without_a_gams_window_goes_on(tmp_path, windows, delivered):
    run, api, gams_exits = windows_harness(tmp_path, windows, delivered)
    not_available = "interrupt not available (no GAMS message window): the run goes on"
    result = run.run([run.request(ACTION_INTERRUPT, advance=1),
                      run.expect(R, details=not_available), run.advance(5), gams_exits],
                     pid=LEADER)
    # The run went on and completed: the row says so, not "interrupted".
    assert result.status == RunStatus.COMPLETED and result.returncode == 0
    assert result.runtime_seconds == 6.0
    assert run.statuses == [S, R, RunStatus.COMPLETED]
    snap = run.registry.get(NAME)
    assert snap.result == "optimal"
    # The note stays in front of what the log says, to the end of the run.
    assert snap.details.startswith(not_available + "; ") and len(snap.details) > len(
        not_available + "; ")
    assert [c for c in api.calls if c[0] in ("find_window", "send_copydata")][0] == (
        "find_window", win.gams_window_title(LEADER))
    assert ("send_copydata" in [c[0] for c in api.calls]) == windows


def test_interrupt_from_running_with_a_gams_window_ends_as_interrupted(tmp_path):
    run, api, gams_exits = windows_harness(tmp_path, windows=True)
    result = run.run([run.request(ACTION_INTERRUPT, advance=1), gams_exits], pid=LEADER)
    assert result.status == RunStatus.INTERRUPTED
    assert ("send_copydata", 0x99, win.GAMS_INTERRUPT_TAG, win.GAMS_INTERRUPT_MESSAGE) in \
        api.calls


def test_interrupt_from_paused_without_a_gams_window_leaves_the_run_running(tmp_path):
    """The runner resumes before it asks; with no window to ask, the run is left running."""
    run, api, gams_exits = windows_harness(tmp_path)
    api.spawn(LEADER + 1, LEADER)  # a solver to suspend and resume
    result = run.run([run.request(ACTION_PAUSE, advance=1), run.expect(P),
                      run.request(ACTION_INTERRUPT, advance=30), run.expect(R),
                      run.advance(2), gams_exits], pid=LEADER)
    assert result.status == RunStatus.COMPLETED
    assert result.runtime_seconds == 3.0
    assert run.statuses == [S, R, P, R, RunStatus.COMPLETED]
    actions = [c[0] for c in api.calls if c[0] in ("suspend", "resume", "find_window")]
    # Resumed first; then GAMS's window looked for on the leader and on its child.
    assert actions == ["suspend", "suspend", "resume", "resume", "find_window", "find_window"]
