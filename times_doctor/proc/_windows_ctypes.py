"""The Win32 declarations the Windows seam needs, for ctypes: constants, types, structures.

Values and layouts are the Windows SDK's.  Every type is declared at its
Windows width, so the structure layouts can be checked on any platform
(tests/test_procgroup_windows.py compares them with the documented 64-bit
sizes and offsets), and this module imports anywhere: nothing here touches
``ctypes.windll`` or ``ctypes.WinDLL`` except ``load_windll()``, called on first use.
"""

import ctypes
import signal

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
JobObjectBasicAccountingInformation = 1  # JOBOBJECTINFOCLASS
JobObjectBasicProcessIdList = 3
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


class JOBOBJECT_BASIC_ACCOUNTING_INFORMATION(ctypes.Structure):
    """CPU times (100 ns units) of every process that ever ran in a job, ended ones included."""

    _fields_ = [("TotalUserTime", LARGE_INTEGER),
                ("TotalKernelTime", LARGE_INTEGER),
                ("ThisPeriodTotalUserTime", LARGE_INTEGER),
                ("ThisPeriodTotalKernelTime", LARGE_INTEGER),
                ("TotalPageFaultCount", DWORD),
                ("TotalProcesses", DWORD),
                ("ActiveProcesses", DWORD),
                ("TotalTerminatedProcesses", DWORD)]


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
        "GetSystemTimes": (BOOL, (ctypes.POINTER(FILETIME), ctypes.POINTER(FILETIME),
                                  ctypes.POINTER(FILETIME))),
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


def load_windll(name):
    """ctypes.WinDLL(*name*) with every SIGNATURES entry declared on it (Windows only)."""
    dll = ctypes.WinDLL(name, use_last_error=True)
    declare(dll, SIGNATURES[name])
    return dll


def declare(dll, signatures):
    """Set restype and argtypes of each function in *signatures* on *dll*."""
    for function_name, (restype, argtypes) in signatures.items():
        function = getattr(dll, function_name)
        function.restype = restype
        function.argtypes = list(argtypes)
