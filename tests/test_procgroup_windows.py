"""The Windows seam, on any platform: a recording fake of WinApi for the logic,
fake DLLs for WinApi's ctypes code, and the documented 64-bit struct layouts.

Nothing here starts a Windows process: whether Windows (and GAMS) behave as
the fakes do is the part these tests cannot show.
"""

import ctypes
import subprocess
import sys

import pytest

from times_doctor.proc import _windows as win, _winapi, _windows_ctypes as w32
from times_doctor.job_control import _terminate_process_group
from times_doctor.proc.procgroup import GroupRef

from fakes import CHILD, JOB, LEADER, OWN_PID, SOLVER, FakeClock, FakeWinApi


class FakePopen(object):
    def __init__(self, pid, returncode=None):
        self.pid = pid
        self.returncode = returncode
        self.polls = 0

    def poll(self):
        self.polls += 1
        return self.returncode


def start_run(api, solver_breaks=True, leader_breaks=True):
    """GAMS (LEADER) -> gamscmex (CHILD) -> solver (SOLVER), as the seam sees it.

    The leader is attached right after it starts, before it has children,
    so the children join the job by inheritance.
    """
    api.spawn(OWN_PID, 1, group=1, created=1)
    api.spawn(LEADER, OWN_PID, breaks=leader_breaks, group=LEADER)
    groups = win.WindowsProcessGroups(api)
    ref = groups.attach(FakePopen(LEADER), "scan-1/dual")
    api.spawn(CHILD, LEADER, breaks=leader_breaks)
    api.spawn(SOLVER, CHILD, breaks=solver_breaks)
    del api.calls[:]
    del api.call_times[:]
    return groups, ref


def names(calls):
    return [call[0] for call in calls]


# -- start and attach ------------------------------------------------------

def test_popen_kwargs_start_a_new_process_group():
    assert win.WindowsProcessGroups(FakeWinApi()).popen_kwargs() == {
        "creationflags": 0x200}


def test_attach_from_started_creates_job_sets_kill_on_close_and_assigns_leader():
    api = FakeWinApi()
    api.spawn(LEADER, OWN_PID, group=LEADER)
    ref = win.WindowsProcessGroups(api).attach(FakePopen(LEADER), "scan-1/dual")
    leader_handle = JOB + 1
    job = JOB + 2
    assert api.calls == [("open_process", LEADER), ("create_job",),
                         ("set_kill_on_close", job), ("assign", job, leader_handle),
                         ("process_creation_time", LEADER)]
    assert (ref.pid, ref.pgid, ref.sid, ref.marker) == (LEADER, LEADER, None, "scan-1/dual")
    assert ref.start_time == LEADER * 10 ** 7 and isinstance(ref.start_time, int)
    assert (ref.native.job, ref.native.leader, ref.native.errors) == (job, leader_handle, [])
    assert api.jobs[job] == {LEADER}


def test_attach_from_started_without_job_when_create_job_fails():
    api = FakeWinApi()
    api.spawn(LEADER, OWN_PID, group=LEADER)
    api.fail["create_job"] = OSError("Access is denied")
    groups = win.WindowsProcessGroups(api)
    ref = groups.attach(FakePopen(LEADER), "m")
    assert ref.native.job is None
    assert "cannot create a Job Object" in ref.native.errors[0]
    assert groups.survivors(ref) == [LEADER]  # the tree walk still works


def test_attach_from_started_drops_job_when_assign_fails():
    api = FakeWinApi()
    api.spawn(LEADER, OWN_PID, group=LEADER)
    api.fail["assign"] = OSError("Access is denied")
    ref = win.WindowsProcessGroups(api).attach(FakePopen(LEADER), "m")
    assert names(api.calls) == ["open_process", "create_job", "set_kill_on_close", "assign",
                                "close_handle", "process_creation_time"]
    assert api.calls[4] == ("close_handle", JOB + 2)
    assert ref.native.job is None and ref.native.leader == JOB + 1
    assert "cannot assign process 500" in ref.native.errors[0]


def test_attach_from_started_keeps_job_when_kill_on_close_fails():
    api = FakeWinApi()
    api.spawn(LEADER, OWN_PID, group=LEADER)
    api.fail["set_kill_on_close"] = OSError("nope")
    ref = win.WindowsProcessGroups(api).attach(FakePopen(LEADER), "m")
    assert ref.native.job == JOB + 2 and api.jobs[JOB + 2] == {LEADER}
    assert "kill-on-close" in ref.native.errors[0]


