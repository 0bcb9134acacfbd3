"""POSIX process groups: one session per job, signals to the group.

Each GAMS run is started with ``start_new_session=True``, so it leads its own
session and process group.  That does two things: a Ctrl+C typed in the
scanner's terminal reaches only the scanner (the kernel signals the
terminal's foreground group, which the jobs are not in), and the whole tree
of a job (gams -> sh -> sh -> gmsgenux.out with solvelink=0) can be
signalled with one ``killpg`` and found again by session id.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading

from times_doctor.proc.procgroup import JOB_ENV_VAR, GroupRef, ProcessGroups, TreeUsage

_linux = sys.platform.startswith("linux")

# A job's process tree is a handful of processes (gams -> sh -> sh -> solver);
# a walk that finds more than this stops there rather than stall a sample.
MAX_TREE_PROCESSES = 256


class ProcInfo(object):
    """One line of the process table, as much as the seam needs."""

    __slots__ = ("pid", "ppid", "sid", "state", "start_time")

    def __init__(self, pid, ppid, sid, state, start_time):
        self.pid = pid
        self.ppid = ppid
        self.sid = sid
        self.state = state
        self.start_time = start_time

    @property
    def is_zombie(self):
        return self.state == "Z"


class PosixOsApi(object):
    """The OS calls the POSIX seam makes; tests replace it with a recording fake."""

    def killpg(self, pgid, sig):
        os.killpg(pgid, sig)

    def kill(self, pid, sig):
        os.kill(pid, sig)

    def getpid(self):
        return os.getpid()

    def waitid_nowait(self, pid):
        """Exit status of child *pid* without reaping it, or None if running."""
        result = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if result is None:
            return None
        if result.si_code == os.CLD_EXITED:
            return result.si_status
        return -result.si_status

    def waitid_block_nowait(self, pid):
        """Block until child *pid* has exited, leaving it unreaped."""
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)

    def wait4(self, pid):
        """Reap child *pid*: (its wait status, CPU seconds of it and every descendant it reaped)."""
        _, status, usage = os.wait4(pid, 0)
        return status, usage.ru_utime + usage.ru_stime

    def read_file(self, path, limit=4096):
        """The first *limit* bytes of a (/proc) file, or None when it cannot be read."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            return os.read(fd, limit)
        except OSError:
            return None
        finally:
            os.close(fd)

    def list_dir(self, path):
        """The names in a (/proc) folder, or [] when it is gone."""
        try:
            return os.listdir(path)
        except OSError:
            return []

    def load_average(self):
        """The 1-minute load average, or None where the OS gives none."""
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):
            return None

    def clock_ticks(self):
        """Clock ticks per second of /proc's CPU times."""
        return os.sysconf("SC_CLK_TCK")

    def process_table(self):
        """Every live process: Linux from /proc, elsewhere from ps + getsid."""
        if _linux:
            return _linux_process_table()
        return _ps_process_table()

    def process_info(self, pid):
        """ProcInfo for one pid, or None if it is gone."""
        if _linux:
            return _read_linux_stat(pid)
        for info in _ps_process_table(pid):
            return info
        return None

    def has_marker(self, pid, marker):
        """True if *pid*'s environment carries our job marker (Linux only).

        Elsewhere there is no cheap, reliable way to read another process's
        environment, so escaped processes are found by session id only; the
        docs/usage.md says so.
        """
        if not _linux:
            return False
        needle = ("%s=%s\0" % (JOB_ENV_VAR, marker)).encode("utf-8", "replace")
        try:
            with open("/proc/%d/environ" % pid, "rb") as handle:
                data = handle.read()
        except (IOError, OSError):
            # Gone, or another user's process: not ours in either case.
            return False
        return data.startswith(needle) or (b"\0" + needle) in data


def _read_linux_stat(pid):
    # os.open/os.read, not open(): a survivors() scan reads every process's
    # stat, and all workers scan at once during a cancel-all; open()'s io
    # stack costs several times the read itself.
    try:
        fd = os.open("/proc/%d/stat" % pid, os.O_RDONLY)
    except OSError:
        return None
    try:
        raw = os.read(fd, 4096).decode("ascii", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)
    # The command name is in parentheses and may itself contain spaces or
    # parentheses, so split on the LAST ')'.
    close = raw.rfind(")")
    if close < 0:
        return None
    fields = raw[close + 2:].split()
    try:
        return ProcInfo(pid, int(fields[1]), int(fields[3]), fields[0], int(fields[19]))
    except (IndexError, ValueError):
        return None


def _linux_process_table():
    table = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if not name.isdigit():
            continue
        info = _read_linux_stat(int(name))
        if info is not None:
            table.append(info)
    return table


