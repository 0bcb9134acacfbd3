"""The POSIX seam's state logic with a recording fake OS: one test per action per state.

The fake holds a process table and answers killpg/kill the way the kernel
does in each state a job can be in: running, paused, gone (ESRCH), leader
reaped, and macOS's EPERM for a group that holds only zombies.  What the
real kernel does with the signals is tested with real processes in
test_procgroup_posix.py.
"""

import signal

import pytest

from times_doctor.proc.procgroup import GroupRef
from times_doctor.proc._posix import PosixProcessGroups, ProcInfo

LEADER = 4321          # pid == pgid == sid of the job
CHILD, SOLVER = 4322, 4323
ESCAPED = 5000         # left the session with setsid(); found by its marker
STRANGER = 6000        # another session, no marker
SCANNER = 100          # our own pid: never signalled
MARKER = "scan-1/dual"


class FakeOsApi(object):
    """Records every call; the process table and the errors are the state."""

    def __init__(self, table, killpg_error=None, gone=(), exit_status=None,
                 waitid_error=None):
        self.table = list(table)
        self.killpg_error = killpg_error   # an exception class killpg raises, or None
        self.gone = set(gone)              # pids that exit between the scan and kill()
        self.exit_status = exit_status     # what waitid(WNOWAIT) reports, None = running
        self.waitid_error = waitid_error
        self.marked = set([ESCAPED])
        self.calls = []

    def killpg(self, pgid, sig):
        self.calls.append(("killpg", pgid, sig))
        if self.killpg_error is not None:
            raise self.killpg_error()

    def kill(self, pid, sig):
        self.calls.append(("kill", pid, sig))
        if pid in self.gone:
            raise ProcessLookupError()

    def getpid(self):
        return SCANNER

    def waitid_nowait(self, pid):
        self.calls.append(("waitid_nowait", pid))
        if self.waitid_error is not None:
            raise self.waitid_error()
        return self.exit_status

    def waitid_block_nowait(self, pid):
        self.calls.append(("waitid_block_nowait", pid))
        if self.waitid_error is not None:
            raise self.waitid_error()

    def process_table(self):
        return list(self.table)

    def process_info(self, pid):
        for info in self.table:
            if info.pid == pid:
                return info
        return None

    def has_marker(self, pid, marker):
        return marker == MARKER and pid in self.marked


class FakePopen(object):
    def __init__(self, pid=LEADER, returncode=None, poll_result=None):
        self.pid = pid
        self.returncode = returncode
        self._poll_result = poll_result

    def poll(self):
        if self.returncode is None:
            self.returncode = self._poll_result
        return self.returncode


def job_table(state="S"):
    """A job of three processes in state *state*, one escaped, plus others."""
    return [ProcInfo(LEADER, 1, LEADER, state, 777), ProcInfo(CHILD, LEADER, LEADER, state, 778),
            ProcInfo(SOLVER, CHILD, LEADER, state, 779), ProcInfo(ESCAPED, 1, ESCAPED, state, 780),
            ProcInfo(STRANGER, 1, STRANGER, "S", 10), ProcInfo(SCANNER, 1, SCANNER, "S", 5)]


ZOMBIES_ONLY = [ProcInfo(LEADER, 1, LEADER, "Z", 777), ProcInfo(CHILD, LEADER, LEADER, "Z", 778),
                ProcInfo(STRANGER, 1, STRANGER, "S", 10)]


def make(table, reaped=False, **api_options):
    api = FakeOsApi(table, **api_options)
    ref = GroupRef(LEADER, pgid=LEADER, sid=LEADER, start_time=777, marker=MARKER)
    ref.leader_reaped = reaped
    return PosixProcessGroups(api), api, ref


def signalled(sig):
    """The calls _signal_all makes for a running job: the group, then each process."""
    return [("killpg", LEADER, sig)] + [("kill", pid, sig)
                                        for pid in (LEADER, CHILD, SOLVER, ESCAPED)]


# -- interrupt: SIGINT to GAMS alone --------------------------------------------------------

def test_interrupt_from_running_signals_gams_only():
    """GAMS forwards the interrupt to its solver; a group SIGINT would send it twice."""
    groups, api, ref = make(job_table())
    groups.interrupt(ref)
    assert api.calls == [("kill", LEADER, signal.SIGINT)]


def test_interrupt_from_reaped_sends_nothing():
    groups, api, ref = make(job_table(), reaped=True)
    groups.interrupt(ref)
    assert api.calls == []