def test_leader_exit_status_from_running_and_exited_is_popen_poll():
    groups = win.WindowsProcessGroups(FakeWinApi())
    ref = GroupRef(LEADER, pgid=LEADER)
    assert groups.leader_exit_status(ref, FakePopen(LEADER)) is None
    assert groups.leader_exit_status(ref, FakePopen(LEADER, returncode=3)) == 3


# -- survivors -------------------------------------------------------------

def test_survivors_from_running_unions_job_and_tree_without_own_pid():
    api = FakeWinApi()
    groups, ref = start_run(api)
    # An orphan in the job whose parent link is lost (its parent exited and
    # the pid went elsewhere), and our own pid appearing in the job.
    api.spawn(600, 599, group=LEADER)
    api.jobs[ref.native.job].update([600, OWN_PID])
    assert groups.survivors(ref) == [LEADER, CHILD, SOLVER, 600]


def test_survivors_from_closed_uses_tree_only():
    api = FakeWinApi()
    groups, ref = start_run(api)
    groups.close(ref)
    api.processes[LEADER].alive = False
    # The solver's parent is alive, so the walk still reaches it.
    assert groups.survivors(ref) == [CHILD, SOLVER]


def test_survivors_from_exited_is_empty():
    api = FakeWinApi()
    groups, ref = start_run(api)
    for process in api.processes.values():
        if process.pid != OWN_PID:
            process.alive = False
    assert groups.survivors(ref) == []


# -- terminate -------------------------------------------------------------

def test_terminate_from_running_sends_ctrl_break_to_the_group():
    api = FakeWinApi()
    groups, ref = start_run(api)
    groups.terminate(ref)
    assert api.calls == [("send_ctrl_break", LEADER)]
    assert api.alive() == [OWN_PID]


def test_terminate_from_paused_resumes_before_ctrl_break():
    api = FakeWinApi()
    groups, ref = start_run(api)
    groups.pause(ref)
    del api.calls[:]
    groups.terminate(ref)
    assert api.calls == [("resume", LEADER), ("resume", CHILD), ("resume", SOLVER),
                         ("send_ctrl_break", LEADER)]
    assert ref.native.suspended == []
    assert api.alive() == [OWN_PID]


def test_terminate_from_paused_sends_ctrl_break_even_if_resume_fails():
    api = FakeWinApi()
    groups, ref = start_run(api)
    groups.pause(ref)
    del api.calls[:]
    api.fail["resume"] = OSError("Access is denied")
    groups.terminate(ref)
    assert names(api.calls) == ["resume", "resume", "resume", "send_ctrl_break"]


def test_terminate_from_exited_ignores_undeliverable_ctrl_break():
    api = FakeWinApi()
    groups, ref = start_run(api)
    for pid in (LEADER, CHILD, SOLVER):
        api.processes[pid].alive = False
    groups.terminate(ref)  # no exception: the group is just gone
    assert api.calls == [("send_ctrl_break", LEADER)]


def test_terminate_from_running_kills_at_once_when_ctrl_break_cannot_be_delivered():
    api = FakeWinApi()
    groups, ref = start_run(api)
    api.fail["send_ctrl_break"] = OSError("The handle is invalid")  # no console
    groups.terminate(ref)
    assert api.calls == [("send_ctrl_break", LEADER), ("terminate_job", ref.native.job, 1)]
    assert api.alive() == [OWN_PID]


# -- kill ------------------------------------------------------------------

def test_kill_from_running_stops_at_terminate_job_when_it_ends_everything():
    api = FakeWinApi()
    groups, ref = start_run(api)
    groups.kill(ref)
    assert api.calls == [("terminate_job", ref.native.job, 1)]
    assert api.alive() == [OWN_PID]


def test_kill_runs_taskkill_when_the_job_leaves_survivors():
    api = FakeWinApi()
    groups, ref = start_run(api)
    api.job_kills = False
    groups.kill(ref)
    assert api.calls == [("terminate_job", ref.native.job, 1), ("run_taskkill", LEADER)]
    assert api.alive() == [OWN_PID]


def test_kill_falls_back_to_terminateprocess_when_taskkill_fails():
    api = FakeWinApi()
    groups, ref = start_run(api)
    api.job_kills = False
    api.taskkill_rc, api.taskkill_kills = 128, False
    groups.kill(ref)
    # Children before parents, the leader last.
    assert api.calls == [("terminate_job", ref.native.job, 1), ("run_taskkill", LEADER),
                         ("open_and_terminate", SOLVER), ("open_and_terminate", CHILD),
                         ("open_and_terminate", LEADER)]
    assert api.alive() == [OWN_PID]


