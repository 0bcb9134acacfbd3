"""What the dashboard shows: the scans it serves and each one's view, from the state files.

Split from dashboard.py (the HTTP server and its guards) so the reading of
scans can be read and tested apart from the serving.  The run cells are the
scanner's record of each run as the state file has it, through the one row
builder (render.run_row); each run's chart is drawn from its progress series file, the one
the runner writes for the HTML report (run/series.py), so the page reads no
solver log except for its Log view.  Nothing here signals anything or
serves anything.
"""

import collections
import json
import os
import pkgutil
import threading

from times_doctor import paths
from times_doctor.remote import sessions
from times_doctor.errors import ParseError, UsageError
from times_doctor.run.tail import tail_lines
from times_doctor.run.series import read_series, series_path
from times_doctor.paths import read_state
from times_doctor.states import (
    ACTIVE_STATES, ALWAYS_COUNTED, CANCELLABLE_STATES, COLOURS, FINAL_STATES, LABELS,
    SUMMARY_ORDER, count_states, web_colour)
from times_doctor.term.render import run_row

LOG_TAIL_LINES = 100
LOG_TAIL_MAX_BYTES = 64 * 1024

CHART_MAX_POINTS = 150
POLL_MILLISECONDS = 1000

ScanEntry = collections.namedtuple("ScanEntry", "scan_id out_dir out_root state_path document")


# -- which scans ---------------------------------------------------------------


class ScanSource(object):
    """The scans to serve: named output folders, or every scan in the session registry.

    Args:
        out_dirs: folders holding ``times_doctor_out/`` (a RUN_DIR or a scan's
            --out); a ``times_doctor_out`` folder itself is accepted too.
            None: list the session registry on every call.
        list_sessions: the registry lister (sessions.list_sessions).
    """

    def __init__(self, out_dirs=None, list_sessions=None):
        self.out_dirs = (None if out_dirs is None
                         else [paths.normalise_out_dir(d) for d in out_dirs])
        self._list_sessions = list_sessions or sessions.list_sessions

    def scans(self):
        errors = []
        if self.out_dirs is not None:
            candidates = [(out_dir, paths.state_path(out_dir), True)
                          for out_dir in self.out_dirs]
        else:
            candidates = []
            for session in self._list_sessions():
                out_dir = os.path.abspath(session["out_dir"])
                candidates.append((out_dir, paths.state_path(out_dir), False))
        found = []
        seen = set()
        for out_dir, path, named in candidates:
            if not os.path.exists(path):
                if named:
                    errors.append({"out_dir": out_dir, "error": "no scan yet at %s" % out_dir})
                continue
            try:
                document = read_state(path)
            except ParseError as exc:
                errors.append({"out_dir": out_dir, "error": str(exc)})
                continue
            scan_id = document.get("scan_id")
            if not isinstance(scan_id, str) or not scan_id or scan_id in seen:
                continue
            seen.add(scan_id)
            found.append(ScanEntry(scan_id, out_dir, paths.out_root_of_state(path), path,
                                   document))
        return found, errors


def check_out_dirs(folders):
    """Raise UsageError for a named folder that does not exist."""
    for folder in folders:
        if not os.path.isdir(folder):
            raise UsageError("%s is not a directory: give a scan's RUN_DIR or its --out folder"
                             % folder)


# -- what the page shows ---------------------------------------------------------