def test_interrupt_from_gone_is_quiet():
    groups, api, ref = make([], gone=[LEADER])
    groups.interrupt(ref)
    assert api.calls == [("kill", LEADER, signal.SIGINT)]


# -- terminate: SIGTERM, then SIGCONT so that a paused job sees it ------------------------

def test_terminate_from_running_signals_group_and_escaped_then_continues():
    groups, api, ref = make(job_table())
    groups.terminate(ref)
    assert api.calls == signalled(signal.SIGTERM) + signalled(signal.SIGCONT)


def test_terminate_from_paused_sends_sigcont_after_sigterm():
    groups, api, ref = make(job_table(state="T"))
    groups.terminate(ref)
    sigs = [call[2] for call in api.calls if call[0] == "killpg"]
    assert sigs == [signal.SIGTERM, signal.SIGCONT]


def test_terminate_from_gone_is_quiet():
    groups, api, ref = make([], killpg_error=ProcessLookupError)
    groups.terminate(ref)
    assert api.calls == [("killpg", LEADER, signal.SIGTERM), ("killpg", LEADER, signal.SIGCONT)]


def test_terminate_from_reaped_signals_only_the_processes_found():
    """Once the leader is reaped its pid (and group id) may be someone else's: no killpg."""
    groups, api, ref = make(job_table(), reaped=True)
    groups.terminate(ref)
    assert api.calls == signalled(signal.SIGTERM)[1:] + signalled(signal.SIGCONT)[1:]


def test_terminate_from_exiting_ignores_a_process_gone_before_its_signal():
    groups, api, ref = make(job_table(), gone=[CHILD])
    groups.terminate(ref)
    assert api.calls == signalled(signal.SIGTERM) + signalled(signal.SIGCONT)


def test_terminate_from_zombies_only_is_quiet_on_macos_eperm():
    """macOS answers EPERM for a group of zombies; nothing is left to end."""
    groups, api, ref = make(ZOMBIES_ONLY, killpg_error=PermissionError)
    groups.terminate(ref)
    assert api.calls == [("killpg", LEADER, signal.SIGTERM), ("killpg", LEADER, signal.SIGCONT)]


def test_terminate_from_running_raises_eperm_when_processes_are_left():
    """EPERM with live processes is a real failure the user must hear about."""
    groups, api, ref = make(job_table(), killpg_error=PermissionError)
    with pytest.raises(PermissionError):
        groups.terminate(ref)
    assert api.calls == [("killpg", LEADER, signal.SIGTERM)]


# -- kill --------------------------------------------------------------------------------

def test_kill_from_running_signals_group_and_escaped():
    groups, api, ref = make(job_table())
    groups.kill(ref)
    assert api.calls == signalled(signal.SIGKILL)


def test_kill_from_paused_needs_no_sigcont():
    groups, api, ref = make(job_table(state="T"))
    groups.kill(ref)
    assert api.calls == signalled(signal.SIGKILL)


def test_kill_from_gone_is_quiet():
    groups, api, ref = make([], killpg_error=ProcessLookupError)
    groups.kill(ref)
    assert api.calls == [("killpg", LEADER, signal.SIGKILL)]


def test_kill_from_reaped_skips_the_group():
    groups, api, ref = make(job_table(), reaped=True)
    groups.kill(ref)
    assert api.calls == signalled(signal.SIGKILL)[1:]


def test_kill_from_zombies_only_is_quiet_on_macos_eperm():
    groups, api, ref = make(ZOMBIES_ONLY, killpg_error=PermissionError)
    groups.kill(ref)
    assert api.calls == [("killpg", LEADER, signal.SIGKILL)]


def test_kill_from_running_raises_eperm_when_processes_are_left():
    groups, api, ref = make(job_table(), killpg_error=PermissionError)
    with pytest.raises(PermissionError):
        groups.kill(ref)


# -- pause and resume ----------------------------------------------------------------------

def test_pause_from_running_stops_group_and_escaped():
    groups, api, ref = make(job_table())
    groups.pause(ref)
    assert api.calls == signalled(signal.SIGSTOP)


def test_pause_from_gone_is_quiet():
    groups, api, ref = make([], killpg_error=ProcessLookupError)
    groups.pause(ref)
    assert api.calls == [("killpg", LEADER, signal.SIGSTOP)]


def test_pause_from_zombies_only_is_quiet_on_macos_eperm():
    groups, api, ref = make(ZOMBIES_ONLY, killpg_error=PermissionError)
    groups.pause(ref)
    assert api.calls == [("killpg", LEADER, signal.SIGSTOP)]