def test_kill_falls_back_to_terminateprocess_when_taskkill_succeeds_with_survivors():
    api = FakeWinApi()
    groups, ref = start_run(api)
    api.job_kills = False
    api.taskkill_kills = False  # says 0, but something is left
    api.processes[CHILD].alive = False  # the solver is an orphan, found by the job
    groups.kill(ref)
    assert names(api.calls) == ["terminate_job", "run_taskkill", "open_and_terminate",
                                "open_and_terminate"]
    assert api.calls[2:] == [("open_and_terminate", SOLVER), ("open_and_terminate", LEADER)]
    assert api.alive() == [OWN_PID]


def test_kill_from_running_without_job_starts_with_taskkill():
    api = FakeWinApi()
    api.fail["create_job"] = OSError("Access is denied")
    groups, ref = start_run(api)
    groups.kill(ref)
    assert api.calls == [("run_taskkill", LEADER)]
    assert api.alive() == [OWN_PID]


def test_kill_records_refusals_and_keeps_going():
    api = FakeWinApi()
    groups, ref = start_run(api)
    api.job_kills, api.taskkill_kills, api.taskkill_rc = False, False, 1
    api.unkillable = {CHILD}
    api.fail["terminate_job"] = OSError("Access is denied")
    groups.kill(ref)  # does not raise: the caller re-checks survivors
    assert api.alive() == [OWN_PID, CHILD]
    assert [e.split(":")[0] for e in ref.native.kill_errors] == [
        "TerminateJobObject", "TerminateProcess(501)"]


def test_kill_from_exited_only_terminates_the_job():
    api = FakeWinApi()
    groups, ref = start_run(api)
    for pid in (LEADER, CHILD, SOLVER):
        api.processes[pid].alive = False
    groups.kill(ref)
    assert api.calls == [("terminate_job", ref.native.job, 1)]


def test_kill_errors_are_bounded():
    api = FakeWinApi()
    groups, ref = start_run(api)
    api.fail["terminate_job"] = OSError("Access is denied")
    api.taskkill_kills, api.unkillable = False, {LEADER}
    for _ in range(50):
        groups.kill(ref)
    assert len(ref.native.kill_errors) == win.KILL_ERRORS_KEPT


# -- _terminate_process_group with the Windows seam --------------------------

def terminate_group(api, groups, ref, clock, grace=10.0):
    return _terminate_process_group(ref, grace, groups, monotonic=clock.monotonic,
                                    sleep=clock.sleep, kill_wait_seconds=5.0)


def test_terminate_process_group_from_running_stops_after_cooperative_exit():
    clock = FakeClock()
    api = FakeWinApi(clock)
    groups, ref = start_run(api)
    assert terminate_group(api, groups, ref, clock) == []
    assert api.calls == [("send_ctrl_break", LEADER)]
    assert clock.now == 100.0


def test_terminate_process_group_from_running_kills_stubborn_solver_after_grace():
    clock = FakeClock()
    api = FakeWinApi(clock)
    groups, ref = start_run(api, solver_breaks=False)
    assert terminate_group(api, groups, ref, clock, grace=10.0) == []
    assert api.calls == [("send_ctrl_break", LEADER), ("terminate_job", ref.native.job, 1)]
    assert api.call_times[1] >= 110.0
    assert api.alive() == [OWN_PID]


def test_terminate_process_group_climbs_the_whole_ladder_in_order():
    clock = FakeClock()
    api = FakeWinApi(clock)
    groups, ref = start_run(api, solver_breaks=False, leader_breaks=False)
    api.job_kills = False
    api.taskkill_rc, api.taskkill_kills = 1, False
    assert terminate_group(api, groups, ref, clock) == []
    assert names(api.calls) == ["send_ctrl_break", "terminate_job", "run_taskkill",
                                "open_and_terminate", "open_and_terminate",
                                "open_and_terminate"]


def test_terminate_process_group_reports_what_cannot_be_killed():
    clock = FakeClock()
    api = FakeWinApi(clock)
    groups, ref = start_run(api, solver_breaks=False)
    api.job_kills, api.taskkill_kills, api.taskkill_rc = False, False, 1
    api.unkillable = {SOLVER}
    assert terminate_group(api, groups, ref, clock) == [SOLVER]
    assert clock.now >= 115.0  # the grace, then the kill wait