class ChartCache(object):
    """Each run's chart, drawn from its progress series file (run/series.py).

    The table's cells (phase, progress, result, time) are the scanner's
    record of each run, read from the state file; the chart is the run's
    series, which the runner writes as it reads the log (bounded: a few
    hundred points however long the run).  A series file unchanged since the
    last poll (same inode, size and modification time) is not read again.
    Charts of scans no longer served are dropped.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._charts = {}   # (scan id, run name) -> (path, file signature, chart)

    def chart(self, scan_id, name, path):
        """The chart of run *name* from the series file at *path* (None: no file, no chart)."""
        if path is None:
            return None
        try:
            stat = os.stat(path)
            signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        except OSError:
            return None  # not written yet (a waiting run), or an older scan
        key = (scan_id, name)
        with self._lock:
            cached = self._charts.get(key)
        if cached is not None and cached[:2] == (path, signature):
            return cached[2]
        try:
            _, points, _ = read_series(path)
        except OSError:
            return None  # removed between the stat and the read
        chart = chart_for(points)
        with self._lock:
            self._charts[key] = (path, signature, chart)
        return chart

    def keep_only(self, scan_ids):
        with self._lock:
            for key in [k for k in self._charts if k[0] not in scan_ids]:
                del self._charts[key]


def scan_view(entry, charts):
    """The state document (unchanged) plus a "dashboard" member the page draws from."""
    document = dict(entry.document)
    jobs = paths.jobs_of(document)
    runs = collections.OrderedDict()
    for job in jobs:
        name = job.get("name")
        if isinstance(name, str):
            runs[name] = run_view(entry, job, charts)
    live = not document.get("finished") and sessions.scanner_alive(entry.out_dir)
    document["dashboard"] = {
        "live": bool(live),
        "summary": summary_counts([job.get("status") for job in jobs]),
        "runs": runs,
    }
    return document


def run_view(entry, job, charts):
    """The columns of one run, as the scanner's record has them, and its chart from its series."""
    row = run_row(job)
    work_dir = job.get("work_dir")
    path = served_file(entry, series_path(work_dir)) if isinstance(work_dir, str) else None
    view = collections.OrderedDict()
    view["label"] = LABELS.get(row.status, str(row.status))
    for field in ("result", "phase", "progress", "iteration", "details", "elapsed_seconds"):
        view[field] = getattr(row, field)
    view["chart"] = charts.chart(entry.scan_id, job.get("name"), path)
    return view


def summary_counts(statuses):
    """[{"state", "count"}] in SUMMARY_ORDER, as the terminal's summary line shows them.

    Starting counts as running; waiting, running, paused, capped and interrupted only
    when non-zero; unknown states appended when non-zero.
    """
    return [{"state": state, "count": n} for state, n in count_states(statuses).items()
            if n or state in ALWAYS_COUNTED]


def chart_for(points, max_points=CHART_MAX_POINTS):
    """What to draw for a run's progress series (run/series.py points), or None.

    Against the run's clock (seconds, the series' ``t``).  Only the current
    stage is drawn: once the MIP node log starts, the root LP's rows are
    left out, since the incumbent and bound are another scale.  Of an LP:
    the primal/dual infeasibility when at least two points carry a positive
    one, always on a log scale (it falls by orders of magnitude toward 0);
    otherwise the primal/dual objective.  Of a MIP: the incumbent and the
    bound.  Objectives are on a log scale only when every value is positive
    and they span two decades or more.

    Returns:
        {"kind": "infeasibility"|"objective", "log": bool,
         "series": [{"name", "points": [[seconds, value], ...]}]} with at
        most *max_points* points per series, or None with under two points.
    """
    points, mip = _current_stage(points)
    if mip:
        columns = _MIP_OBJECTIVE
    else:
        series = _series(points, _INFEASIBILITY, positive_only=True)
        if sum(len(found) for _, found in series) >= 2:
            return _chart("infeasibility", True, series, max_points)
        columns = _LP_OBJECTIVE
    series = _series(points, columns, positive_only=False)
    values = [value for _, found in series for _, value in found]
    if len(values) < 2:
        return None
    low, high = min(values), max(values)
    log = low > 0 and high / low >= 100.0
    return _chart("objective", log, series, max_points)


# (series name, series point key) of each chart line.
_INFEASIBILITY = (("primal infeasibility", "primal_inf"), ("dual infeasibility", "dual_inf"))
_LP_OBJECTIVE = (("primal objective", "primal_obj"), ("dual objective", "dual_obj"))
_MIP_OBJECTIVE = (("incumbent", "incumbent"), ("bound", "bound"))
_MIP_KEYS = ("incumbent", "bound", "mip_gap")
_LP_KEYS = ("primal_obj", "dual_obj", "primal_inf", "dual_inf", "compl")


