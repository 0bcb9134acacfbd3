"""End the runs of a scan whose scanner died, without ever hitting a stranger.

The state file names each run's leader pid, its session id (pid == sid:
every run leads its own session) and the leader's OS start time.  A
process is ours only if that record checks out against the live process
table:

- leader alive, same start time, still leading its session: the session is
  ours; every member is killed, and (Linux) every process carrying the
  run's TIMES_DOCTOR_JOB marker.
- leader alive with another start time, or no longer leading that session:
  the pid was recycled (or the file forged); nothing of that run is touched.
- leader dead: while a session id belongs to a live session, Linux never
  hands that number out as a pid, so members of that session that started
  no earlier than the recorded leader are its leftovers; so are marker
  carriers that started no earlier.

Every pid is checked again (start time, not a zombie) right before each
signal, so a pid that exits and is recycled mid-reap is not hit either.
"""

import collections
import csv
import io
import json
import os
import signal
import time

from times_doctor.launch import table as launchers
from times_doctor.remote import sessions
from times_doctor.atomic import read_bytes, write_atomic
from times_doctor.errors import ControlError, EXIT_USAGE, ParseError
from times_doctor.gams.lst import parse_lst
from times_doctor.report.csvreport import CSV_COLUMNS, report_row
from times_doctor.report.page import write_report
from times_doctor.paths import jobs_of, require_state_file, state_path
from times_doctor.paths import iso_time, read_state
from times_doctor.states import FINAL_STATES, RunStatus


DEFAULT_GRACE_SECONDS = 5.0
# gams_rc_meaning of the runs a reap marks cancelled: no exit code was seen.
REAPED_MEANING = "cancelled by `times-doctor reap`: its scanner had died"
KILL_WAIT_SECONDS = 5.0

ReapResult = collections.namedtuple(
    "ReapResult", "out_dir scan_id killed cancelled untouched launcher_cancelled")
ReapResult.__new__.__defaults__ = ((),)

_Profile = collections.namedtuple("_Profile", "name solver")


def reap(out_dir, grace_seconds=DEFAULT_GRACE_SECONDS, os_api=None, lock=None,
         monotonic=time.monotonic, sleep=time.sleep):
    """Kill what is left of a dead scan in *out_dir* and mark its runs cancelled.

    Args:
        out_dir: the scan's output base.
        grace_seconds: SIGTERM-to-SIGKILL wait.
        os_api: the POSIX seam's OS object (PosixOsApi or a fake).
        lock: a ScanLock the caller already holds (a new scan reaping
            first); None: take it here and release it at the end.

    Returns:
        A ReapResult, or None when there was nothing to reap.

    Raises:
        ControlError: the scanner is alive (exit 2), or no state file.
    """
    out_dir = os.path.abspath(out_dir)
    path = state_path(out_dir)
    own_lock = lock is None
    if own_lock:
        require_state_file(out_dir, ControlError)
        lock = sessions.ScanLock(out_dir)
        if not lock.try_acquire():
            raise ControlError("the scan at %s is alive (pid %s): stop it with "
                               "`times-doctor cancel %s --all`"
                               % (out_dir, sessions.lock_holder_pid(out_dir), out_dir), EXIT_USAGE)
    try:
        if not os.path.exists(path):
            return None
        document = read_state(path)
        if document.get("finished") and all(job.get("status") in FINAL_STATES
                                            for job in jobs_of(document)):
            sessions.forget_sessions_of(out_dir)
            return None
        result = _reap_document(out_dir, path, document, grace_seconds,
                                os_api or _default_os_api(), monotonic, sleep)
        sessions.forget_sessions_of(out_dir)
        return result
    finally:
        if own_lock:
            lock.release()