# -- close -----------------------------------------------------------------

def test_close_from_finished_closes_job_and_leader_handles_once():
    api = FakeWinApi()
    groups, ref = start_run(api)
    job, leader = ref.native.job, ref.native.leader
    groups.close(ref)
    groups.close(ref)
    assert api.calls == [("close_handle", job), ("close_handle", leader)]
    assert (ref.native.job, ref.native.leader) == (None, None)


def test_close_from_finished_releases_leader_even_if_job_close_fails():
    api = FakeWinApi()
    groups, ref = start_run(api)
    leader = ref.native.leader
    api.fail["close_handle"] = OSError("The handle is invalid")
    with pytest.raises(OSError):
        groups.close(ref)
    assert api.calls[-1] == ("close_handle", leader)
    del api.fail["close_handle"]
    groups.close(ref)  # nothing left to close
    assert len(api.calls) == 2


# -- accounting: CPU of the whole job, the machine's load --------------------

class ExitedPopen(FakePopen):
    def wait(self):
        return self.returncode


def test_reap_from_exited_reads_the_jobs_cpu_total_first():
    api = FakeWinApi()
    groups, ref = start_run(api)
    api.job_cpu[ref.native.job] = 12.5
    assert groups.reap(ref, ExitedPopen(LEADER, returncode=0)) == 0
    assert (ref.cpu_seconds, ref.leader_reaped) == (12.5, True)
    assert api.calls == [("job_cpu_seconds", ref.native.job)]


def test_reap_from_exited_without_a_job_leaves_the_cpu_unknown():
    api = FakeWinApi()
    api.fail["create_job"] = OSError("Access is denied")
    groups, ref = start_run(api)
    assert groups.reap(ref, ExitedPopen(LEADER, returncode=3)) == 3
    assert ref.cpu_seconds is None


def test_reap_from_exited_when_the_accounting_fails_still_reaps():
    api = FakeWinApi()
    groups, ref = start_run(api)
    api.fail["job_cpu_seconds"] = OSError("The handle is invalid")
    assert groups.reap(ref, ExitedPopen(LEADER, returncode=0)) == 0
    assert ref.cpu_seconds is None and ref.leader_reaped


def test_tree_usage_from_running_is_the_jobs_total_without_thread_waits():
    api = FakeWinApi()
    groups, ref = start_run(api)
    api.job_cpu[ref.native.job] = 3.25
    usage = groups.tree_usage(ref)
    assert usage.process_cpu == {("job", LEADER): 3.25} and usage.thread_times == {}
    groups.close(ref)
    assert groups.tree_usage(ref) is None  # no job any more: nothing to say


def test_machine_load_is_the_busy_cpus_between_two_calls():
    api = FakeWinApi()
    api.cpus = 4
    # kernel time includes idle: 100 units of which 60 idle, plus 100 user.
    api.system = [(1000, 2000, 3000), (1060, 2100, 3100)]
    groups = win.WindowsProcessGroups(api)
    assert groups.machine_load() is None  # nothing to compare with yet
    assert groups.machine_load() == pytest.approx((1 - 60.0 / 200) * 4)


def test_close_without_native_does_nothing():
    api = FakeWinApi()
    win.WindowsProcessGroups(api).close(GroupRef(LEADER))
    assert api.calls == []


# -- interrupt -------------------------------------------------------------

def test_interrupt_from_running_sends_gams_copydata_to_its_window():
    api = FakeWinApi()
    groups, ref = start_run(api)
    api.windows["___GAMSMSGWINDOW___500"] = 0x5150
    assert groups.interrupt(ref) is True
    assert api.calls == [("find_window", "___GAMSMSGWINDOW___500"),
                         ("send_copydata", 0x5150, 1, b"GAMS Message Interrupt\x00")]


def test_interrupt_without_window_returns_false():
    api = FakeWinApi()
    groups, ref = start_run(api)
    assert groups.interrupt(ref) is False
    assert api.calls == [("find_window", "___GAMSMSGWINDOW___500"),
                         ("find_window", "___GAMSMSGWINDOW___501"),
                         ("find_window", "___GAMSMSGWINDOW___502")]