def _ps_process_table(pid=None):
    """macOS and other BSDs: ps for pid/ppid/state/start, getsid for the session."""
    cmd = ["ps", "-o", "pid=,ppid=,stat=,lstart="]
    cmd += ["-p", str(pid)] if pid is not None else ["-A"]
    try:
        out = subprocess.check_output(cmd, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError):
        return []
    table = []
    for line in out.decode("ascii", "replace").splitlines():
        parts = line.split(None, 3)
        if len(parts) < 3:
            continue
        try:
            this_pid, ppid = int(parts[0]), int(parts[1])
            sid = os.getsid(this_pid)
        except (ValueError, OSError):
            continue
        state = "Z" if parts[2].startswith("Z") else parts[2][:1]
        start = parts[3].strip() if len(parts) > 3 else None
        table.append(ProcInfo(this_pid, ppid, sid, state, start))
    return table


class PosixProcessGroups(ProcessGroups):
    """Process groups on Linux and macOS."""

    def __init__(self, os_api=None):
        self.os_api = os_api if os_api is not None else PosixOsApi()
        self._tables = _SharedTableReads(lambda: self.os_api.process_table())

    def popen_kwargs(self):
        return {"start_new_session": True}

    def control_report(self):
        if not hasattr(os, "setsid"):
            return False, "no sessions (os.setsid missing): runs cannot be isolated"
        if _linux:
            if os.path.isdir("/proc/self") and _read_linux_stat(os.getpid()) is not None:
                return True, "sessions, and /proc to find every process of a run"
            return False, "sessions, but /proc is not readable: a run's processes cannot " \
                          "be found to end them"
        ps = shutil.which("ps")
        if ps:
            return True, "sessions, and %s to find every process of a run" % ps
        return False, "sessions, but no ps on PATH: a run's processes cannot be found to end them"

    def attach(self, popen, marker):
        info = self.os_api.process_info(popen.pid)
        start_time = info.start_time if info is not None else None
        # start_new_session made the child a session leader before exec, and
        # Popen returns only after exec, so pid == pgid == sid here.
        return GroupRef(popen.pid, pgid=popen.pid, sid=popen.pid,
                        start_time=start_time, marker=marker)

    def leader_exit_status(self, ref, popen):
        if ref.leader_reaped:
            return popen.returncode
        try:
            return self.os_api.waitid_nowait(ref.pid)
        except ChildProcessError:
            # Someone else reaped it (should not happen); the pid is no
            # longer safe to signal as a group.
            ref.leader_reaped = True
            return popen.poll() if popen.returncode is None else popen.returncode

    def wait_leader_exit(self, ref, popen):
        if ref.leader_reaped:
            return
        try:
            self.os_api.waitid_block_nowait(ref.pid)
        except ChildProcessError:
            pass  # already reaped by the worker (its error path): it has exited

    def reap(self, ref, popen):
        """wait4 the leader: its exit status, and the CPU of the tree below it.

        The rusage of a reaped process includes every descendant it reaped
        itself (gams reaps its shells, they reap the solver), so for a run
        that ended by itself this is the whole tree's CPU.  A descendant that
        outlived its parent (killed runs) is not in it: usage.UsageSampler
        keeps what /proc showed of those.
        """
        if popen.returncode is None and not ref.leader_reaped:
            try:
                status, cpu_seconds = self.os_api.wait4(ref.pid)
            except ChildProcessError:
                pass  # reaped already (should not happen): Popen knows its status
            else:
                popen.returncode = _returncode(status)
                ref.cpu_seconds = cpu_seconds
        return ProcessGroups.reap(self, ref, popen)

    def tree_usage(self, ref):
        """Linux: the CPU counters of every process below the leader, from /proc.

        The tree is walked through each thread's ``children`` file, from the
        leader down (not the whole process table: this runs every few
        seconds for every run); each process's CPU from ``stat`` (utime +
        stime, its ended threads included) and each thread's time on and
        waiting for a CPU from ``schedstat`` (the run-queue delay is what
        contention costs).  Elsewhere None.
        """
        if not _linux or ref.leader_reaped:
            return None
        return linux_tree_usage(self.os_api, ref.pid)

    def machine_load(self):
        return self.os_api.load_average()

    def interrupt(self, ref):
        """SIGINT to GAMS itself, which passes the interrupt on to its solver.

        Not to the whole group: with solvelink=0 the solver would get one
        SIGINT from us and a second one forwarded by GAMS, and a second
        interrupt landing while the solver hands back its point makes it
        exit at once, so GAMS reads no solution ("13 System Failure", seen
        once in a loaded test run).  Skipped once the leader is reaped, like
        every signal here.
        """
        if ref.leader_reaped:
            return
        try:
            self.os_api.kill(ref.pid, signal.SIGINT)
        except ProcessLookupError:
            pass  # GAMS already exited: nothing left to interrupt

    def terminate(self, ref):
        self._signal_all(ref, signal.SIGTERM)
        # A paused (SIGSTOPped) job never sees SIGTERM until it is continued.
        self._signal_all(ref, signal.SIGCONT)

    def kill(self, ref):
        self._signal_all(ref, signal.SIGKILL)

    def pause(self, ref):
        self._signal_all(ref, signal.SIGSTOP)

    def resume(self, ref):
        self._signal_all(ref, signal.SIGCONT)

    def survivors(self, ref):
        own_pid = self.os_api.getpid()
        found = []
        for info in self._tables.read():
            if info.is_zombie or info.pid == own_pid:
                continue
            if ref.sid is not None and info.sid == ref.sid:
                found.append(info.pid)
            elif ref.marker and self.os_api.has_marker(info.pid, ref.marker):
                found.append(info.pid)
        return sorted(found)

    def _signal_group(self, ref, sig):
        """killpg, but only while the leader is unreaped.

        Once the leader has been reaped its pid may be handed to an unrelated
        process, and that process could lead a group of the same id.
        """
        if ref.leader_reaped:
            return
        try:
            self.os_api.killpg(ref.pgid, sig)
        except ProcessLookupError:
            pass  # the whole group is gone already: ESRCH means done
        except PermissionError:
            # macOS answers EPERM for a group that holds only zombies.
            if self.survivors(ref):
                raise

    def _signal_all(self, ref, sig):
        """Signal the group, then any process of the job that escaped it."""
        self._signal_group(ref, sig)
        for pid in self.survivors(ref):
            try:
                self.os_api.kill(pid, sig)
            except ProcessLookupError:
                pass  # exited between the scan and the signal


