"""The Windows process-group seam on real Windows processes (the Windows leg, under Wine).

Fake GAMS trees through ``.cmd`` and ``.exe`` (tests/wine_helpers.py): a GAMS
process, a solver grandchild writing the log as CPLEX does, sleepers that
ignore CTRL_BREAK, an orphan that left the tree, a grandchild that asks to
break away from the run's Job Object.  tests/test_procgroup_windows.py tests
the same seam's logic with a recording fake of WinApi, on any platform.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

if os.name != "nt":
    pytest.skip("Windows only: runs on the Windows leg (make test, tests/wine_leg.py)",
                allow_module_level=True)

from proc_helpers import wait_until  # noqa: E402 (below the skip)
from times_doctor.proc import procgroup  # noqa: E402 (below the skip)
from times_doctor.proc._winapi import KILLED_EXIT_CODE  # noqa: E402 (below the skip)
from times_doctor.job_control import _terminate_process_group  # noqa: E402 (below the skip)
from wine_helpers import (GAMS_CMD, ProcessWatch, logged_pids,  # noqa: E402 (below the skip)
                          read_text, wine_release)

UNDER_WINE = wine_release() is not None


@pytest.fixture(params=["cmd", "exe"])
def gams(request, gams_exe):
    return GAMS_CMD if request.param == "cmd" else gams_exe


class Tree(object):
    """One fake GAMS job started through the seam, as the runner starts one."""

    def __init__(self, folder, gams, directives):
        self.groups = procgroup.current()
        os.makedirs(folder)
        self.log = os.path.join(folder, "run_log.txt")
        with open(os.path.join(folder, "model.gms"), "w") as handle:
            handle.write("".join("* FAKE: %s\n" % line for line in directives))
        with open(os.path.join(folder, "stderr.txt"), "wb") as stderr:
            self.popen = subprocess.Popen(
                [gams, "model.gms", "logoption=2", "logfile=run_log.txt"], cwd=folder,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                env=dict(os.environ, FAKE_GAMS_PYTHON=sys.executable),
                **self.groups.popen_kwargs())
        self.ref = self.groups.attach(self.popen, "test/run")
        self.watch = ProcessWatch().add([self.popen.pid])

    def wait_logged(self, label, count=1):
        """The pids the fake logged under *label*, once there are *count*; watched from then."""
        pids = wait_until(lambda: len(logged_pids(self.log, label)) >= count
                          and logged_pids(self.log, label), 60,
                          message=lambda: "%d %s pid(s) in the log: %s"
                          % (count, label, read_text(self.log)))
        self.watch.add(pids)
        return pids

    def end(self):
        if self.popen.poll() is None or self.groups.survivors(self.ref):
            _terminate_process_group(self.ref, 0.0, self.groups)
        self.groups.reap(self.ref, self.popen)
        self.groups.close(self.ref)
        self.watch.close()


@pytest.fixture
def trees(tmp_path):
    started = []

    def start(gams, directives, name="run"):
        tree = Tree(str(tmp_path / name), gams, directives)
        started.append(tree)
        return tree
    yield start
    for tree in started:
        tree.end()


def test_attach_puts_the_leader_in_a_kill_on_close_job(trees, gams):
    tree = trees(gams, ["sleep 60"])
    native = tree.ref.native
    assert native.errors == []
    assert native.job is not None and native.leader is not None
    assert tree.ref.start_time is not None
    assert tree.popen.pid in tree.groups.win_api.job_pids(native.job)


def test_whole_tree_is_in_the_job_and_ends_after_ctrl_break_is_ignored(trees, gams):
    """GAMS, its solver and two sleepers, all ignoring CTRL_BREAK: terminate, grace, kill."""
    tree = trees(gams, ["ignore-term", "grandchildren 2 120", "solver 50 120"])
    sleepers = tree.wait_logged("grandchild", 2)
    solver = tree.wait_logged("solver")
    gams_pid = tree.wait_logged("gams")
    pids = set([tree.popen.pid] + sleepers + solver + gams_pid)
    job = set(tree.groups.win_api.job_pids(tree.ref.native.job))
    assert pids <= job, (pids, job)
    assert pids <= set(tree.groups.survivors(tree.ref))
    wait_until(lambda: "Iteration:" in read_text(tree.log), 30,
               message="the solver's CPLEX lines in the log")
    grace = 3.0
    started = time.monotonic()
    left = _terminate_process_group(tree.ref, grace, tree.groups)
    took = time.monotonic() - started
    assert left == []
    assert tree.watch.alive() == []
    assert tree.popen.wait(10) == KILLED_EXIT_CODE
    # Wine delivers no CTRL_BREAK (see test_ctrl_break_delivery), so the seam
    # kills at once; on Windows the ignored event costs the whole grace.
    assert took < (grace if UNDER_WINE else grace + 10), took


def test_orphan_that_left_the_tree_is_found_through_the_job(trees, gams):
    tree = trees(gams, ["orphan-grandchild 120", "sleep 120"])
    orphan = tree.wait_logged("orphan grandchild")[0]
    api = tree.groups.win_api
    assert orphan not in api.process_tree(tree.popen.pid)  # its parent is gone
    assert orphan in api.job_pids(tree.ref.native.job)
    assert orphan in tree.groups.survivors(tree.ref)
    assert _terminate_process_group(tree.ref, 0.0, tree.groups) == []
    assert tree.watch.alive() == []


def test_breaking_away_from_the_job_is_refused(trees, gams):
    """CREATE_BREAKAWAY_FROM_JOB needs JOB_OBJECT_LIMIT_BREAKAWAY_OK, which the seam never sets."""
    tree = trees(gams, ["breakaway-grandchild 120", "sleep 120"])
    wait_until(lambda: "--- fake: breakaway grandchild" in read_text(tree.log), 60,
               message="the breakaway attempt in the log")
    assert "--- fake: breakaway grandchild refused: [WinError 5]" in read_text(tree.log)
    assert _terminate_process_group(tree.ref, 0.0, tree.groups) == []
    assert tree.watch.alive() == []


def test_closing_the_job_handle_kills_every_process_left(trees, gams):
    """What happens to a run's tree when its scanner dies: Windows closes the job handle."""
    tree = trees(gams, ["ignore-term", "grandchildren 2 120", "orphan-grandchild 120",
                        "sleep 120"])
    tree.wait_logged("grandchild", 2)
    tree.wait_logged("orphan grandchild")
    tree.groups.close(tree.ref)
    tree.watch.wait_gone(10, "the run's processes after its job handle was closed")
    assert tree.popen.wait(10) == 0  # TerminateJobObject's code: kill-on-close uses 0


