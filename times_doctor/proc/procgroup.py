"""The platform seam for job process groups.

Everything that differs between POSIX and Windows when starting, signalling
and sweeping up a job's process tree lives behind the few methods of
``ProcessGroups``.  The platform is decided once, at import (like
``subprocess._mswindows``); callers use ``current()`` and never test
``os.name`` themselves.

OS calls go through an ``os_api`` object so the state logic can be tested
with a recording fake, while real-process tests exercise the real one.
"""

import collections
import os
import sys

_mswindows = (os.name == "nt")

# Every job's environment carries this variable (``<scan id>/<run name>``).
# Descendants inherit it, so a process that left the job's session with
# setsid() can still be recognised as ours (Linux: /proc/<pid>/environ).
JOB_ENV_VAR = "TIMES_DOCTOR_JOB"


class GroupRef(object):
    """What the seam needs to find a job's processes again.

    Attributes:
        pid: the leader (the GAMS process we started).
        pgid: its process group id (POSIX; equals pid for a session leader).
        sid: its session id (POSIX; equals pid), or None on Windows.
        start_time: the leader's start time as the OS reports it (Linux:
            clock ticks since boot from /proc/<pid>/stat), so a later reader
            can tell a recycled pid from the original.
        marker: the value of JOB_ENV_VAR in the job's environment.
        native: platform data (the Windows Job Object handle).
    """

    __slots__ = ("pid", "pgid", "sid", "start_time", "marker", "native",
                 "leader_reaped", "cpu_seconds")

    def __init__(self, pid, pgid=None, sid=None, start_time=None, marker=None,
                 native=None):
        self.pid = pid
        self.pgid = pgid
        self.sid = sid
        self.start_time = start_time
        self.marker = marker
        self.native = native
        # Set once the leader has been waited for: from then on its pid (and
        # so its group id) may belong to an unrelated process.
        self.leader_reaped = False
        # CPU seconds the OS accounted to the whole job when it ended (set by
        # reap() where the platform can tell: POSIX wait4, a Windows Job
        # Object); None where it cannot.
        self.cpu_seconds = None

    def __repr__(self):
        return "GroupRef(pid=%r, pgid=%r, sid=%r)" % (self.pid, self.pgid, self.sid)


TreeUsage = collections.namedtuple("TreeUsage", "process_cpu thread_times")
TreeUsage.__doc__ = """CPU counters of a job's processes at one moment (ProcessGroups.tree_usage).

process_cpu: {process key: CPU seconds it has used so far, its ended threads
    included}; the key tells a reused pid from the first one.
thread_times: {thread key: (seconds it ran on a CPU, seconds it was runnable
    but waited for one)}; empty where the platform cannot tell the wait.
"""


class ProcessGroups(object):
    """The operations every platform implements.

    Signal-style methods never raise for a process that is already gone;
    they raise OSError only for failures the user must hear about (EPERM).
    """

    def popen_kwargs(self):
        """Keyword arguments for subprocess.Popen that isolate the job."""
        raise NotImplementedError

    def control_report(self):
        """(available, one line): can runs be isolated and their processes found here?

        For ``times-doctor check``; asks the OS, starts nothing.
        """
        raise NotImplementedError

    def attach(self, popen, marker):
        """Return a GroupRef for a job just started with popen_kwargs()."""
        raise NotImplementedError

    def leader_exit_status(self, ref, popen):
        """The leader's return code if it has exited, else None.

        Must not reap the leader where the platform allows it (POSIX), so its
        pid and group id cannot be recycled while we sweep up the group.
        """
        raise NotImplementedError

    def wait_leader_exit(self, ref, popen):
        """Block until the leader has exited (run in a helper thread).

        Like leader_exit_status(), must not reap where the platform allows
        it.  The default (Windows) waits on the process handle, which Popen
        keeps open, so the pid cannot be reused meanwhile.
        """
        popen.wait()

    def reap(self, ref, popen):
        """Collect the leader's exit status; after this the pid is free.

        Where the platform accounts a whole job's CPU at its end, this also
        sets ``ref.cpu_seconds`` (POSIX: wait4 of the leader; Windows: the
        Job Object).
        """
        returncode = popen.wait()
        ref.leader_reaped = True
        return returncode

    def tree_usage(self, ref):
        """The job's CPU counters now (a TreeUsage), or None where the platform has none."""
        return None

    def machine_load(self):
        """How busy the machine is now, in runnable threads like a load average, or None."""
        return None

    def interrupt(self, ref):
        """Ask GAMS for a soft interrupt (solver stops, GAMS reports)."""
        raise NotImplementedError

    def terminate(self, ref):
        """Ask every process of the job to exit (SIGTERM / CTRL_BREAK)."""
        raise NotImplementedError

    def kill(self, ref):
        """End every process of the job without asking."""
        raise NotImplementedError

    def pause(self, ref):
        """Stop every process of the job (SIGSTOP / thread suspension)."""
        raise NotImplementedError

    def resume(self, ref):
        """Continue a paused job."""
        raise NotImplementedError

    def survivors(self, ref):
        """Pids of the job's processes still alive (zombies excluded)."""
        raise NotImplementedError

    def close(self, ref):
        """Release platform resources held for the job."""