def test_resume_from_paused_continues_group_and_escaped():
    groups, api, ref = make(job_table(state="T"))
    groups.resume(ref)
    assert api.calls == signalled(signal.SIGCONT)


def test_resume_from_reaped_skips_the_group():
    groups, api, ref = make(job_table(state="T"), reaped=True)
    groups.resume(ref)
    assert api.calls == signalled(signal.SIGCONT)[1:]


def test_resume_from_running_raises_eperm_when_processes_are_left():
    groups, api, ref = make(job_table(), killpg_error=PermissionError)
    with pytest.raises(PermissionError):
        groups.resume(ref)


# -- survivors -----------------------------------------------------------------------------

def test_survivors_from_running_are_the_session_and_the_marked_escapee():
    groups, api, ref = make(job_table())
    assert groups.survivors(ref) == [LEADER, CHILD, SOLVER, ESCAPED]


def test_survivors_from_zombies_only_are_none():
    groups, api, ref = make(ZOMBIES_ONLY)
    assert groups.survivors(ref) == []


def test_survivors_never_include_the_scanner_itself():
    table = job_table() + [ProcInfo(SCANNER, 1, LEADER, "S", 5)]  # same session, say
    groups, api, ref = make(table)
    assert SCANNER not in groups.survivors(ref)


def test_survivors_without_a_marker_are_found_by_session_only():
    groups, api, ref = make(job_table())
    ref.marker = None
    assert groups.survivors(ref) == [LEADER, CHILD, SOLVER]


# -- the leader's exit ---------------------------------------------------------------------

def test_leader_exit_status_from_running_is_none():
    groups, api, ref = make(job_table())
    assert groups.leader_exit_status(ref, FakePopen()) is None
    assert api.calls == [("waitid_nowait", LEADER)]


def test_leader_exit_status_from_exited_does_not_reap():
    groups, api, ref = make(job_table(), exit_status=3)
    assert groups.leader_exit_status(ref, FakePopen()) == 3
    assert not ref.leader_reaped


def test_leader_exit_status_from_reaped_is_the_popen_returncode():
    groups, api, ref = make([], reaped=True)
    assert groups.leader_exit_status(ref, FakePopen(returncode=-15)) == -15
    assert api.calls == []


def test_leader_exit_status_from_reaped_elsewhere_marks_the_ref_reaped():
    """ECHILD: someone else reaped it, so its pid is no longer safe to signal as a group."""
    groups, api, ref = make(job_table(), waitid_error=ChildProcessError)
    assert groups.leader_exit_status(ref, FakePopen(poll_result=7)) == 7
    assert ref.leader_reaped
    groups.kill(ref)
    assert ("killpg", LEADER, signal.SIGKILL) not in api.calls


def test_wait_leader_exit_from_running_blocks_without_reaping():
    groups, api, ref = make(job_table())
    groups.wait_leader_exit(ref, FakePopen())
    assert api.calls == [("waitid_block_nowait", LEADER)] and not ref.leader_reaped


def test_wait_leader_exit_from_reaped_returns_at_once():
    groups, api, ref = make([], reaped=True)
    groups.wait_leader_exit(ref, FakePopen(returncode=0))
    assert api.calls == []


def test_wait_leader_exit_from_reaped_elsewhere_returns():
    groups, api, ref = make(job_table(), waitid_error=ChildProcessError)
    groups.wait_leader_exit(ref, FakePopen())
    assert api.calls == [("waitid_block_nowait", LEADER)]


# -- attach --------------------------------------------------------------------------------

def test_attach_from_started_records_the_start_time():
    groups, api, _ = make(job_table())
    ref = groups.attach(FakePopen(), MARKER)
    assert (ref.pid, ref.pgid, ref.sid, ref.start_time, ref.marker) == (
        LEADER, LEADER, LEADER, 777, MARKER)


def test_attach_from_already_gone_has_no_start_time():
    groups, api, _ = make([])
    ref = groups.attach(FakePopen(), MARKER)
    assert ref.sid == LEADER and ref.start_time is None


# -- accounting: wait4 at the reap, the /proc walk of the tree ------------------------------

