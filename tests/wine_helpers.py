"""What the Windows leg's tests share (tests/test_windows_*.py; run under Windows only).

The fake GAMS trees, shaped like GAMS on Windows (``gams.exe`` starts the
solver launcher ``gmsgennx.exe``, which writes the log as CPLEX does):

- ``.cmd`` tree: ``gams.cmd`` (cmd.exe) -> ``python.exe fake_gams.py`` (GAMS) ->
  ``python.exe fake_gams.py --fake-child ... solver`` (the solver, appending
  CPLEX-style lines to the run log) and any sleepers the driver asks for;
- ``.exe`` tree: ``gams.exe`` -> ``gmsgennx.exe`` (the solver) and sleepers,
  where both are copies of the embeddable ``python.exe`` made by
  ``exe_gams_dir``: their ``._pth`` puts tests/fakegams on the path and turns
  on ``site``, whose ``sitecustomize`` runs fake_gams.py with their argv.

What the fake does rests on: fake_gams.py's directives (a test that needs a
GAMS behaviour writes it into the driver), the GAMS message window and its
interrupt message as times_doctor/_procgroup_windows.py documents them
(fake_gams_window.py), and GAMS's solver status 8 (User Interrupt) after one.

Process checks use ``ProcessWatch``: handles opened with this module's own
ctypes calls (not times-doctor's WinApi, whose behaviour is under test).  An
open handle keeps its pid from being reused, so "exited" means that process.
"""

import ctypes
import os
import re
import shutil
import sys

from proc_helpers import wait_until
from scan_helpers import jobs_by_name

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_GAMS_DIR = os.path.join(HERE, "fakegams")
GAMS_CMD = os.path.join(FAKE_GAMS_DIR, "gams.cmd")

SYNCHRONIZE = 0x00100000
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
WAIT_TIMEOUT = 0x00000102

# The embeddable distribution's files a copy of python.exe needs beside it.
_EXE_COMPANIONS = ("python313.dll", "python3.dll", "vcruntime140.dll", "vcruntime140_1.dll")


def wine_release():
    """Wine's release ("8.0") when this Windows is Wine (its ntdll says so), else None."""
    try:
        get_version = ctypes.CDLL("ntdll").wine_get_version
    except (OSError, AttributeError):
        return None
    get_version.restype = ctypes.c_char_p
    return get_version().decode()


def platform_line():
    """The leg's header line: the Wine release and the Windows CPython."""
    python = "Windows CPython %s (%s)" % (sys.version.split()[0], sys.executable)
    release = wine_release()
    if release is None:
        return "Windows leg: Windows (not Wine), %s" % python
    return "Windows leg: Wine %s, %s" % (release, python)


def exe_gams_dir(folder):
    """Make *folder* a fake GAMS system folder: ``gams.exe`` and ``gmsgennx.exe``.

    Returns the path of gams.exe.  Never use shutil.copy2 or copytree here:
    Python 3.13 copies with CopyFile2, which Wine 8.0 does not implement.
    """
    python_dir = os.path.dirname(sys.executable)
    os.makedirs(folder)
    for name in _EXE_COMPANIONS:
        source = os.path.join(python_dir, name)
        if os.path.exists(source):
            shutil.copyfile(source, os.path.join(folder, name))
    pth = "\n".join([os.path.join(python_dir, "python313.zip"), python_dir, FAKE_GAMS_DIR,
                     "import site"]) + "\n"
    for stem in ("gams", "gmsgennx"):
        shutil.copyfile(sys.executable, os.path.join(folder, stem + ".exe"))
        with open(os.path.join(folder, stem + "._pth"), "w", encoding="utf-8") as handle:
            handle.write(pth)
    return os.path.join(folder, "gams.exe")


def logged_pids(path, label):
    """The pids a fake logged as ``--- fake: <label> pid N``, in order."""
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    return [int(pid) for pid in re.findall(r"^--- fake: %s pid (\d+)\r?$" % re.escape(label),
                                           text, re.M)]


def read_text(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


class ProcessWatch(object):
    """Handles on processes by pid, to tell when each has exited.

    The handle pins the pid (Windows does not reuse it while a handle is
    open), so a later "alive" is about the same process.
    """

    def __init__(self):
        self._kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        self._kernel32.OpenProcess.restype = ctypes.c_void_p
        self._kernel32.OpenProcess.argtypes = [ctypes.c_uint32, ctypes.c_int32, ctypes.c_uint32]
        self._kernel32.WaitForSingleObject.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        self._kernel32.WaitForSingleObject.restype = ctypes.c_uint32
        self._kernel32.CloseHandle.argtypes = [ctypes.c_void_p]
        self.handles = {}

    def add(self, pids):
        """Watch *pids*; a pid that is gone already is watched as exited."""
        for pid in pids:
            if pid not in self.handles:
                self.handles[pid] = self._kernel32.OpenProcess(
                    SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, False, pid) or None
        return self

    def alive(self):
        """The watched pids still running, sorted."""
        return sorted(pid for pid, handle in self.handles.items()
                      if handle is not None
                      and self._kernel32.WaitForSingleObject(handle, 0) == WAIT_TIMEOUT)

    def wait_gone(self, seconds, message):
        wait_until(lambda: not self.alive(), seconds,
                   message=lambda: "%s: still alive %s" % (message, self.alive()))

    def close(self):
        for handle in self.handles.values():
            if handle is not None:
                self._kernel32.CloseHandle(handle)
        self.handles = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# -- scans of the fake GAMS ------------------------------------------------------------

def model(folder, directives):
    """*folder*, made, with a model.gms of fake_gams.py *directives* ("solver 20 300", ...)."""
    os.makedirs(folder)
    with open(os.path.join(folder, "model.gms"), "w") as handle:
        handle.write("".join("* FAKE: %s\n" % line for line in directives))
    return folder


def scan_args(run_dir, gams, out, profiles, workers=4, grace=2, extra=()):
    """CLI arguments for a parallel scan of *profiles* (comma-separated), one thread a run."""
    return (["scan", run_dir, "--gams-path", gams, "--profiles", profiles, "--threads", "1",
             "--parallel", "--max-workers", str(workers), "--grace-seconds", str(grace),
             "--out", out, "--yes"] + list(extra))


def running(out, names):
    """The state file's jobs by name when every run of *names* is running, else False."""
    jobs = jobs_by_name(out)
    return all(jobs.get(name, {}).get("status") == "running" for name in names) and jobs
