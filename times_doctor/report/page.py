"""Gather a scan's files for scan_report.html, write it, and ``times-doctor report``.

The page is rendered from what is on disk (the state file, the CSV rows,
each run's progress series and listing), the same way during a scan (every
time the CSV is rewritten) and afterwards (``times-doctor report``), so the
two can never disagree.  What is missing (a scan made before series files
existed, a run that never wrote a listing) becomes a note on the page, and
the rest is still drawn.
"""

import collections
import csv
import io
import os
import time

from times_doctor.report import best as best_file
from times_doctor import paths
from times_doctor.report import ranking, html_page as report_html
from times_doctor.gams import diagnosis
from times_doctor.atomic import read_bytes, write_atomic
from times_doctor.errors import EXIT_OK, ParseError, UsageError
from times_doctor.gams.lst import parse_lst
from times_doctor.report.csvreport import CSV_COLUMNS, LST_KEY, best_so_far, write_csv
from times_doctor.run.series import read_series, series_path
from times_doctor.paths import iso_time, read_state
from times_doctor.states import FINAL_STATES, RunStatus
from times_doctor.term.render import run_row

# The page is drawn every few seconds during a scan: each run's diagnosis is
# read once per change of its files.
_DIAGNOSES = diagnosis.DiagnosisCache()


def write_report(path, rows, html=True):
    """Atomically (re)write the CSV and, unless *html* is False, the HTML page beside it.

    The CSV is written first, so a failure rendering the page never costs the CSV.
    """
    write_csv(path, rows)
    if html:
        write_html_beside(path, rows)


def write_html_beside(csv_path, rows):
    """Render the page for the scan whose CSV is *csv_path* and write it atomically."""
    out_dir = os.path.dirname(os.path.dirname(os.path.abspath(csv_path)))
    page = report_html.render(load_report(out_dir, rows))
    write_atomic(paths.html_report_path(out_dir), page)


def run_report_command(out_dir, html_path=None, write=print):
    """``times-doctor report``: re-render the page from the files a scan left.

    Returns the exit code.  Raises UsageError when the folder holds neither
    a report nor a state file.
    """
    csv_path = paths.report_path(out_dir)
    state_path = paths.state_path(out_dir)
    if not os.path.exists(csv_path) and not os.path.exists(state_path):
        raise UsageError("no scan in %s: neither %s nor %s exists; give the folder a scan "
                         "wrote (its RUN_DIR, or its --out folder)" % (
                             out_dir, os.path.relpath(csv_path, out_dir),
                             os.path.relpath(state_path, out_dir)))
    report = load_report(out_dir)
    target = (os.path.abspath(html_path) if html_path
              else paths.html_report_path(out_dir))
    if not os.path.isdir(os.path.dirname(target)):
        raise UsageError("cannot write %s: its folder does not exist" % target)
    write_atomic(target, report_html.render(report))
    for note in report["notes"]:
        write("note: %s" % note)
    write("Report: %s" % target)
    return EXIT_OK


def load_report(out_dir, rows=None, now=None):
    """The dict report_html.render() takes, from the files of the scan in *out_dir*.

    *rows*: the scan's own rows (with their LstResults); None reads the CSV.
    A resumed scan's kept runs (``kept`` in the state file) are drawn like
    the others, from the files the earlier scan left in their work
    directories, and named in ``kept``.
    """
    notes = []
    state = _load_state(out_dir, notes)
    if rows is None:
        rows = _load_csv(paths.report_path(out_dir), notes)
    rows = [dict(row) for row in rows]
    jobs = _jobs(state)
    _add_unfinished(rows, jobs)
    series = {}
    no_series = []
    for row in rows:
        name = row.get("profile", "")
        _attach_listing(row, notes)
        work_dir = row.get("dir") or jobs.get(name, {}).get("work_dir") or ""
        series[name] = _load_series(work_dir, name, notes) if work_dir else None
        if series[name] is None:
            no_series.append(name)
    if no_series:
        notes.append("no progress series (%s) for %s: a scan made before this feature, or a "
                     "run that never started; its phases and convergence are not shown"
                     % (os.path.basename(series_path("")), ", ".join(no_series)))
    diagnoses = _diagnoses(rows, jobs, state, out_dir)
    ranked = ranking.rank_rows(rows)
    if ranked.entries:
        best_name, kind = ranked.entries[0].profile, "fastest optimal"
    else:
        held = best_so_far(rows)
        best_name, kind = (held["profile"] if held is not None else None), "best so far"
    scan = _scan_info(state, notes)
    return {
        "scan": scan,
        "kept": [name for name, job in jobs.items() if job.get("kept")],
        "rows": rows,
        "series": series,
        "diagnoses": diagnoses,
        "diagnose_command": diagnosis.diagnose_command_line(
            state.get("run_dir"), None if state.get("run_dir") == out_dir else out_dir),
        "notes": notes,
        "generated_at": iso_time(time.time() if now is None else now),
        "best_name": best_name,
        "best_kind": kind,
        "ranking": ranked,
        "answer": _answer(out_dir, scan, ranked),
    }


