"""The platform seam for job process groups.

Everything that differs between POSIX and Windows when starting, signalling
and sweeping up a job's process tree lives behind the few methods of
``ProcessGroups``.  The platform is decided once, at import (like
``subprocess._mswindows``); callers use ``current()`` and never test
``os.name`` themselves.

OS calls go through an ``os_api`` object so the state logic can be tested
with a recording fake, while real-process tests exercise the real one.
"""

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
                 "leader_reaped")

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

    def __repr__(self):
        return "GroupRef(pid=%r, pgid=%r, sid=%r)" % (self.pid, self.pgid, self.sid)


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
        """Collect the leader's exit status; after this the pid is free."""
        returncode = popen.wait()
        ref.leader_reaped = True
        return returncode

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
            from times_doctor._procgroup_windows import WindowsProcessGroups
            _current = WindowsProcessGroups()
        else:
            from times_doctor._procgroup_posix import PosixProcessGroups
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
