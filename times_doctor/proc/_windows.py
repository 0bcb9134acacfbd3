"""Windows process groups: a console process group plus a Job Object per job.

Each GAMS run is started with ``CREATE_NEW_PROCESS_GROUP``.  That makes the
run the leader of its own console process group, so ``CTRL_BREAK_EVENT`` can
be sent to the run's processes alone, and it makes the run ignore CTRL_C, so
a Ctrl+C typed in the scanner's console never reaches it.  (A Ctrl+Break
typed at the keyboard still reaches every process on the console: Windows
has no equivalent of a session that would shield the runs from it.)

Right after the start, ``attach()`` puts the leader in a fresh Job Object
with ``JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE``.  Processes the leader starts
later are in the job too (a child inherits its parent's job), so the job is
the authoritative list of the run's processes, and:

* ``TerminateJobObject`` ends all of them in one call;
* only the scanner holds the job handle, and it is not inheritable, so if
  the scanner itself dies (even by TerminateProcess) Windows closes the
  handle and kills every process left in the job: no orphaned solvers.

The race: subprocess cannot start a process suspended and resume it, so
the leader runs for a moment before it is assigned.  A child it starts in
that moment is not in the job.  GAMS starts its helpers much later than the
few hundred microseconds this takes, and the parent-link walk (toolhelp
snapshot) and ``taskkill /T`` below still find such a child as long as its
parent chain up to the leader is alive.

The leader's pid cannot be recycled while a handle to it is open.  Popen
holds one until it is garbage collected and ``attach()`` opens another that
``close()`` releases, so the group id, the window title and the tree root
all keep meaning this run, even after ``reap()``.

Every OS call goes through a ``WinApi`` object (``_winapi``, with the ctypes
declarations in ``_windows_ctypes``); tests replace it with a recording fake,
so this module imports (and its logic runs) on any platform.
``ctypes.windll`` is touched only inside ``WinApi`` methods.
"""

import collections
import threading

from times_doctor.proc._winapi import KILLED_EXIT_CODE, WinApi
from times_doctor.proc._windows_ctypes import CREATE_NEW_PROCESS_GROUP
from times_doctor.proc.procgroup import GroupRef, ProcessGroups, TreeUsage

# GAMS (gams.exe) creates a hidden top-level window with this title and the
# gams process id appended, and stops the solve when it receives WM_COPYDATA
# carrying the ANSI text "GAMS Message Interrupt".  GAMS's own clients (GAMS
# Studio's AbstractProcess::interruptIntern, the Python API's
# GamsJob.interrupt) send dwData=1 and count the terminating NUL in cbData.
GAMS_WINDOW_TITLE_PREFIX = "___GAMSMSGWINDOW___"
GAMS_INTERRUPT_TAG = 1
GAMS_INTERRUPT_MESSAGE = b"GAMS Message Interrupt\x00"

KILL_ERRORS_KEPT = 20