class FakeProc(object):
    """The /proc files linux_tree_usage reads: stat, and per thread schedstat and children."""

    def __init__(self, ticks=100):
        self.files = {}
        self.ticks = ticks
        self.reads = []

    def process(self, pid, utime, stime, start, threads):
        """*threads*: {tid: (run ns, wait ns, [child pids])}."""
        fields = ["S", "1"] + ["0"] * 9 + [str(utime), str(stime)] + ["0"] * 6 + [str(start)]
        self.files["/proc/%d/stat" % pid] = ("%d (a name) with) " % pid
                                             + " ".join(fields) + " 0 0\n").encode()
        for tid, (run, wait, children) in threads.items():
            folder = "/proc/%d/task/%d/" % (pid, tid)
            self.files[folder + "schedstat"] = ("%d %d 12\n" % (run, wait)).encode()
            self.files[folder + "children"] = " ".join(str(c) for c in children).encode()

    def read_file(self, path, limit=4096):
        self.reads.append(path)
        return self.files.get(path)

    def list_dir(self, path):
        prefix = path.rstrip("/") + "/"
        return sorted(set(name[len(prefix):].split("/")[0] for name in self.files
                          if name.startswith(prefix)))

    def clock_ticks(self):
        return self.ticks


def test_tree_usage_walks_children_and_keeps_cpu_and_run_queue_wait_per_thread():
    from times_doctor.proc._posix import linux_tree_usage
    proc = FakeProc()
    proc.process(LEADER, 150, 50, 777, {LEADER: (2 * 10 ** 9, 10 ** 8, [CHILD])})
    proc.process(CHILD, 0, 1, 778, {CHILD: (10 ** 7, 0, [SOLVER])})
    # The solver: two threads, one of them waiting half the time.
    proc.process(SOLVER, 400, 20, 779, {SOLVER: (3 * 10 ** 9, 10 ** 9, []),
                                        SOLVER + 1: (10 ** 9, 10 ** 9, [])})
    usage = linux_tree_usage(proc, LEADER)
    assert usage.process_cpu == {(LEADER, 777): 2.0, (CHILD, 778): 0.01, (SOLVER, 779): 4.2}
    assert usage.thread_times == {(LEADER, 777, LEADER): (2.0, 0.1), (CHILD, 778, CHILD): (0.01, 0.0),
                                  (SOLVER, 779, SOLVER): (3.0, 1.0),
                                  (SOLVER, 779, SOLVER + 1): (1.0, 1.0)}


def test_tree_usage_skips_a_child_gone_since_its_parent_listed_it():
    from times_doctor.proc._posix import linux_tree_usage
    proc = FakeProc()
    proc.process(LEADER, 1, 0, 777, {LEADER: (10 ** 6, 0, [CHILD, SOLVER])})
    proc.process(SOLVER, 2, 0, 779, {SOLVER: (10 ** 6, 0, [])})
    usage = linux_tree_usage(proc, LEADER)
    assert sorted(usage.process_cpu) == [(LEADER, 777), (SOLVER, 779)]


def test_tree_usage_from_reaped_reads_nothing():
    groups, api, ref = make(job_table(), reaped=True)
    assert groups.tree_usage(ref) is None


class ReapingOsApi(FakeOsApi):
    def __init__(self, status, cpu_seconds=None, error=None):
        FakeOsApi.__init__(self, job_table())
        self.answer = (status, cpu_seconds)
        self.error = error

    def wait4(self, pid):
        self.calls.append(("wait4", pid))
        if self.error is not None:
            raise self.error
        return self.answer


class Waited(FakePopen):
    def wait(self):
        if self.returncode is None:
            self.returncode = 0
        return self.returncode


def test_reap_from_exited_takes_status_and_tree_cpu_from_wait4():
    api = ReapingOsApi(3 << 8, 7.5)  # exit status 3
    groups = PosixProcessGroups(api)
    ref = GroupRef(LEADER, pgid=LEADER, sid=LEADER)
    popen = Waited()
    assert groups.reap(ref, popen) == 3
    assert (popen.returncode, ref.cpu_seconds, ref.leader_reaped) == (3, 7.5, True)
    assert api.calls == [("wait4", LEADER)]


def test_reap_from_killed_reports_minus_the_signal():
    api = ReapingOsApi(signal.SIGKILL, 0.25)  # killed: the signal in the low bits
    groups = PosixProcessGroups(api)
    popen = Waited()
    assert groups.reap(GroupRef(LEADER, pgid=LEADER, sid=LEADER), popen) == -signal.SIGKILL


def test_reap_from_reaped_elsewhere_falls_back_to_popen():
    api = ReapingOsApi(0, error=ChildProcessError())
    groups = PosixProcessGroups(api)
    ref = GroupRef(LEADER, pgid=LEADER, sid=LEADER)
    assert groups.reap(ref, Waited()) == 0
    assert ref.cpu_seconds is None and ref.leader_reaped