def _current_stage(points):
    """(the points since the last switch between LP and MIP rows, whether it is MIP)."""
    start, stage = 0, None
    for index, point in enumerate(points):
        if any(key in point for key in _MIP_KEYS):
            kind = "mip"
        elif any(key in point for key in _LP_KEYS):
            kind = "lp"
        else:
            continue  # GAMS compiling, presolve: no row yet
        if stage is not None and kind != stage:
            start = index
        stage = kind
    return points[start:], stage == "mip"


def _series(points, columns, positive_only):
    found = []
    for name, key in columns:
        line = []
        for point in points:
            value = point.get(key)
            if value is None or abs(value) >= 1e30 or (positive_only and value <= 0):
                continue
            line.append([point["t"], value])
        if line:
            found.append((name, line))
    return found


def _chart(kind, log, series, max_points):
    return {"kind": kind, "log": log,
            "series": [{"name": name, "points": _downsample(points, max_points)}
                       for name, points in series]}


def _downsample(points, max_points):
    """At most *max_points*, evenly spaced, always keeping the first and the last."""
    if len(points) <= max_points:
        return points
    step = (len(points) - 1) / float(max_points - 1)
    return [points[int(round(i * step))] for i in range(max_points)]


def served_file(entry, path):
    """*path* if it is a file inside the scan's times_doctor_out folder, else None.

    The state file names its logs and listings; a path that leads anywhere
    else (edited state file, symlink out of the folder) is never opened.
    """
    if not isinstance(path, str) or not path or "\0" in path:
        return None
    root = os.path.realpath(entry.out_root)
    real = os.path.realpath(path)
    if not real.startswith(root + os.sep):
        return None
    if os.path.exists(real) and not os.path.isfile(real):
        return None
    return real


def log_tail(entry, job):
    """The last LOG_TAIL_LINES lines of a run's log (at most LOG_TAIL_MAX_BYTES read)."""
    path = served_file(entry, job.get("log"))
    if path is None:
        return {"scan_id": entry.scan_id, "run": job.get("name"), "lines": [],
                "error": "no log inside the scan's folder"}
    try:
        lines = tail_lines(path, LOG_TAIL_LINES, max_bytes=LOG_TAIL_MAX_BYTES)
        error = None
    except ParseError as exc:
        lines, error = [], str(exc)
    return {"scan_id": entry.scan_id, "run": job.get("name"), "lines": lines, "error": error,
            "max_lines": LOG_TAIL_LINES, "max_bytes": LOG_TAIL_MAX_BYTES}


def page_config():
    """The constants the page's script needs, from states.py (one vocabulary)."""
    return {
        "labels": LABELS,
        "summary_order": list(SUMMARY_ORDER),
        "final_states": list(FINAL_STATES),
        "active_states": list(ACTIVE_STATES),
        "cancellable_states": list(CANCELLABLE_STATES),
        "poll_ms": POLL_MILLISECONDS,
        "log_lines": LOG_TAIL_LINES,
    }


def state_css():
    """One CSS rule per state: the terminal's colour as a web colour (states.web_colour)."""
    rules = []
    for state in sorted(COLOURS):
        colour, bold = web_colour(state)
        rules.append(".st-%s{color:%s;%s}" % (state, colour, "font-weight:bold;" if bold else ""))
    return "\n".join(rules)


def render_page(template, nonce):
    """The page with its nonce, state colours and configuration filled in."""
    config = json.dumps(page_config(), sort_keys=True)
    # Inside <script>: "<" escaped so no "</script>" can end it early.
    config = config.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (template.replace("__NONCE__", nonce)
            .replace("/*STATE_CSS*/", state_css())
            .replace("__CONFIG__", config))


def _load_page():
    # pkgutil, not open(): works from the zipapp too.
    data = pkgutil.get_data("times_doctor.remote", "dashboard.html")
    if data is None:
        raise UsageError("dashboard.html is missing from the times_doctor package: reinstall it")
    return data.decode("utf-8")
