"""Process inspection for tests (Linux /proc) and a deadline-based wait."""

import os
import subprocess  # noqa: F401 (type comment)
import time
from typing import Callable, Dict, List, NamedTuple, Optional

ProcStat = NamedTuple("ProcStat", [("pid", int), ("comm", str), ("state", str), ("ppid", int),
                                   ("pgid", int), ("sid", int)])


def read_stat(pid):
    # type: (int) -> Optional[ProcStat]
    """Parse /proc/PID/stat; None when the process is gone.

    The command name is in parentheses and may itself contain spaces and ')',
    so the fields are split after the *last* ')'.
    """
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            raw = handle.read().decode("utf-8", "replace")
    except (IOError, OSError):  # ENOENT/ESRCH: it exited between listdir and open
        return None
    open_paren = raw.find("(")
    close_paren = raw.rfind(")")
    if open_paren < 0 or close_paren < open_paren:
        return None
    fields = raw[close_paren + 2:].split()
    # fields[0] = state (field 3 of proc(5)), [1] = ppid, [2] = pgrp, [3] = session
    if len(fields) < 4:
        return None
    return ProcStat(pid, raw[open_paren + 1:close_paren], fields[0], int(fields[1]),
                    int(fields[2]), int(fields[3]))


def all_stats():
    # type: () -> List[ProcStat]
    """Every live process (zombies included) as a ProcStat."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = read_stat(int(name))
            if stat is not None:
                found.append(stat)
    return found


def session_pids(sid):
    # type: (int) -> List[int]
    """Live, non-zombie pids whose session id is *sid*, sorted."""
    return sorted(stat.pid for stat in all_stats() if stat.sid == sid and stat.state not in "ZX")


def group_pids(pgid):
    # type: (int) -> List[int]
    """Live, non-zombie pids whose process group id is *pgid*, sorted."""
    return sorted(stat.pid for stat in all_stats()
                  if stat.pgid == pgid and stat.state not in "ZX")


def is_alive(pid):
    # type: (int) -> bool
    """True while *pid* exists and is not a zombie."""
    stat = read_stat(pid)
    return stat is not None and stat.state not in "ZX"


def marked_pids(marker):
    # type: (str) -> List[int]
    """Live, non-zombie pids whose environment carries TIMES_DOCTOR_JOB=*marker*, sorted.

    *marker* is ``<scan id>/<run>`` for one run's processes (GAMS, its shells,
    the solver), or ``<scan id>/`` for every run of a scan.  The marker
    finds a process wherever it went, after it left the run's session too.
    """
    needle = ("TIMES_DOCTOR_JOB=%s" % marker).encode()
    prefix = marker.endswith("/")
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as handle:
                entries = handle.read().split(b"\0")
        except (IOError, OSError):  # gone, or another user's
            continue
        if any(entry == needle or (prefix and entry.startswith(needle)) for entry in entries) \
                and is_alive(int(name)):
            found.append(int(name))
    return sorted(found)


def cmdline(pid):
    # type: (int) -> List[str]
    """The argv of *pid* ([] when gone or a kernel thread)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError):
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def process_tree(pid):
    # type: (int) -> List[Dict[str, object]]
    """*pid* and its live descendants, depth first.

    Each entry: {"pid", "ppid", "pgid", "sid", "state", "comm", "argv", "depth"}.
    """
    stats = all_stats()
    children = {}  # type: Dict[int, List[ProcStat]]
    by_pid = {}  # type: Dict[int, ProcStat]
    for stat in stats:
        by_pid[stat.pid] = stat
        children.setdefault(stat.ppid, []).append(stat)
    tree = []  # type: List[Dict[str, object]]
    if pid not in by_pid:
        return tree
    stack = [(by_pid[pid], 0)]
    while stack:
        stat, depth = stack.pop()
        tree.append({"pid": stat.pid, "ppid": stat.ppid, "pgid": stat.pgid, "sid": stat.sid,
                     "state": stat.state, "comm": stat.comm, "argv": cmdline(stat.pid),
                     "depth": depth})
        for child in sorted(children.get(stat.pid, []), key=lambda item: item.pid,
                            reverse=True):
            stack.append((child, depth + 1))
    return tree


def format_tree(tree):
    # type: (List[Dict[str, object]]) -> str
    """One line per process, indented by depth: for assertion messages."""
    lines = []
    for entry in tree:
        argv = " ".join(entry["argv"]) or "[%s]" % entry["comm"]  # type: ignore
        lines.append("%s%s sid=%s pgid=%s %s %s" % ("  " * int(entry["depth"]),  # type: ignore
                                                   entry["pid"], entry["sid"], entry["pgid"],
                                                   entry["state"], argv))
    return "\n".join(lines)


def wait_until(predicate, timeout, interval=0.02, message=None, process=None):
    # type: (Callable[[], object], float, float, object, Optional[subprocess.Popen]) -> object
    """Poll *predicate* until it returns something truthy or *timeout* seconds pass.

    Returns the last value of *predicate*. Without *message* a timeout returns
    that falsy value, so callers can write ``assert wait_until(lambda: ..., 5), "why"``;
    with *message* (a string, or a callable for text that is costly to build) a
    timeout raises AssertionError naming it. *process*, when given, is the program
    the condition waits on: if it exits first the wait fails at once with its exit
    code and output instead of running out the clock.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError("the process exited (%s) while waiting for %s: %r"
                                 % (process.returncode, _describe(message),
                                    process.communicate()))
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if message is None:
                return value
            raise AssertionError("timed out after %ss waiting for %s"
                                 % (timeout, _describe(message)))
        time.sleep(min(interval, remaining))


def _describe(message):
    # type: (object) -> str
    if message is None:
        return "a condition"
    return str(message() if callable(message) else message)
