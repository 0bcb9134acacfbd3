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

Every OS call goes through a ``WinApi`` object; tests replace it with a
recording fake, so this module imports (and its logic runs) on any
platform.  ``ctypes.windll`` is touched only inside ``WinApi`` methods.
"""

import collections
import ctypes
import os
import signal
import subprocess

from times_doctor.procgroup import GroupRef, ProcessGroups

# -- constants (values from the Windows SDK headers) -----------------------

CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_NO_WINDOW = 0x08000000

# os.kill() maps this to GenerateConsoleCtrlEvent on Windows; the signal
# module defines it only there.
CTRL_BREAK_EVENT = getattr(signal, "CTRL_BREAK_EVENT", 1)

PROCESS_TERMINATE = 0x0001
PROCESS_SET_QUOTA = 0x0100
PROCESS_SUSPEND_RESUME = 0x0800
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
SYNCHRONIZE = 0x00100000

JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000
JobObjectBasicProcessIdList = 3  # JOBOBJECTINFOCLASS
JobObjectExtendedLimitInformation = 9

TH32CS_SNAPPROCESS = 0x00000002
WAIT_OBJECT_0 = 0x00000000
WAIT_TIMEOUT = 0x00000102

WM_COPYDATA = 0x004A
SMTO_ABORTIFHUNG = 0x0002

ERROR_ACCESS_DENIED = 5
ERROR_NO_MORE_FILES = 18
ERROR_INVALID_PARAMETER = 87  # OpenProcess on a pid that no longer exists
ERROR_MORE_DATA = 234

# Exit code given to processes ended by force; taskkill /F uses the same.
KILLED_EXIT_CODE = 1

# GAMS (gams.exe) creates a hidden top-level window with this title and the
# gams process id appended, and stops the solve when it receives WM_COPYDATA
# carrying the ANSI text "GAMS Message Interrupt".  GAMS's own clients (GAMS
# Studio's AbstractProcess::interruptIntern, the Python API's
# GamsJob.interrupt) send dwData=1 and count the terminating NUL in cbData.
GAMS_WINDOW_TITLE_PREFIX = "___GAMSMSGWINDOW___"
GAMS_INTERRUPT_TAG = 1
GAMS_INTERRUPT_MESSAGE = b"GAMS Message Interrupt\x00"

# How long SendMessageTimeoutW waits for GAMS's window to take the message.
INTERRUPT_TIMEOUT_MS = 5000
TASKKILL_TIMEOUT_SECONDS = 30
KILL_ERRORS_KEPT = 20

# -- Windows types, at their Windows widths --------------------------------
# Not ctypes.wintypes: it fails to import on Python 3.6 off Windows
# (VARIANT_BOOL), and its DWORD/LONG are c_ulong/c_long, 8 bytes on 64-bit
# Linux, so the layouts below could not be checked there.  On Windows these
# are the same widths wintypes uses.

BOOL = ctypes.c_int32
INT = ctypes.c_int32
UINT = ctypes.c_uint32
DWORD = ctypes.c_uint32
LONG = ctypes.c_int32
ULONG = ctypes.c_uint32
ULONGLONG = ctypes.c_uint64
LARGE_INTEGER = ctypes.c_int64
WCHAR = ctypes.c_uint16  # ctypes.c_wchar is 4 bytes off Windows
ULONG_PTR = ctypes.c_size_t  # pointer-sized unsigned
SIZE_T = ctypes.c_size_t
LONG_PTR = ctypes.c_ssize_t
HANDLE = ctypes.c_void_p
HWND = ctypes.c_void_p
LPVOID = ctypes.c_void_p
LPCWSTR = ctypes.c_wchar_p
WPARAM = ULONG_PTR
LPARAM = LONG_PTR
LRESULT = LONG_PTR
NTSTATUS = LONG
MAX_PATH = 260

INVALID_HANDLE_VALUE = ctypes.c_void_p(-1).value


class FILETIME(ctypes.Structure):
    """100 ns intervals since 1601-01-01 (UTC), split in two DWORDs."""

    _fields_ = [("dwLowDateTime", DWORD), ("dwHighDateTime", DWORD)]

    def as_int(self):
        return (self.dwHighDateTime << 32) | self.dwLowDateTime


class IO_COUNTERS(ctypes.Structure):
    _fields_ = [("ReadOperationCount", ULONGLONG),
                ("WriteOperationCount", ULONGLONG),
                ("OtherOperationCount", ULONGLONG),
                ("ReadTransferCount", ULONGLONG),
                ("WriteTransferCount", ULONGLONG),
                ("OtherTransferCount", ULONGLONG)]


class JOBOBJECT_BASIC_LIMIT_INFORMATION(ctypes.Structure):
    _fields_ = [("PerProcessUserTimeLimit", LARGE_INTEGER),
                ("PerJobUserTimeLimit", LARGE_INTEGER),
                ("LimitFlags", DWORD),
                ("MinimumWorkingSetSize", SIZE_T),
                ("MaximumWorkingSetSize", SIZE_T),
                ("ActiveProcessLimit", DWORD),
                ("Affinity", ULONG_PTR),
                ("PriorityClass", DWORD),
                ("SchedulingClass", DWORD)]


class JOBOBJECT_EXTENDED_LIMIT_INFORMATION(ctypes.Structure):
    _fields_ = [("BasicLimitInformation", JOBOBJECT_BASIC_LIMIT_INFORMATION),
                ("IoInfo", IO_COUNTERS),
                ("ProcessMemoryLimit", SIZE_T),
                ("JobMemoryLimit", SIZE_T),
                ("PeakProcessMemoryUsed", SIZE_T),
                ("PeakJobMemoryUsed", SIZE_T)]


_process_id_list_types = {}


def process_id_list_type(capacity):
    """JOBOBJECT_BASIC_PROCESS_ID_LIST with room for *capacity* pids.

    The C struct ends in ``ULONG_PTR ProcessIdList[1]`` and the caller
    allocates as many entries as it wants filled, so each size is its own
    ctypes type (cached).
    """
    capacity = max(1, int(capacity))
    cls = _process_id_list_types.get(capacity)
    if cls is None:
        cls = type("JOBOBJECT_BASIC_PROCESS_ID_LIST", (ctypes.Structure,), {
            "_fields_": [("NumberOfAssignedProcesses", DWORD),
                         ("NumberOfProcessIdsInList", DWORD),
                         ("ProcessIdList", ULONG_PTR * capacity)]})
        _process_id_list_types[capacity] = cls
    return cls


JOBOBJECT_BASIC_PROCESS_ID_LIST = process_id_list_type(1)


class PROCESSENTRY32W(ctypes.Structure):
    _fields_ = [("dwSize", DWORD),
                ("cntUsage", DWORD),
                ("th32ProcessID", DWORD),
                ("th32DefaultHeapID", ULONG_PTR),
                ("th32ModuleID", DWORD),
                ("cntThreads", DWORD),
                ("th32ParentProcessID", DWORD),
                ("pcPriClassBase", LONG),
                ("dwFlags", DWORD),
                ("szExeFile", WCHAR * MAX_PATH)]


class COPYDATASTRUCT(ctypes.Structure):
    _fields_ = [("dwData", ULONG_PTR),
                ("cbData", DWORD),
                ("lpData", LPVOID)]


# Every function WinApi calls, with its restype and argtypes, per DLL.  Set
# on the real DLLs when they are first loaded: without restype a HANDLE is
# truncated to a C int on 64-bit Windows.
SIGNATURES = {
    "kernel32": {
        "CreateJobObjectW": (HANDLE, (LPVOID, LPCWSTR)),
        "SetInformationJobObject": (BOOL, (HANDLE, INT, LPVOID, DWORD)),
        "QueryInformationJobObject": (BOOL, (HANDLE, INT, LPVOID, DWORD,
                                             ctypes.POINTER(DWORD))),
        "AssignProcessToJobObject": (BOOL, (HANDLE, HANDLE)),
        "TerminateJobObject": (BOOL, (HANDLE, UINT)),
        "OpenProcess": (HANDLE, (DWORD, BOOL, DWORD)),
        "TerminateProcess": (BOOL, (HANDLE, UINT)),
        "WaitForSingleObject": (DWORD, (HANDLE, DWORD)),
        "GetProcessTimes": (BOOL, (HANDLE, ctypes.POINTER(FILETIME), ctypes.POINTER(FILETIME),
                                   ctypes.POINTER(FILETIME), ctypes.POINTER(FILETIME))),
        "CreateToolhelp32Snapshot": (HANDLE, (DWORD, DWORD)),
        "Process32FirstW": (BOOL, (HANDLE, ctypes.POINTER(PROCESSENTRY32W))),
        "Process32NextW": (BOOL, (HANDLE, ctypes.POINTER(PROCESSENTRY32W))),
        "CloseHandle": (BOOL, (HANDLE,)),
    },
    "user32": {
        "FindWindowW": (HWND, (LPCWSTR, LPCWSTR)),
        "SendMessageTimeoutW": (LRESULT, (HWND, UINT, WPARAM, LPARAM, UINT, UINT,
                                          ctypes.POINTER(ULONG_PTR))),
    },
    "ntdll": {
        # Undocumented but stable since Windows XP; Process Explorer's
        # "Suspend" uses them.  They return an NTSTATUS, not a BOOL.
        "NtSuspendProcess": (NTSTATUS, (HANDLE,)),
        "NtResumeProcess": (NTSTATUS, (HANDLE,)),
        "RtlNtStatusToDosError": (ULONG, (NTSTATUS,)),
    },
}


class WindowsProcessGroups(ProcessGroups):
    """Process groups on Windows: CTRL_BREAK to the group, a Job Object to end it."""

    def __init__(self, win_api=None):
        self.win_api = win_api if win_api is not None else WinApi()

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

    def interrupt(self, ref):
        """Send GAMS its "interrupt" window message.

        Returns:
            True if GAMS's message window took the message; False if there
            is no such window (not GAMS, GAMS not started yet or already
            gone) or it did not answer in time: the caller reports that the
            interrupt is not available for this run.
        """
        hwnd = self.win_api.find_window(gams_window_title(ref.pid))
        if not hwnd:
            return False
        return bool(self.win_api.send_copydata(hwnd, GAMS_INTERRUPT_TAG, GAMS_INTERRUPT_MESSAGE))

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


def tree_pids(root, parent_links, creation_time, is_alive):
    """The live pids of the process tree under *root*, children before parents.

    Args:
        root: the tree's top pid (included last if alive).
        parent_links: (pid, parent pid) pairs, one per process in a snapshot.
        creation_time: pid -> creation time (any comparable), or None.
        is_alive: pid -> bool.

    Windows records a parent's pid, not a reference to it, and reuses pids:
    a process whose parent exited may name a pid that now belongs to a
    newer, unrelated process.  A real child is never created before its
    parent, so a "child" older than its parent is skipped (psutil does the
    same).  Dead processes still in the snapshot are walked through but not
    returned.
    """
    children = collections.defaultdict(list)
    for pid, ppid in parent_links:
        if pid != ppid:  # the System Idle Process (0) names itself
            children[ppid].append(pid)
    times = {root: creation_time(root)}
    seen = set([root])
    order = []
    stack = [(root, False)]
    while stack:
        pid, expanded = stack.pop()
        if expanded:
            if is_alive(pid):
                order.append(pid)
            continue
        stack.append((pid, True))
        parent_time = times[pid]
        for child in reversed(children.get(pid, ())):
            if child in seen:
                continue
            child_time = creation_time(child)
            if parent_time is not None and child_time is not None and child_time < parent_time:
                continue
            seen.add(child)
            times[child] = child_time
            stack.append((child, False))
    return order


class WinApi(object):
    """The Windows calls the seam makes, one small method each.

    Args:
        load_dll: name -> DLL object with the SIGNATURES functions (default:
            ctypes.WinDLL with use_last_error and the signatures applied).
        last_error: () -> the calling thread's last Win32 error (default:
            ctypes.get_last_error).
        kill: os.kill, for CTRL_BREAK.
        call: subprocess.call, for taskkill.

    DLLs load on first use, so constructing a WinApi off Windows is fine.
    Methods raise OSError for failures; those that act on a pid return
    False when the process no longer exists.
    """

    def __init__(self, load_dll=None, last_error=None, kill=None, call=None):
        self._load_dll = load_dll if load_dll is not None else _load_windll
        self._last_error = last_error
        self._kill = kill if kill is not None else os.kill
        self._call = call if call is not None else subprocess.call
        self._dlls = {}

    # -- Job Objects -------------------------------------------------------

    def create_job(self):
        """A new unnamed Job Object; its handle is not inheritable."""
        job = self._dll("kernel32").CreateJobObjectW(None, None)
        if not job:
            raise self._error()
        return job

    def set_kill_on_close(self, job):
        """Make closing the last handle to *job* kill every process in it."""
        info = JOBOBJECT_EXTENDED_LIMIT_INFORMATION()
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        if not self._dll("kernel32").SetInformationJobObject(
                job, JobObjectExtendedLimitInformation, ctypes.byref(info),
                ctypes.sizeof(info)):
            raise self._error()

    def assign(self, job, process):
        """Put the process behind handle *process* (SET_QUOTA|TERMINATE) in *job*."""
        if not self._dll("kernel32").AssignProcessToJobObject(job, process):
            raise self._error()

    def terminate_job(self, job, code):
        """TerminateProcess every process in *job* with exit code *code*."""
        if not self._dll("kernel32").TerminateJobObject(job, code):
            raise self._error()

    def job_pids(self, job):
        """Pids of the live processes in *job*."""
        kernel32 = self._dll("kernel32")
        capacity = 32
        while True:
            listing = process_id_list_type(capacity)()
            if kernel32.QueryInformationJobObject(
                    job, JobObjectBasicProcessIdList, ctypes.byref(listing),
                    ctypes.sizeof(listing), None):
                break
            code = self._get_last_error()
            if code != ERROR_MORE_DATA:
                raise self._error(code)
            # Processes may join between two calls: leave some headroom.
            capacity = max(capacity * 2, listing.NumberOfAssignedProcesses + 16)
        count = min(listing.NumberOfProcessIdsInList, capacity)
        return [int(pid) for pid in listing.ProcessIdList[:count] if self.is_alive(int(pid))]

    # -- processes ---------------------------------------------------------

    def open_process(self, pid):
        """A handle that can assign *pid* to a job and keeps its pid reserved."""
        access = (PROCESS_SET_QUOTA | PROCESS_TERMINATE | SYNCHRONIZE
                  | PROCESS_QUERY_LIMITED_INFORMATION)
        handle = self._dll("kernel32").OpenProcess(access, False, pid)
        if not handle:
            raise self._error()
        return handle

    def process_creation_time(self, pid):
        """Creation time of *pid* in 100 ns units since 1601, or None if gone."""
        kernel32 = self._dll("kernel32")
        handle = self._open(pid, PROCESS_QUERY_LIMITED_INFORMATION)
        if handle is None:
            return None
        try:
            created, exited, kernel, user = FILETIME(), FILETIME(), FILETIME(), FILETIME()
            if not kernel32.GetProcessTimes(handle, ctypes.byref(created), ctypes.byref(exited),
                                            ctypes.byref(kernel), ctypes.byref(user)):
                raise self._error()
            return created.as_int()
        finally:
            kernel32.CloseHandle(handle)

    def is_alive(self, pid):
        """True while *pid* runs; an exited process whose handle is still
        open somewhere is listed by snapshots but is not alive."""
        kernel32 = self._dll("kernel32")
        try:
            handle = self._open(pid, SYNCHRONIZE)
        except OSError:
            return True  # exists, but we may not look (another user's)
        if handle is None:
            return False
        try:
            return kernel32.WaitForSingleObject(handle, 0) == WAIT_TIMEOUT
        finally:
            kernel32.CloseHandle(handle)

    def process_tree(self, pid):
        """Live pids of the tree under *pid* (toolhelp snapshot), children first, *pid* last."""
        return tree_pids(pid, self.parent_links(), self._creation_time_or_none, self.is_alive)

    def parent_links(self):
        """(pid, parent pid) for every process in a toolhelp snapshot."""
        kernel32 = self._dll("kernel32")
        snapshot = kernel32.CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0)
        if snapshot in (None, 0, INVALID_HANDLE_VALUE):
            raise self._error()
        links = []
        try:
            entry = PROCESSENTRY32W()
            entry.dwSize = ctypes.sizeof(PROCESSENTRY32W)
            ok = kernel32.Process32FirstW(snapshot, ctypes.byref(entry))
            while ok:
                links.append((int(entry.th32ProcessID), int(entry.th32ParentProcessID)))
                ok = kernel32.Process32NextW(snapshot, ctypes.byref(entry))
            code = self._get_last_error()
            if code != ERROR_NO_MORE_FILES:
                raise self._error(code)
        finally:
            kernel32.CloseHandle(snapshot)
        return links

    def open_and_terminate(self, pid):
        """TerminateProcess(*pid*); False if it was gone already."""
        kernel32 = self._dll("kernel32")
        handle = self._open(pid, PROCESS_TERMINATE | SYNCHRONIZE)
        if handle is None:
            return False
        try:
            if kernel32.TerminateProcess(handle, KILLED_EXIT_CODE):
                return True
            code = self._get_last_error()
            if kernel32.WaitForSingleObject(handle, 0) == WAIT_OBJECT_0:
                return False  # it exited meanwhile (the refusal said "access denied")
            raise self._error(code)
        finally:
            kernel32.CloseHandle(handle)

    def suspend(self, pid):
        """NtSuspendProcess(*pid*): every thread's suspend count +1. False if gone."""
        return self._nt_process_call("NtSuspendProcess", pid)

    def resume(self, pid):
        """NtResumeProcess(*pid*): every thread's suspend count -1. False if gone."""
        return self._nt_process_call("NtResumeProcess", pid)

    def send_ctrl_break(self, pid):
        """CTRL_BREAK_EVENT to the console process group led by *pid*.

        Only ever called with a pinned group leader's pid: for a pid that is
        attached to the console but leads no group, GenerateConsoleCtrlEvent
        acts as for group 0 and would break the scanner too
        (microsoft/terminal#335).
        """
        self._kill(pid, CTRL_BREAK_EVENT)

    def run_taskkill(self, pid):
        """``taskkill /T /F /PID pid``: its return code, or None if it could not run."""
        # The full path: a bare name is looked up in the current directory
        # first, and a run directory is no place to pick programs from.
        system_root = os.environ.get("SystemRoot", r"C:\Windows")
        command = [os.path.join(system_root, "System32", "taskkill.exe"),
                   "/T", "/F", "/PID", str(pid)]
        try:
            return self._call(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, creationflags=CREATE_NO_WINDOW,
                              timeout=TASKKILL_TIMEOUT_SECONDS)
        except (OSError, subprocess.TimeoutExpired):
            return None

    def getpid(self):
        return os.getpid()

    # -- windows and handles -----------------------------------------------

    def find_window(self, title):
        """Handle of the top-level window titled *title*, or None."""
        return self._dll("user32").FindWindowW(None, title) or None

    def send_copydata(self, hwnd, tag, data):
        """WM_COPYDATA to *hwnd* with dwData *tag* and the bytes *data*.

        Returns:
            True if the window's thread handled the message in time.
        """
        buffer = ctypes.create_string_buffer(data, len(data))
        message = COPYDATASTRUCT(tag, len(data), ctypes.cast(buffer, LPVOID))
        result = ULONG_PTR()
        # WM_COPYDATA must be sent, not posted (the data is copied while the
        # call lasts); the timeout keeps a hung GAMS from hanging the worker.
        sent = self._dll("user32").SendMessageTimeoutW(
            hwnd, WM_COPYDATA, 0, ctypes.addressof(message), SMTO_ABORTIFHUNG,
            INTERRUPT_TIMEOUT_MS, ctypes.byref(result))
        return bool(sent)

    def close_handle(self, handle):
        if not self._dll("kernel32").CloseHandle(handle):
            raise self._error()

    # -- helpers -----------------------------------------------------------

    def _dll(self, name):
        dll = self._dlls.get(name)
        if dll is None:
            dll = self._dlls[name] = self._load_dll(name)
        return dll

    def _get_last_error(self):
        if self._last_error is None:
            self._last_error = ctypes.get_last_error  # Windows only: looked up late
        return self._last_error()

    def _error(self, code=None):
        if code is None:
            code = self._get_last_error()
        win_error = getattr(ctypes, "WinError", None)
        if win_error is not None:
            return win_error(code)
        return OSError("Windows error %d" % code)

    def _open(self, pid, access):
        """OpenProcess, or None if *pid* does not exist; OSError otherwise."""
        handle = self._dll("kernel32").OpenProcess(access, False, pid)
        if handle:
            return handle
        code = self._get_last_error()
        if code == ERROR_INVALID_PARAMETER:
            return None
        raise self._error(code)

    def _creation_time_or_none(self, pid):
        try:
            return self.process_creation_time(pid)
        except OSError:
            return None  # protected process: compare nothing rather than guess

    def _nt_process_call(self, function, pid):
        ntdll = self._dll("ntdll")
        handle = self._open(pid, PROCESS_SUSPEND_RESUME)
        if handle is None:
            return False
        try:
            status = getattr(ntdll, function)(handle)
            if status != 0:
                raise self._error(ntdll.RtlNtStatusToDosError(status))
            return True
        finally:
            self._dll("kernel32").CloseHandle(handle)


def _load_windll(name):
    """ctypes.WinDLL(*name*) with every SIGNATURES entry declared on it."""
    dll = ctypes.WinDLL(name, use_last_error=True)
    declare(dll, SIGNATURES[name])
    return dll


def declare(dll, signatures):
    """Set restype and argtypes of each function in *signatures* on *dll*."""
    for function_name, (restype, argtypes) in signatures.items():
        function = getattr(dll, function_name)
        function.restype = restype
        function.argtypes = list(argtypes)