def current():
    """The ProcessGroups implementation for this platform (one instance)."""
    global _current
    if _current is None:
        if _mswindows:
            from times_doctor.proc._windows import WindowsProcessGroups
            _current = WindowsProcessGroups()
        else:
            from times_doctor.proc._posix import PosixProcessGroups
            _current = PosixProcessGroups()
    return _current


_current = None


def platform_name():
    """A short name for messages and the state file."""
    if _mswindows:
        return "windows"
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform == "darwin":
        return "macos"
    return sys.platform


# -- the other per-platform facts: file locks, the session registry's home,
# -- the OS calls reap needs, the signal wake-up pipe ---------------------------
#
# lock_fd(fd) -> bool: an exclusive, non-blocking lock on an open file (False
#   if another process holds it); the OS drops it when its holder dies.
# unlock_fd(fd).
# sessions_root(environ): the per-user folder of the session registry.
# process_api(): the object remote/reap.py uses (process_table, process_info,
#   has_marker, kill).
# SIGNAL_WAKEUP_PIPE: True where signal.set_wakeup_fd() takes a pipe (POSIX),
#   so the main loop can select() on signals.
# GAMS_PATH_EXAMPLE: where GAMS usually is, for messages that ask for --gams-path.
# ended_exit_text(returncode): what the exit code of a run that times-doctor
#   ended says, in words that never read it as GAMS's answer (the signal; the
#   code TerminateProcess leaves).
# OPEN_FILES_BLOCK_REPLACE: True where a file that another process has open
#   cannot be replaced, and a file being replaced cannot be opened, both with
#   PermissionError for as long as the other side's call lasts (Windows, and
#   Wine; FILE_SHARE_DELETE does not lift it there).  atomic.py retries.

SIGNAL_WAKEUP_PIPE = not _mswindows
OPEN_FILES_BLOCK_REPLACE = _mswindows

if _mswindows:
    import msvcrt

    GAMS_PATH_EXAMPLE = r"C:\GAMS\54\gams.exe"

    # NTSTATUS of a process that its CTRL_BREAK (or CTRL_C) handler let end.
    STATUS_CONTROL_C_EXIT = 0xC000013A

    def ended_exit_text(returncode):
        from times_doctor.proc._winapi import KILLED_EXIT_CODE
        if returncode == KILLED_EXIT_CODE:
            return ("exit code %d, which ending its processes leaves (TerminateJobObject, "
                    "taskkill /F, TerminateProcess): not a GAMS return code" % returncode)
        if returncode == STATUS_CONTROL_C_EXIT:
            return "exit code 0xC000013A: it ended on CTRL_BREAK"
        return "GAMS exited with code %d while being ended: not a result" % returncode

    def lock_fd(fd):
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def unlock_fd(fd):
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    class _NoLeftovers(object):
        """Windows: a dead scanner's Job Objects closed with it (KILL_ON_JOB_CLOSE),
        so its runs' processes are already gone and reap only fixes the files."""

        def process_table(self):
            return []

        def process_info(self, pid):
            return None

        def has_marker(self, pid, marker):
            return False

        def kill(self, pid, sig):
            raise ProcessLookupError(pid)

    def process_api():
        """The OS calls remote/reap.py needs (process table, start times, kill)."""
        return _NoLeftovers()

    def sessions_root(environ):
        base = environ.get("LOCALAPPDATA") or os.path.expanduser(r"~\AppData\Local")
        return os.path.join(base, "times-doctor", "sessions")
else:
    import fcntl
    import signal

    GAMS_PATH_EXAMPLE = "/opt/gams/gams"

    def ended_exit_text(returncode):
        if returncode < 0:
            try:
                name = signal.Signals(-returncode).name
            except ValueError:
                name = "signal %d" % -returncode
            return "GAMS was ended by signal %d (%s)" % (-returncode, name)
        return "GAMS exited with code %d while being ended: not a result" % returncode

    def lock_fd(fd):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, PermissionError):
            return False
        return True

    def unlock_fd(fd):
        fcntl.flock(fd, fcntl.LOCK_UN)

    def process_api():
        """The OS calls remote/reap.py needs (process table, start times, kill)."""
        from times_doctor.proc._posix import PosixOsApi
        return PosixOsApi()

    def sessions_root(environ):
        runtime = environ.get("XDG_RUNTIME_DIR")
        if runtime:
            return os.path.join(runtime, "times-doctor", "sessions")
        home = environ.get("HOME") or os.path.expanduser("~")
        return os.path.join(home, ".cache", "times-doctor", "sessions")