def _answer(out_dir, scan, ranked):
    """What the page says after the verdict: the command for a trustworthy ranking, the best file."""
    answer = {"trustworthy": None, "best_file": None, "use_line": None}
    if scan.get("run_dir") and scan.get("out_dir"):
        answer["trustworthy"] = "%s --confirm 2" % paths.resume_hint(scan["run_dir"],
                                                                       scan["out_dir"])
    if ranked.entries:
        solver = ranked.entries[0].solver
        path = best_file.best_option_path(out_dir, solver) if solver else None
        if path and os.path.exists(path):
            answer["best_file"] = path
            if scan.get("driver"):
                answer["use_line"] = best_file.use_line(scan["driver"], solver,
                                                        os.path.dirname(path))
    return answer


# -- pieces ----------------------------------------------------------------

def _load_state(out_dir, notes):
    path = paths.state_path(out_dir)
    if not os.path.exists(path):
        notes.append("no state file (%s): the model, GAMS, host and options are unknown"
                     % path)
        return {}
    try:
        return read_state(path)
    except ParseError as exc:
        notes.append("state file not used: %s" % exc)
        return {}


def _load_csv(path, notes):
    try:
        text = read_bytes(path).decode("utf-8", "replace")
    except (IOError, OSError) as exc:
        notes.append("no report CSV (%s): %s; runs are listed from the state file"
                     % (path, getattr(exc, "strerror", None) or exc))
        return []
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _jobs(state):
    return collections.OrderedDict((job.get("name"), job) for job in paths.jobs_of(state))


def _add_unfinished(rows, jobs):
    """Runs the state file knows and the CSV does not yet (still running, waiting)."""
    known = set(row.get("profile") for row in rows)
    for name, job in jobs.items():
        if name in known:
            continue
        run = run_row(job)
        elapsed = run.elapsed_seconds
        row = dict((column, "") for column in CSV_COLUMNS)
        row.update(profile=name, solver=job.get("solver", ""), status=run.status,
                   runtime_seconds="%.3f" % elapsed if elapsed is not None else "",
                   dir=job.get("work_dir") or "", trial_of=job.get("trial_of") or name,
                   run_kind=job.get("kind") or "scan")
        rows.append(row)


def _attach_listing(row, notes):
    if row.get(LST_KEY) is not None or not row.get("lst"):
        return
    try:
        row[LST_KEY] = parse_lst(row["lst"])
    except ParseError as exc:
        notes.append("listing of %s not read: %s" % (row.get("profile"), exc))


def _diagnoses(rows, jobs, state, out_dir):
    """name -> Diagnosis of each run that ended by itself and has a work directory.

    A cancelled run is left out: its listing ends where the user stopped it,
    which the page already says.
    """
    found = collections.OrderedDict()
    context = {"run_dir": state.get("run_dir"), "out": out_dir}
    for row in rows:
        name = row.get("profile", "")
        job = jobs.get(name, {})
        if row.get("status") not in FINAL_STATES or row.get("status") == RunStatus.CANCELLED:
            continue
        folder = row.get("dir") or job.get("work_dir") or ""
        if not folder or not os.path.isdir(folder):
            continue
        files = diagnosis.run_files(name, folder, listing=row.get("lst") or None,
                                   log=job.get("log"))
        found[name] = _DIAGNOSES.get(files, context)
    linked = diagnosis.link_conflicts(list(found.values()))
    return collections.OrderedDict((each.files.name, each) for each in linked)


def _load_series(work_dir, name, notes):
    path = series_path(work_dir)
    try:
        _, points, skipped = read_series(path)
    except (IOError, OSError):
        return None
    if skipped:
        notes.append("%d unreadable line(s) skipped in %s's series %s" % (skipped, name, path))
    return points


def _scan_info(state, notes):
    scanner = state.get("scanner") or {}
    driver = state.get("driver")
    info = {"model": os.path.basename(driver) if driver else None, "driver": driver,
            "run_dir": state.get("run_dir"), "out_dir": state.get("out_dir"),
            "gams": state.get("gams"), "host": scanner.get("host"),
            "started_at": scanner.get("started_at"), "options": state.get("options"),
            "resumed_from": state.get("resumed_from")}
    if state and "options" not in state:
        notes.append("the state file predates the HTML report: GAMS and the scan options "
                     "were not recorded")
    return info