def reap_stale_sessions(grace_seconds=DEFAULT_GRACE_SECONDS, environ=None, os_api=None):
    """Reap every stale scan of this user on this host; returns ReapResults."""
    results = []
    for entry in sessions.list_sessions(environ):
        if entry["live"]:
            continue
        try:
            result = reap(entry["out_dir"], grace_seconds, os_api=os_api)
        except ControlError:
            # Its state file is gone (folder deleted) or a new scan took it
            # over just now: the entry is no longer ours to act on.
            sessions.unregister_session(entry["path"])
            continue
        sessions.unregister_session(entry["path"])
        if result is not None:
            results.append(result)
    return results


def describe(result):
    """One line saying what a reap did."""
    text = "reaped the dead scan %s in %s: killed %d process(es), marked %d run(s) cancelled" % (
        result.scan_id, result.out_dir, len(result.killed), len(result.cancelled))
    for label, ids in result.launcher_cancelled:
        text += ", cancelled %s %s" % (label, ", ".join(ids))
    if result.untouched:
        text += "; left alone (not provably ours): %s" % ", ".join(
            "%s (%s)" % item for item in sorted(result.untouched.items()))
    return text


def job_processes(job, scan_id, table, os_api):
    """The processes of one run, by the rules in the module docstring.

    Args:
        job: the run's entry in the state file.
        scan_id: the scan's id (for the environment marker).
        table: the process table (ProcInfo list).

    Returns:
        (list of (pid, start_time), reason): reason is None, or says why
        nothing of the run is touched.
    """
    pid, sid, start = job.get("pid"), job.get("sid"), job.get("os_start_time")
    if not isinstance(pid, int) or pid <= 1:
        return [], None  # never started
    if sid != pid or start is None:
        return [], "its record lacks a session or start time"
    own_pid = os.getpid()
    by_pid = dict((info.pid, info) for info in table if not info.is_zombie)
    leader = by_pid.get(pid)
    marker = "%s/%s" % (scan_id, job.get("name"))
    if leader is not None:
        if leader.start_time != start:
            return [], "pid %d now belongs to another process" % pid
        if leader.sid != sid:
            return [], "pid %d no longer leads session %d" % (pid, sid)
        chosen = [info for info in by_pid.values()
                  if info.sid == sid or os_api.has_marker(info.pid, marker)]
    else:
        chosen = [info for info in by_pid.values()
                  if _not_before(info.start_time, start)
                  and (info.sid == sid or os_api.has_marker(info.pid, marker))]
    return sorted((info.pid, info.start_time) for info in chosen if info.pid != own_pid), None


# -- internals -----------------------------------------------------------------------

def _reap_document(out_dir, path, document, grace_seconds, os_api, monotonic, sleep):
    scan_id = document.get("scan_id", "")
    jobs = jobs_of(document)
    unfinished = [job for job in jobs if job.get("status") not in FINAL_STATES]
    untouched = {}
    killed = set()

    def targets():
        table = os_api.process_table()
        found = {}
        for job in unfinished:
            processes, reason = job_processes(job, scan_id, table, os_api)
            if reason is not None:
                untouched[job.get("name")] = reason
                continue
            found.update(processes)
        return found

    # Runs a launcher put elsewhere (SLURM) have no local processes: their
    # launcher ends them, and only those provably the scan's (SLURM: the
    # job's name and user match the record).
    launcher_cancelled = _reap_launched(document, unfinished, untouched)

    # Decide ownership once, from the state as the scanner left it; later
    # rounds only look for the same sessions' members (new forks included).
    first = targets()
    if first:
        _signal(first, signal.SIGTERM, os_api, killed)
        _signal(first, signal.SIGCONT, os_api, set())  # a paused run never sees TERM
        deadline = monotonic() + max(0.0, grace_seconds)
        while targets() and monotonic() < deadline:
            sleep(0.05)
        kill_deadline = monotonic() + KILL_WAIT_SECONDS
        while True:
            left = targets()
            if not left or monotonic() >= kill_deadline:
                break
            _signal(left, signal.SIGKILL, os_api, killed)
            sleep(0.02)

    now = time.time()
    cancelled = []
    for job in unfinished:
        job["status"] = RunStatus.CANCELLED
        job["cancel_requested"] = True
        if job.get("ended_at") is None:
            job["ended_at"] = iso_time(now)
        cancelled.append(job.get("name"))
    document["finished"] = True
    document["updated_at"] = iso_time(now)
    document["reaped"] = {"at": iso_time(now), "by_pid": os.getpid(),
                          "killed_pids": sorted(killed), "untouched": dict(untouched)}
    write_atomic(path, json.dumps(document, indent=2) + "\n")
    _rewrite_report(document, jobs, set(cancelled))
    return ReapResult(out_dir, scan_id, sorted(killed), cancelled, untouched,
                      launcher_cancelled)