def test_interrupt_through_a_wrapper_finds_the_outermost_gams_window():
    # gams.cmd: the leader is cmd.exe, GAMS its child; a GAMS that GAMS
    # started further down has a window too, and is not the one to tell.
    api = FakeWinApi()
    groups, ref = start_run(api)
    api.windows["___GAMSMSGWINDOW___501"] = 0x5151
    api.windows["___GAMSMSGWINDOW___502"] = 0x5152
    assert groups.interrupt(ref) is True
    assert api.calls == [("find_window", "___GAMSMSGWINDOW___500"),
                         ("find_window", "___GAMSMSGWINDOW___501"),
                         ("send_copydata", 0x5151, 1, b"GAMS Message Interrupt\x00")]


def test_interrupt_returns_false_when_the_window_does_not_answer():
    api = FakeWinApi()
    groups, ref = start_run(api)
    api.windows["___GAMSMSGWINDOW___500"] = 0x5150
    api.copydata_delivered = False
    assert groups.interrupt(ref) is False


# -- pause and resume ------------------------------------------------------

def test_pause_from_running_suspends_each_process_once():
    api = FakeWinApi()
    groups, ref = start_run(api)
    groups.pause(ref)
    assert api.calls == [("suspend", LEADER), ("suspend", CHILD), ("suspend", SOLVER)]
    assert ref.native.suspended == [LEADER, CHILD, SOLVER]


def test_pause_from_running_suspends_parents_before_children():
    api = FakeWinApi()
    groups, ref = start_run(api)
    api.spawn(400, SOLVER, created=600)  # a reused, lower pid than its ancestors
    assert api.process_tree(LEADER) == [400, SOLVER, CHILD, LEADER]
    groups.pause(ref)
    assert ref.native.suspended == [LEADER, CHILD, SOLVER, 400]


def test_kill_from_running_without_native_records_errors():
    api = FakeWinApi()
    api.spawn(LEADER, OWN_PID, group=LEADER)
    api.taskkill_rc, api.taskkill_kills, api.unkillable = 1, False, {LEADER}
    ref = GroupRef(LEADER, pgid=LEADER)
    win.WindowsProcessGroups(api).kill(ref)
    assert api.calls == [("run_taskkill", LEADER), ("open_and_terminate", LEADER)]
    assert list(ref.native.kill_errors) == ["TerminateProcess(500): Access is denied"]


def test_pause_from_paused_suspends_only_new_processes():
    api = FakeWinApi()
    groups, ref = start_run(api)
    groups.pause(ref)
    api.spawn(503, SOLVER)
    del api.calls[:]
    groups.pause(ref)
    assert api.calls == [("suspend", 503)]
    assert [p.suspend_count for p in api.processes.values()] == [0, 1, 1, 1, 1]


def test_pause_skips_a_process_that_exited_meanwhile():
    api = FakeWinApi()
    groups, ref = start_run(api)
    original = api.suspend

    def suspend_racing_exit(pid):
        if pid == CHILD:
            api.processes[CHILD].alive = False
        return original(pid)

    api.suspend = suspend_racing_exit
    groups.pause(ref)
    assert ref.native.suspended == [LEADER, SOLVER]


def test_resume_from_paused_resumes_exactly_what_was_suspended():
    api = FakeWinApi()
    groups, ref = start_run(api)
    groups.pause(ref)
    del api.calls[:]
    groups.resume(ref)
    groups.resume(ref)  # nothing left to undo
    assert api.calls == [("resume", LEADER), ("resume", CHILD), ("resume", SOLVER)]
    assert all(p.suspend_count == 0 for p in api.processes.values())


def test_resume_from_paused_tries_every_process_before_raising():
    api = FakeWinApi()
    groups, ref = start_run(api)
    groups.pause(ref)
    del api.calls[:]
    original = api.resume

    def resume_refusing_leader(pid):
        if pid == LEADER:
            raise OSError("Access is denied")
        return original(pid)

    api.resume = resume_refusing_leader
    with pytest.raises(OSError):
        groups.resume(ref)
    assert api.calls == [("resume", CHILD), ("resume", SOLVER)]


# -- the parent-link walk --------------------------------------------------

def test_tree_pids_lists_children_before_parents_and_root_last():
    links = [(1, 0), (10, 1), (11, 10), (12, 10), (13, 11), (20, 1)]
    order = _winapi.tree_pids(10, links, lambda pid: pid, lambda pid: True)
    assert order == [13, 11, 12, 10]


def test_tree_pids_skips_a_child_older_than_its_parent():
    # 30 was started by an earlier process 10 that exited; the pid 10 now
    # belongs to our (newer) root, so 30 is not its child.
    created = {10: 500, 11: 600, 30: 100}
    links = [(10, 1), (11, 10), (30, 10)]
    assert _winapi.tree_pids(10, links, created.get, lambda pid: True) == [11, 10]


