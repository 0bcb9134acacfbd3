"""The POSIX seam's state logic with a recording fake OS: one test per action per state.

The fake holds a process table and answers killpg/kill the way the kernel
does in each state a job can be in: running, paused, gone (ESRCH), leader
reaped, and macOS's EPERM for a group that holds only zombies.  What the
real kernel does with the signals is tested with real processes in
test_procgroup_posix.py.
"""

import signal

import pytest

from times_doctor.procgroup import GroupRef
from times_doctor._procgroup_posix import PosixProcessGroups, ProcInfo

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