def test_pause_stops_the_solver_writing_and_resume_lets_it_go_on(trees, gams):
    tree = trees(gams, ["solver 100 120"])
    tree.wait_logged("solver")
    wait_until(lambda: "Iteration:" in read_text(tree.log), 30, message="the solver writing")
    tree.groups.pause(tree.ref)
    assert len(tree.ref.native.suspended) >= 2  # GAMS and its solver (and cmd.exe)
    paused_size = os.path.getsize(tree.log)
    # A stopped process writes nothing: watched for one second (an absence, so a sleep).
    time.sleep(1.0)
    assert os.path.getsize(tree.log) == paused_size
    tree.groups.resume(tree.ref)
    assert tree.ref.native.suspended == []
    wait_until(lambda: os.path.getsize(tree.log) > paused_size, 10,
               message="the solver writing again after resume")


def test_interrupt_reaches_gams_message_window_and_gams_reports(trees, gams):
    tree = trees(gams, ["message-window", "solver 50 120", "objective 42"])
    tree.wait_logged("solver")
    assert tree.groups.interrupt(tree.ref) is True
    assert tree.popen.wait(30) == 0
    text = read_text(tree.log)
    assert "--- fake: message window got dwData 1 b'GAMS Message Interrupt\\x00'" in text
    listing = read_text(os.path.join(os.path.dirname(tree.log), "model.lst"))
    assert "**** SOLVER STATUS     8 User Interrupt" in listing
    tree.watch.wait_gone(10, "GAMS and its solver after the interrupt")


def test_interrupt_without_gams_message_window_is_not_available(trees, gams):
    tree = trees(gams, ["ignore-term", "sleep 120"])
    tree.wait_logged("gams")
    assert tree.groups.interrupt(tree.ref) is False
    assert tree.popen.poll() is None  # nothing was sent that could end it


def test_ctrl_break_delivery(trees):
    """What CTRL_BREAK does on this Windows: Wine 8.0's console implements only CTRL_C.

    Wine's wineserver (server/console.c, propagate_console_signal) answers any
    other event with STATUS_NOT_IMPLEMENTED, so GenerateConsoleCtrlEvent fails
    and the seam kills at once instead of granting a grace (README, Windows).
    """
    tree = trees(GAMS_CMD, ["sleep 120"])
    tree.wait_logged("gams")
    if UNDER_WINE:
        with pytest.raises(OSError):
            os.kill(tree.popen.pid, signal.CTRL_BREAK_EVENT)
    else:
        os.kill(tree.popen.pid, signal.CTRL_BREAK_EVENT)
        tree.watch.wait_gone(30, "a tree that does not ignore CTRL_BREAK")