def test_tree_pids_walks_through_dead_processes_without_listing_them():
    links = [(10, 1), (11, 10), (12, 11)]
    alive = {10: False, 11: False, 12: True}
    assert _winapi.tree_pids(10, links, lambda pid: None, alive.get) == [12]


def test_tree_pids_survives_cycles_and_self_parents():
    links = [(0, 0), (10, 11), (11, 10)]
    assert _winapi.tree_pids(10, links, lambda pid: None, lambda pid: True) == [11, 10]


# -- WinApi's ctypes code against fake DLLs --------------------------------

class FakeDll(object):
    """Only the functions SIGNATURES declares exist, as Python callables."""

    def __init__(self, name, **functions):
        declared = w32.SIGNATURES[name]
        for function_name in functions:
            assert function_name in declared, function_name
        for function_name in declared:
            setattr(self, function_name, functions.get(function_name, self._unexpected(
                function_name)))

    @staticmethod
    def _unexpected(function_name):
        def call(*args):
            raise AssertionError("unexpected call to %s%r" % (function_name, args))
        return call


class LastError(object):
    def __init__(self):
        self.value = 0

    def __call__(self):
        return self.value


def make_api(last_error=None, **dlls):
    return _winapi.WinApi(load_dll=lambda name: dlls[name], last_error=last_error or LastError())


def test_winapi_job_pids_grows_the_buffer_on_error_more_data():
    last_error = LastError()
    in_job = list(range(1000, 1050))
    sizes = []

    def query(job, info_class, buffer_ref, size, returned):
        assert (job, info_class, returned) == (JOB, 3, None)
        listing = buffer_ref._obj
        assert ctypes.sizeof(listing) == size
        sizes.append(size)
        capacity = len(listing.ProcessIdList)
        listing.NumberOfAssignedProcesses = len(in_job)
        listing.NumberOfProcessIdsInList = min(capacity, len(in_job))
        for index, pid in enumerate(in_job[:capacity]):
            listing.ProcessIdList[index] = pid
        if capacity < len(in_job):
            last_error.value = w32.ERROR_MORE_DATA
            return 0
        return 1

    kernel32 = FakeDll("kernel32", QueryInformationJobObject=query)
    api = make_api(last_error, kernel32=kernel32)
    api.is_alive = lambda pid: pid != 1001
    assert api.job_pids(JOB) == [pid for pid in in_job if pid != 1001]
    pointer = ctypes.sizeof(ctypes.c_void_p)
    assert sizes == [8 + pointer * 32, 8 + pointer * 66]  # 32, then room for 50 + 16


def test_winapi_set_kill_on_close_passes_the_extended_limit_structure():
    seen = {}

    def set_information(job, info_class, info_ref, size):
        info = info_ref._obj
        seen.update(job=job, info_class=info_class, size=size,
                    flags=info.BasicLimitInformation.LimitFlags)
        return 1

    api = make_api(kernel32=FakeDll("kernel32", SetInformationJobObject=set_information))
    api.set_kill_on_close(JOB)
    assert seen == {"job": JOB, "info_class": 9, "flags": 0x2000,
                    "size": ctypes.sizeof(w32.JOBOBJECT_EXTENDED_LIMIT_INFORMATION)}


def test_winapi_job_cpu_seconds_adds_user_and_kernel_time_of_the_accounting():
    seen = {}

    def query(job, info_class, info_ref, size, returned):
        info = info_ref._obj
        seen.update(job=job, info_class=info_class, size=size, returned=returned)
        info.TotalUserTime, info.TotalKernelTime = 123 * 10 ** 6, 7 * 10 ** 6  # 100 ns units
        info.ThisPeriodTotalUserTime = 10 ** 12  # not the job's whole life: ignored
        return 1

    api = make_api(kernel32=FakeDll("kernel32", QueryInformationJobObject=query))
    assert api.job_cpu_seconds(JOB) == pytest.approx(13.0)
    assert seen == {"job": JOB, "info_class": 1, "returned": None,
                    "size": ctypes.sizeof(w32.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION)}


def test_winapi_job_cpu_seconds_raises_when_the_query_fails():
    last_error = LastError()
    last_error.value = 6  # ERROR_INVALID_HANDLE

    def query(*args):
        return 0

    api = make_api(last_error, kernel32=FakeDll("kernel32", QueryInformationJobObject=query))
    with pytest.raises(OSError):
        api.job_cpu_seconds(JOB)