class WindowsProcessGroups(ProcessGroups):
    """Process groups on Windows: CTRL_BREAK to the group, a Job Object to end it."""

    def __init__(self, win_api=None):
        self.win_api = win_api if win_api is not None else WinApi()
        self._load_lock = threading.Lock()
        self._last_system_times = None  # machine_load()'s previous (idle, kernel, user)

    def control_report(self):
        return True, "process groups (CREATE_NEW_PROCESS_GROUP) and kill-on-close Job Objects"

    def popen_kwargs(self):
        # Not CREATE_SUSPENDED: Popen keeps no thread handle to resume it
        # with, so the job assignment in attach() races the leader instead.
        return {"creationflags": CREATE_NEW_PROCESS_GROUP}

    def attach(self, popen, marker):
        """Pin the leader's pid and put it in a kill-on-close Job Object.

        Never raises: the process is already running, and a caller that got
        an exception here would have no GroupRef to end it with.  What failed
        is kept in ``ref.native.errors``; without a job the seam still finds
        the run's processes by parent links and ends them with taskkill.
        """
        api = self.win_api
        pid = popen.pid
        native = WindowsJob()
        # Safe by pid: Popen still holds its own handle, so pid is ours.
        try:
            native.leader = api.open_process(pid)
        except OSError as exc:
            native.errors.append("cannot open process %d: %s" % (pid, exc))
        try:
            native.job = api.create_job()
        except OSError as exc:
            native.errors.append("cannot create a Job Object: %s" % exc)
        if native.job is not None:
            try:
                api.set_kill_on_close(native.job)
            except OSError as exc:
                # The job still lists and ends the run's processes; only the
                # clean-up when the scanner dies is lost.
                native.errors.append("cannot set kill-on-close: %s" % exc)
            try:
                if native.leader is None:
                    raise OSError("no process handle to assign")
                api.assign(native.job, native.leader)
            except OSError as exc:
                # An empty job would only mislead survivors(); drop it.
                native.errors.append("cannot assign process %d to its job: %s" % (pid, exc))
                job, native.job = native.job, None
                try:
                    api.close_handle(job)
                except OSError as close_exc:
                    native.errors.append("cannot close the unused job: %s" % close_exc)
        try:
            start_time = api.process_creation_time(pid)
        except OSError:
            start_time = None  # exited already: nothing to tell apart later
        return GroupRef(pid, pgid=pid, sid=None, start_time=start_time, marker=marker,
                        native=native)

    def leader_exit_status(self, ref, popen):
        # poll() is WaitForSingleObject + GetExitCodeProcess on Popen's
        # handle.  Unlike waitpid on POSIX it frees nothing: the pid stays
        # unrecyclable while that handle (and ours) is open, so reading the
        # status early cannot let the group id go to another process.
        return popen.poll()

    def reap(self, ref, popen):
        """Popen's wait, after reading the job's CPU total into ``ref.cpu_seconds``.

        The Job Object accounts every process that ever ran in it, ended
        ones included, so this is the whole run's CPU (a child that started
        before the leader was assigned is the only one it can miss).
        """
        ref.cpu_seconds = self._job_cpu_seconds(ref)
        return ProcessGroups.reap(self, ref, popen)

    def tree_usage(self, ref):
        """The job's CPU total so far; Windows gives no per-thread wait for a CPU."""
        cpu_seconds = self._job_cpu_seconds(ref)
        if cpu_seconds is None:
            return None
        return TreeUsage({("job", ref.pid): cpu_seconds}, {})

    def machine_load(self):
        """Busy CPUs since the previous call (GetSystemTimes), like a load average; None at first.

        Windows has no load average; the share of the machine's CPU time
        that was not idle, times its CPUs, is the nearest figure (it cannot
        exceed the CPUs: a queue of waiting threads does not show).
        """
        try:
            now = self.win_api.system_times()
        except OSError:
            return None
        with self._load_lock:
            last, self._last_system_times = self._last_system_times, now
        if last is None:
            return None
        idle, kernel, user = (new - old for new, old in zip(now, last))
        total = kernel + user  # kernel time includes idle time
        if total <= 0:
            return None
        return (1.0 - float(idle) / total) * self.win_api.cpu_count()

    def _job_cpu_seconds(self, ref):
        native = ref.native
        if native is None or native.job is None:
            return None
        try:
            return self.win_api.job_cpu_seconds(native.job)
        except OSError:
            return None  # a figure for the report, never a reason to fail the run

    def interrupt(self, ref):
        """Send GAMS its "interrupt" window message.

        GAMS's window carries the pid of gams.exe, which is the leader unless
        GAMS was started through a wrapper (``gams.cmd``: the leader is then
        cmd.exe); so the leader's window is looked for first, then the other
        processes of the run, parents before children (a GAMS that GAMS
        started is the outer one's business).

        Returns:
            True if GAMS's message window took the message; False if there
            is no such window (not GAMS, GAMS not started yet or already
            gone) or it did not answer in time: the caller reports that the
            interrupt is not available for this run.
        """
        hwnd = self._gams_window(ref)
        if not hwnd:
            return False
        return bool(self.win_api.send_copydata(hwnd, GAMS_INTERRUPT_TAG, GAMS_INTERRUPT_MESSAGE))

    def _gams_window(self, ref):
        hwnd = self.win_api.find_window(gams_window_title(ref.pid))
        if hwnd:
            return hwnd
        for pid in reversed(self._kill_order(ref)):
            if pid != ref.pid:
                hwnd = self.win_api.find_window(gams_window_title(pid))
                if hwnd:
                    return hwnd
        return None

    def terminate(self, ref):
        """CTRL_BREAK to the run's console process group.

        If the event cannot be delivered (the scanner has no console, as
        under pythonw or a service) nobody can act on it, so the processes
        that remain are ended at once instead of after a useless grace.
        """
        # A suspended process cannot run its console handler, and unlike a
        # POSIX signal nothing says the event waits for it: resume what we
        # paused first (the POSIX side sends SIGCONT for the same reason).
        if ref.native is not None and ref.native.suspended:
            try:
                self.resume(ref)
            except OSError:
                pass  # still send the event; kill() ends suspended processes too
        try:
            self.win_api.send_ctrl_break(ref.pid)
        except OSError:
            # Also what an already finished group answers; only survivors
            # turn this into a failure to deliver.
            if self.survivors(ref):
                self.kill(ref)

    def kill(self, ref):
        """End every process of the run, escalating until none is left.

        TerminateJobObject first; if anything survives, ``taskkill /T /F``;
        if that fails or leaves survivors, TerminateProcess on each process
        found, children before parents.  Processes that are exiting already
        may refuse TerminateProcess (access denied) for a moment, so
        failures are not raised here: the caller re-checks survivors() until
        its deadline and reports the ones that are left.
        """
        api = self.win_api
        native = self._native(ref)
        if native.job is not None:
            try:
                api.terminate_job(native.job, KILLED_EXIT_CODE)
            except OSError as exc:
                native.kill_errors.append("TerminateJobObject: %s" % exc)
        if not self.survivors(ref):
            return
        returncode = api.run_taskkill(ref.pid)
        if returncode == 0 and not self.survivors(ref):
            return
        for pid in self._kill_order(ref):
            try:
                api.open_and_terminate(pid)
            except OSError as exc:
                native.kill_errors.append("TerminateProcess(%d): %s" % (pid, exc))

    def pause(self, ref):
        """Suspend every process of the run (each once, so one resume undoes it)."""
        native = self._native(ref)
        done = set(native.suspended)
        # Parents before children, so a parent cannot start a new child after
        # the list was taken; a second pass catches any that slipped through.
        for _ in range(2):
            fresh = [pid for pid in reversed(self._kill_order(ref)) if pid not in done]
            if not fresh:
                break
            for pid in fresh:
                done.add(pid)
                if self.win_api.suspend(pid):
                    native.suspended.append(pid)

    def resume(self, ref):
        """Resume the processes pause() suspended, and no others."""
        native = self._native(ref)
        pids, native.suspended = native.suspended, []
        failure = None
        for pid in pids:
            try:
                self.win_api.resume(pid)
            except OSError as exc:
                # Keep going: one refusal must not leave the rest frozen.
                failure = failure or exc
        if failure is not None:
            raise failure

    def survivors(self, ref):
        return sorted(set(self._kill_order(ref)))

    def close(self, ref):
        """Close the job and leader handles, once.

        Closing the job handle also kills whatever is still in the job
        (kill-on-close): the last resort if a run's processes outlived
        every earlier step.
        """
        native = ref.native
        if native is None:
            return
        job, native.job = native.job, None
        leader, native.leader = native.leader, None
        try:
            if job is not None:
                self.win_api.close_handle(job)
        finally:
            if leader is not None:
                self.win_api.close_handle(leader)

    def _kill_order(self, ref):
        """Live pids of the run, children before parents, the leader last.

        Job members the tree walk cannot reach (their parent died) come
        first; the scanner's own pid is never included.
        """
        api = self.win_api
        own_pid = api.getpid()
        tree = list(api.process_tree(ref.pid))
        in_tree = set(tree)
        native = ref.native
        orphans = []
        if native is not None and native.job is not None:
            orphans = [pid for pid in api.job_pids(native.job) if pid not in in_tree]
        return [pid for pid in orphans + tree if pid != own_pid]

    @staticmethod
    def _native(ref):
        if ref.native is None:
            ref.native = WindowsJob()
        return ref.native


class WindowsJob(object):
    """The Windows part of a GroupRef (its ``native`` attribute).

    Attributes:
        job: the Job Object handle, or None (not created, or closed).
        leader: our handle to the leader process, which keeps its pid from
            being recycled until close().
        suspended: pids pause() suspended, for resume() to undo exactly.
        errors: what went wrong in attach(), for the caller to report.
        kill_errors: the latest things that went wrong in kill() (bounded:
            kill() runs in a loop); read them when survivors remain.
    """

    __slots__ = ("job", "leader", "suspended", "errors", "kill_errors")

    def __init__(self, job=None, leader=None):
        self.job = job
        self.leader = leader
        self.suspended = []
        self.errors = []
        self.kill_errors = collections.deque(maxlen=KILL_ERRORS_KEPT)

    def __repr__(self):
        return "WindowsJob(job=%r, leader=%r)" % (self.job, self.leader)


def gams_window_title(pid):
    """Title of the hidden window through which GAMS process *pid* takes messages."""
    return "%s%d" % (GAMS_WINDOW_TITLE_PREFIX, pid)
