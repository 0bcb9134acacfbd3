"""The Windows calls of the process-group seam, one small method each (``WinApi``).

``WinApi`` is the object ``WindowsProcessGroups`` makes every OS call through;
tests replace it with a recording fake, and test its own ctypes code against
fake DLLs.  ``tree_pids`` is the pure walk of a toolhelp snapshot that
``WinApi.process_tree`` feeds.  The declarations (types, structures,
signatures) live in ``_windows_ctypes``.
"""

import collections
import ctypes
import os
import subprocess

from times_doctor.proc._windows_ctypes import (COPYDATASTRUCT, CREATE_NO_WINDOW, CTRL_BREAK_EVENT,
                                               ERROR_INVALID_PARAMETER, ERROR_MORE_DATA,
                                               ERROR_NO_MORE_FILES, FILETIME, INVALID_HANDLE_VALUE,
                                               JOBOBJECT_BASIC_ACCOUNTING_INFORMATION,
                                               JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
                                               JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
                                               JobObjectBasicAccountingInformation,
                                               JobObjectBasicProcessIdList,
                                               JobObjectExtendedLimitInformation, LPVOID,
                                               PROCESSENTRY32W, PROCESS_QUERY_LIMITED_INFORMATION,
                                               PROCESS_SET_QUOTA, PROCESS_SUSPEND_RESUME,
                                               PROCESS_TERMINATE, SMTO_ABORTIFHUNG, SYNCHRONIZE,
                                               TH32CS_SNAPPROCESS, ULONG_PTR, WAIT_OBJECT_0,
                                               WAIT_TIMEOUT, WM_COPYDATA, load_windll,
                                               process_id_list_type)

# Exit code given to processes ended by force; taskkill /F uses the same.
KILLED_EXIT_CODE = 1

# How long SendMessageTimeoutW waits for GAMS's window to take the message.
INTERRUPT_TIMEOUT_MS = 5000
TASKKILL_TIMEOUT_SECONDS = 30


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
        self._load_dll = load_dll if load_dll is not None else load_windll
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

    def job_cpu_seconds(self, job):
        """CPU seconds (user + kernel) of every process that ran in *job*, ended ones included."""
        info = JOBOBJECT_BASIC_ACCOUNTING_INFORMATION()
        if not self._dll("kernel32").QueryInformationJobObject(
                job, JobObjectBasicAccountingInformation, ctypes.byref(info),
                ctypes.sizeof(info), None):
            raise self._error()
        return (info.TotalUserTime + info.TotalKernelTime) / 1e7

    def system_times(self):
        """(idle, kernel, user) CPU time of the whole machine so far, in 100 ns units.

        Kernel time includes idle time (GetSystemTimes).
        """
        idle, kernel, user = FILETIME(), FILETIME(), FILETIME()
        if not self._dll("kernel32").GetSystemTimes(ctypes.byref(idle), ctypes.byref(kernel),
                                                    ctypes.byref(user)):
            raise self._error()
        return idle.as_int(), kernel.as_int(), user.as_int()

    def cpu_count(self):
        return os.cpu_count() or 1

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