def test_winapi_system_times_joins_each_filetime():
    def times(idle, kernel, user):
        for ref, value in ((idle, 1), (kernel, 2), (user, 3)):
            ref._obj.dwHighDateTime, ref._obj.dwLowDateTime = value, 0x10
        return 1

    api = make_api(kernel32=FakeDll("kernel32", GetSystemTimes=times))
    assert api.system_times() == ((1 << 32) | 0x10, (2 << 32) | 0x10, (3 << 32) | 0x10)


def test_winapi_creation_time_joins_the_filetime_halves_and_closes_the_handle():
    closed = []

    def get_times(handle, created, exited, kernel, user):
        created._obj.dwHighDateTime, created._obj.dwLowDateTime = 0x01DA0000, 0x89ABCDEF
        return 1

    kernel32 = FakeDll("kernel32", OpenProcess=lambda access, inherit, pid: 0x44,
                       GetProcessTimes=get_times, CloseHandle=closed.append)
    assert make_api(kernel32=kernel32).process_creation_time(LEADER) == 0x01DA000089ABCDEF
    assert closed == [0x44]


def test_winapi_open_returns_none_for_a_gone_pid_and_raises_otherwise():
    last_error = LastError()
    kernel32 = FakeDll("kernel32", OpenProcess=lambda access, inherit, pid: None)
    api = make_api(last_error, kernel32=kernel32)
    last_error.value = w32.ERROR_INVALID_PARAMETER
    assert api.open_and_terminate(LEADER) is False
    assert api.process_creation_time(LEADER) is None
    last_error.value = w32.ERROR_ACCESS_DENIED
    with pytest.raises(OSError):
        api.open_and_terminate(LEADER)
    assert api.is_alive(LEADER) is True  # exists, but not ours to look at


def test_winapi_parent_links_walks_the_snapshot_and_closes_it():
    last_error = LastError()
    table = [(4, 0), (LEADER, OWN_PID), (CHILD, LEADER)]
    cursor = []
    closed = []

    def fill(entry_ref):
        entry = entry_ref._obj
        assert entry.dwSize == ctypes.sizeof(w32.PROCESSENTRY32W)
        if len(cursor) == len(table):
            last_error.value = w32.ERROR_NO_MORE_FILES
            return 0
        entry.th32ProcessID, entry.th32ParentProcessID = table[len(cursor)]
        cursor.append(1)
        return 1

    kernel32 = FakeDll("kernel32", CreateToolhelp32Snapshot=lambda flags, pid: 0x55,
                       Process32FirstW=lambda snap, entry: fill(entry),
                       Process32NextW=lambda snap, entry: fill(entry),
                       CloseHandle=closed.append)
    assert make_api(last_error, kernel32=kernel32).parent_links() == table
    assert closed == [0x55]


def test_winapi_send_copydata_builds_the_message_gams_expects():
    seen = {}

    def send(hwnd, message, wparam, lparam, flags, timeout, result):
        data = w32.COPYDATASTRUCT.from_address(lparam)
        seen.update(hwnd=hwnd, message=message, wparam=wparam, flags=flags,
                    timeout=timeout, tag=data.dwData,
                    payload=ctypes.string_at(data.lpData, data.cbData))
        return 1

    api = make_api(user32=FakeDll("user32", SendMessageTimeoutW=send))
    assert api.send_copydata(0x5150, win.GAMS_INTERRUPT_TAG, win.GAMS_INTERRUPT_MESSAGE)
    assert seen == {"hwnd": 0x5150, "message": 0x4A, "wparam": 0, "flags": 2,
                    "timeout": 5000, "tag": 1, "payload": b"GAMS Message Interrupt\x00"}


def test_winapi_suspend_reports_ntstatus_failures():
    last_error = LastError()
    statuses = {"status": 0}
    kernel32 = FakeDll("kernel32", OpenProcess=lambda access, inherit, pid: 0x66,
                       CloseHandle=lambda handle: 1)
    ntdll = FakeDll("ntdll", NtSuspendProcess=lambda handle: statuses["status"],
                    NtResumeProcess=lambda handle: 0,
                    RtlNtStatusToDosError=lambda status: w32.ERROR_ACCESS_DENIED)
    api = make_api(last_error, kernel32=kernel32, ntdll=ntdll)
    assert api.suspend(LEADER) is True and api.resume(LEADER) is True
    statuses["status"] = -1073741790  # STATUS_ACCESS_DENIED
    with pytest.raises(OSError):
        api.suspend(LEADER)