def linux_tree_usage(api, leader):
    """TreeUsage of *leader* and its descendants, read through *api* (PosixOsApi)."""
    ticks = float(api.clock_ticks())
    processes, threads = {}, {}
    pending, seen = [leader], set()
    while pending and len(seen) < MAX_TREE_PROCESSES:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        times = _stat_times(api.read_file("/proc/%d/stat" % pid))
        if times is None:
            continue  # gone since its parent listed it
        start, cpu_ticks = times
        processes[(pid, start)] = cpu_ticks / ticks
        for tid in api.list_dir("/proc/%d/task" % pid):
            if not tid.isdigit():
                continue
            folder = "/proc/%d/task/%s/" % (pid, tid)
            times = _schedstat(api.read_file(folder + "schedstat"))
            if times is not None:
                threads[(pid, start, int(tid))] = times
            children = api.read_file(folder + "children") or b""
            pending.extend(int(child) for child in children.split() if child.isdigit())
    return TreeUsage(processes, threads)


def _stat_times(raw):
    """(start time, utime + stime in clock ticks) from /proc/<pid>/stat, or None."""
    if not raw:
        return None
    close = raw.rfind(b")")
    fields = raw[close + 2:].split()
    try:
        return int(fields[19]), int(fields[11]) + int(fields[12])
    except (IndexError, ValueError):
        return None


def _schedstat(raw):
    """(seconds on a CPU, seconds waiting for one) from a thread's schedstat, or None."""
    fields = (raw or b"").split()
    try:
        return int(fields[0]) / 1e9, int(fields[1]) / 1e9
    except (IndexError, ValueError):
        return None


def _returncode(status):
    """Popen's returncode for a wait status: the exit code, or minus the signal."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


class _SharedTableReads(object):
    """Process-table reads that threads asking at the same moment share.

    A caller gets a table whose read began after it asked (so it is as
    fresh as one it would read itself), but when many workers ask at once,
    as they do at the end of a cancel-all's grace, one or two reads serve
    them all instead of one each in a row: each read of /proc costs about
    a millisecond, holding the GIL, and the scanner's exit would wait for
    all of them.
    """

    def __init__(self, read_table):
        self._read_table = read_table
        self._condition = threading.Condition(threading.Lock())
        self._started = 0     # reads begun so far
        self._finished = 0    # the number of the newest finished read
        self._reading = False
        self._table = None    # the newest finished read's table

    def read(self):
        with self._condition:
            wanted = self._started + 1  # the first read to begin after now
            while True:
                if self._finished >= wanted:
                    return self._table
                if not self._reading:
                    break
                self._condition.wait()
            self._reading = True
            self._started += 1
            number = self._started
        table = None
        try:
            table = self._read_table()
        finally:
            with self._condition:
                self._reading = False
                if table is not None:
                    self._finished, self._table = number, table
                self._condition.notify_all()
        return table