def _reap_launched(document, unfinished, untouched):
    """End the dead scan's runs that a launcher put elsewhere, through its table row's reap.

    Returns:
        [(the row's reap_label, [cancelled ids])], one item per launcher that ended some.
    """
    by_launcher = collections.OrderedDict()
    for job in unfinished:
        name = (job.get("launch") or {}).get("launcher")
        if name is not None:
            by_launcher.setdefault(name, []).append(job)
    uid = (document.get("scanner") or {}).get("uid")
    done = []
    for name, jobs in by_launcher.items():
        row = launchers.LAUNCHER_TABLE.get(name)
        if row is None or row.reap is None:
            for job in jobs:
                untouched[job.get("name")] = "launcher %r is not one this times-doctor knows" % name
            continue
        cancelled, left = row.reap(jobs, document.get("scan_id", ""), uid, os.environ)
        untouched.update(left)
        if cancelled:
            done.append((row.reap_label, cancelled))
    return done


def _signal(found, sig, os_api, record):
    for pid, start in sorted(found.items()):
        info = os_api.process_info(pid)
        # Checked again right before the signal: the pid may have been
        # recycled since the table was read.
        if info is None or info.is_zombie or info.start_time != start:
            continue
        try:
            os_api.kill(pid, sig)
            record.add(pid)
        except ProcessLookupError:
            pass  # exited between the check and the signal


def _rewrite_report(document, jobs, reaped):
    """Keep the CSV's finished rows; add the missing ones, in profile order.

    The HTML page is rewritten with it (page.write_report), as a scan
    does, so it shows the reaped runs as the CSV does.
    """
    report = document.get("report")
    if not isinstance(report, str) or not report:
        return
    existing = {}
    try:
        text = read_bytes(report).decode("utf-8", "replace")
    except (IOError, OSError):
        text = ""  # no row was written yet: every row is new
    for row in csv.DictReader(io.StringIO(text, newline="")):
        existing[row.get("profile")] = dict(
            (column, row.get(column) or "") for column in CSV_COLUMNS)
    rows = []
    for job in jobs:
        name = job.get("name")
        if name in existing:
            rows.append(existing.pop(name))
            continue
        lst = None
        if job.get("status") != RunStatus.CANCELLED and job.get("lst") and \
                os.path.exists(job["lst"]):
            try:
                lst = parse_lst(job["lst"])
            except ParseError:
                lst = None
        rows.append(report_row(_Profile(name, job.get("solver", "")), job.get("status"),
                               None, job.get("returncode"), lst, job.get("work_dir") or "",
                               job.get("lst") if lst is not None else "", record=job,
                               trial=job, meaning=REAPED_MEANING if name in reaped else None))
    rows.extend(existing.values())  # rows of runs the state does not know: keep them
    write_report(report, rows)


def _not_before(value, reference):
    """True if start time *value* is not earlier than *reference* (same units)."""
    if isinstance(value, int) and isinstance(reference, int):
        return value >= reference
    a, b = _epoch(value), _epoch(reference)
    return a is not None and b is not None and a >= b


def _epoch(value):
    # macOS ps "lstart", e.g. "Mon Nov 24 10:00:00 2026".
    if isinstance(value, str):
        try:
            return time.mktime(time.strptime(" ".join(value.split()), "%a %b %d %H:%M:%S %Y"))
        except ValueError:
            return None
    return None


def _default_os_api():
    return sessions.process_api()