def test_winapi_taskkill_uses_the_system32_path_and_reports_failure_to_run():
    commands = []

    def call(command, **kwargs):
        commands.append((command, kwargs["creationflags"]))
        return 0

    api = _winapi.WinApi(call=call)
    assert api.run_taskkill(LEADER) == 0
    command, flags = commands[0]
    assert command[0].lower().endswith("taskkill.exe") and "system32" in command[0].lower()
    assert command[1:] == ["/T", "/F", "/PID", "500"] and flags == 0x08000000

    def missing(command, **kwargs):
        raise OSError("not found")

    assert _winapi.WinApi(call=missing).run_taskkill(LEADER) is None


def test_winapi_send_ctrl_break_is_os_kill_with_ctrl_break_event():
    sent = []
    _winapi.WinApi(kill=lambda pid, sig: sent.append((pid, sig))).send_ctrl_break(LEADER)
    assert sent == [(LEADER, 1)]


def test_declare_sets_restype_and_argtypes_of_every_signature():
    class Function(object):
        restype = argtypes = None

    class Dll(object):
        def __getattr__(self, name):
            function = Function()
            setattr(self, name, function)
            return function

    for dll_name, signatures in w32.SIGNATURES.items():
        dll = Dll()
        w32.declare(dll, signatures)
        for function_name, (restype, argtypes) in signatures.items():
            function = getattr(dll, function_name)
            assert function.restype is restype
            assert function.argtypes == list(argtypes)
            for argtype in argtypes:
                assert hasattr(argtype, "from_param"), (function_name, argtype)


def test_module_imports_and_winapi_constructs_in_a_fresh_interpreter():
    # Off Windows ctypes has no windll/WinDLL: this fails if either is
    # touched at import or construction instead of on first call.
    code = "import times_doctor.proc._windows, times_doctor.proc._winapi as w; w.WinApi()"
    subprocess.check_call([sys.executable, "-c", code])


# -- structure layouts (documented sizes for 64-bit Windows) -----------------

pointer_64 = pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8,
                                reason="documented sizes are for 64-bit")


@pointer_64
@pytest.mark.parametrize("structure, size", [
    (w32.FILETIME, 8),
    (w32.IO_COUNTERS, 48),
    (w32.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, 48),
    (w32.JOBOBJECT_BASIC_LIMIT_INFORMATION, 64),
    (w32.JOBOBJECT_EXTENDED_LIMIT_INFORMATION, 144),
    (w32.JOBOBJECT_BASIC_PROCESS_ID_LIST, 16),
    (w32.PROCESSENTRY32W, 568),
    (w32.COPYDATASTRUCT, 24),
])
def test_structure_size_on_64_bit(structure, size):
    assert ctypes.sizeof(structure) == size


@pointer_64
@pytest.mark.parametrize("structure, field, offset", [
    (w32.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, "TotalKernelTime", 8),
    (w32.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, "TotalProcesses", 36),
    (w32.JOBOBJECT_BASIC_LIMIT_INFORMATION, "LimitFlags", 16),
    (w32.JOBOBJECT_BASIC_LIMIT_INFORMATION, "MinimumWorkingSetSize", 24),
    (w32.JOBOBJECT_BASIC_LIMIT_INFORMATION, "Affinity", 48),
    (w32.JOBOBJECT_EXTENDED_LIMIT_INFORMATION, "IoInfo", 64),
    (w32.JOBOBJECT_EXTENDED_LIMIT_INFORMATION, "ProcessMemoryLimit", 112),
    (w32.JOBOBJECT_BASIC_PROCESS_ID_LIST, "ProcessIdList", 8),
    (w32.PROCESSENTRY32W, "th32DefaultHeapID", 16),
    (w32.PROCESSENTRY32W, "th32ParentProcessID", 32),
    (w32.PROCESSENTRY32W, "szExeFile", 44),
    (w32.COPYDATASTRUCT, "lpData", 16),
])
def test_structure_field_offset_on_64_bit(structure, field, offset):
    assert getattr(structure, field).offset == offset


@pointer_64
def test_process_id_list_grows_by_one_pointer_per_pid():
    assert ctypes.sizeof(w32.process_id_list_type(40)) == 8 + 8 * 40
    assert w32.process_id_list_type(40) is w32.process_id_list_type(40)
